"""GloVe: co-occurrence counts, the weighting, the loss against a numpy double loop, its gradient
worked by hand against jax.grad, and training."""

import jax
import numpy as np
import pytest

from dlcourse import embeddings


def random_params(vocab_size=5, embedding_size=3, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"theta": (vocab_size, embedding_size), "e": (vocab_size, embedding_size), "b": vocab_size,
              "b_prime": vocab_size}
    return {name: rng.normal(size=shape).astype(np.float32) for name, shape in shapes.items()}


def random_counts(vocab_size=5, seed=1):
    rng = np.random.default_rng(seed)
    return np.where(rng.random((vocab_size, vocab_size)) < 0.3, 0.0, rng.uniform(0.5, 300, (vocab_size, vocab_size)))


def numpy_weight(x, x_max=100.0, alpha=0.75):
    return 0.0 if x == 0 else min(1.0, (x / x_max) ** alpha)


def test_weighting_by_hand():
    np.testing.assert_allclose(embeddings.glove_weights(np.array([0.0, 100.0, 6.25, 500.0]), x_max=100.0, alpha=0.5),
                               [0.0, 1.0, 0.25, 1.0], rtol=1e-6)


def test_loss_equals_a_numpy_double_loop():
    params, counts = random_params(), random_counts()
    expected = 0.0
    for i in range(5):
        for j in range(5):
            if counts[i, j]:
                fit = params["theta"][i] @ params["e"][j] + params["b"][i] + params["b_prime"][j] - np.log(counts[i, j])
                expected += numpy_weight(counts[i, j]) * fit ** 2
    rows, columns = np.indices((5, 5))
    loss = jax.jit(embeddings.glove_loss)
    np.testing.assert_allclose(loss(params, rows.ravel(), columns.ravel(), counts.ravel()), expected, rtol=1e-5)
    entries = embeddings.cooccurrence_entries(counts)
    assert len(entries.rows) == np.count_nonzero(counts)
    np.testing.assert_allclose(loss(params, *entries), expected, rtol=1e-5)


def test_gradient_worked_by_hand_equals_jax_grad():
    params, counts = random_params(), random_counts()
    weights = np.vectorize(numpy_weight)(counts)
    log_counts = np.log(np.where(counts > 0, counts, 1.0))
    fit = params["theta"] @ params["e"].T + params["b"][:, None] + params["b_prime"][None] - log_counts
    residual = 2 * weights * fit                                    # ∂J/∂(θ_iᵀ e_j) for every (i, j)
    by_hand = {"theta": residual @ params["e"], "e": residual.T @ params["theta"], "b": residual.sum(axis=1),
               "b_prime": residual.sum(axis=0)}
    rows, columns = np.indices((5, 5))
    grads = jax.jit(jax.grad(embeddings.glove_loss))(params, rows.ravel(), columns.ravel(), counts.ravel())
    for name in by_hand:
        np.testing.assert_allclose(grads[name], by_hand[name], rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("weighting", embeddings.COOCCURRENCE_WEIGHTINGS)
def test_cooccurrence_counts_equal_a_loop_over_windows(weighting):
    ids = np.array([[1, 2, 3, 1, 0], [2, 2, 4, 0, 0]])
    mask = ids > 0
    expected = np.zeros((5, 5))
    for sentence, keep in zip(ids, mask):
        words = sentence[keep]
        for p, i in enumerate(words):
            for q, j in enumerate(words):
                if 0 < abs(p - q) <= 2:
                    expected[i, j] += 1 / abs(p - q) if weighting == "harmonic" else 1
    counts = jax.jit(embeddings.cooccurrence_counts, static_argnums=(2, 3, 4))(ids, mask, 5, 2, weighting)
    np.testing.assert_allclose(counts, expected, rtol=1e-6)
    np.testing.assert_allclose(counts, np.asarray(counts).T)


def test_training_fits_log_counts_and_averages_the_two_embeddings():
    counts = random_counts(8, seed=3)
    counts = counts + counts.T
    model = embeddings.train_glove(embeddings.cooccurrence_entries(counts), 8, embedding_size=6, epochs=150,
                                   batch_size=16, learning_rate=0.05, x_max=50.0, key=jax.random.key(0))
    losses = np.asarray(model.losses)
    assert losses[-1] < 0.02 * losses[0], losses[[0, -1]]
    np.testing.assert_allclose(model.embeddings, (model.params["e"] + model.params["theta"]) / 2, rtol=1e-6)
