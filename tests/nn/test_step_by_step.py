import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.nn import step_by_step as sbs

LAYER_DIMS = [5, 4, 3, 1]


def _problem(seed=0, m=12):
    kx, ky, kp = jax.random.split(jax.random.key(seed), 3)
    X = jax.random.normal(kx, (LAYER_DIMS[0], m))
    Y = (jax.random.uniform(ky, (1, m)) > 0.5).astype(jnp.float32)
    parameters = sbs.initialize_parameters_deep(kp, LAYER_DIMS, initializer="he")
    return X, Y, parameters


def test_initialize_shapes_and_scale():
    parameters = sbs.initialize_parameters_deep(jax.random.key(0), [300, 200, 1])
    assert parameters["W1"].shape == (200, 300) and parameters["b1"].shape == (200, 1)
    assert parameters["W2"].shape == (1, 200) and parameters["b2"].shape == (1, 1)
    assert float(jnp.std(parameters["W1"])) == pytest.approx(0.01, rel=0.02)
    np.testing.assert_array_equal(parameters["b1"], 0)
    he = sbs.initialize_parameters_deep(jax.random.key(0), [300, 200, 1], initializer="he")
    assert float(jnp.var(he["W1"])) == pytest.approx(2 / 300, rel=0.03)  # fan-in is n[l-1]
    with pytest.raises(ValueError, match=r"\[3\]"):
        sbs.initialize_parameters_deep(jax.random.key(0), [3])


def test_linear_forward_by_hand():
    A = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    W = jnp.array([[1.0, -1.0]])
    b = jnp.array([[0.5]])
    Z, cache = sbs.linear_forward(A, W, b)
    np.testing.assert_allclose(Z, [[-1.5, -1.5]])
    assert cache[0] is A and cache[1] is W and cache[2] is b
    A1, (_, Z1) = sbs.linear_activation_forward(A, W, b, "relu")
    np.testing.assert_allclose(A1, [[0.0, 0.0]])
    np.testing.assert_allclose(Z1, Z)
    with pytest.raises(ValueError, match="shape"):
        sbs.linear_forward(A, jnp.ones((1, 3)), b)


def test_forward_shapes_and_caches():
    X, Y, parameters = _problem()
    AL, caches = sbs.l_model_forward(X, parameters)
    assert AL.shape == (1, 12) and len(caches) == 3
    assert bool(jnp.all((AL > 0) & (AL < 1)))
    # by hand, numpy
    A = np.asarray(X)
    for l in (1, 2):
        A = np.maximum(np.asarray(parameters[f"W{l}"]) @ A + np.asarray(parameters[f"b{l}"]), 0)
    expected = 1 / (1 + np.exp(-(np.asarray(parameters["W3"]) @ A + np.asarray(parameters["b3"]))))
    np.testing.assert_allclose(AL, expected, rtol=1e-5)


def test_compute_cost_by_hand():
    AL = jnp.array([[0.8, 0.9, 0.4]])
    Y = jnp.array([[1.0, 1.0, 0.0]])
    expected = -(np.log(0.8) + np.log(0.9) + np.log(0.6)) / 3
    assert float(sbs.compute_cost(AL, Y)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_backward_equals_jax_grad(hidden):
    X, Y, parameters = _problem(1)
    AL, caches = sbs.l_model_forward(X, parameters, hidden)
    grads = sbs.l_model_backward(AL, Y, caches, hidden)
    autodiff = jax.grad(sbs.l_model_cost)(parameters, X, Y, hidden)
    for name in parameters:
        np.testing.assert_allclose(grads[f"d{name}"], autodiff[name], atol=1e-5, rtol=1e-5)
    dX = jax.grad(lambda X: sbs.l_model_cost(parameters, X, Y, hidden))(X)
    m = X.shape[1]  # the course's dA carry no 1/m: it enters through dW and db
    np.testing.assert_allclose(grads["dA0"] / m, dX, atol=1e-5)
    chex.assert_trees_all_close(sbs.l_model_gradients(parameters, X, Y, hidden), autodiff, atol=1e-5)


def test_update_parameters_and_training_lowers_cost():
    X, Y, parameters = _problem(2, m=64)

    @jax.jit
    def step(parameters, learning_rate):
        AL, caches = sbs.l_model_forward(X, parameters)
        grads = sbs.l_model_backward(AL, Y, caches)
        return sbs.update_parameters(parameters, grads, learning_rate), sbs.compute_cost(AL, Y)

    AL, caches = sbs.l_model_forward(X, parameters)
    grads = sbs.l_model_backward(AL, Y, caches)
    updated = sbs.update_parameters(parameters, grads, 0.1)
    np.testing.assert_allclose(updated["W2"], parameters["W2"] - 0.1 * grads["dW2"], rtol=1e-6)
    costs = []
    for _ in range(200):
        parameters, cost = step(parameters, jnp.float32(0.3))
        costs.append(float(cost))
    assert costs[-1] < 0.7 * costs[0]
