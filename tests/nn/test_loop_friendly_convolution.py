"""dlcourse.nn.conv_general_dilated: lax's values, and gradients equal to jax.grad of lax's
convolution over strides, paddings, dilations and groups — also inside lax.scan, where it exists."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from dlcourse import nn as dnn

CANONICAL = ("NHWC", "HWIO", "NHWC")
CASES = [  # (height, f, stride, dilation, padding, groups, channels in, channels out)
    (7, 3, 1, 1, "SAME", 1, 3, 4),
    (8, 3, 2, 1, "SAME", 1, 2, 5),
    (9, 5, 2, 1, ((2, 1), (0, 3)), 1, 3, 2),
    (10, 3, 1, 2, "VALID", 1, 2, 3),
    (11, 3, 3, 1, "VALID", 1, 4, 4),
    (6, 4, 2, 1, "SAME", 1, 3, 3),           # even filter, asymmetric "same" padding
    (8, 3, 1, 1, "SAME", 4, 4, 4),           # depthwise
    (9, 3, 2, 2, ((1, 1), (2, 2)), 4, 4, 8),  # depthwise with a multiplier, stride and dilation
    (8, 1, 2, 1, "VALID", 2, 4, 6),          # grouped 1×1
]


@pytest.mark.parametrize("case", CASES)
def test_values_and_both_gradients_equal_lax(case):
    height, f, stride, dilation, padding, groups, c_in, c_out = case
    rng = np.random.default_rng(height * 31 + f)
    x = jnp.asarray(rng.normal(size=(2, height, height + 1, c_in)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(f, f, c_in // groups, c_out)), jnp.float32)
    options = dict(window_strides=(stride, stride), padding=padding, rhs_dilation=(dilation, dilation),
                   dimension_numbers=CANONICAL, feature_group_count=groups)
    np.testing.assert_allclose(dnn.conv_general_dilated(x, w, **options), lax.conv_general_dilated(x, w, **options),
                               rtol=1e-5, atol=1e-5)

    def cost(conv):
        return lambda x, w: jnp.sum(jnp.sin(conv(x, w, **options)))

    expected = jax.grad(cost(lax.conv_general_dilated), (0, 1))(x, w)
    got = jax.jit(jax.grad(cost(dnn.conv_general_dilated), (0, 1)))(x, w)
    for ours, theirs in zip(got, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_gradients_inside_scan_equal_lax_and_other_layouts_fall_back():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(4, 8, 8, 3)), jnp.float32)
    w0 = jnp.asarray(rng.normal(size=(3, 3, 3, 5)), jnp.float32) * 0.1

    def trained(conv):
        def step(w, _):
            grad = jax.grad(lambda w: jnp.mean(conv(x, w, (2, 2), "SAME", dimension_numbers=CANONICAL) ** 2))(w)
            return w - 0.1 * grad, None
        return jax.jit(lambda w: lax.scan(step, w, None, length=3)[0])(w0)

    np.testing.assert_allclose(trained(dnn.conv_general_dilated), trained(lax.conv_general_dilated), rtol=1e-5,
                               atol=1e-6)
    nchw = jnp.transpose(x, (0, 3, 1, 2))
    oihw = jnp.transpose(w0, (3, 2, 0, 1))
    np.testing.assert_allclose(dnn.conv_general_dilated(nchw, oihw, (1, 1), "SAME"),
                               lax.conv_general_dilated(nchw, oihw, (1, 1), "SAME"), rtol=1e-6)


def test_the_conv_layer_is_flax_conv_with_the_same_parameters():
    import flax.linen as nn

    x = jnp.ones((1, 6, 6, 2))
    ours = dnn.Conv(4, (3, 3), strides=(2, 2))
    theirs = nn.Conv(4, (3, 3), strides=(2, 2))
    variables = theirs.init(jax.random.key(0), x)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(0), x)) == jax.tree.map(jnp.shape, variables)
    np.testing.assert_allclose(ours.apply(variables, x), theirs.apply(variables, x), rtol=1e-6)
