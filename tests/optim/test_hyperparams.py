"""inject_hyperparams: values in the state, no recompilation, one vmap for a population."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim

from .trees import assert_same_run, random_tree


def loss(params):
    return sum(jnp.sum((x - 0.3) ** 2) for x in jax.tree.leaves(params))


def train(tx, params, steps=20):
    def body(carry, _):
        params, state = carry
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        return (optim.apply_updates(params, updates), state), None

    (params, state), _ = jax.lax.scan(body, (params, tx.init(params)), None, length=steps)
    return params, state


def test_hyperparameters_are_float32_arrays_in_the_state():
    tx = optim.inject_hyperparams(optim.adamw)(learning_rate=1e-3, weight_decay=0.1)
    state = tx.init({"w": jnp.zeros(3)})
    assert set(state.hyperparams) == {"learning_rate", "b1", "b2", "eps", "weight_decay"}
    for value in state.hyperparams.values():
        assert isinstance(value, jax.Array) and value.dtype == jnp.float32 and value.shape == ()
    assert float(state.hyperparams["weight_decay"]) == pytest.approx(0.1)
    assert state.count.dtype == jnp.int32


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (optim.inject_hyperparams(optim.adam)(learning_rate=1e-2, b1=0.8),
         optax.inject_hyperparams(optax.adam)(learning_rate=1e-2, b1=0.8)),
        (optim.inject_hyperparams(optim.rmsprop)(learning_rate=1e-2, eps_in_sqrt=True),
         optax.inject_hyperparams(optax.rmsprop)(learning_rate=1e-2)),
        (optim.inject_hyperparams(optim.sgd)(optim.exponential_decay(0.05, 0.97)),
         optax.inject_hyperparams(optax.sgd)(optax.exponential_decay(0.05, 1, 0.97))),
    ],
)
def test_matches_optax_inject_hyperparams(ours, theirs, tree_and_grads):
    assert_same_run(ours, theirs, tree_and_grads)


def test_changing_values_between_steps_does_not_recompile():
    params = random_tree(2)
    grads = random_tree(3)
    tx = optim.inject_hyperparams(optim.adam)(learning_rate=1e-3)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    state = tx.init(params)
    params, state = step(params, state, grads)
    before = state
    state = optim.set_hyperparams(state, learning_rate=0.5, b1=0.8, eps=1e-3)
    new_params, state = step(params, state, grads)
    state.hyperparams["b2"] = jnp.asarray(0.95, jnp.float32)  # direct assignment works too
    _, state = step(new_params, state, grads)
    assert step._cache_size() == 1  # one compiled executable for all values
    np.testing.assert_allclose(
        [float(state.hyperparams[k]) for k in ("learning_rate", "b1", "b2", "eps")],
        [0.5, 0.8, 0.95, 1e-3], rtol=1e-6)

    # the new values took effect: the second step equals plain adam(0.5, b1=0.8, eps=1e-3)
    # continuing from the same moments
    plain = optim.adam(0.5, b1=0.8, eps=1e-3)
    updates, _ = plain.update(grads, before.inner_state, params)
    # (float32 β's stored in the state round 1 − β₂ᵗ slightly differently from Python floats)
    chex.assert_trees_all_close(new_params, optim.apply_updates(params, updates),
                                rtol=1e-5, atol=1e-5)


def test_set_hyperparams_rejects_unknown_names():
    state = optim.inject_hyperparams(optim.sgd)(0.1).init(jnp.zeros(2))
    with pytest.raises(ValueError, match="momentum"):
        optim.set_hyperparams(state, momentum=0.9)


def test_vmap_over_eight_learning_rates_equals_eight_runs():
    params = random_tree(4)
    learning_rates = jnp.logspace(-3, -0.5, 8)

    def run(lr):
        return train(optim.inject_hyperparams(optim.adam)(learning_rate=lr, b2=0.99), params)

    population, states = jax.jit(jax.vmap(run))(learning_rates)
    np.testing.assert_allclose(states.hyperparams["learning_rate"], learning_rates, rtol=1e-7)
    for i, lr in enumerate(np.asarray(learning_rates)):
        member = jax.tree.map(lambda x: x[i], population)
        single, _ = jax.jit(run)(lr)
        chex.assert_trees_all_close(member, single, rtol=1e-5, atol=1e-7)
        if i in (0, 7):  # (each Python-float rate is a new compile: check the two ends)
            # and the plain optimizer with Python-float hyperparameters (whose 1 − β rounds a
            # little differently from the float32 array's, hence the absolute tolerance)
            plain, _ = jax.jit(lambda p: train(optim.adam(float(lr), b2=0.99), p))(params)
            chex.assert_trees_all_close(member, plain, rtol=1e-5, atol=5e-6)
    # different rates really gave different results
    finals = [float(loss(jax.tree.map(lambda x: x[i], population))) for i in range(8)]
    assert len(set(finals)) == 8


def test_scheduled_hyperparameter_is_logged_in_the_state():
    schedule = optim.inverse_time_decay(0.2, 1.0)
    tx = optim.inject_hyperparams(optim.momentum)(learning_rate=schedule, beta=0.9)
    state = tx.init(jnp.zeros(()))
    assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.2)
    for t in range(3):
        _, state = tx.update(jnp.asarray(1.0), state)
        assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.2 / (1 + t))
    assert int(state.count) == 3
    assert "exponential_average" not in state.hyperparams  # bools are structure


def test_integer_hyperparameters_are_stored_as_float32():
    tx = optim.inject_hyperparams(optim.sgd)(learning_rate=1)
    state = tx.init({"w": jnp.ones(2)})
    assert state.hyperparams["learning_rate"].dtype == jnp.float32
    state = optim.set_hyperparams(state, learning_rate=0.5)
    assert float(state.hyperparams["learning_rate"]) == 0.5
    updates, _ = tx.update({"w": jnp.ones(2)}, state)
    np.testing.assert_allclose(updates["w"], [-0.5, -0.5])
    for value in (np.int64(2), np.array(3, np.int32)):
        hparams = optim.inject_hyperparams(optim.sgd)(value).init({"w": jnp.ones(2)}).hyperparams
        assert hparams["learning_rate"].dtype == jnp.float32


def test_callable_mask_is_structure_not_a_schedule(tree_and_grads):
    def decay_mask(params):
        return jax.tree.map(lambda x: x.ndim >= 2, params)

    ours = optim.inject_hyperparams(optim.adamw)(1e-2, weight_decay=0.3, mask=decay_mask)
    state = ours.init(tree_and_grads[0])
    assert set(state.hyperparams) == {"learning_rate", "b1", "b2", "eps", "weight_decay"}
    assert_same_run(ours, optax.adamw(1e-2, weight_decay=0.3, mask=decay_mask), tree_and_grads,
                    rtol=1e-4, atol=1e-6)


def test_static_args_given_as_one_string_is_one_name(tree_and_grads):
    ours = optim.inject_hyperparams(optim.adam, static_args="b1")(learning_rate=1e-2, b1=0.8)
    theirs = optax.inject_hyperparams(optax.adam, static_args="b1")(learning_rate=1e-2, b1=0.8)
    params = tree_and_grads[0]
    # "b1" is static (not the letters "b" and "1"), so it is not stored in the state
    assert set(ours.init(params).hyperparams) == {"learning_rate", "b2", "eps"}
    assert set(theirs.init(params).hyperparams) == {"learning_rate", "b2", "eps", "eps_root"}
    assert_same_run(ours, theirs, tree_and_grads)


@pytest.mark.parametrize("static_args", [("no_such_arg",), "no_such_arg", ("b1", "beta")])
def test_static_args_the_factory_does_not_take_raise_when_wrapping(static_args):
    bad = "beta" if "b1" in static_args else "no_such_arg"
    with pytest.raises(ValueError, match=f"'{bad}', which adam does not take"):
        optim.inject_hyperparams(optim.adam, static_args=static_args)
    with pytest.raises(ValueError):  # optax too raises at wrap time, before any call
        optax.inject_hyperparams(optax.adam, static_args=static_args)


def test_static_args_of_a_factory_with_keyword_arguments_are_accepted():
    def factory(learning_rate, **options):
        del options
        return optim.sgd(learning_rate)

    tx = optim.inject_hyperparams(factory, static_args="anything")(0.1, anything=0.5)
    assert set(tx.init(jnp.zeros(2)).hyperparams) == {"learning_rate"}
