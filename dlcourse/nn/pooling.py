"""Max and average pooling with hand-written backward passes, NHWC; no parameters to learn.

``x: (m, n_H, n_W, n_C)`` (any number of spatial axes works: ``(m, n_1, …, n_k, n_C)``), each
channel pooled on its own over f×f windows at stride s, so ``n_C`` is kept and
``n_out = ⌊(n + 2p − f)/s⌋ + 1`` (:func:`dlcourse.nn.conv_output_size`; the course's usual f = 2,
s = 2 halves height and width). Padding as :func:`dlcourse.nn.conv2d`: "valid", "same"
(``p = (f − 1)/2``, one more after than before for even f) or an int p.

- Max pooling pads with −∞ (padding never wins) and needs ``p < f`` so that every window holds
  at least one real pixel.
- Average pooling pads with zeros and always divides by ``f²``: padded zeros count in the mean
  (Flax's ``avg_pool`` default ``count_include_pad=True``; TensorFlow/Keras "same" leaves them out).

Windows come from :func:`dlcourse.nn.sliding_windows` (strided slices); the backward passes
send each window's gradient back with :func:`dlcourse.nn.overlap_add_windows`, so overlapping
windows (s < f) add their contributions. All four functions are jitted with ``f``, ``stride`` and
``padding`` static.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from dlcourse.nn.convolution import (
    Padding,
    _check_positive_int,
    conv_output_size,
    overlap_add_windows,
    padding_pair,
    sliding_windows,
)


def _lowest(dtype) -> jax.Array:
    if jnp.issubdtype(dtype, jnp.floating):
        return jnp.array(-jnp.inf, dtype)
    return jnp.array(jnp.iinfo(dtype).min, dtype)


def _pool_windows(x, f: int, stride: int, padding: Padding, fill, what: str, check_max: bool = False):
    """``(windows (m, o…, f…, n_C), padding pairs, padded spatial shape)`` after validating the arguments."""
    x = jnp.asarray(x)
    if x.ndim < 3:
        raise ValueError(f"{what} needs x of shape (m, n_H, n_W, n_C); got shape {x.shape}")
    f = _check_positive_int("pool size f", f)
    stride = _check_positive_int("stride", stride)
    pair = padding_pair(padding, f)
    if check_max and max(pair) >= f:
        raise ValueError(f"max pooling needs padding < f so that no window is all padding; "
                         f"got padding={padding!r}, f={f}")
    k = x.ndim - 2
    for n in x.shape[1:-1]:
        conv_output_size(n, f, padding, stride)  # raises when the window does not fit
    x_padded = jnp.pad(x, [(0, 0)] + [pair] * k + [(0, 0)], constant_values=fill)
    return sliding_windows(x_padded, (f,) * k, stride), pair, x_padded.shape[1:-1]


def _window_axes(windows: jax.Array) -> tuple[int, ...]:
    k = (windows.ndim - 2) // 2
    return tuple(range(1 + k, 1 + 2 * k))


def _check_gradient_shape(da: jax.Array, windows: jax.Array) -> jax.Array:
    da = jnp.asarray(da)
    k = (windows.ndim - 2) // 2
    expected = windows.shape[:1 + k] + windows.shape[-1:]
    if da.shape != expected:
        raise ValueError(f"dA must have the pooled output's shape {expected}; got {da.shape}")
    return da


def _unpad(dx_padded: jax.Array, pair: tuple[int, int], shape: tuple[int, ...]) -> jax.Array:
    before = pair[0]
    index = (slice(None),) + tuple(slice(before, before + n) for n in shape[1:-1]) + (slice(None),)
    return dx_padded[index]


@functools.partial(jax.jit, static_argnames=("f", "stride", "padding"))
def max_pool(x: jax.Array, f: int, stride: int, padding: Padding = "valid") -> jax.Array:
    """``A[i, j, c] = max_{a, b < f} X_pad[i·s + a, j·s + b, c]`` → ``(m, n_H_out, n_W_out, n_C)``.

    Padding is −∞. Equals ``lax.reduce_window(x, −∞, lax.max, (1, f, f, 1), (1, s, s, 1), pads)`` (what
    ``flax.linen.max_pool`` computes) with ``pads`` from :func:`dlcourse.nn.padding_pair`.
    """
    windows, _, _ = _pool_windows(x, f, stride, padding, _lowest(jnp.asarray(x).dtype), "max_pool", check_max=True)
    return jnp.max(windows, axis=_window_axes(windows))


@functools.partial(jax.jit, static_argnames=("f", "stride", "padding"))
def avg_pool(x: jax.Array, f: int, stride: int, padding: Padding = "valid") -> jax.Array:
    """``A[i, j, c] = (1/f²) Σ_{a, b < f} X_pad[i·s + a, j·s + b, c]`` → ``(m, n_H_out, n_W_out, n_C)``.

    Zero padding, counted in the mean (divides by ``f^k`` for k spatial axes). Equals
    ``lax.reduce_window(x, 0, lax.add, (1, f, f, 1), (1, s, s, 1), pads) / f²``.
    """
    windows, _, _ = _pool_windows(x, f, stride, padding, 0, "avg_pool")
    return jnp.mean(windows, axis=_window_axes(windows))


@functools.partial(jax.jit, static_argnames=("f", "stride", "padding"))
def max_pool_backward(da: jax.Array, x: jax.Array, f: int, stride: int, padding: Padding = "valid") -> jax.Array:
    """Gradient of :func:`max_pool` with respect to x: each window's ``dA`` goes to its maximum.

    ``dX[i·s + a*, j·s + b*, c] += dA[i, j, c]`` where ``(a*, b*) = argmax_{a, b} X_pad[i·s + a, j·s + b, c]``
    (the course's ``create_mask_from_window``); every other pixel of the window gets 0, and a pixel
    that is the maximum of several overlapping windows collects all their gradients. Ties: the
    **first** maximum in the window's row-major order (``a`` then ``b``, as ``np.argmax``) takes the
    whole gradient, so ``Σ dX = Σ dA``. (The course's mask ``x == max(x)`` would give every tied
    pixel the full gradient; ``jax.grad`` of :func:`max_pool` splits it equally among ties.)
    ``da (m, n_H_out, n_W_out, n_C)``, ``x (m, n_H, n_W, n_C)`` → ``dX`` like x.
    """
    x = jnp.asarray(x)
    windows, pair, padded_shape = _pool_windows(x, f, stride, padding, _lowest(x.dtype), "max_pool_backward",
                                                check_max=True)
    da = _check_gradient_shape(da, windows)
    k = x.ndim - 2
    flat = windows.reshape(windows.shape[:1 + k] + (-1,) + windows.shape[-1:])  # (m, o…, f^k, n_C)
    first_max = jnp.argmax(flat, axis=-2)  # (m, o…, n_C)
    mask = jnp.arange(flat.shape[-2])[:, None] == first_max[..., None, :]  # (m, o…, f^k, n_C)
    window_gradients = jnp.where(mask, da[..., None, :], jnp.zeros((), da.dtype)).reshape(windows.shape)
    return _unpad(overlap_add_windows(window_gradients, padded_shape, stride), pair, x.shape)


@functools.partial(jax.jit, static_argnames=("f", "stride", "padding"))
def avg_pool_backward(da: jax.Array, x: jax.Array, f: int, stride: int, padding: Padding = "valid") -> jax.Array:
    """Gradient of :func:`avg_pool` with respect to x: each window's ``dA`` spread evenly over it.

    ``dX[i·s + a, j·s + b, c] += dA[i, j, c] / f²`` for every ``a, b < f`` (the course's
    ``distribute_value``; overlapping windows add). Only ``x.shape`` is used.
    ``da (m, n_H_out, n_W_out, n_C)``, ``x (m, n_H, n_W, n_C)`` → ``dX`` like x.
    """
    x = jnp.asarray(x)
    windows, pair, padded_shape = _pool_windows(x, f, stride, padding, 0, "avg_pool_backward")
    da = _check_gradient_shape(da, windows)
    k = x.ndim - 2
    share = da / (f ** k)
    window_gradients = jnp.broadcast_to(share.reshape(share.shape[:-1] + (1,) * k + share.shape[-1:]), windows.shape)
    return _unpad(overlap_add_windows(window_gradients, padded_shape, stride), pair, x.shape)
