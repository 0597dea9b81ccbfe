import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import gradcheck
from dlcourse.losses import sigmoid_binary_cross_entropy
from dlcourse.models import ShallowNet
from dlcourse.nn import step_by_step as sbs


def _problem():
    kx, ky, kp = jax.random.split(jax.random.key(0), 3)
    X = jax.random.normal(kx, (4, 10))
    Y = (jax.random.uniform(ky, (1, 10)) > 0.5).astype(jnp.float32)
    parameters = sbs.initialize_parameters_deep(kp, [4, 5, 3, 1], initializer="he")
    return X, Y, parameters


def test_quadratic_by_hand():
    result = gradcheck.gradient_check(lambda p: jnp.sum(p["w"] ** 3), {"w": jnp.array([1.0, -2.0, 0.5])})
    np.testing.assert_allclose(result.gradient, [3.0, 12.0, 0.75])
    np.testing.assert_allclose(result.numerical_gradient, [3.0, 12.0, 0.75], rtol=1e-7)
    assert result.difference < 1e-8 and result.reading == gradcheck.GREAT
    assert not jax.config.jax_enable_x64  # the float64 context did not leak


def test_hand_written_backward_passes_and_planted_bug_is_caught():
    X, Y, parameters = _problem()
    cost = lambda p: sbs.l_model_cost(p, X, Y)  # noqa: E731
    good = gradcheck.gradient_check(cost, parameters, grad_fn=lambda p: sbs.l_model_gradients(p, X, Y))
    assert good.difference <= 1e-6, good.difference
    assert good.reading == gradcheck.GREAT

    def buggy_gradients(p):  # the classic slip: dW = 2/m dZ A_prevᵀ in layer 2
        grads = sbs.l_model_gradients(p, X, Y)
        return {**grads, "W2": 2.0 * grads["W2"]}

    bad = gradcheck.gradient_check(cost, parameters, grad_fn=buggy_gradients)
    assert bad.difference >= 1e-3, bad.difference
    assert bad.reading == gradcheck.LIKELY_BUG


def test_default_gradient_is_jax_grad_on_a_flax_model():
    model = ShallowNet(hidden_size=3)
    x = jax.random.normal(jax.random.key(1), (8, 2))
    y = (x[:, 0] > 0).astype(jnp.float32)
    params = model.init(jax.random.key(2), x)["params"]
    params = jax.tree.map(lambda w: w * 50.0 + 0.1, params)  # move away from the tiny init
    result = gradcheck.gradient_check(
        lambda p: sigmoid_binary_cross_entropy(model.apply({"params": p}, x), y), params, chunk_size=4
    )
    assert result.difference < 1e-6
    assert result.gradient.dtype == np.float64 and result.gradient.shape == (3 * 2 + 3 + 3 + 1,)


def test_reading_thresholds_and_errors():
    assert gradcheck.read_difference(1e-7) == gradcheck.GREAT
    assert gradcheck.read_difference(1e-5) == gradcheck.LOOK_CAREFULLY
    assert gradcheck.read_difference(1e-3) == gradcheck.LIKELY_BUG
    assert gradcheck.read_difference(float("nan")) == gradcheck.LIKELY_BUG
    assert gradcheck.relative_difference([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert gradcheck.relative_difference([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2)
    with pytest.raises(ValueError, match="-1"):
        gradcheck.gradient_check(lambda p: jnp.sum(p), jnp.ones(2), eps=-1)
    with pytest.raises(ValueError, match="scalar"):
        gradcheck.gradient_check(lambda p: p * 2, jnp.ones(2))


def test_grad_fn_with_a_different_structure_is_rejected():
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(0.5)}

    def cost(p):
        return jnp.sum(p["w"] ** 2) + p["b"] ** 2

    # the right number of components in the wrong pytree: other keys, or a list in flattened order
    renamed = lambda p: {"dw": 2.0 * p["w"], "db": 2.0 * p["b"]}  # noqa: E731
    as_list = lambda p: [2.0 * p["b"], 2.0 * p["w"]]  # noqa: E731
    for grad_fn in (renamed, as_list):
        with pytest.raises(ValueError, match="structured like params"):
            gradcheck.gradient_check(cost, params, grad_fn=grad_fn)
    ok = gradcheck.gradient_check(cost, params, grad_fn=lambda p: {"w": 2.0 * p["w"], "b": 2.0 * p["b"]})
    assert ok.difference < 1e-7
