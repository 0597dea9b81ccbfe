"""dlcourse.nn.ConvTranspose and loop_friendly_conv2d_transpose: the values of lax.conv_transpose and of
the from-scratch conv2d_transpose, and gradients equal to jax.grad of lax's form, inside lax.scan too.
(The notes' 2×2 → 4×4 example and the overlap adding are tested on the from-scratch function in
tests/nn/test_convolution.py.)"""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from dlcourse import nn as dnn

SPEC = ("NHWC", "HWIO", "NHWC")
CASES = [  # (n_H, n_W, f, stride, padding, output_padding, channels in, channels out)
    (3, 4, 2, 2, 0, 0, 3, 2),   # U-Net's 2×2 stride-2 up-sampling
    (2, 2, 3, 2, 1, 1, 2, 3),   # the notes' shapes: 2×2 → 4×4
    (4, 3, 3, 1, 1, 0, 2, 2),   # stride 1 "same"
    (3, 3, 4, 3, 0, 2, 1, 2),   # output padding larger than the padding (negative high pad in the gradients)
]


def lax_transpose(x, w, stride, padding, output_padding):
    f = w.shape[0]
    pads = ((f - 1 - padding, f - 1 - padding + output_padding),) * 2
    return lax.conv_transpose(x, w[::-1, ::-1], (stride, stride), pads, dimension_numbers=SPEC,
                              precision=lax.Precision.HIGHEST)


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_equal_lax_conv_transpose(case):
    n_h, n_w, f, stride, padding, extra, c_in, c_out = case
    rng = np.random.default_rng(n_h * 7 + f)
    x = jnp.asarray(rng.normal(size=(2, n_h, n_w, c_in)), jnp.float32)
    w = jnp.asarray(rng.normal(size=(f, f, c_in, c_out)), jnp.float32)
    got = dnn.loop_friendly_conv2d_transpose(x, w, stride, padding, extra)
    expected = lax_transpose(x, w, stride, padding, extra)
    assert got.shape == (2, stride * (n_h - 1) + f - 2 * padding + extra, stride * (n_w - 1) + f - 2 * padding + extra,
                         c_out)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, dnn.conv2d_transpose(x, w, stride=stride, padding=padding, output_padding=extra),
                               rtol=1e-5, atol=1e-5)

    def cost(transpose):
        return lambda x, w: jnp.sum(jnp.sin(transpose(x, w, stride, padding, extra)))

    ours = jax.jit(jax.grad(cost(dnn.loop_friendly_conv2d_transpose), (0, 1)))(x, w)
    theirs = jax.grad(cost(lax_transpose), (0, 1))(x, w)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_layer_trained_inside_scan_equals_lax_and_matches_flax_conv_transpose():
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.normal(size=(2, 3, 3, 2)), jnp.float32)
    target = jnp.asarray(rng.normal(size=(2, 6, 6, 3)), jnp.float32)
    layer = dnn.ConvTranspose(3, kernel_size=3, strides=2, padding=1, output_padding=1)
    params = layer.init(jax.random.key(0), x)["params"]
    assert params["kernel"].shape == (3, 3, 2, 3) and params["bias"].shape == (3,)

    # Flax's layer with our kernel flipped and lax's padding computes the same.
    flipped = {"kernel": params["kernel"][::-1, ::-1], "bias": params["bias"]}
    flax_out = nn.ConvTranspose(3, (3, 3), (2, 2), padding=((1, 2), (1, 2))).apply({"params": flipped}, x)
    np.testing.assert_allclose(layer.apply({"params": params}, x), flax_out, rtol=1e-5, atol=1e-5)

    def trained(apply):
        def step(p, _):
            grad = jax.grad(lambda p: jnp.mean((apply(p, x) - target) ** 2))(p)
            return jax.tree.map(lambda a, g: a - 0.1 * g, p, grad), None
        return jax.jit(lambda p: lax.scan(step, p, None, length=3)[0])(params)

    ours = trained(lambda p, x: layer.apply({"params": p}, x))
    theirs = trained(lambda p, x: lax_transpose(x, p["kernel"], 2, 1, 1) + p["bias"])
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bad_arguments_name_the_value():
    x = jnp.ones((1, 2, 2, 1))
    with pytest.raises(ValueError, match="output_padding"):
        dnn.loop_friendly_conv2d_transpose(x, jnp.ones((3, 3, 1, 1)), 2, 1, 2)
    with pytest.raises(ValueError, match="n_C=1"):
        dnn.loop_friendly_conv2d_transpose(x, jnp.ones((3, 3, 2, 1)), 2)
    with pytest.raises(ValueError, match="stride"):
        dnn.loop_friendly_conv2d_transpose(x, jnp.ones((3, 3, 1, 1)), (2, 2, 2))
