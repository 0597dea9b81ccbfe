import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import nn as dnn

Z = jnp.linspace(-4.0, 4.0, 41) + 0.05  # avoid z = 0 exactly (kink of relu)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
def test_derivative_matches_autodiff(name):
    g = dnn.get_activation(name)
    expected = jax.vmap(jax.grad(g))(Z)
    np.testing.assert_allclose(dnn.get_activation_derivative(name)(Z), expected, rtol=1e-6, atol=1e-7)


def test_values_against_numpy():
    z = np.asarray(Z, np.float64)
    np.testing.assert_allclose(dnn.sigmoid(Z), 1 / (1 + np.exp(-z)), rtol=1e-6)
    np.testing.assert_allclose(dnn.relu(Z), np.maximum(z, 0), rtol=1e-6)
    np.testing.assert_allclose(dnn.leaky_relu(Z), np.where(z > 0, z, 0.01 * z), rtol=1e-6)
    np.testing.assert_allclose(dnn.tanh(Z), np.tanh(z), rtol=1e-6)


def test_softmax_rows_and_columns():
    z = jax.random.normal(jax.random.key(0), (5, 3)) * 3
    rows = dnn.softmax(z)
    e = np.exp(np.asarray(z, np.float64))
    np.testing.assert_allclose(rows, e / e.sum(-1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(dnn.softmax(z.T, axis=0), rows.T, rtol=1e-6)
    big = dnn.softmax(jnp.array([1000.0, 1000.0]))
    np.testing.assert_allclose(big, [0.5, 0.5])


def test_softmax_jacobian_matches_autodiff():
    z = jax.random.normal(jax.random.key(1), (2, 4))
    expected = jax.vmap(jax.jacobian(dnn.softmax))(z)
    np.testing.assert_allclose(dnn.softmax_jacobian(z), expected, atol=1e-6)


def test_unknown_activation():
    with pytest.raises(ValueError, match="swish"):
        dnn.get_activation("swish")


def test_log_softmax_matches_scipy_and_softmax():
    from scipy.special import log_softmax as scipy_log_softmax

    from dlcourse.nn import log_softmax, softmax

    z = np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]], np.float32)
    for axis in (-1, 0):
        np.testing.assert_allclose(log_softmax(z, axis=axis), scipy_log_softmax(z, axis=axis),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(jnp.exp(log_softmax(z, axis=axis)), softmax(z, axis=axis),
                                   rtol=1e-6, atol=1e-30)
