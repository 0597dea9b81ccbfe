"""The supervised builder beyond flat classification: a toy conv net with batch norm, a toy
sequence model with token masks, pytree inputs, augmentation, batched evaluation, named metrics —
each trained alone, as a population, and on 4 devices, with the equalities that must hold."""

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import losses, metrics
from dlcourse import nn as dl_nn
from dlcourse.data import Dataset, Examples
from dlcourse.sweep import Population, stack_hparams, trial_key
from dlcourse.train import data_mesh, supervised

RATES = (0.02, 0.05, 0.1)


# ----- a toy conv net with batch norm ------------------------------------------------------------

class TinyConvNet(nn.Module):
    """conv 3×3 (4 channels) → batch norm → relu → global average pool → dense (3 classes)."""

    axis_name: str | None = None

    @nn.compact
    def __call__(self, x, *, train: bool, mask=None):
        z = nn.Conv(4, (3, 3), padding="SAME")(x)
        z = nn.relu(dl_nn.BatchNorm(momentum=0.8, axis_name=self.axis_name)(z, train=train, mask=mask))
        return nn.Dense(3)(z.mean(axis=(1, 2)))


def _images(m, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 6, 6, 1)).astype(np.float32)
    y = np.digitize(x[:, :3, :, 0].mean(axis=(1, 2)) - x[:, 3:, :, 0].mean(axis=(1, 2)), [-0.3, 0.3])
    return x, y.astype(np.int32)


def _image_data():
    x, y = _images(70, 0)
    return Dataset(Examples(x[:38], y[:38]), Examples(x[38:58], y[38:58]), Examples(x[58:], y[58:]))


def _conv_trainable(mesh=None, **kwargs):
    options = dict(optimizer="momentum", hparams={"learning_rate": 0.05, "beta1": 0.9, "l2": 0.01}, epochs=2,
                   batch_size=12, loss="softmax", metrics=("accuracy", "error"), mesh=mesh, eval_batch_size=8)
    options.update(kwargs)
    return supervised(TinyConvNet(), _image_data(), **options)


# ----- a toy sequence model with token masks ------------------------------------------------------

class TinyTokenModel(nn.Module):
    """Embeds tokens, mixes each with the previous one, predicts the next token (vocabulary 7)."""

    @nn.compact
    def __call__(self, tokens):
        e = nn.Embed(7, 6)(tokens)
        previous = jnp.concatenate([jnp.zeros_like(e[:, :1]), e[:, :-1]], axis=1)
        return nn.Dense(7)(jnp.tanh(nn.Dense(8)(jnp.concatenate([e, previous], axis=-1))))


def _token_data(garbage_after_end=False):
    rng = np.random.default_rng(3)
    m, t = 40, 5
    tokens = rng.integers(1, 7, size=(m, t)).astype(np.int32)
    targets = (tokens + 1) % 7
    lengths = rng.integers(2, t + 1, size=m)
    mask = (np.arange(t)[None, :] < lengths[:, None]).astype(np.float32)
    if garbage_after_end:
        targets = np.where(mask > 0, targets, -5)       # out of range: its loss term is NaN
        tokens = np.where(mask > 0, tokens, 0)
    split = lambda a, b: Examples(tokens[a:b], targets[a:b], mask[a:b])  # noqa: E731
    return Dataset(split(0, 24), split(24, 32), split(32, 40))


def _token_trainable(data=None, mesh=None, **kwargs):
    options = dict(optimizer="adam", hparams={"learning_rate": 0.05, "beta1": 0.9}, epochs=3, batch_size=8,
                   loss="softmax", metrics=("accuracy", "perplexity"), mesh=mesh)
    options.update(kwargs)
    return supervised(TinyTokenModel(), data or _token_data(), **options)


# ----- the tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [_conv_trainable, _token_trainable], ids=["conv+batchnorm", "tokens"])
def test_a_population_equals_each_trial_trained_alone(make):
    trainable = make()
    population = Population(trainable, jax.devices()[:1], swept=("learning_rate",))
    values = stack_hparams(trainable, [{"learning_rate": rate} for rate in RATES])
    together = population.run(values, seed=4, trial_ids=[0, 1, 2])
    train = jax.jit(trainable.train)
    for i, rate in enumerate(RATES):
        hparams = {k: jnp.float32(v[i]) for k, v in values.items()}
        alone = train(hparams, trial_key(np.uint32(4), np.uint32(i)))
        chex.assert_trees_all_close(jax.tree.map(lambda v: v[i], together), dict(alone), atol=2e-5, rtol=2e-5)
    assert together["dev_accuracy"].shape == (3, trainable.epochs)
    assert not np.any(together["diverged"])


@pytest.mark.parametrize("make", [_conv_trainable, _token_trainable], ids=["conv+batchnorm", "tokens"])
def test_four_devices_equal_one(make):
    one = make(mesh=data_mesh(jax.devices()[:1]))
    four = make(mesh=data_mesh(jax.devices()[:4]))
    key = jax.random.key(9)
    a = jax.jit(one.train)(one.default_hparams(), key)
    b = jax.jit(four.train)(four.default_hparams(), key)
    chex.assert_trees_all_close(b, a, atol=2e-5, rtol=2e-5)
    plain = make()
    chex.assert_trees_all_close(jax.jit(plain.train)(plain.default_hparams(), key), a, atol=2e-5, rtol=2e-5)


def test_a_population_of_a_data_parallel_trainable_runs_on_its_mesh_and_equals_each_trial_alone():
    mesh = data_mesh(jax.devices()[:4])
    parallel = _conv_trainable(mesh=mesh)
    plain = _conv_trainable()
    population = Population(parallel, swept=("learning_rate",))
    assert population.mesh is mesh and population.device_count == 1
    values = stack_hparams(parallel, [{"learning_rate": rate} for rate in RATES])
    together = population.run(values, seed=1, trial_ids=[5, 6, 7])
    train = jax.jit(plain.train)
    for i in range(3):
        hparams = {k: jnp.float32(v[i]) for k, v in values.items()}
        alone = train(hparams, trial_key(np.uint32(1), np.uint32(5 + i)))
        chex.assert_trees_all_close(jax.tree.map(lambda v: v[i], together), dict(alone), atol=2e-5, rtol=2e-5)


def test_batch_statistics_are_model_state_carried_by_the_run():
    trainable = _conv_trainable()
    state = trainable.init(trainable.default_hparams(), jax.random.key(0))
    assert set(state.model_state) == {"batch_stats"}
    new_state, _ = jax.jit(trainable.epoch)(state, trainable.default_hparams())
    moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), state.model_state, new_state.model_state)
    assert all(jax.tree.leaves(moved))


def test_evaluation_in_mini_batches_equals_one_pass_and_numpy():
    small = _conv_trainable(eval_batch_size=3)   # dev set of 20 rows: 7 batches, the last padded
    whole = _conv_trainable(eval_batch_size=1000)
    key = jax.random.key(2)
    a = jax.jit(small.train_with_state)(small.default_hparams(), key)
    b = jax.jit(whole.train_with_state)(whole.default_hparams(), key)
    chex.assert_trees_all_close(a[1], b[1], atol=1e-6, rtol=1e-6)
    state = a[0]
    data = _image_data()
    variables = {"params": state.params, **state.model_state}
    logits = np.asarray(TinyConvNet().apply(variables, data.dev.inputs, train=False), np.float64)
    accuracy = np.mean(np.argmax(logits, 1) == data.dev.targets)
    log_probs = logits - np.log(np.sum(np.exp(logits - logits.max(1, keepdims=True)), 1, keepdims=True)) \
        - logits.max(1, keepdims=True)
    loss = -np.mean(log_probs[np.arange(len(logits)), data.dev.targets])
    assert float(a[1]["final_dev_accuracy"]) == pytest.approx(accuracy, abs=1e-6)
    assert float(a[1]["final_dev_error"]) == pytest.approx(1 - accuracy, abs=1e-6)
    assert float(a[1]["final_dev_loss"]) == pytest.approx(loss, rel=1e-5)
    test = jax.jit(small.test)(state, small.default_hparams())
    test_logits = TinyConvNet().apply(variables, data.test.inputs, train=False)
    assert set(test) == {"test_loss", "test_accuracy", "test_error"}
    assert float(test["test_accuracy"]) == pytest.approx(np.mean(np.argmax(test_logits, 1) == data.test.targets))


def test_token_masks_weight_the_loss_and_metrics_per_token():
    data = _token_data()
    trainable = _token_trainable(data)
    hparams = trainable.default_hparams()
    state = trainable.init(hparams, jax.random.key(1))
    out = jax.jit(lambda s: trainable.test(s, hparams))(state)
    logits = np.asarray(TinyTokenModel().apply({"params": state.params}, data.test.inputs), np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, data.test.targets[..., None], -1)[..., 0]
    w = data.test.mask
    assert float(out["test_loss"]) == pytest.approx(np.sum(w * nll) / np.sum(w), rel=1e-5)
    assert float(out["test_perplexity"]) == pytest.approx(np.exp(np.sum(w * nll) / np.sum(w)), rel=1e-5)
    correct = np.argmax(logits, -1) == data.test.targets
    assert float(out["test_accuracy"]) == pytest.approx(np.sum(w * correct) / np.sum(w), abs=1e-6)
    assert trainable.predict is None   # one label per example only


def test_masked_tokens_never_reach_the_gradient():
    """Targets out of range behind the mask give NaN terms; weighted 0, they change nothing."""
    key = jax.random.key(3)
    clean, garbage = _token_trainable(_token_data()), _token_trainable(_token_data(garbage_after_end=True))
    a = jax.jit(clean.train)(clean.default_hparams(), key)
    b = jax.jit(garbage.train)(garbage.default_hparams(), key)
    chex.assert_trees_all_close(a, b, atol=1e-6, rtol=1e-6)
    assert not np.any(np.asarray(b["diverged"]))


class PairModel(nn.Module):
    """Classifies a pair of vectors given as a dict of inputs: does ``left`` exceed ``right``?"""

    @nn.compact
    def __call__(self, pair):
        return nn.Dense(1)(nn.tanh(nn.Dense(8)(jnp.concatenate([pair["left"], pair["right"]], -1))))[:, 0]


def _pairs(m, seed):
    rng = np.random.default_rng(seed)
    left, right = rng.normal(size=(m, 3)).astype(np.float32), rng.normal(size=(m, 3)).astype(np.float32)
    return Examples({"left": left, "right": right}, (left.sum(1) > right.sum(1)).astype(np.float32))


def test_pytree_inputs_and_an_augmentation_hook_inside_the_step():
    data = Dataset(_pairs(64, 0), _pairs(32, 1))
    options = dict(optimizer="adam", hparams={"learning_rate": 0.05}, epochs=4, batch_size=16, loss="sigmoid",
                   metrics=("accuracy", "f1"))
    plain = supervised(PairModel(), data, **options)
    swap = lambda key, batch: batch._replace(  # noqa: E731 — swap sides (and the label) of random pairs
        inputs={"left": jnp.where(flip(key, batch)[:, None], batch.inputs["right"], batch.inputs["left"]),
                "right": jnp.where(flip(key, batch)[:, None], batch.inputs["left"], batch.inputs["right"])},
        targets=jnp.where(flip(key, batch), 1 - batch.targets, batch.targets))
    flip = lambda key, batch: jax.random.bernoulli(key, 0.5, batch.targets.shape)  # noqa: E731
    augmented = supervised(PairModel(), data, augment=swap, **options)
    identity = supervised(PairModel(), data, augment=lambda key, batch: batch, **options)
    key = jax.random.key(5)
    base = jax.jit(plain.train)(plain.default_hparams(), key)
    chex.assert_trees_all_equal(jax.jit(identity.train)(identity.default_hparams(), key), base)
    swapped = jax.jit(augmented.train)(augmented.default_hparams(), key)
    assert not np.allclose(swapped["train_loss"], base["train_loss"])
    assert float(swapped["best_dev_accuracy"]) > 0.75 and float(base["best_dev_accuracy"]) > 0.75
    assert "dev_f1" in base and 0 <= float(base["final_dev_f1"]) <= 1
    # Under vmap each trial draws its own augmentations: two keys, two different runs.
    population = Population(augmented, jax.devices()[:1], swept=())
    runs = population.run(stack_hparams(augmented, [{}, {}]), seed=0, trial_ids=[0, 1])
    assert not np.allclose(runs["train_loss"][0], runs["train_loss"][1])


def test_a_named_optimizer_keeps_only_what_it_reads():
    hparams = {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.99, "l2": 0.0}
    sgd = _conv_trainable(optimizer="sgd", hparams=hparams)
    assert set(sgd.hparams) == {"learning_rate", "l2"}
    assert set(sgd.unread) == {"beta1", "beta2"} and "sgd does not read it" in sgd.unread["beta1"]
    with pytest.raises(ValueError, match="beta1 is not read by this run: optimizer=sgd does not read it"):
        sgd.check_hparams({"beta1": 0.5})
    adam = _conv_trainable(optimizer="adam", hparams=hparams)
    assert set(adam.hparams) == {"learning_rate", "beta1", "beta2", "l2"} and not adam.unread
    with pytest.raises(ValueError, match="learning_rate=-1.0 is outside learning_rate's domain"):
        adam.check_hparams({"learning_rate": -1.0})
    with pytest.raises(ValueError, match="beta2=nan is not a finite number"):
        adam.check_hparams({"beta2": float("nan")})


def test_a_loss_that_explodes_but_stays_finite_is_divergence():
    """Linear regression by gradient descent at a rate past 2/λ_max: the squared error grows
    geometrically (finite for these epochs) while the parameters swing wider each step."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0], np.float32)).astype(np.float32)[:, None]
    data = Dataset(Examples(x, y), Examples(x, y))
    error = metrics.Metric("error_sq", "min", 0.0, float("inf"),
                           lambda out, target, w: {"s": jnp.sum(w * (out - target) ** 2), "n": jnp.sum(w)},
                           lambda stats: stats["s"] / stats["n"])
    trainable = supervised(nn.Dense(1), data, optimizer="sgd", hparams={"learning_rate": 3.0}, epochs=8,
                           batch_size=32, loss=losses.squared_error_terms, metrics=(error,))
    out = jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(0))
    assert bool(out["diverged"]) and bool(out["exploded"])
    finite = np.asarray(out["train_loss"])[np.isfinite(out["train_loss"])]
    assert len(finite) == int(out["epochs_run"]) and np.all(finite <= 100 * finite[0] * 1000)
    calm = jax.jit(trainable.train)({"learning_rate": jnp.float32(0.1)}, jax.random.key(0))
    assert not bool(calm["diverged"]) and not bool(calm["exploded"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(metrics=("bleu",)), "unknown metric 'bleu'"),
    (dict(metrics=()), "at least one metric"),
    (dict(optimizer="gd"), "'sgd'"),
    (dict(optimizer="adam", hparams={"beta1": 0.9}), "needs a 'learning_rate'"),
    (dict(loss="hinge"), "loss must be one of"),
    (dict(eval_batch_size=0), "eval_batch_size"),
])
def test_bad_arguments_say_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _conv_trainable(**kwargs)


def test_keep_prob_needs_a_model_that_takes_it():
    with pytest.raises(ValueError, match="TinyTokenModel.__call__ takes no keep_prob"):
        _token_trainable(hparams={"learning_rate": 0.1, "keep_prob": 0.5})
