"""Transposed convolution (notes, "Transpose Convolution"): the up-sampling layer of U-Net, NHWC.

Each input pixel scales the whole filter and the scaled filters are laid on the output grid ``s``
apart; where they overlap they **add**, and the ``p`` outermost rows/columns (the padding) are cut
off::

    Y_full[i·s + a, j·s + b, c′] += Σ_c X[i, j, c] · W[a, b, c, c′]        (no flip)
    Y = Y_full[p : p + n_out, p : p + n_out],   n_out = s·(n − 1) + f − 2p + output_padding

The lecture's picture (2×2 input, 3×3 filter, p = 1, s = 2) shows a 4×4 output, one more than
``s(n − 1) + f − 2p = 3``: the padding drawn after the last row/column receives no filter, so only
the first p rows/columns are really cut. That is ``output_padding = 1`` here, and PyTorch's
``ConvTranspose2d(kernel_size=3, stride=2, padding=1, output_padding=1)``. ``output_padding`` rows
and columns are added at the end (bottom/right), zero before the bias.

Relation to lax (tested): with ``w: (f, f, n_C, n_C′)`` this equals
``lax.conv_transpose(x, w.swapaxes(2, 3), (s, s), pads, ("NHWC", "HWIO", "NHWC"), transpose_kernel=True)`` and
``lax.conv_general_dilated(x, w[::-1, ::-1], (1, 1), pads, lhs_dilation=(s, s), …)`` with
``pads = ((f − 1 − p, f − 1 − p + output_padding),) * 2``: lax's default ``transpose_kernel=False``
(and Flax's ``ConvTranspose``) does not flip, so its kernel is our ``w`` flipped in both spatial axes.
It is also the gradient of :func:`dlcourse.nn.conv2d` with respect to its input:
``conv2d_backward(dz, x, v, s, p)[0] == conv2d_transpose(dz, v.swapaxes(2, 3), s, p, (n + 2p − f) mod s)``.
"""

from __future__ import annotations

import functools
from typing import Optional

import jax
import jax.numpy as jnp

from dlcourse.nn.convolution import _bias_vector, _check_positive_int, _is_int, overlap_add_windows


def conv_transpose_output_size(n: int, f: int, padding: int = 0, stride: int = 1, output_padding: int = 0) -> int:
    """``n_out = s·(n − 1) + f − 2p + output_padding`` for one spatial axis of a transposed convolution.

    ``ValueError`` unless ``p ≥ 0``, ``0 ≤ output_padding < s`` (as PyTorch: a larger one would add
    rows no filter reaches) and ``n_out ≥ 1``.
    """
    n = _check_positive_int("input size n", n)
    f = _check_positive_int("filter size f", f)
    stride = _check_positive_int("stride", stride)
    if not _is_int(padding) or padding < 0:
        raise ValueError(f"transposed convolution padding must be an int >= 0; got {padding!r}")
    if not _is_int(output_padding) or not 0 <= output_padding < stride:
        raise ValueError(f"output_padding must be an int in [0, stride={stride}); got {output_padding!r}")
    size = stride * (n - 1) + f - 2 * padding + output_padding
    if size < 1:
        raise ValueError(f"padding={padding} cuts away the whole output (s(n − 1) + f + output_padding = "
                         f"{size + 2 * padding}, n={n}, f={f}, s={stride})")
    return size


@functools.partial(jax.jit, static_argnames=("stride", "padding", "output_padding"))
def conv2d_transpose(x: jax.Array, w: jax.Array, b: Optional[jax.Array] = None, stride: int = 1,
                     padding: int = 0, output_padding: int = 0) -> jax.Array:
    """Transposed convolution of ``x: (m, n_H, n_W, n_C)`` with ``w: (f, f, n_C, n_C′)`` → ``(m, H_out, W_out, n_C′)``.

    ``Y_full[i·s + a, j·s + b, c′] += Σ_c X[i, j, c] · W[a, b, c, c′]`` (overlapping contributions add),
    then ``Y = Y_full[p : p + n_out, …] + b[c′]`` with ``n_out = s(n − 1) + f − 2p + output_padding``
    (:func:`conv_transpose_output_size`; see the module docstring for the notes' example and lax).
    ``padding`` is an int p ≥ 0 cut from each side; ``output_padding`` extends the bottom/right.
    """
    x, w = jnp.asarray(x), jnp.asarray(w)
    if x.ndim != 4:
        raise ValueError(f"conv2d_transpose needs x of shape (m, n_H, n_W, n_C); got shape {x.shape}")
    if w.ndim != 4 or w.shape[2] != x.shape[-1]:
        raise ValueError(f"conv2d_transpose needs w of shape (f, f, n_C={x.shape[-1]}, n_C′); got shape {w.shape}")
    out = [conv_transpose_output_size(n, f, padding, stride, output_padding) for n, f in zip(x.shape[1:3], w.shape[:2])]
    contributions = jnp.tensordot(x, w, axes=([3], [2]))  # (m, n_H, n_W, f, f, n_C′)
    full_shape = [stride * (n - 1) + f + output_padding for n, f in zip(x.shape[1:3], w.shape[:2])]
    y_full = overlap_add_windows(contributions, full_shape, stride)
    y = y_full[:, padding:padding + out[0], padding:padding + out[1], :]
    bias = _bias_vector(b, w.shape[-1])
    return y if bias is None else y + bias
