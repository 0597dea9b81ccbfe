"""The supervised Trainable on classifiers: its steps against hand-written references, vmap, errors."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh

from dlcourse import models
from dlcourse.data import Splits
from dlcourse.data.batching import shuffled_batches
from dlcourse.train import Trainable, TrainState, supervised


def _splits(m=10, m_dev=6, features=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m + 2 * m_dev, features)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5][:features]) > 0).astype(np.int32)
    return Splits(x[:m], y[:m], x[m:m + m_dev], y[m:m + m_dev], x[m + m_dev:], y[m + m_dev:], 2)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _logistic_params(state):
    (layer,) = state.params.values()
    return np.asarray(layer["kernel"], np.float64)[:, 0], np.asarray(layer["bias"], np.float64)[0]


@pytest.mark.parametrize("batch_size", [4, 100])
def test_epoch_equals_numpy_sgd_on_logistic_regression(batch_size):
    """Mini-batches (with a padded last one) and full batch, with the L2 term, against numpy."""
    data = _splits(m=10)
    lr, lam = 0.5, 0.3
    # Random w keeps z off 0, where the loss formula's max(z, 0) and |z| have kinks.
    trainable = supervised(models.LogisticRegression(kernel_init="random", init_scale=0.5), data,
                           optimizer="sgd",
                           epochs=1, batch_size=batch_size, hparams={"learning_rate": lr, "l2": lam},
                           loss="sigmoid")
    hparams = trainable.default_hparams()
    state = trainable.init(hparams, jax.random.key(0))
    w, b = _logistic_params(state)
    new_state, row = jax.jit(trainable.epoch)(state, hparams)

    # The epoch's order: the permutation drawn from the shuffle key the epoch splits off.
    _, shuffle_key, _ = jax.random.split(state.key, 3)
    step_batch = min(batch_size, 10)
    order = np.asarray(shuffled_batches(shuffle_key, np.arange(10), np.arange(10), step_batch).y).ravel()[:10]
    x, y = data.x_train.astype(np.float64), data.y_train.astype(np.float64)
    costs, counts = [], []
    for start in range(0, 10, step_batch):
        rows = order[start:start + step_batch]
        xb, yb = x[rows], y[rows]
        a = _sigmoid(xb @ w + b)
        cost = -np.mean(yb * np.log(a) + (1 - yb) * np.log(1 - a)) + lam / (2 * 10) * np.sum(w ** 2)
        dw = xb.T @ (a - yb) / len(rows) + lam / 10 * w
        db = np.mean(a - yb)
        w, b = w - lr * dw, b - lr * db
        costs.append(cost)
        counts.append(len(rows))
    got_w, got_b = _logistic_params(new_state)
    np.testing.assert_allclose(got_w, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(row["train_loss"], np.dot(costs, counts) / 10, rtol=1e-5)
    dev_accuracy = np.mean(((data.x_dev @ w + b) > 0) == data.y_dev)
    np.testing.assert_allclose(row["dev_accuracy"], dev_accuracy, rtol=1e-6)
    assert int(new_state.step) == len(counts)


def test_softmax_mlp_learns_and_reports_rows():
    data = _splits(m=64, m_dev=32, seed=1)
    trainable = supervised(models.MLP((16,), 2), data, optimizer="adam",
                           epochs=15, batch_size=16, hparams={"learning_rate": 0.05})
    assert isinstance(trainable, Trainable) and trainable.hparams == {"learning_rate": 0.05}
    out = jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(1))
    assert out["train_loss"].shape == (15,) and out["dev_loss"].shape == (15,)
    assert float(out["train_loss"][-1]) < 0.5 * float(out["train_loss"][0])
    assert float(out["final_train_accuracy"]) >= 0.9
    assert float(out["best_dev_accuracy"]) >= 0.8
    assert not bool(out["diverged"])


def test_same_key_is_bitwise_deterministic_and_keys_differ():
    data = _splits(m=24, seed=2)
    trainable = supervised(models.MLP((8,), 2, dropout=True), data, optimizer="sgd",
                           epochs=2, batch_size=8, hparams={"learning_rate": 0.1, "keep_prob": 0.7})
    train = jax.jit(trainable.train)
    hparams = trainable.default_hparams()
    a, b = train(hparams, jax.random.key(4)), train(hparams, jax.random.key(4))
    c = train(hparams, jax.random.key(5))
    chex.assert_trees_all_equal(a, b)
    assert not np.array_equal(a["train_loss"], c["train_loss"])


def test_keep_prob_one_equals_no_dropout_and_lower_keep_prob_changes_training():
    data = _splits(m=24, seed=3)
    build = lambda dropout, hparams: supervised(  # noqa: E731
        models.MLP((8,), 2, dropout=dropout), data, optimizer="sgd",
        epochs=2, batch_size=8, hparams=hparams)
    plain = build(False, {"learning_rate": 0.1})
    dropped = build(True, {"learning_rate": 0.1, "keep_prob": 1.0})
    key = jax.random.key(6)
    reference = jax.jit(plain.train)(plain.default_hparams(), key)
    train = jax.jit(dropped.train)
    with_keep_one = train(dropped.default_hparams(), key)
    chex.assert_trees_all_close(with_keep_one, reference, rtol=1e-6)
    with_dropout = train({"learning_rate": jnp.float32(0.1), "keep_prob": jnp.float32(0.5)}, key)
    assert not np.allclose(with_dropout["train_loss"], reference["train_loss"])


def test_vmap_over_learning_rates_matches_single_runs_without_retracing():
    data = _splits(m=16, seed=4)
    trainable = supervised(models.MLP((4,), 2), data, optimizer="adam",
                           epochs=2, batch_size=8, hparams={"learning_rate": 0.01})
    rates = jnp.array([0.001, 0.01, 0.1], jnp.float32)
    keys = jax.random.split(jax.random.key(7), 3)
    population = jax.jit(jax.vmap(lambda lr, k: trainable.init({"learning_rate": lr}, k)))(rates, keys)
    assert isinstance(population, TrainState)

    traced_once = chex.assert_max_traces(lambda state, hparams: trainable.epoch(state, hparams), n=1)
    epoch = jax.jit(jax.vmap(traced_once))
    states, rows = epoch(population, {"learning_rate": rates})
    epoch(states, {"learning_rate": rates * 2})  # new values, same program
    single_epoch = jax.jit(trainable.epoch)
    for i in range(3):
        one = jax.tree.map(lambda leaf: leaf[i], population)
        _, row = single_epoch(one, {"learning_rate": rates[i]})
        chex.assert_trees_all_close(row, jax.tree.map(lambda v: v[i], rows), rtol=1e-5)


def test_batch_stats_are_carried_and_updated():
    data = _splits(m=16, seed=5)
    trainable = supervised(models.MLP((4,), 2, batch_norm=True), data, optimizer="sgd", epochs=1, batch_size=8,
                           hparams={"learning_rate": 0.1})
    state = trainable.init(trainable.default_hparams(), jax.random.key(0))
    assert jax.tree.leaves(state.model_state["batch_stats"])
    new_state, _ = trainable.epoch(state, trainable.default_hparams())
    moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), state.model_state["batch_stats"],
                         new_state.model_state["batch_stats"])
    assert all(jax.tree.leaves(moved))


@pytest.mark.parametrize("kwargs,message", [
    (dict(loss="hinge"), "hinge"),
    (dict(epochs=0), "epochs"),
    (dict(batch_size=0), "batch_size=0|batch_size must"),
    (dict(batch_size=6, mesh="four"), "batch_size=6"),
    (dict(mesh="trial"), "'data'"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    devices = np.array(jax.devices()[:4])
    meshes = {"four": Mesh(devices, ("data",)), "trial": Mesh(devices, ("trial",))}
    if "mesh" in kwargs:
        kwargs["mesh"] = meshes[kwargs["mesh"]]
    arguments = dict(epochs=1, batch_size=4, hparams={"learning_rate": 0.1}) | kwargs
    with pytest.raises(ValueError, match=message):
        supervised(models.LogisticRegression(), _splits(m=20), optimizer="sgd",
                   **arguments)


@pytest.mark.parametrize("loss, outputs", [("softmax", 3), ("sigmoid", 1)])
def test_predict_is_the_inference_mode_argmax_or_threshold_on_the_dev_set(loss, outputs):
    """Dropout and batch norm in the model: predict must use inference mode (no dropout, the
    state's running averages, here moved away from their initial values)."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(48, 4)).astype(np.float32)
    y = (np.argmax(x[:, :3], axis=1) if outputs == 3 else (x[:, 0] > 0)).astype(np.int32)
    data = Splits(x[:32], y[:32], x[32:], y[32:], x[32:], y[32:], max(outputs, 2))
    model = models.MLP((8,), outputs, dropout=True, batch_norm=True)
    trainable = supervised(model, data, optimizer="adam", epochs=1, batch_size=8,
                           hparams={"learning_rate": 0.05, "keep_prob": 0.5}, loss=loss)
    hparams = trainable.default_hparams()
    state = trainable.init(hparams, jax.random.key(2))
    moved = jax.tree.map(lambda v: v + jnp.asarray(rng.uniform(0.2, 0.5, v.shape), v.dtype),
                         state.model_state["batch_stats"])
    state = state._replace(model_state={"batch_stats": moved})
    labels, predictions = jax.jit(trainable.predict)(state, hparams)
    logits = np.asarray(model.apply({"params": state.params, "batch_stats": moved}, data.x_dev, train=False))
    expected = np.argmax(logits, axis=1) if outputs == 3 else (logits[:, 0] > 0).astype(int)
    assert labels.dtype == jnp.int32 and predictions.dtype == jnp.int32
    np.testing.assert_array_equal(labels, data.y_dev)
    np.testing.assert_array_equal(predictions, expected)
