import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.nn import guarded_divide, weighted_mean


def test_weighted_mean_matches_numpy_average():
    values = np.array([1.0, 2.0, 4.0, 8.0], np.float32)
    weights = np.array([1.0, 0.0, 0.5, 2.0], np.float32)
    np.testing.assert_allclose(weighted_mean(values, weights), np.average(values, weights=weights),
                               rtol=1e-6)
    np.testing.assert_allclose(weighted_mean(values), np.mean(values), rtol=1e-6)


def test_zero_total_weight_gives_zero_with_finite_gradient():
    values = jnp.array([1.0, jnp.nan, 3.0])
    assert float(weighted_mean(values, jnp.zeros(3))) == 0.0
    # a NaN in an example of weight 0 is left out
    assert float(weighted_mean(values, jnp.array([1.0, 0.0, 1.0]))) == 2.0
    grad = jax.grad(lambda v: weighted_mean(v, jnp.zeros(3)))(jnp.ones(3))
    np.testing.assert_array_equal(grad, np.zeros(3))
    np.testing.assert_array_equal(guarded_divide(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0])),
                                  [0.0, 0.5])


def test_weight_shape_must_match():
    with pytest.raises(ValueError, match="mask must have shape"):
        weighted_mean(jnp.ones(3), jnp.ones(4))
