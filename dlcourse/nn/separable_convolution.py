"""Depthwise, pointwise (1×1) and depthwise-separable convolutions (MobileNet), NHWC.

The course's cost comparison (notes, "Cost Summary"): a normal convolution of a 6×6×3 input with
five 3×3×3 filters costs 2,160 multiplications; the depthwise step (one 3×3 filter per input
channel) costs 432 and the pointwise step (five 1×1×3 filters) 240, together 672 — see
:mod:`dlcourse.nn.convolution_costs`.
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp

from dlcourse.nn.convolution import Padding, _bias_vector, _padded, sliding_windows


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def depthwise_conv2d(x: jax.Array, w: jax.Array, b: Optional[jax.Array] = None, stride: int = 1,
                     padding: Padding = "valid") -> jax.Array:
    """One f×f filter per input channel, channels kept apart: ``x (m, n_H, n_W, n_C)``, ``w (f, f, n_C)``.

    ``Z[i, j, c] = Σ_{a, b} A_pad[i·s + a, j·s + b, c] · W[a, b, c] + b[c]`` → ``(m, n_H_out, n_W_out, n_C)``
    (cross-correlation; stride and padding as :func:`dlcourse.nn.conv2d`). Equals
    ``lax.conv_general_dilated(x, w[:, :, None, :], …, feature_group_count=n_C)`` (lax's kernel
    ``(f, f, 1, n_C)``, depth multiplier 1).
    """
    x, w = jnp.asarray(x), jnp.asarray(w)
    if x.ndim != 4:
        raise ValueError(f"depthwise_conv2d needs x of shape (m, n_H, n_W, n_C); got shape {x.shape}")
    if w.ndim != 3 or w.shape[-1] != x.shape[-1]:
        raise ValueError(f"depthwise_conv2d needs w of shape (f, f, n_C={x.shape[-1]}); got shape {w.shape}")
    x_padded, _ = _padded(x, w.shape[:2], padding, stride)
    windows = sliding_windows(x_padded, w.shape[:2], stride)  # (m, o_H, o_W, f, f, n_C)
    z = jnp.einsum("mhwabc,abc->mhwc", windows, w)
    bias = _bias_vector(b, x.shape[-1])
    return z if bias is None else z + bias


@jax.jit
def pointwise_conv2d(x: jax.Array, w: jax.Array, b: Optional[jax.Array] = None) -> jax.Array:
    """The 1×1 convolution: at every pixel, a dense layer across channels. ``x (m, n_H, n_W, n_C)``.

    ``Z[i, j, c′] = Σ_c A[i, j, c] · W[c, c′] + b[c′]`` → ``(m, n_H, n_W, n_C′)``, for ``w`` of shape
    ``(n_C, n_C′)`` or ``(1, 1, n_C, n_C′)``; the same as ``conv2d(x, w.reshape(1, 1, n_C, n_C′), b)``.
    Shrinks (or grows) the number of channels at the same height and width, e.g. the inception
    bottleneck 28×28×192 → 28×28×16.
    """
    x, w = jnp.asarray(x), jnp.asarray(w)
    if x.ndim != 4:
        raise ValueError(f"pointwise_conv2d needs x of shape (m, n_H, n_W, n_C); got shape {x.shape}")
    if w.ndim == 4 and w.shape[:2] == (1, 1):
        w = w[0, 0]
    if w.ndim != 2 or w.shape[0] != x.shape[-1]:
        raise ValueError(f"pointwise_conv2d needs w of shape (n_C={x.shape[-1]}, n_C′) or (1, 1, n_C, n_C′); "
                         f"got shape {w.shape}")
    z = jnp.tensordot(x, w, axes=1)
    bias = _bias_vector(b, w.shape[-1])
    return z if bias is None else z + bias


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def depthwise_separable_conv2d(x: jax.Array, depthwise_w: jax.Array, pointwise_w: jax.Array,
                               depthwise_b: Optional[jax.Array] = None, pointwise_b: Optional[jax.Array] = None,
                               stride: int = 1, padding: Padding = "valid") -> jax.Array:
    """Depthwise then pointwise convolution, MobileNet's building block.

    ``pointwise_conv2d(depthwise_conv2d(x, depthwise_w, depthwise_b, stride, padding), pointwise_w, pointwise_b)``:
    ``x (m, n_H, n_W, n_C)``, ``depthwise_w (f, f, n_C)``, ``pointwise_w (n_C, n_C′)`` →
    ``(m, n_H_out, n_W_out, n_C′)``; the same output shape as ``conv2d`` with an ``(f, f, n_C, n_C′)``
    filter at ``1/n_C′ + 1/f²`` of its multiplications. No nonlinearity in between (MobileNet puts
    batch norm and ReLU there: compose the two functions to add them).
    """
    hidden = depthwise_conv2d(x, depthwise_w, depthwise_b, stride, padding)
    return pointwise_conv2d(hidden, pointwise_w, pointwise_b)
