"""Transposed convolution as lax convolutions whose gradients XLA's CPU backend runs fast in loops,
and the Linen layer :class:`ConvTranspose` built on it (U-Net's up-sampling).

Same values as :func:`dlcourse.nn.conv2d_transpose` (the course's form, no filter flip, NHWC,
``W: (f_H, f_W, n_C, n_C′)``, stride ``s``, padding ``p`` cut from each side, ``output_padding``
rows/columns added at the bottom/right):

    Y_full[i·s + a, j·s + b, c′] += Σ_c X[i, j, c] · W[a, b, c, c′]   (overlapping contributions add)
    Y = Y_full[p : p + n_out, p : p + n_out],   n_out = s(n − 1) + f − 2p + output_padding

computed as ``lax.conv_general_dilated`` of ``X`` dilated by ``s`` (``lhs_dilation``) with ``W``
flipped in both spatial axes and padded by ``f − 1 − p`` (``+ output_padding`` at the end). JAX's
own gradients of that are convolutions with swapped batch/feature dimension numbers, which XLA's
CPU backend runs as a naive loop nest inside ``lax.scan`` (see
:mod:`dlcourse.nn.loop_friendly_convolution`). Here both are written as ordinary
``NHWC × HWIO → NHWC`` convolutions (``g``: the output gradient, ``(N, n_out_H, n_out_W, n_C′)``):

- ``dX`` = the strided convolution of ``g`` with ``W`` (channels swapped, no flip), stride ``s``,
  padding ``(p, p − output_padding)``: a transposed convolution's input gradient is the forward
  convolution it transposes;
- ``dW[a, b, c, c′] = Σ_{n, i, j} X[n, i, j, c] · g_pad[n, i·s + a, j·s + b, c′]``: ``g`` laid out as
  ``(n_C′, H, W, N)`` (channels as the batch) convolved with ``X`` laid out as ``(n_H, n_W, N, n_C)``
  as the filter, dilated by ``s`` (``rhs_dilation``), same padding ``(p, p − output_padding)``.

Values and both gradients equal lax's up to float rounding (tested against
``lax.conv_transpose`` and ``jax.grad``).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Optional, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from dlcourse.nn.transposed_convolution import conv_transpose_output_size

__all__ = ["ConvTranspose", "loop_friendly_conv2d_transpose"]

_CANONICAL = ("NHWC", "HWIO", "NHWC")


def _pair(value: Union[int, Sequence[int]], what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{what} must be an int or a pair of ints; got {value!r}")
    return pair


def loop_friendly_conv2d_transpose(x: jax.Array, w: jax.Array, stride: Union[int, Sequence[int]] = 1,
                                   padding: Union[int, Sequence[int]] = 0,
                                   output_padding: Union[int, Sequence[int]] = 0, precision=None) -> jax.Array:
    """Transposed convolution of ``x: (m, n_H, n_W, n_C)`` with ``w: (f_H, f_W, n_C, n_C′)`` →
    ``(m, s(n_H − 1) + f_H − 2p + output_padding, …, n_C′)``; no bias.

    The values of :func:`dlcourse.nn.conv2d_transpose` (see the module docstring); ``stride``,
    ``padding`` (≥ 0) and ``output_padding`` (in ``[0, s)``) are ints or (height, width) pairs.
    """
    x, w = jnp.asarray(x), jnp.asarray(w)
    if x.ndim != 4:
        raise ValueError(f"conv2d_transpose needs x of shape (m, n_H, n_W, n_C); got shape {x.shape}")
    if w.ndim != 4 or w.shape[2] != x.shape[-1]:
        raise ValueError(f"conv2d_transpose needs w of shape (f_H, f_W, n_C={x.shape[-1]}, n_C′); got shape {w.shape}")
    strides = _pair(stride, "stride")
    paddings = _pair(padding, "padding")
    extras = _pair(output_padding, "output_padding")
    for n, f, s, p, extra in zip(x.shape[1:3], w.shape[:2], strides, paddings, extras):
        conv_transpose_output_size(n, f, p, s, extra)  # ValueError on a bad combination
    return _transpose(x, w, strides, paddings, extras, precision)


def _forward(x, w, strides, paddings, extras, precision):
    pads = [(f - 1 - p, f - 1 - p + extra) for f, p, extra in zip(w.shape[:2], paddings, extras)]
    return lax.conv_general_dilated(x, w[::-1, ::-1], (1, 1), pads, lhs_dilation=strides,
                                    dimension_numbers=_CANONICAL, precision=precision)


@partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _transpose(x, w, strides, paddings, extras, precision):
    return _forward(x, w, strides, paddings, extras, precision)


def _transpose_fwd(x, w, strides, paddings, extras, precision):
    return _forward(x, w, strides, paddings, extras, precision), (x, w)


def _transpose_bwd(strides, paddings, extras, precision, residuals, g):
    x, w = residuals
    pads = [(p, p - extra) for p, extra in zip(paddings, extras)]
    dx = lax.conv_general_dilated(g, jnp.swapaxes(w, 2, 3).astype(g.dtype), strides, pads,
                                  dimension_numbers=_CANONICAL, precision=precision)
    # Channels n_C′ as the batch, examples as the features; X as the filter dilated by s.
    dw = lax.conv_general_dilated(jnp.transpose(g, (3, 1, 2, 0)), jnp.transpose(x, (1, 2, 0, 3)).astype(g.dtype),
                                  (1, 1), pads, rhs_dilation=strides, dimension_numbers=_CANONICAL,
                                  precision=precision)  # (n_C′, f_H, f_W, n_C)
    return dx.astype(x.dtype), jnp.transpose(dw, (1, 2, 3, 0)).astype(w.dtype)


_transpose.defvjp(_transpose_fwd, _transpose_bwd)


class ConvTranspose(nn.Module):
    """Transposed convolution layer ``Y = W ⊛ᵀ X + b`` (the course's form; see the module docstring).

    Parameters ``kernel: (f_H, f_W, n_C, n_C′)`` — ``f_H·f_W·n_C·n_C′`` weights — and ``bias: (n_C′,)``.
    U-Net up-samples by 2 with ``kernel_size=2, strides=2`` (``n_out = 2n``, no overlap) or
    ``kernel_size=3, strides=2, padding=1, output_padding=1`` (the notes' picture, ``2n`` too).

    Convention: unlike ``flax.linen.ConvTranspose`` (whose default ``transpose_kernel=False`` uses
    the kernel unflipped in lax's dilated-convolution form), the kernel here is the filter each input
    pixel scales, so ``flax.linen.ConvTranspose``'s kernel is this one flipped in both spatial axes
    (with its padding ``f − 1 − p``, ``f − 1 − p + output_padding``).

    Attributes:
      features: ``n_C′``.
      kernel_size: ``f`` (int or pair).
      strides: ``s`` (int or pair).
      padding: ``p ≥ 0`` cut from each side (int or pair).
      output_padding: rows/columns in ``[0, s)`` added at the bottom/right.
      use_bias: add ``b``.
      kernel_init, bias_init: initializers (Flax's defaults: LeCun normal, zeros).
    """

    features: int
    kernel_size: Union[int, Sequence[int]] = 2
    strides: Union[int, Sequence[int]] = 2
    padding: Union[int, Sequence[int]] = 0
    output_padding: Union[int, Sequence[int]] = 0
    use_bias: bool = True
    kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
    bias_init: Callable[..., Any] = nn.initializers.zeros_init()
    precision: Optional[Any] = None

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"ConvTranspose needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        f_h, f_w = _pair(self.kernel_size, "kernel_size")
        kernel = self.param("kernel", self.kernel_init, (f_h, f_w, x.shape[-1], self.features))
        y = loop_friendly_conv2d_transpose(x, kernel.astype(x.dtype), self.strides, self.padding,
                                           self.output_padding, self.precision)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,)).astype(y.dtype)
        return y
