"""Max and average pooling against ``lax.reduce_window``; hand-written backward passes against ``jax.vjp``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.nn import avg_pool, avg_pool_backward, max_pool, max_pool_backward

TOLERANCE = dict(rtol=1e-5, atol=1e-6)


def _normal(seed, shape):
    """Standard normal float32 data from NumPy: continuous, so windows have no tied maxima."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def _reduce_window(x, kind, f, stride, pads):
    k = x.ndim - 2
    window, strides, padding = (1,) + (f,) * k + (1,), (1,) + (stride,) * k + (1,), ((0, 0), *pads, (0, 0))
    if kind == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, strides, padding)
    return jax.lax.reduce_window(x, 0.0, jax.lax.add, window, strides, padding) / f ** k


# (shape, f, stride, padding, padding pairs per spatial axis)
CASES = [
    ((2, 6, 8, 3), 2, 2, "valid", ((0, 0),) * 2),  # the course's usual f = 2, s = 2
    ((1, 7, 5, 2), 3, 1, "same", ((1, 1),) * 2),   # overlapping windows
    ((2, 7, 7, 1), 3, 2, 1, ((1, 1),) * 2),        # overlapping, stride 2, int padding
    ((1, 6, 7, 2), 4, 3, "same", ((1, 2),) * 2),   # even f: the extra zero after
    ((2, 9, 3), 3, 2, "valid", ((0, 0),)),         # 1-D
]


@pytest.mark.parametrize("shape, f, stride, padding, pads", CASES)
def test_pooling_forward_equals_reduce_window_and_backward_equals_vjp(shape, f, stride, padding, pads):
    x = _normal(len(shape) + f + stride, shape)
    for kind, pool, backward in (("max", max_pool, max_pool_backward), ("avg", avg_pool, avg_pool_backward)):
        pooled, vjp = jax.vjp(lambda x: pool(x, f, stride, padding), x)
        np.testing.assert_allclose(pooled, _reduce_window(x, kind, f, stride, pads), **TOLERANCE)
        assert pooled.shape[-1] == shape[-1]
        da = _normal(7, pooled.shape)
        np.testing.assert_allclose(backward(da, x, f, stride, padding), vjp(da)[0], **TOLERANCE)


def test_max_pool_by_hand_and_routing_to_the_argmax():
    x = jnp.array([[1.0, 3.0, 2.0, 1.0],
                   [2.0, 9.0, 1.0, 1.0],
                   [1.0, 3.0, 2.0, 3.0],
                   [5.0, 6.0, 1.0, 2.0]]).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(max_pool(x, 2, 2)[0, :, :, 0], [[9, 2], [6, 3]])
    np.testing.assert_array_equal(avg_pool(x, 2, 2)[0, :, :, 0], [[3.75, 1.25], [3.75, 2.0]])
    da = jnp.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(max_pool_backward(da, x, 2, 2)[0, :, :, 0],
                                  [[0, 0, 20, 0], [0, 10, 0, 0], [0, 0, 0, 40], [0, 30, 0, 0]])
    np.testing.assert_array_equal(avg_pool_backward(da, x, 2, 2)[0, :, :, 0],
                                  [[2.5, 2.5, 5, 5], [2.5, 2.5, 5, 5], [7.5, 7.5, 10, 10], [7.5, 7.5, 10, 10]])


def test_max_pool_backward_gives_ties_to_the_first_maximum_and_overlaps_add():
    ones = jnp.ones((1, 4, 4, 1))
    da = jnp.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    got = max_pool_backward(da, ones, 2, 2)[0, :, :, 0]
    # every pixel of a window ties: the top-left one (first in row-major order) takes the whole gradient
    np.testing.assert_array_equal(got, [[1, 0, 2, 0], [0, 0, 0, 0], [3, 0, 4, 0], [0, 0, 0, 0]])
    assert float(got.sum()) == float(da.sum())
    # jax.grad of the forward pass splits a tie evenly instead
    _, vjp = jax.vjp(lambda x: max_pool(x, 2, 2), ones)
    np.testing.assert_allclose(vjp(da)[0][0, :, :, 0], np.kron([[1, 2], [3, 4]], np.full((2, 2), 0.25)))
    # overlapping windows (f = 3, s = 1) that share their maximum send all their gradients to it
    peak = jnp.zeros((1, 4, 4, 1)).at[0, 1, 2, 0].set(5.0)
    routed = max_pool_backward(jnp.ones((1, 2, 2, 1)), peak, 3, 1)[0, :, :, 0]
    assert float(routed[1, 2]) == 4.0 and float(routed.sum()) == 4.0


def test_pooling_rejects_bad_arguments():
    x = jnp.ones((1, 4, 4, 1))
    with pytest.raises(ValueError, match="padding < f"):
        max_pool(x, 2, 1, padding=2)
    with pytest.raises(ValueError, match="pool size f must be a positive int; got 0"):
        avg_pool(x, 0, 1)
    with pytest.raises(ValueError, match="f=5"):
        max_pool(x, 5, 1)
    with pytest.raises(ValueError, match=r"dA must have the pooled output's shape \(1, 2, 2, 1\)"):
        avg_pool_backward(jnp.ones((1, 3, 3, 1)), x, 2, 2)
