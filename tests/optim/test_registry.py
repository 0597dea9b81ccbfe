"""Optimizers by name: each equals its factory and optax's twin, under jit and vmap; clear errors."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim

from .trees import SMALL_SHAPES, random_tree, scan_updates

LEARNING_RATE, BETA1, BETA2, EPS, WEIGHT_DECAY = 0.02, 0.8, 0.95, 1e-3, 0.1
HPARAMS = {
    "learning_rate": LEARNING_RATE,
    "beta1": BETA1,
    "beta2": BETA2,
    "eps": EPS,
    "weight_decay": WEIGHT_DECAY,
    # read by no optimizer: builders pass their whole dict
    "l2": 0.5,
    "keep_prob": 0.9,
}
NUMPY_HPARAMS = {key: np.float32(value) for key, value in HPARAMS.items()}


def decay_mask(params):
    return jax.tree.map(lambda x: x.ndim >= 2, params)


# id: (name, hparams, options, the factory called by hand, optax's equivalent)
CASES = {
    "sgd": ("sgd", HPARAMS, {}, optim.sgd(LEARNING_RATE), optax.sgd(LEARNING_RATE)),
    # the course's EMA momentum with rate α is optax's summing momentum with rate α(1 − β)
    "momentum": ("momentum", HPARAMS, {}, optim.momentum(LEARNING_RATE, beta=BETA1),
                 optax.sgd(LEARNING_RATE * (1 - BETA1), momentum=BETA1)),
    "momentum_summing": ("momentum", HPARAMS, {"exponential_average": False},
                         optim.momentum(LEARNING_RATE, beta=BETA1, exponential_average=False),
                         optax.sgd(LEARNING_RATE, momentum=BETA1)),
    "rmsprop": ("rmsprop", HPARAMS, {}, optim.rmsprop(LEARNING_RATE, decay=BETA2, eps=EPS),
                optax.rmsprop(LEARNING_RATE, decay=BETA2, eps=EPS, eps_in_sqrt=False)),
    "rmsprop_eps_in_sqrt": ("rmsprop", HPARAMS, {"eps_in_sqrt": True},
                            optim.rmsprop(LEARNING_RATE, decay=BETA2, eps=EPS, eps_in_sqrt=True),
                            optax.rmsprop(LEARNING_RATE, decay=BETA2, eps=EPS)),
    "adam": ("adam", HPARAMS, {}, optim.adam(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS),
             optax.adam(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS)),
    "adam_numpy_scalars": (
        "adam", NUMPY_HPARAMS, {},
        optim.adam(NUMPY_HPARAMS["learning_rate"], b1=NUMPY_HPARAMS["beta1"],
                   b2=NUMPY_HPARAMS["beta2"], eps=NUMPY_HPARAMS["eps"]),
        optax.adam(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS)),
    "adamw": ("adamw", HPARAMS, {},
              optim.adamw(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS, weight_decay=WEIGHT_DECAY),
              optax.adamw(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS,
                          weight_decay=WEIGHT_DECAY)),
    "adamw_mask": ("adamw", HPARAMS, {"mask": decay_mask},
                   optim.adamw(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS,
                               weight_decay=WEIGHT_DECAY, mask=decay_mask),
                   optax.adamw(LEARNING_RATE, b1=BETA1, b2=BETA2, eps=EPS,
                               weight_decay=WEIGHT_DECAY, mask=decay_mask)),
}
STEPS = 10


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_name_equals_its_factory_and_optax(case):
    name, hparams, options, by_hand, theirs = CASES[case]
    params = random_tree(11, shapes=SMALL_SHAPES)
    grads_seq = random_tree(12, scale=0.5, steps=STEPS, shapes=SMALL_SHAPES)

    @jax.jit
    def run_all(params, grads_seq):  # one compile for the three runs
        return (
            scan_updates(optim.create_optimizer(name, hparams, **options), optim.apply_updates,
                         params, grads_seq),
            scan_updates(by_hand, optim.apply_updates, params, grads_seq),
            scan_updates(theirs, optax.apply_updates, params, grads_seq),
        )

    from_registry, from_factory, from_optax = run_all(params, grads_seq)
    chex.assert_trees_all_equal(from_registry, from_factory)
    chex.assert_trees_all_close(from_registry, from_optax, rtol=1e-5, atol=1e-7)
    moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), from_registry[0], params)
    assert min(jax.tree.leaves(moved)) > 1e-4  # every parameter moved: not a no-op


def test_numbers_enter_as_they_are_given():
    # create_optimizer adds nothing: the same numbers reach the factory
    tx = optim.create_optimizer("rmsprop", {"learning_rate": 1.0, "beta2": 0.5, "eps": 0.25})
    updates, _ = tx.update(jnp.asarray(2.0), tx.init(jnp.zeros(())))
    np.testing.assert_allclose(updates, -2.0 / (np.sqrt(0.5 * 4.0) + 0.25), rtol=1e-6)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_vmap_over_learning_rate_and_beta1_equals_separate_runs(name):
    params = random_tree(13, shapes=SMALL_SHAPES)
    grads_seq = random_tree(14, scale=0.5, steps=STEPS, shapes=SMALL_SHAPES)
    population = {
        "learning_rate": jnp.asarray([0.1, 0.03, 0.01, 0.003], jnp.float32),
        "beta1": jnp.asarray([0.5, 0.8, 0.9, 0.95], jnp.float32),
        "beta2": jnp.full((4,), 0.99, jnp.float32),
        "eps": jnp.full((4,), 1e-6, jnp.float32),
        "keep_prob": jnp.full((4,), 0.5, jnp.float32),  # ignored
    }

    def train(hparams):
        tx = optim.create_optimizer(name, hparams)  # inside the traced function
        return scan_updates(tx, optim.apply_updates, params, grads_seq)[0]

    finals = jax.jit(jax.vmap(train))(population)
    chex.clear_trace_counter()  # (the counter is per code location, shared by the parameters)
    one_trial = jax.jit(chex.assert_max_traces(train, n=1))  # four trials, one compile
    for i in range(4):
        trial = {key: values[i] for key, values in population.items()}
        member = jax.tree.map(lambda x: x[i], finals)
        chex.assert_trees_all_close(member, one_trial(trial), rtol=1e-6, atol=1e-7)
    losses = {float(sum(jnp.sum(x[i] ** 2) for x in jax.tree.leaves(finals))) for i in range(4)}
    assert len(losses) == 4  # four different trials, not one broadcast


def test_schedule_as_learning_rate_is_evaluated_at_the_step_count():
    schedule = optim.piecewise_constant([2], [0.5, 0.1])
    # the keyword replaces hparams["learning_rate"], here absent
    tx = optim.create_optimizer("sgd", {"l2": 0.0}, learning_rate=schedule)
    state = tx.init(jnp.zeros(3))
    gradient = jnp.asarray([1.0, -2.0, 4.0])
    for step in range(4):
        updates, state = tx.update(gradient, state)
        np.testing.assert_allclose(updates, -float(schedule(step)) * gradient, rtol=1e-6)
    assert int(state.count) == 4


def test_learning_rate_keyword_replaces_the_hparams_value():
    tx = optim.create_optimizer("adam", HPARAMS, learning_rate=0.5)
    reference = optim.adam(0.5, b1=BETA1, b2=BETA2, eps=EPS)
    gradient = jnp.asarray([1.0, -2.0])
    updates, _ = tx.update(gradient, tx.init(jnp.zeros(2)))
    expected, _ = reference.update(gradient, reference.init(jnp.zeros(2)))
    chex.assert_trees_all_equal(updates, expected)


def test_hyperparameters_read_by_each_name():
    assert optim.OPTIMIZER_NAMES == ("sgd", "momentum", "rmsprop", "adam", "adamw")
    expected = {
        "sgd": ("learning_rate",),
        "momentum": ("learning_rate", "beta1"),
        "rmsprop": ("learning_rate", "beta2", "eps"),
        "adam": ("learning_rate", "beta1", "beta2", "eps"),
        "adamw": ("learning_rate", "beta1", "beta2", "eps", "weight_decay"),
    }
    assert {name: optim.optimizer_hparams(name) for name in optim.OPTIMIZER_NAMES} == expected
    assert optim.OPTIMIZER_HPARAMS == frozenset(
        {"learning_rate", "beta1", "beta2", "eps", "weight_decay"})
    assert isinstance(optim.OPTIMIZER_HPARAMS, frozenset)


def test_defaults_come_from_the_factories():
    assert optim.optimizer_defaults("sgd") == {}
    assert optim.optimizer_defaults("momentum") == {"beta1": 0.9}
    assert optim.optimizer_defaults("rmsprop") == {"beta2": 0.9, "eps": 1e-8}
    assert optim.optimizer_defaults("adam") == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert optim.optimizer_defaults("adamw") == {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                                 "weight_decay": 1e-4}


@pytest.mark.parametrize("function", [optim.optimizer_hparams, optim.optimizer_defaults,
                                      lambda name: optim.create_optimizer(name, HPARAMS)])
def test_unknown_name_raises_naming_it_and_the_known_ones(function):
    with pytest.raises(ValueError, match=r"'adagrad'.*'sgd', 'momentum', 'rmsprop', 'adam'"):
        function("adagrad")
    with pytest.raises(ValueError, match="plain gradient descent is called 'sgd'"):
        function("gd")
    with pytest.raises(ValueError, match="lower case: 'adam'"):
        function("Adam")


@pytest.mark.parametrize(
    "name, hparams, missing",
    [
        ("adamw", {k: v for k, v in HPARAMS.items() if k != "weight_decay"}, "'weight_decay'"),
        ("rmsprop", {"learning_rate": 0.1, "l2": 0.0}, "'beta2', 'eps'"),
        ("sgd", {"l2": 0.0}, "'learning_rate'"),
    ],
)
def test_missing_hyperparameter_raises_naming_it(name, hparams, missing):
    with pytest.raises(ValueError, match=f"{name} reads {missing}, missing from hparams"):
        optim.create_optimizer(name, hparams)


def test_options_are_checked_against_the_factory():
    with pytest.raises(ValueError, match="adam takes no option 'nesterov'; it takes no options"):
        optim.create_optimizer("adam", HPARAMS, nesterov=True)
    with pytest.raises(ValueError, match="rmsprop takes no option 'mask'.*'eps_in_sqrt'"):
        optim.create_optimizer("rmsprop", HPARAMS, mask=decay_mask)
    # a hyperparameter's own argument is not an option: it comes from hparams
    with pytest.raises(ValueError, match="'b1' is adam's hyperparameter 'beta1'"):
        optim.create_optimizer("adam", HPARAMS, b1=0.5)
    with pytest.raises(ValueError, match="'decay' is rmsprop's hyperparameter 'beta2'"):
        optim.create_optimizer("rmsprop", HPARAMS, decay=0.5)


def test_out_of_range_value_raises():
    with pytest.raises(ValueError, match="1.5"):
        optim.create_optimizer("adam", {**HPARAMS, "beta1": 1.5})
