"""The sentiment classifiers against NumPy: the masked average + dense by hand, the LSTM's readout at
the last real word (right padding changes nothing), pre-trained E and its freezing."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import models


def numpy_params(model, *inputs, seed=0):
    """Parameters of the model's shapes drawn with NumPy (no compiled init)."""
    shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), *inputs))["params"]
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: rng.normal(0.0, 0.5, s.shape).astype(np.float32), shapes)


def test_average_model_is_the_masked_mean_of_the_embeddings_then_dense():
    ids = np.array([[3, 4, 0, 0], [5, 5, 3, 1]], np.int32)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    model = models.AverageEmbeddingClassifier(vocab_size=6, embedding_size=3, num_classes=2)
    params = numpy_params(model, (ids, mask))
    E, W, b = params["embedding"], params["readout"]["kernel"], params["readout"]["bias"]
    expected = np.stack([(E[3] + E[4]) / 2, (E[5] + E[5] + E[3] + E[1]) / 4]) @ W + b
    logits = model.apply({"params": params}, (ids, mask))
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    # The padding id's row does not count, whatever it holds.
    params["embedding"] = E.copy()
    params["embedding"][0] = 100.0
    np.testing.assert_allclose(model.apply({"params": params}, ids, mask), expected, rtol=1e-5, atol=1e-6)


def test_lstm_model_reads_the_last_real_step_so_right_padding_changes_nothing():
    rng = np.random.default_rng(1)
    short = rng.integers(1, 7, (3, 4)).astype(np.int32)
    padded = np.concatenate([short, rng.integers(0, 7, (3, 3)).astype(np.int32)], axis=1)
    mask = np.arange(7)[None] < 4
    model = models.LSTMClassifier(vocab_size=7, embedding_size=5, hidden_size=4, num_classes=3)
    params = numpy_params(model, (padded, np.broadcast_to(mask, padded.shape)))
    apply = jax.jit(model.apply)
    unpadded = apply({"params": params}, (short, np.ones_like(short, bool)))
    np.testing.assert_allclose(apply({"params": params}, (padded, np.broadcast_to(mask, padded.shape))), unpadded,
                               rtol=1e-5, atol=1e-6)
    # Independent check of the readout: an LSTM by hand over the 4 real steps (notes' equations).
    p = params["lstm"]
    a = c = np.zeros((3, 4), np.float32)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(4):
        stacked = np.concatenate([a, params["embedding"][short[:, t]]], axis=1)
        gate = {g: stacked @ np.asarray(p[f"W_{g}"]).T + p[f"b_{g}"] for g in "fuco"}
        c = sigmoid(gate["u"]) * np.tanh(gate["c"]) + sigmoid(gate["f"]) * c
        a = sigmoid(gate["o"]) * np.tanh(c)
    np.testing.assert_allclose(unpadded, a @ params["readout"]["kernel"] + params["readout"]["bias"],
                               rtol=1e-4, atol=1e-5)


def test_given_vectors_start_E_and_freezing_stops_its_gradient():
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    ids, mask = np.array([[1, 2, 3]], np.int32), np.ones((1, 3), bool)
    for freeze in (False, True):
        model = models.AverageEmbeddingClassifier(vocab_size=4, embedding_size=3, num_classes=2,
                                                  embedding_init=models.embedding_matrix_init(matrix),
                                                  freeze_embeddings=freeze)
        params = jax.jit(model.init)(jax.random.key(0), (ids, mask))["params"]
        np.testing.assert_array_equal(params["embedding"], matrix)
        grads = jax.jit(jax.grad(lambda p: jnp.sum(model.apply({"params": p}, (ids, mask)) ** 2)))(params)
        assert bool(jnp.any(grads["embedding"] != 0)) is not freeze
        assert bool(jnp.any(grads["readout"]["kernel"] != 0))
    with pytest.raises(ValueError, match=r"asks for E of shape \(5, 3\)"):
        models.AverageEmbeddingClassifier(vocab_size=5, embedding_size=3,
                                          embedding_init=models.embedding_matrix_init(matrix)).lazy_init(
            jax.random.key(0), (ids, mask))
