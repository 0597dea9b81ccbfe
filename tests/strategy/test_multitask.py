"""Tests of dlcourse.strategy.multitask against a NumPy loop over the course's formula."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse.strategy import multitask


def _reference(logits, y, known):
    total = 0.0
    tasks, m = logits.shape
    for i in range(m):
        for j in range(tasks):
            if known[j, i]:
                y_hat = 1.0 / (1.0 + np.exp(-logits[j, i]))
                total += -(y[j, i] * np.log(y_hat) + (1 - y[j, i]) * np.log(1 - y_hat))
    return total / m


@pytest.fixture
def course_batch():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 6))  # pedestrians, cars, stop signs, traffic lights
    y = rng.integers(0, 2, size=(4, 6)).astype(np.float64)
    known = rng.random((4, 6)) > 0.3
    return logits, y, known


def test_nan_marks_unknown(course_batch):
    logits, y, known = course_batch
    y_nan = np.where(known, y, np.nan)
    loss = multitask.multitask_logistic_loss(jnp.asarray(logits, jnp.float32), jnp.asarray(y_nan, jnp.float32))
    np.testing.assert_allclose(loss, _reference(logits, y, known), rtol=1e-5)


def test_minus_one_marks_unknown_integer_labels(course_batch):
    logits, y, known = course_batch
    y_int = np.where(known, y, -1).astype(np.int32)
    loss = multitask.multitask_logistic_loss(jnp.asarray(logits, jnp.float32), y_int)
    np.testing.assert_allclose(loss, _reference(logits, y, known), rtol=1e-5)


def test_explicit_mask_decides_alone(course_batch):
    logits, y, known = course_batch
    loss = multitask.multitask_logistic_loss(jnp.asarray(logits, jnp.float32), y.astype(np.float32), mask=known)
    np.testing.assert_allclose(loss, _reference(logits, y, known), rtol=1e-5)


def test_all_known_equals_summed_optax_bce(course_batch):
    logits, y, _ = course_batch
    loss = multitask.multitask_logistic_loss(jnp.asarray(logits), jnp.asarray(y))
    oracle = optax.sigmoid_binary_cross_entropy(jnp.asarray(logits), jnp.asarray(y)).sum() / logits.shape[1]
    np.testing.assert_allclose(loss, oracle, rtol=1e-5)


def test_unknown_entries_get_zero_finite_gradient(course_batch):
    logits, y, known = course_batch
    y_nan = jnp.asarray(np.where(known, y, np.nan), jnp.float32)
    grad = jax.jit(jax.grad(multitask.multitask_logistic_loss))(jnp.asarray(logits, jnp.float32), y_nan)
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(np.asarray(grad)[~known], 0.0)
    # Known entries: dJ/dz = (σ(z) − y) / m.
    expected = (1 / (1 + np.exp(-logits)) - y) / logits.shape[1]
    np.testing.assert_allclose(np.asarray(grad)[known], expected[known], rtol=1e-4, atol=1e-6)


def test_known_label_mask():
    y = jnp.array([[1.0, jnp.nan, -1.0, 0.0]])
    np.testing.assert_array_equal(multitask.known_label_mask(y), [[True, False, False, True]])


def test_shape_errors():
    with pytest.raises(ValueError, match="tasks, m"):
        multitask.multitask_logistic_loss(jnp.zeros(4), jnp.zeros(4))
    with pytest.raises(ValueError, match="mask"):
        multitask.multitask_logistic_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), mask=jnp.ones((3, 2)))
