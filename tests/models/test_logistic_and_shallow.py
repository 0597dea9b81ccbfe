import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.models import LogisticRegression, ShallowNet


def test_logistic_regression_is_one_linear_layer():
    model = LogisticRegression()
    x = jax.random.normal(jax.random.key(0), (6, 3))
    variables = model.init(jax.random.key(1), x)
    kernel = variables["params"]["linear"]["kernel"]
    assert kernel.shape == (3, 1)
    np.testing.assert_array_equal(kernel, 0)  # the course's w = 0
    params = {"linear": {"kernel": jnp.array([[1.0], [-2.0], [0.5]]), "bias": jnp.array([0.25])}}
    out = model.apply({"params": params}, x, train=True, keep_prob=jnp.float32(0.5))  # keywords ignored
    np.testing.assert_allclose(out, np.asarray(x) @ np.array([[1.0], [-2.0], [0.5]]) + 0.25, rtol=1e-5)


def test_logistic_regression_flattens_images_and_has_c_outputs():
    model = LogisticRegression(num_outputs=10, kernel_init="random")
    x = jnp.ones((2, 8, 8))
    variables = model.init(jax.random.key(0), x)
    assert model.apply(variables, x).shape == (2, 10)
    assert variables["params"]["linear"]["kernel"].shape == (64, 10)


def test_shallow_net_matches_numpy_and_course_init():
    model = ShallowNet(hidden_size=4)
    x = jax.random.normal(jax.random.key(0), (7, 2))
    variables = model.init(jax.random.key(1), x)
    p = jax.tree.map(np.asarray, variables["params"])
    assert p["hidden"]["kernel"].shape == (2, 4) and p["output"]["kernel"].shape == (4, 1)
    assert np.abs(p["hidden"]["kernel"]).max() < 0.05  # randn · 0.01
    np.testing.assert_array_equal(p["hidden"]["bias"], 0)
    big = jax.tree.map(lambda w: w * 100 + 0.3, variables["params"])
    bp = jax.tree.map(np.asarray, big)
    hidden = np.tanh(np.asarray(x) @ bp["hidden"]["kernel"] + bp["hidden"]["bias"])
    expected = hidden @ bp["output"]["kernel"] + bp["output"]["bias"]
    out = model.apply({"params": big}, x, train=False, keep_prob=1.0, mask=jnp.ones(7))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_bad_sizes_and_names():
    with pytest.raises(ValueError, match="0"):
        ShallowNet(hidden_size=0).init(jax.random.key(0), jnp.ones((1, 2)))
    with pytest.raises(ValueError, match="orthogonal"):
        LogisticRegression(kernel_init="orthogonal").init(jax.random.key(0), jnp.ones((1, 2)))
