"""Context/target pairs of the notes, as fixed-shape arrays with masks.

"I want a glass of orange juice to go along with my cereal": to learn to predict the target
``juice`` the context can be the **last 4 words** (a glass of orange), the **4 words on the left
and right** (a glass of orange · to go along with), the **last 1 word** (orange), or a **nearby 1
word** (glass) — the last is skip-gram's.

Every function reads a corpus ``ids`` int ``[m, L]`` with ``mask`` bool ``[m, L]`` (sentences padded;
see :func:`dlcourse.embeddings.encode_sentences`) and never lets a context cross a sentence end or
reach into padding: a context word outside its sentence is masked out. Everything is jittable.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp

__all__ = ["Contexts", "SkipGramPairs", "context_windows", "last_words_context", "nearby_word_context",
           "skipgram_pairs", "surrounding_words_context"]


class Contexts(NamedTuple):
    """For each position t of the corpus: the context words (``[m, L, k]`` ids and mask) and the target.

    ``targets[i, t] = ids[i, t]``; ``target_mask`` is the corpus mask; ``context_mask`` is False
    for context slots outside the sentence (and everywhere in a masked-out target's row).
    """

    context: jax.Array
    context_mask: jax.Array
    targets: jax.Array
    target_mask: jax.Array


class SkipGramPairs(NamedTuple):
    """Flat (context c, target t) pairs ``[N]`` and their ``mask``; N = m · L · (number of offsets)."""

    contexts: jax.Array
    targets: jax.Array
    mask: jax.Array


def _check_corpus(ids, mask):
    if ids.ndim != 2 or mask.shape != ids.shape:
        raise ValueError(f"ids and mask must both be [m, L]; got {ids.shape} and {mask.shape}")


def context_windows(ids: jax.Array, mask: jax.Array, offsets: Sequence[int]) -> Contexts:
    """The words at ``t + o`` for each offset o of ``offsets`` (nonzero ints) around every position t."""
    ids, mask = jnp.asarray(ids), jnp.asarray(mask, dtype=bool)
    _check_corpus(ids, mask)
    if not offsets or 0 in offsets:
        raise ValueError(f"offsets must be nonzero and not empty, got {tuple(offsets)}")
    length = ids.shape[1]
    positions = jnp.arange(length)[:, None] + jnp.asarray(offsets)[None, :]          # [L, k]
    inside = (positions >= 0) & (positions < length)
    clipped = jnp.clip(positions, 0, length - 1)
    context = ids[:, clipped]                                                          # [m, L, k]
    context_mask = mask[:, clipped] & inside[None] & mask[:, :, None]
    return Contexts(jnp.where(context_mask, context, 0), context_mask, ids, mask)


def last_words_context(ids: jax.Array, mask: jax.Array, n: int = 4) -> Contexts:
    """The last ``n`` words before each target (``n = 1``: the notes' "last 1 word"), oldest first."""
    return context_windows(ids, mask, tuple(range(-n, 0)))


def surrounding_words_context(ids: jax.Array, mask: jax.Array, n: int = 4) -> Contexts:
    """``n`` words on the left and ``n`` on the right of each target, left to right."""
    return context_windows(ids, mask, tuple(range(-n, 0)) + tuple(range(1, n + 1)))


def nearby_word_context(key: jax.Array, ids: jax.Array, mask: jax.Array, window: int = 5) -> Contexts:
    """One word drawn uniformly among the words within ``±window`` of each target (in its sentence).

    ``context`` is ``[m, L, 1]``; a target with no neighbour (a one-word sentence) has its slot masked.
    """
    windows = surrounding_words_context(ids, mask, window)
    uniform = jax.random.uniform(key, (windows.context.size,)).reshape(windows.context.shape)  # flat compiles faster
    scores = jnp.where(windows.context_mask, uniform, -1.0)
    chosen = jnp.argmax(scores, axis=-1)[..., None]
    return Contexts(jnp.take_along_axis(windows.context, chosen, axis=-1),
                    jnp.take_along_axis(windows.context_mask, chosen, axis=-1), windows.targets, windows.target_mask)


def skipgram_pairs(ids: jax.Array, mask: jax.Array, window: int = 5, *, key: jax.Array | None = None) -> SkipGramPairs:
    """Skip-gram's pairs: each word c of the corpus with every target word t within ``±window`` of it.

    With ``key``, each context word's window shrinks to a width b drawn uniformly from 1..window
    (word2vec's C code and gensim do this: nearer words make more pairs). N = m · L · 2 window.
    """
    windows = surrounding_words_context(ids, mask, window)
    pair_mask = windows.context_mask
    if key is not None:
        width = jax.random.randint(key, ids.shape, 1, window + 1)
        distance = jnp.abs(jnp.asarray(tuple(range(-window, 0)) + tuple(range(1, window + 1))))
        pair_mask = pair_mask & (distance[None, None, :] <= width[:, :, None])
    centres = jnp.broadcast_to(ids[:, :, None], windows.context.shape)
    return SkipGramPairs(centres.reshape(-1), windows.context.reshape(-1), pair_mask.reshape(-1))
