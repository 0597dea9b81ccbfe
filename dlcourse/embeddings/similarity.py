"""Cosine similarity, nearest words and analogies, batched over queries.

sim(u, v) = uᵀv / (‖u‖₂ ‖v‖₂). The analogy a : b :: c : ? is answered, as in the notes, by

    w* = argmax_w sim(e_w, e_b − e_a + e_c)

over the vocabulary with a, b and c themselves excluded (man : woman :: king : ? →
argmax_w sim(e_w, e_king − e_man + e_woman) = queen). The vectors enter as they are
(``normalize=False``, the notes' form); gensim's ``most_similar`` first scales every vector to unit
length (``normalize=True``). Rows of E with zero norm (e.g. ⟨PAD⟩) get similarity 0.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Neighbours", "analogy", "cosine_similarity", "nearest_words", "unit_rows"]


class Neighbours(NamedTuple):
    """The ``k`` best words per query, best first: ``ids`` int32 ``[q, k]`` and their ``similarities`` ``[q, k]``."""

    ids: jax.Array
    similarities: jax.Array


def unit_rows(vectors: jax.Array, eps: float = 1e-12) -> jax.Array:
    """Each vector (last axis) divided by its norm; a zero vector stays zero."""
    norms = jnp.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / jnp.maximum(norms, eps)


def cosine_similarity(u: jax.Array, v: jax.Array) -> jax.Array:
    """sim(u, v) = uᵀv / (‖u‖₂ ‖v‖₂) over the last axis, broadcasting the others; 0 if either is zero."""
    return jnp.sum(unit_rows(u) * unit_rows(v), axis=-1)


def nearest_words(embeddings: jax.Array, queries: jax.Array, k: int = 1, *,
                  exclude: jax.Array | None = None) -> Neighbours:
    """The ``k`` words of E ``[|V|, n_e]`` most cosine-similar to each query vector ``[q, n_e]``.

    ``exclude``: int ``[q, r]`` ids never returned for the matching query (negative ids are ignored,
    so rows may be padded with −1).
    """
    similarities = unit_rows(queries) @ unit_rows(embeddings).T                 # [q, |V|]
    if exclude is not None:
        exclude = jnp.asarray(exclude)
        excluded = jnp.zeros(similarities.shape, jnp.int32).at[
            jnp.arange(exclude.shape[0])[:, None], jnp.maximum(exclude, 0)].max((exclude >= 0).astype(jnp.int32))
        similarities = jnp.where(excluded > 0, -jnp.inf, similarities)
    best, ids = jax.lax.top_k(similarities, k)
    return Neighbours(ids.astype(jnp.int32), best)


def analogy(embeddings: jax.Array, a: jax.Array, b: jax.Array, c: jax.Array, k: int = 1, *,
            normalize: bool = False) -> Neighbours:
    """a : b :: c : w — the ``k`` best w = argmax_w sim(e_w, e_b − e_a + e_c), a, b, c excluded.

    ``a``, ``b``, ``c``: int ids ``[q]`` (a batch of questions). ``normalize``: unit-length vectors
    first (gensim's convention; see the module docstring).
    """
    vectors = unit_rows(embeddings) if normalize else embeddings
    a, b, c = (jnp.atleast_1d(jnp.asarray(ids)) for ids in (a, b, c))
    target = vectors[b] - vectors[a] + vectors[c]
    return nearest_words(vectors, target, k, exclude=jnp.stack([a, b, c], axis=-1))
