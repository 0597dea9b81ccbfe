"""Scaled dot-product and multi-head attention, their masks, and the sinusoidal positional encoding
(course 5, Transformers; Vaswani et al. 2017, "Attention Is All You Need").

For queries ``Q: [T_q, d_k]``, keys ``K: [T_k, d_k]`` and values ``V: [T_k, d_v]``::

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V

row by row the notes' ``A(q, K, V) = Σ_i exp(q·k⟨i⟩) / Σ_j exp(q·k⟨j⟩) v⟨i⟩`` with ``q`` scaled by
``1/√d_k`` (the notes' formula leaves the scale out; the literature's form, used here, keeps the dot
products' variance at 1 for unit-variance ``q``, ``k``). Masks are boolean, ``True`` where a query may
attend to a key: :func:`padding_mask` hides padded keys, :func:`look_ahead_mask` the future
(``t′ > t``). A masked logit becomes the dtype's most negative number, so its weight is exactly 0;
a query that may attend to nothing (a fully masked row) gets all-zero weights and a zero output,
never NaN.

Multi-head attention with ``h`` heads of size ``d_head = d_model / h``::

    MultiHead(Q, K, V) = concat(head_1, …, head_h) W_o,   head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)

(the notes write ``W_i^Q Q``; with examples as rows the product is ``Q W_i^Q``). ``W_i^Q`` are the
columns ``i·d_head … (i+1)·d_head − 1`` of one ``W^Q: (d_model_in, d_model)`` Dense kernel (biases
included, as Flax's and PyTorch's layers have them), so all heads are one matrix product.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["KeyValueCache", "MultiHeadAttention", "look_ahead_mask", "padding_mask", "positional_encoding",
           "scaled_dot_product_attention"]


def scaled_dot_product_attention(q: jax.Array, k: jax.Array, v: jax.Array,
                                 mask: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """``(softmax(Q Kᵀ / √d_k) V, the weights)`` over the last two axes (module docstring).

    Args:
      q: ``[..., T_q, d_k]``.
      k: ``[..., T_k, d_k]``.
      v: ``[..., T_k, d_v]``.
      mask: bool broadcastable to ``[..., T_q, T_k]``, ``True`` where the query may attend to the key;
        ``None``: everywhere.

    Returns:
      ``out [..., T_q, d_v]`` and ``weights [..., T_q, T_k]`` (each row sums to 1, or is all 0 where
      the mask leaves the query nothing to attend to).
    """
    q, k, v = jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"need q [..., T_q, d_k], k [..., T_k, d_k], v [..., T_k, d_v]; got {q.shape}, {k.shape}, "
                         f"{v.shape}")
    logits = jnp.einsum("...qd,...kd->...qk", q, k) / jnp.sqrt(jnp.asarray(q.shape[-1], q.dtype))
    if mask is None:
        weights = jax.nn.softmax(logits, axis=-1)
    else:
        mask = jnp.asarray(mask, bool)
        weights = jax.nn.softmax(jnp.where(mask, logits, jnp.finfo(logits.dtype).min), axis=-1)
        weights = jnp.where(mask, weights, 0.0)     # a fully masked row: 0, not uniform
    return jnp.einsum("...qk,...kd->...qd", weights, v), weights


def padding_mask(token_mask: jax.Array) -> jax.Array:
    """bool ``[m, 1, 1, T]`` from a token mask ``[m, T]`` (nonzero at real tokens): every query (and
    head) may attend to the real keys only."""
    token_mask = jnp.asarray(token_mask)
    if token_mask.ndim != 2:
        raise ValueError(f"token_mask must be [m, T]; got shape {token_mask.shape}")
    return (token_mask != 0)[:, None, None, :]


def look_ahead_mask(length: int) -> jax.Array:
    """bool ``[1, 1, T, T]``, ``True`` where ``t′ ≤ t``: position ``t`` attends to itself and the past only."""
    if not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive int; got {length!r}")
    return jnp.tril(jnp.ones((length, length), bool))[None, None]


def positional_encoding(length: int, d_model: int) -> np.ndarray:
    """The sinusoidal table ``PE: [length, d_model]`` (float32, NumPy: a constant under ``jit``)::

        PE(pos, 2i) = sin(pos / 10000^{2i/d_model}),   PE(pos, 2i+1) = cos(pos / 10000^{2i/d_model})

    for ``pos = 0 … length − 1`` (an odd ``d_model`` ends with a sine column).
    """
    for name, value in (("length", length), ("d_model", d_model)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    pos = np.arange(length, dtype=np.float64)[:, None]
    two_i = np.arange(0, d_model, 2, dtype=np.float64)
    angles = pos / 10000.0 ** (two_i / d_model)
    table = np.zeros((length, d_model), np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, :d_model // 2])
    return table.astype(np.float32)


class KeyValueCache(NamedTuple):
    """The heads' projected keys ``K W_i^K`` and values ``V W_i^V``, each ``[m, T_k, h, d_head]``: a
    decoder computes them once (the encoder's memory) or one position per step (its own past)."""

    keys: jax.Array
    values: jax.Array


class MultiHeadAttention(nn.Module):
    """``concat(head_1, …, head_h) W_o`` (module docstring).

    Attributes:
      num_heads: ``h``.
      d_model: the width of the projections and the output; ``d_head = d_model // h`` (must divide).

    Parameters: Dense layers ``query``, ``key``, ``value`` (``W^Q``, ``W^K``, ``W^V``, kernels
    ``(d_in, d_model)``) and ``output`` (``W_o``, ``(d_model, d_model)``), each with a bias.

    ``__call__(queries [m, T_q, d_q], keys=None [m, T_k, d_k], values=None [m, T_k, d_v], mask=None)
    -> [m, T_q, d_model]``: ``keys`` default to ``queries`` (self-attention), ``values`` to ``keys``;
    ``mask`` bool broadcastable to ``[m, h, T_q, T_k]``. The weights ``[m, h, T_q, T_k]`` are sown in the
    ``'intermediates'`` collection as ``attention_weights`` (``mutable=['intermediates']`` to read them).
    :meth:`project` and :meth:`attend` split the call for a decoder's cache; :meth:`step` is one
    cached self-attention step.
    """

    num_heads: int
    d_model: int

    def setup(self):
        for name in ("num_heads", "d_model"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model={self.d_model} must be divisible by num_heads={self.num_heads}")
        self.query = nn.Dense(self.d_model)
        self.key = nn.Dense(self.d_model)
        self.value = nn.Dense(self.d_model)
        self.output = nn.Dense(self.d_model)

    def _heads(self, x: jax.Array) -> jax.Array:
        """``[m, T, d_model] -> [m, T, h, d_head]`` (head ``i``: columns ``i·d_head …``)."""
        return x.reshape(*x.shape[:-1], self.num_heads, self.d_model // self.num_heads)

    def __call__(self, queries, keys=None, values=None, mask=None) -> jax.Array:
        keys = queries if keys is None else keys
        values = keys if values is None else values
        return self.attend(queries, self.project(keys, values), mask)

    def project(self, keys, values=None) -> KeyValueCache:
        """The heads' keys and values ``[m, T_k, h, d_head]`` (``values`` default to ``keys``)."""
        values = keys if values is None else values
        return KeyValueCache(self._heads(self.key(keys)), self._heads(self.value(values)))

    def attend(self, queries, cache: KeyValueCache, mask=None) -> jax.Array:
        """``concat_i Attention(queries W_i^Q, K_i, V_i) W_o`` for projected ``cache`` keys and values."""
        q = jnp.moveaxis(self._heads(self.query(queries)), -2, -3)        # [m, h, T_q, d_head]
        k, v = (jnp.moveaxis(a, -2, -3) for a in cache)                    # [m, h, T_k, d_head]
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        self.sow("intermediates", "attention_weights", weights)
        out = jnp.moveaxis(out, -3, -2)                                    # [m, T_q, h, d_head]
        return self.output(out.reshape(*out.shape[:-2], self.d_model))

    def step(self, x_t, cache: KeyValueCache, position) -> tuple[jax.Array, KeyValueCache]:
        """One cached self-attention step: ``x_t [m, 1, d]`` at ``position [m]`` (int, ``< T_cache``) writes
        its key and value into slot ``position`` of ``cache`` (``[m, T_cache, h, d_head]``) and attends to
        slots ``0 … position``; ``(out [m, 1, d_model], cache)``. Equal to the full self-attention under
        :func:`look_ahead_mask` at that position."""
        position = jnp.asarray(position)
        slots = jnp.arange(cache.keys.shape[1])
        here = (slots == position[:, None])[:, :, None, None]             # [m, T_cache, 1, 1]
        new = self.project(x_t)
        cache = KeyValueCache(*(jnp.where(here, n, c) for n, c in zip(new, cache)))
        mask = (slots <= position[:, None])[:, None, None, :]             # [m, 1, 1, T_cache]
        return self.attend(x_t, cache, mask), cache
