"""The embedding matrix E: the embedding of word j is e_j = E o_j, with o_j its one-hot vector.

The course writes E as ``n_e × |V|`` (a column per word) and ``E · o_j = e_j``. Here E is stored
as its transpose, ``[|V|, n_e]`` (a row per word, as ``flax.linen.Embed`` and PyTorch's
``nn.Embedding`` store it), so ``o_jᵀ E = e_j``: the product picks row j. In practice one never
multiplies by the one-hot vector (a ``|V|``-long dot per coordinate); :func:`embedding_lookup` takes
the row, which is the same number.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["embedding_lookup", "one_hot_words"]


def one_hot_words(ids: jax.Array, vocab_size: int) -> jax.Array:
    """o_j: float32 ``[..., |V|]`` with a 1 at each id of ``ids`` ``[...]``."""
    return jax.nn.one_hot(ids, vocab_size, dtype=jnp.float32)


def embedding_lookup(embedding_matrix: jax.Array, ids: jax.Array) -> jax.Array:
    """e_j = o_jᵀ E for every id: ``[..., n_e]`` from E ``[|V|, n_e]`` and int ``ids`` ``[...]``."""
    return jnp.take(embedding_matrix, ids, axis=0)
