"""Sentiment classifiers over word embeddings (course 5): the average of the embeddings, and a many-to-one LSTM.

Both read a sentence as token ids ``x⟨1⟩ … x⟨T_x⟩`` padded to ``[m, T]`` with a token mask, look up
``e⟨t⟩ = E[x⟨t⟩]`` in the embedding matrix E ``[|V|, n_e]`` (a row per word, see
:mod:`dlcourse.embeddings.embedding_matrix`), and output the logits ``z`` of ``ŷ = softmax(z)``
over the classes (e.g. 1–5 stars, or negative/positive):

- :class:`AverageEmbeddingClassifier` — ``ē = (1/T_x) Σ_{t ≤ T_x} e⟨t⟩`` over the real tokens only,
  ``z = W ē + b``. Word order is lost ("completely lacking in good taste" averages to something
  close to "good").
- :class:`LSTMClassifier` — ``a⟨t⟩`` from :class:`dlcourse.nn.LSTM` over ``e⟨1⟩ … e⟨T_x⟩``; the
  many-to-one readout ``z = W a⟨T_x⟩ + b`` at each sentence's **last real step** (padded steps leave
  the state unchanged, so right padding does not change ``z``).

E is drawn from ``embedding_init`` (default Flax's ``Embed`` initializer, N(0, 1)); pass
:func:`embedding_matrix_init` to start from pre-trained vectors, and ``freeze_embeddings=True`` to
keep them fixed (E's gradient is stopped: Adam or SGD never moves it; an L2 penalty on every
parameter would still shrink it, since its gradient is taken before the stop: use no ``'l2'`` with
frozen vectors). Called as ``apply(variables, (ids, token_mask))`` or ``apply(variables, ids,
token_mask)``; ``token_mask`` ``None`` means every token is real.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.nn.recurrent_layers import LSTM

__all__ = ["AverageEmbeddingClassifier", "LSTMClassifier", "embedding_matrix_init"]

Initializer = Callable[..., Any]


def embedding_matrix_init(matrix) -> Initializer:
    """An initializer that returns ``matrix`` ``[|V|, n_e]`` (pre-trained vectors) for E; refuses another shape."""
    matrix = np.asarray(matrix, np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"an embedding matrix must be [|V|, n_e]; got shape {matrix.shape}")

    def init(key, shape, dtype=jnp.float32):
        del key
        if tuple(shape) != matrix.shape:
            raise ValueError(f"the model asks for E of shape {tuple(shape)}; the given matrix is {matrix.shape}")
        return jnp.asarray(matrix, dtype)

    return init


def _split_inputs(ids, token_mask):
    if isinstance(ids, (tuple, list)):
        if len(ids) != 2 or token_mask is not None:
            raise ValueError("inputs may be a pair (ids, token_mask), and then no token_mask is passed")
        ids, token_mask = ids
    ids = jnp.asarray(ids)
    if ids.ndim != 2 or not jnp.issubdtype(ids.dtype, jnp.integer):
        raise ValueError(f"ids must be integer token ids [batch, T]; got {ids.dtype} of shape {ids.shape}")
    token_mask = jnp.ones(ids.shape, bool) if token_mask is None else jnp.asarray(token_mask)
    if token_mask.shape != ids.shape:
        raise ValueError(f"token_mask must have the shape of ids {ids.shape}; got {token_mask.shape}")
    return ids, token_mask


class _EmbeddingClassifier(nn.Module):
    vocab_size: int
    embedding_size: int = 50
    num_classes: int = 2
    embedding_init: Initializer = nn.initializers.variance_scaling(1.0, "fan_in", "normal", out_axis=0)
    freeze_embeddings: bool = False

    def _embed(self, ids):
        for name in ("vocab_size", "embedding_size", "num_classes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        matrix = self.param("embedding", self.embedding_init, (self.vocab_size, self.embedding_size), jnp.float32)
        if self.freeze_embeddings:
            matrix = jax.lax.stop_gradient(matrix)
        return jnp.take(matrix, ids, axis=0)


class AverageEmbeddingClassifier(_EmbeddingClassifier):
    """``z = W ē + b`` with ``ē`` the mean embedding of the real tokens (module docstring).

    Parameters ``embedding`` ``[|V|, n_e]`` and ``readout`` (Dense ``n_e → num_classes``).
    ``__call__(ids, token_mask=None) -> logits [m, num_classes]``; an all-padding row gives ``ē = 0``.
    """

    @nn.compact
    def __call__(self, ids, token_mask=None) -> jax.Array:
        ids, token_mask = _split_inputs(ids, token_mask)
        weights = token_mask.astype(jnp.float32)
        total = jnp.einsum("mt,mte->me", weights, self._embed(ids))
        count = jnp.sum(weights, axis=1, keepdims=True)
        average = total / jnp.maximum(count, 1.0)
        return nn.Dense(self.num_classes, name="readout")(average)


class LSTMClassifier(_EmbeddingClassifier):
    """``z = W a⟨T_x⟩ + b`` after an LSTM over the embeddings (module docstring).

    Parameters ``embedding``, ``lstm`` (:class:`dlcourse.nn.LSTM` of ``hidden_size``) and ``readout``.
    ``__call__(ids, token_mask=None) -> logits [m, num_classes]``.
    """

    hidden_size: int = 64

    @nn.compact
    def __call__(self, ids, token_mask=None) -> jax.Array:
        ids, token_mask = _split_inputs(ids, token_mask)
        final, _ = LSTM(self.hidden_size, name="lstm")(self._embed(ids), token_mask)
        return nn.Dense(self.num_classes, name="readout")(final.a)
