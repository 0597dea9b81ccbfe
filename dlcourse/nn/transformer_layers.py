"""The Transformer's encoder and decoder layers (Vaswani et al. 2017), post-norm as in the paper.

Each sub-layer ``F`` (multi-head attention or the position-wise feed-forward network) sits in a
residual connection followed by layer normalization, with (inverted) dropout on its output::

    x ← LayerNorm(x + Dropout(F(x)))                    ("post-norm"; pre-norm would be x + F(LN(x)))
    FFN(x) = max(0, x W_1 + b_1) W_2 + b_2              (W_1: (d_model, d_ff), applied at each position)

- :class:`EncoderLayer`: self-attention (under a padding mask), then the FFN. Under a look-ahead
  mask it is also the block of a decoder-only language model (:class:`dlcourse.models.TransformerLM`).
- :class:`DecoderLayer`: masked self-attention (look-ahead and padding), attention over the
  encoder's output ``memory`` (queries from the decoder, keys and values from the memory), the FFN.

Dropout keeps each unit with probability ``keep_prob`` (a possibly traced number, see
:func:`dlcourse.nn.dropout`) when ``train``; its keys come from the ``'dropout'`` rng stream.
Layer normalization is Flax's ``LayerNorm`` (ε = 1e-6, learned scale and bias).

The ``step`` methods run one position of a decoder with a :class:`dlcourse.nn.KeyValueCache` of
the past positions' keys and values (and, for :class:`DecoderLayer`, of the memory's), equal to the
full call under the look-ahead mask at that position.
"""

from __future__ import annotations

import flax.linen as nn
import jax

from dlcourse.nn.attention import KeyValueCache, MultiHeadAttention
from dlcourse.nn.inverted_dropout import Dropout

__all__ = ["DecoderLayer", "EncoderLayer", "PositionwiseFeedForward"]


class PositionwiseFeedForward(nn.Module):
    """``FFN(x) = max(0, x W_1 + b_1) W_2 + b_2`` at every position: Dense ``hidden`` (``d_ff``) and
    ``output`` (``d_model``)."""

    d_model: int
    d_ff: int

    @nn.compact
    def __call__(self, x) -> jax.Array:
        return nn.Dense(self.d_model, name="output")(nn.relu(nn.Dense(self.d_ff, name="hidden")(x)))


class EncoderLayer(nn.Module):
    """Self-attention and FFN, each ``LayerNorm(x + Dropout(F(x)))`` (module docstring).

    ``__call__(x [m, T, d_model], mask=None, *, train=False, keep_prob=1.0) -> [m, T, d_model]`` with
    ``mask`` bool broadcastable to ``[m, h, T, T]``. Sub-modules: ``self_attention``, ``norm_1``,
    ``feed_forward``, ``norm_2``.
    """

    d_model: int
    num_heads: int
    d_ff: int

    def setup(self):
        self.self_attention = MultiHeadAttention(self.num_heads, self.d_model)
        self.norm_1 = nn.LayerNorm()
        self.feed_forward = PositionwiseFeedForward(self.d_model, self.d_ff)
        self.norm_2 = nn.LayerNorm()
        self.dropout = Dropout()

    def _feed_forward(self, x, train, keep_prob):
        return self.norm_2(x + self.dropout(self.feed_forward(x), keep_prob, train=train))

    def __call__(self, x, mask=None, *, train: bool = False, keep_prob=1.0) -> jax.Array:
        x = self.norm_1(x + self.dropout(self.self_attention(x, mask=mask), keep_prob, train=train))
        return self._feed_forward(x, train, keep_prob)

    def step(self, x_t, cache: KeyValueCache, position, *, train: bool = False,
             keep_prob=1.0) -> tuple[jax.Array, KeyValueCache]:
        """Position ``position [m]`` of ``x_t [m, 1, d_model]`` under the look-ahead mask, with the past's
        keys and values in ``cache``; ``(out [m, 1, d_model], cache)``."""
        attended, cache = self.self_attention.step(x_t, cache, position)
        x_t = self.norm_1(x_t + self.dropout(attended, keep_prob, train=train))
        return self._feed_forward(x_t, train, keep_prob), cache


class DecoderLayer(nn.Module):
    """Masked self-attention, attention over the encoder's ``memory``, FFN; each
    ``LayerNorm(y + Dropout(F(y)))`` (module docstring).

    ``__call__(y [m, T_y, d_model], memory [m, T_x, d_model], self_mask=None, memory_mask=None, *,
    train=False, keep_prob=1.0) -> [m, T_y, d_model]``; ``self_mask`` broadcastable to
    ``[m, h, T_y, T_y]`` (look-ahead and padding), ``memory_mask`` to ``[m, h, T_y, T_x]``.
    Sub-modules: ``self_attention``, ``norm_1``, ``cross_attention``, ``norm_2``, ``feed_forward``,
    ``norm_3``.
    """

    d_model: int
    num_heads: int
    d_ff: int

    def setup(self):
        self.self_attention = MultiHeadAttention(self.num_heads, self.d_model)
        self.norm_1 = nn.LayerNorm()
        self.cross_attention = MultiHeadAttention(self.num_heads, self.d_model)
        self.norm_2 = nn.LayerNorm()
        self.feed_forward = PositionwiseFeedForward(self.d_model, self.d_ff)
        self.norm_3 = nn.LayerNorm()
        self.dropout = Dropout()

    def _after_self_attention(self, y, memory_cache, memory_mask, train, keep_prob):
        attended = self.cross_attention.attend(y, memory_cache, memory_mask)
        y = self.norm_2(y + self.dropout(attended, keep_prob, train=train))
        return self.norm_3(y + self.dropout(self.feed_forward(y), keep_prob, train=train))

    def __call__(self, y, memory, self_mask=None, memory_mask=None, *, train: bool = False,
                 keep_prob=1.0) -> jax.Array:
        y = self.norm_1(y + self.dropout(self.self_attention(y, mask=self_mask), keep_prob, train=train))
        return self._after_self_attention(y, self.cross_attention.project(memory), memory_mask, train, keep_prob)

    def project_memory(self, memory) -> KeyValueCache:
        """The memory's keys and values for :meth:`step`, ``[m, T_x, h, d_head]`` each (computed once)."""
        return self.cross_attention.project(memory)

    def step(self, y_t, cache: KeyValueCache, position, memory_cache: KeyValueCache, memory_mask=None, *,
             train: bool = False, keep_prob=1.0) -> tuple[jax.Array, KeyValueCache]:
        """Position ``position [m]`` of ``y_t [m, 1, d_model]``: cached self-attention over the past,
        attention over the projected memory; ``(out [m, 1, d_model], cache)``."""
        attended, cache = self.self_attention.step(y_t, cache, position)
        y_t = self.norm_1(y_t + self.dropout(attended, keep_prob, train=train))
        return self._after_self_attention(y_t, memory_cache, memory_mask, train, keep_prob), cache
