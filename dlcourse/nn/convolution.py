"""Convolution from explicit windows: conv1d/conv2d/conv3d, padding, output size, and conv2d's backward pass.

Layout is channels-last (TensorFlow's NHWC, the course's): an activation ``a^[l−1]`` has shape
``(m, n_H, n_W, n_C)``, a filter bank ``W`` has shape ``(f, f, n_C, n_C′)`` (``n_C′`` = number of
filters) and the bias ``b`` has ``n_C′`` entries (the course's ``(1, 1, 1, n_C′)`` is accepted too).
1-D and 3-D add or remove spatial axes: ``(m, n, n_C)`` with ``(f, n_C, n_C′)``; ``(m, n_D, n_H, n_W, n_C)``
with ``(f, f, f, n_C, n_C′)``.

What the course calls "convolution" is **cross-correlation** (the filter is not flipped), as in
every deep-learning library::

    Z[i, j, c′] = Σ_{a<f} Σ_{b<f} Σ_c  A_pad[i·s + a, j·s + b, c] · W[a, b, c, c′]  +  b[c′]

Implementation: im2col built from strided slices. For each of the f·f filter offsets ``(a, b)``
one strided slice ``A_pad[:, a::s, b::s, :]`` (cut to ``n_H_out × n_W_out``) is taken; stacked they
form every window at once, shape ``(m, n_H_out, n_W_out, f, f, n_C)`` (:func:`sliding_windows`),
and one ``tensordot`` with ``W`` gives ``Z``. The adjoint, :func:`overlap_add_windows` (col2im),
adds per-window values back onto the image, overlapping windows summing; it gives the backward
passes here and in :mod:`dlcourse.nn.pooling` and the transposed convolution.

Padding is ``"valid"`` (p = 0), ``"same"`` or an int p ≥ 0 zeros on each side. ``"same"`` is the
course's ``p = (f − 1)/2``: for odd f, (f − 1)/2 on each side; for even f, where (f − 1)/2 is not
an integer, ⌊(f − 1)/2⌋ before and ⌈(f − 1)/2⌉ = f/2 after (the extra zero at the end, as
TensorFlow and ``lax`` do), so n_out = n at stride 1 for every f. At stride s > 1 the course's
rule keeps this padding, giving n_out = ⌊(n − 1)/s⌋ + 1 = ⌈n/s⌉ — the size TensorFlow/``lax``
"SAME" gives — but TF/``lax`` pad only ``max((⌈n/s⌉ − 1)·s + f − n, 0)`` in total, less at the start,
so the windows sit at different places; pass ``padding=((lo, hi), …)`` from :func:`same_padding`
to ``lax.conv_general_dilated`` to reproduce ours.

The convolutions are jitted with ``stride`` and ``padding`` static (shapes are static too), so an
eager call compiles once per shape and they nest inside any other ``jit``, ``vmap`` or ``grad``.
"""

from __future__ import annotations

import functools
import itertools
import numbers
from typing import Optional, Sequence, Union

import jax
import jax.numpy as jnp

Padding = Union[str, int]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_int(name: str, value) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return int(value)


def same_padding(f: int) -> tuple[int, int]:
    """The course's "same" padding for a filter of size f: ``(⌊(f − 1)/2⌋, ⌈(f − 1)/2⌉)`` (before, after).

    Odd f: ``p = (f − 1)/2`` on both sides. Even f: one more zero after than before.
    """
    f = _check_positive_int("filter size f", f)
    return (f - 1) // 2, f // 2


def padding_pair(padding: Padding, f: int) -> tuple[int, int]:
    """Zeros ``(before, after)`` one spatial axis gets for ``padding`` ("valid", "same" or an int p ≥ 0)."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            return same_padding(f)
    elif _is_int(padding) and padding >= 0:
        return int(padding), int(padding)
    raise ValueError(f"padding must be 'valid', 'same' or an int >= 0; got {padding!r}")


def conv_output_size(n: int, f: int, padding: Padding = "valid", stride: int = 1) -> int:
    """``n_out = ⌊(n + 2p − f)/s⌋ + 1`` for one spatial axis of size n, filter f, padding p, stride s.

    ``padding`` is "valid" (p = 0), "same" (p = (f − 1)/2; for even f the two sides differ by one,
    see :func:`same_padding`, and ``2p`` reads ``f − 1``) or an int p. ``ValueError`` when the
    filter does not fit the padded input (``f > n + 2p``) or an argument is out of range.
    """
    n = _check_positive_int("input size n", n)
    f = _check_positive_int("filter size f", f)
    stride = _check_positive_int("stride", stride)
    before, after = padding_pair(padding, f)
    padded = n + before + after
    if f > padded:
        raise ValueError(f"filter size f={f} exceeds the padded input size n + 2p = {padded} "
                         f"(n={n}, padding={padding!r})")
    return (padded - f) // stride + 1


def zero_pad(x: jax.Array, p: Union[int, tuple[int, int]]) -> jax.Array:
    """Pad every spatial axis of ``x: (m, n_H, n_W, n_C)`` with p zeros on each side → ``(m, n_H + 2p, n_W + 2p, n_C)``.

    The batch (first) and channel (last) axes are not padded; any number of spatial axes works.
    ``p`` may be a pair ``(before, after)``.
    """
    x = jnp.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"zero_pad needs x of shape (m, spatial..., n_C); got shape {x.shape}")
    pair = (p, p) if _is_int(p) else tuple(p)
    if len(pair) != 2 or any(not _is_int(q) or q < 0 for q in pair):
        raise ValueError(f"padding p must be an int >= 0 or a pair of them; got {p!r}")
    return jnp.pad(x, [(0, 0)] + [pair] * (x.ndim - 2) + [(0, 0)])


def sliding_windows(x: jax.Array, window_shape: Sequence[int], stride: int) -> jax.Array:
    """Every window of an (already padded) ``x: (m, n_1, …, n_k, n_C)`` → ``(m, o_1, …, o_k, f_1, …, f_k, n_C)``.

    ``o_i = ⌊(n_i − f_i)/s⌋ + 1``; window ``(j_1, …, j_k)`` starts at ``(j_1·s, …, j_k·s)``. Built from
    ``f_1·…·f_k`` strided slices, one per offset inside the window (im2col without the reshape).
    """
    x = jnp.asarray(x)
    window_shape = tuple(window_shape)
    k = len(window_shape)
    if x.ndim != k + 2:
        raise ValueError(f"a {k}-D window needs x of shape (m, {k} spatial axes, n_C); got shape {x.shape}")
    stride = _check_positive_int("stride", stride)
    spatial = x.shape[1:-1]
    for n, f in zip(spatial, window_shape):
        if not 1 <= f <= n:
            raise ValueError(f"window {window_shape} does not fit the (padded) spatial shape {spatial}")
    out = tuple((n - f) // stride + 1 for n, f in zip(spatial, window_shape))
    slices = []
    for offset in itertools.product(*(range(f) for f in window_shape)):
        start = (0, *offset, 0)
        limit = (x.shape[0], *(o + stride * (n_out - 1) + 1 for o, n_out in zip(offset, out)), x.shape[-1])
        slices.append(jax.lax.slice(x, start, limit, (1, *(stride,) * k, 1)))
    windows = jnp.stack(slices, axis=-2)  # (m, o..., f_1·…·f_k, n_C)
    return windows.reshape(x.shape[:1] + out + window_shape + x.shape[-1:])


def overlap_add_windows(windows: jax.Array, spatial_shape: Sequence[int], stride: int) -> jax.Array:
    """The adjoint of :func:`sliding_windows` (col2im): add each window's values back where it came from.

    ``windows: (m, o_1, …, o_k, f_1, …, f_k, n_C)`` → ``(m, n_1, …, n_k, n_C)`` with
    ``out[j·s + a] = Σ`` over all windows ``j`` and offsets ``a`` landing there; overlapping windows
    (``s < f``) add, places no window covers are 0. Needs ``n_i ≥ s·(o_i − 1) + f_i``.
    """
    windows = jnp.asarray(windows)
    spatial_shape = tuple(spatial_shape)
    k = len(spatial_shape)
    stride = _check_positive_int("stride", stride)
    if windows.ndim != 2 * k + 2:
        raise ValueError(f"windows for {k} spatial axes need shape (m, {k} counts, {k} sizes, n_C); "
                         f"got {windows.shape}")
    out, window_shape = windows.shape[1:1 + k], windows.shape[1 + k:1 + 2 * k]
    for n, o, f in zip(spatial_shape, out, window_shape):
        if n < stride * (o - 1) + f:
            raise ValueError(f"spatial shape {spatial_shape} is too small for {out} windows of {window_shape} "
                             f"at stride {stride}")
    zero = jnp.zeros((), windows.dtype)
    total = jnp.zeros(windows.shape[:1] + spatial_shape + windows.shape[-1:], windows.dtype)
    for offset in itertools.product(*(range(f) for f in window_shape)):
        piece = windows[(slice(None),) * (1 + k) + offset]  # (m, o..., n_C)
        # place piece[j] at j·s + offset: interior padding s − 1, then pad the ends to n.
        config = [(0, 0, 0)] + [(a, n - a - stride * (o - 1) - 1, stride - 1)
                                for a, n, o in zip(offset, spatial_shape, out)] + [(0, 0, 0)]
        total = total + jax.lax.pad(piece, zero, config)
    return total


def _check_convolution_arguments(x, w, k: int, what: str, w_shape: str):
    x, w = jnp.asarray(x), jnp.asarray(w)
    if x.ndim != k + 2:
        raise ValueError(f"{what} needs x of shape (m, {k} spatial axes, n_C); got shape {x.shape}")
    if w.ndim != k + 2:
        raise ValueError(f"{what} needs w of shape {w_shape}; got shape {w.shape}")
    if w.shape[-2] != x.shape[-1]:
        raise ValueError(f"w has {w.shape[-2]} input channels (shape {w.shape}) but x has {x.shape[-1]} "
                         f"(shape {x.shape})")
    return x, w


def _bias_vector(b, n_channels: int) -> Optional[jax.Array]:
    if b is None:
        return None
    b = jnp.asarray(b)
    if b.size != n_channels or (b.ndim > 1 and b.shape[-1] != n_channels):
        raise ValueError(f"bias must have {n_channels} entries, shape ({n_channels},) or (1, ..., {n_channels}); "
                         f"got shape {b.shape}")
    return b.reshape(n_channels)


def _padded(x: jax.Array, window_shape: Sequence[int], padding: Padding, stride: int) -> tuple[jax.Array, list]:
    pairs = [padding_pair(padding, f) for f in window_shape]
    for n, f in zip(x.shape[1:-1], window_shape):
        conv_output_size(n, f, padding, stride)  # raises with the offending sizes
    return jnp.pad(x, [(0, 0), *pairs, (0, 0)]), pairs


def _convolve(x, w, b, stride: int, padding: Padding) -> jax.Array:
    k = x.ndim - 2
    x_padded, _ = _padded(x, w.shape[:k], padding, stride)
    windows = sliding_windows(x_padded, w.shape[:k], stride)  # (m, o..., f..., n_C)
    z = jnp.tensordot(windows, w, axes=k + 1)  # (m, o..., n_C′)
    bias = _bias_vector(b, w.shape[-1])
    return z if bias is None else z + bias


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def conv2d(x: jax.Array, w: jax.Array, b: Optional[jax.Array] = None, stride: int = 1,
           padding: Padding = "valid") -> jax.Array:
    """The course's convolution (cross-correlation) of ``x: (m, n_H, n_W, n_C)`` with ``w: (f, f, n_C, n_C′)``.

    ``Z[i, j, c′] = Σ_{a, b, c} A_pad[i·s + a, j·s + b, c] · W[a, b, c, c′] + b[c′]`` →
    ``(m, n_H_out, n_W_out, n_C′)`` with ``n_out = ⌊(n + 2p − f)/s⌋ + 1`` (:func:`conv_output_size`).
    Equals ``lax.conv_general_dilated(x, w, (s, s), padding_pairs, dimension_numbers=("NHWC", "HWIO",
    "NHWC"))``. ``f = 1`` is the 1×1 convolution (:func:`dlcourse.nn.pointwise_conv2d`); a filter may be
    rectangular ``(f_H, f_W, n_C, n_C′)``. im2col from strided slices (see the module docstring).
    """
    x, w = _check_convolution_arguments(x, w, 2, "conv2d", "(f, f, n_C, n_C′)")
    return _convolve(x, w, b, stride, padding)


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def conv1d(x: jax.Array, w: jax.Array, b: Optional[jax.Array] = None, stride: int = 1,
           padding: Padding = "valid") -> jax.Array:
    """1-D convolution (cross-correlation) of ``x: (m, n, n_C)`` with ``w: (f, n_C, n_C′)`` → ``(m, n_out, n_C′)``.

    ``Z[i, c′] = Σ_{a, c} A_pad[i·s + a, c] · W[a, c, c′] + b[c′]`` (a 1-D signal such as the
    lecture's EKG; the notes' "Convolutions in 2D and 1D"). Same conventions as :func:`conv2d`.
    """
    x, w = _check_convolution_arguments(x, w, 1, "conv1d", "(f, n_C, n_C′)")
    return _convolve(x, w, b, stride, padding)


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def conv3d(x: jax.Array, w: jax.Array, b: Optional[jax.Array] = None, stride: int = 1,
           padding: Padding = "valid") -> jax.Array:
    """3-D convolution (cross-correlation) of ``x: (m, n_D, n_H, n_W, n_C)`` with ``w: (f, f, f, n_C, n_C′)``.

    ``Z[d, i, j, c′] = Σ_{e, a, b, c} A_pad[d·s + e, i·s + a, j·s + b, c] · W[e, a, b, c, c′] + b[c′]``
    → ``(m, n_D_out, n_H_out, n_W_out, n_C′)``, each ``⌊(n + 2p − f)/s⌋ + 1``
    (volumes such as CT scans, or video with time as depth: the notes' "3D convolution"). The
    filter covers all n_C input channels, the same stride and padding apply on all three spatial axes.
    """
    x, w = _check_convolution_arguments(x, w, 3, "conv3d", "(f, f, f, n_C, n_C′)")
    return _convolve(x, w, b, stride, padding)


@functools.partial(jax.jit, static_argnames=("stride", "padding"))
def conv2d_backward(dz: jax.Array, x: jax.Array, w: jax.Array, stride: int = 1,
                    padding: Padding = "valid") -> tuple[jax.Array, jax.Array, jax.Array]:
    """Hand-written backward pass of :func:`conv2d`: ``(dA_prev, dW, db)`` from ``dZ = ∂J/∂Z``.

    With ``A_pad`` the padded input and windows ``A_pad[i·s : i·s + f, j·s : j·s + f, :]``::

        dA_pad[i·s + a, j·s + b, c] += Σ_{c′} W[a, b, c, c′] · dZ[i, j, c′]    (overlapping windows add)
        dW[a, b, c, c′]  = Σ_{m, i, j} A_pad[i·s + a, j·s + b, c] · dZ[i, j, c′]
        db[c′]           = Σ_{m, i, j} dZ[i, j, c′]

    and ``dA_prev`` is ``dA_pad`` with the padding cut off. Shapes: ``dz (m, n_H_out, n_W_out, n_C′)``,
    ``x (m, n_H, n_W, n_C)``, ``w (f, f, n_C, n_C′)`` → ``dA_prev`` like x, ``dW`` like w, ``db (n_C′,)``.
    Input rows and columns no window reaches (when ``s`` does not divide ``n + 2p − f``) get 0.
    """
    x, w = _check_convolution_arguments(x, w, 2, "conv2d_backward", "(f, f, n_C, n_C′)")
    dz = jnp.asarray(dz)
    x_padded, pairs = _padded(x, w.shape[:2], padding, stride)
    windows = sliding_windows(x_padded, w.shape[:2], stride)  # (m, o_H, o_W, f, f, n_C)
    if dz.shape != windows.shape[:3] + w.shape[-1:]:
        raise ValueError(f"dz must have the output's shape {windows.shape[:3] + w.shape[-1:]}; got {dz.shape}")
    dw = jnp.tensordot(windows, dz, axes=([0, 1, 2], [0, 1, 2]))  # (f, f, n_C, n_C′)
    db = jnp.sum(dz, axis=(0, 1, 2))
    window_gradients = jnp.tensordot(dz, w, axes=([3], [3]))  # (m, o_H, o_W, f, f, n_C)
    dx_padded = overlap_add_windows(window_gradients, x_padded.shape[1:3], stride)
    (top, _), (left, _) = pairs
    dx = dx_padded[:, top:top + x.shape[1], left:left + x.shape[2], :]
    return dx, dw, db

