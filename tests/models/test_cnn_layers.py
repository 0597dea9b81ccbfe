import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.models import AdaptiveAveragePool, ConvBatchNorm, MaxPool, adaptive_average_pool


def _reference_adaptive_average_pool(x, height, width):
    """PyTorch's AdaptiveAvgPool2d written as loops: bin i spans [⌊i·n/h⌋, ⌈(i+1)·n/h⌉)."""
    batch, n_h, n_w, channels = x.shape
    out = np.zeros((batch, height, width, channels))
    for i in range(height):
        top, bottom = (i * n_h) // height, -(-((i + 1) * n_h) // height)
        for k in range(width):
            left, right = (k * n_w) // width, -(-((k + 1) * n_w) // width)
            out[:, i, k] = x[:, top:bottom, left:right].mean(axis=(1, 2))
    return out


@pytest.mark.parametrize("in_size, out_size", [((6, 6), (3, 3)), ((5, 7), (3, 4)), ((14, 14), (4, 4)),
                                               ((1, 1), (7, 7)), ((2, 3), (7, 6))])
def test_adaptive_average_pool_matches_loops(in_size, out_size):
    x = np.random.default_rng(0).normal(size=(2, *in_size, 3)).astype(np.float32)
    np.testing.assert_allclose(adaptive_average_pool(jnp.asarray(x), out_size),
                               _reference_adaptive_average_pool(x, *out_size), rtol=1e-5, atol=1e-6)


def test_adaptive_pool_is_average_pool_when_sizes_divide():
    x = jax.random.normal(jax.random.key(0), (2, 12, 12, 4))
    np.testing.assert_allclose(AdaptiveAveragePool((4, 4)).apply({}, x), nn.avg_pool(x, (3, 3), (3, 3)), rtol=1e-5)


def test_pools_refuse_inputs_smaller_than_their_window():
    with pytest.raises(ValueError, match=r"needs n_H, n_W ≥ 3; got input of shape \(1, 2, 2, 8\)"):
        MaxPool(3, 2).apply({}, jnp.ones((1, 2, 2, 8)))
    assert MaxPool(3, 2, "SAME").apply({}, jnp.ones((1, 2, 2, 8))).shape == (1, 1, 1, 8)
    with pytest.raises(ValueError, match="int or 'SAME'; got 'VALID'"):
        MaxPool(3, 2, "VALID").apply({}, jnp.ones((1, 4, 4, 1)))


def test_depthwise_conv_batch_norm_has_one_filter_per_channel_and_no_bias():
    x = jax.ShapeDtypeStruct((2, 9, 9, 6), jnp.float32)
    layer = ConvBatchNorm(6, 3, 2, feature_group_count=6)
    shapes = jax.eval_shape(lambda key, x: layer.init(key, x, train=False), jax.random.key(0), x)
    assert jax.tree.map(lambda s: s.shape, shapes["params"]) == {
        "conv": {"kernel": (3, 3, 1, 6)}, "batch_norm": {"scale": (6,), "bias": (6,)}}
    out = jax.eval_shape(lambda v, x: layer.apply(v, x, train=False), shapes, x)
    assert out.shape == (2, 5, 5, 6)   # ⌊(9 + 2·1 − 3)/2⌋ + 1 = 5
