"""``lax.conv_general_dilated`` with a filter gradient XLA's CPU backend runs fast inside loops.

Every model of :mod:`dlcourse.models` trains inside ``lax.scan`` (an epoch is a scan over
mini-batches). JAX differentiates a convolution with respect to its filter as another convolution
whose dimension numbers swap the roles of batch and feature axes. At the top level of a program
XLA's CPU backend rewrites that convolution into its fast library form; inside a loop body it does
not, and runs a naive loop nest instead — measured on a 3×3, 32-channel layer, three scanned
training steps took 13.1 s against 0.25 s unrolled.

This function computes the same forward pass and the same input gradient (JAX's own rules) and
writes the filter gradient as an ordinary ``NHWC × HWIO → NHWC`` convolution on explicitly
transposed operands, which the CPU backend runs with its library kernel wherever it appears:
for input ``x`` (``N, H, W, C``), output gradient ``g`` (``N, H′, W′, C′``), stride ``s``, filter
dilation ``d`` and low padding ``p``,

    dW[h, w, c, c′] = Σ_{n, i, j} x_pad[n, i·s + h·d, j·s + w·d, c] · g[n, i, j, c′],

a convolution of ``x`` laid out as ``(C, H, W, N)`` (the channels as the batch, the examples as
features) with ``g`` laid out as ``(H′, W′, N, C′)`` as the filter, window stride ``d`` and filter
dilation ``s``. Grouped (and depthwise) convolutions put each group's examples in its own feature
group. Other layouts, input dilation and batch groups fall back to ``lax.conv_general_dilated``
unchanged. Values equal JAX's gradient up to float rounding (tested against ``jax.grad``).

Use it as the ``conv_general_dilated`` of a ``flax.linen.Conv``, as dlcourse's models do.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

__all__ = ["Conv", "conv_general_dilated"]

_CANONICAL = ("NHWC", "HWIO", "NHWC")


def _is_canonical(dimension_numbers, ndim: int) -> bool:
    if ndim != 4:
        return False
    if dimension_numbers is None:
        return False
    if isinstance(dimension_numbers, lax.ConvDimensionNumbers):
        return tuple(dimension_numbers) == ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    return tuple(dimension_numbers) == _CANONICAL


def conv_general_dilated(lhs, rhs, window_strides: Sequence[int], padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count: int = 1, batch_group_count: int = 1,
                         precision=None, preferred_element_type=None):
    """Drop-in for ``jax.lax.conv_general_dilated`` (same arguments, same values); see the module
    docstring for what differs: only how the filter gradient is computed, for 2-D NHWC/HWIO
    convolutions without input dilation or batch groups."""
    ndim = jnp.ndim(lhs)
    plain = (lhs_dilation is None or all(v == 1 for v in lhs_dilation)) and batch_group_count == 1
    if not (plain and _is_canonical(dimension_numbers, ndim)):
        return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                        dimension_numbers, feature_group_count, batch_group_count, precision,
                                        preferred_element_type)
    spatial = ndim - 2
    strides = tuple(int(s) for s in window_strides)
    dilation = tuple(int(d) for d in (rhs_dilation or (1,) * spatial))
    if isinstance(padding, str):
        dilated_window = [(k - 1) * d + 1 for k, d in zip(rhs.shape[:spatial], dilation)]
        padding = lax.padtype_to_pads(lhs.shape[1:1 + spatial], dilated_window, strides, padding)
    pads = tuple((int(lo), int(hi)) for lo, hi in padding)
    return _conv(lhs, rhs, strides, pads, dilation, int(feature_group_count), precision, preferred_element_type)


def _forward(lhs, rhs, strides, pads, dilation, groups, precision, preferred):
    return lax.conv_general_dilated(lhs, rhs, strides, pads, rhs_dilation=dilation, dimension_numbers=_CANONICAL,
                                    feature_group_count=groups, precision=precision,
                                    preferred_element_type=preferred)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5, 6, 7))
def _conv(lhs, rhs, strides, pads, dilation, groups, precision, preferred):
    return _forward(lhs, rhs, strides, pads, dilation, groups, precision, preferred)


def _conv_fwd(lhs, rhs, strides, pads, dilation, groups, precision, preferred):
    return _forward(lhs, rhs, strides, pads, dilation, groups, precision, preferred), (lhs, rhs)


def _filter_gradient(lhs, g, filter_shape, strides, pads, dilation, groups, precision):
    """``dW`` of the module docstring, ``filter_shape`` = (f_H, f_W, C/groups, C′)."""
    n, height, width, channels = lhs.shape
    f_h, f_w, group_channels, out_channels = filter_shape
    # The input as (C/groups, H, W, groups·N): batch = a channel within its group, features = (group, example).
    x = lhs.reshape(n, height, width, groups, group_channels)
    x = jnp.transpose(x, (4, 1, 2, 3, 0)).reshape(group_channels, height, width, groups * n)
    # The output gradient as the filter (H′, W′, N, C′): C′ is ordered by group already.
    kernel = jnp.transpose(g, (1, 2, 0, 3))
    high = []
    for size, f, s, d, (low, _), out in zip((height, width), (f_h, f_w), strides, dilation, pads, g.shape[1:3]):
        high.append((f - 1) * d + (out - 1) * s + 1 - size - low)   # makes the output exactly f long
    result = lax.conv_general_dilated(x.astype(g.dtype), kernel, dilation,
                                      ((pads[0][0], high[0]), (pads[1][0], high[1])), rhs_dilation=strides,
                                      dimension_numbers=_CANONICAL, feature_group_count=groups, precision=precision)
    return jnp.transpose(result, (1, 2, 0, 3))  # (C/groups, f_H, f_W, C′) → (f_H, f_W, C/groups, C′)


def _input_gradient(g, rhs, input_shape, strides, pads, dilation, groups, precision):
    """``dx``: the output gradient spread back through the flipped filters, as an ordinary
    convolution of ``g`` dilated by the stride (``lhs_dilation``)."""
    f_h, f_w, group_channels, out_channels = rhs.shape
    # Per group, the filter with its channel axes swapped and its window flipped: (f_H, f_W, C′/groups, C).
    kernel = rhs.reshape(f_h, f_w, group_channels, groups, out_channels // groups)
    kernel = jnp.transpose(kernel, (0, 1, 4, 3, 2)).reshape(f_h, f_w, out_channels // groups, groups * group_channels)
    kernel = kernel[::-1, ::-1]
    padding = []
    for size, f, s, d, (low, _), out in zip(input_shape[1:3], (f_h, f_w), strides, dilation, pads, g.shape[1:3]):
        window = (f - 1) * d + 1
        before = window - 1 - low
        padding.append((before, size + window - 1 - ((out - 1) * s + 1) - before))
    return lax.conv_general_dilated(g, kernel, (1, 1), padding, lhs_dilation=strides, rhs_dilation=dilation,
                                    dimension_numbers=_CANONICAL, feature_group_count=groups, precision=precision)


def _conv_bwd(strides, pads, dilation, groups, precision, preferred, residuals, g):
    lhs, rhs = residuals
    d_lhs = _input_gradient(g, rhs, lhs.shape, strides, pads, dilation, groups, precision).astype(lhs.dtype)
    d_rhs = _filter_gradient(lhs, g, rhs.shape, strides, pads, dilation, groups, precision)
    return d_lhs, d_rhs.astype(rhs.dtype)


_conv.defvjp(_conv_fwd, _conv_bwd)


class Conv(nn.Conv):
    """``flax.linen.Conv`` whose convolution is :func:`conv_general_dilated`: the same parameters,
    values and gradients, fast inside ``lax.scan`` on the CPU. dlcourse's models use it."""

    conv_general_dilated: Callable | None = conv_general_dilated
