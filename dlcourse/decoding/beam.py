"""Beam search with width ``B`` and length normalization (course 5, "Beam search", "Length normalization").

The model is a step ``step(state, x⟨t⟩: int [m]) -> (state, z⟨t⟩: [m, |V|])`` as in
:mod:`dlcourse.decoding.sampling`; ``log P(y⟨t⟩ | x, y⟨<t⟩) = log softmax(z⟨t⟩)_{y⟨t⟩}``. Greedy
decoding keeps the single most likely token per step; beam search keeps, per example, the ``B``
hypotheses ``y⟨1⟩ … y⟨t⟩`` with the highest objective

    score(y) = (1 / T_y^α) · Σ_{t=1}^{T_y} log P(y⟨t⟩ | x, y⟨1⟩ … y⟨t−1⟩)

where ``T_y`` counts the hypothesis' tokens up to and including ``<EOS>``. ``α = 0`` ranks by
``log P(y | x)`` itself (plain beam search, which favours short outputs since every factor is below
1); ``α = 1`` by the mean log-probability per token; values in between (0.7 in the lecture) soften
the normalization. (The notes' beam-search and length-normalization slides are figures without text
in the transcription; these are the lecture's formulas.)

One step, for every example at once (``m·B`` rows through ``step``):

1. each unfinished hypothesis ``b`` proposes its ``|V|`` one-token extensions, scored as above with
   ``T_y + 1`` tokens; a finished one (it emitted ``<EOS>``) proposes only itself, unchanged
   (``pad_id`` appended, outside the mask, its score frozen);
2. the ``B`` best of these ``B·|V|`` candidates are kept (ties: the lower beam, then the lower token
   id), the step's state rows are reordered by gathering the parents' rows.

The ranking uses the objective of the candidate as it stands: with ``α = 0`` this is the course's
top-``B`` of ``P(y⟨1⟩ … y⟨t⟩ | x)``; with ``α > 0`` an unfinished hypothesis competes with finished
ones through its normalized score so far. At step 1 all ``B`` rows hold the same start, so only the
first one expands (the others start at ``log P = −∞``): no ``B`` copies of one hypothesis. With
``B = 1`` this is exactly :func:`dlcourse.decoding.greedy_decode`. Like greedy decoding, ``log P``
is the model's own (excluded tokens are never chosen but are not renormalized away).

Everything is one ``lax.scan`` of ``max_length`` steps with fixed shapes (jittable; ``α`` may be
traced; ``B``, ``max_length``, ``eos_id``, ``pad_id``, ``excluded_tokens`` are static). Every leaf
of ``state`` must have the leading axis ``m``: it is tiled to ``m·B`` rows (row ``i·B + b`` is beam
``b`` of example ``i``). Beam search is not exact search: the best sequence under the model can fall
out of the beam (:func:`dlcourse.decoding.beam_error_analysis` tells these errors from the model's).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from dlcourse.decoding.sampling import without_tokens

__all__ = ["Beams", "beam_search", "length_normalized_score"]

Step = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


class Beams(NamedTuple):
    """The ``B`` hypotheses beam search ends with, per example, best (highest ``score``) first.

    Attributes:
      tokens: int32 ``[m, B, max_length]``: ``y⟨1⟩ … y⟨T_y⟩`` (``<EOS>`` included when emitted), then ``pad_id``.
      mask: bool ``[m, B, max_length]``, true on the first ``T_y`` tokens.
      log_probability: ``[m, B]``, ``log P(y | x) = Σ_t log P(y⟨t⟩ | x, y⟨<t⟩)`` over the masked tokens.
      score: ``[m, B]``, ``(1 / T_y^α) · log_probability``, the objective the search maximizes.
      ended: bool ``[m, B]``, whether the hypothesis ended with ``<EOS>`` within ``max_length``.

    When fewer than ``B`` hypotheses exist (``|V|`` minus the excluded tokens below ``B`` at step 1),
    the missing ones have ``log_probability = score = −∞``.
    """

    tokens: jax.Array
    mask: jax.Array
    log_probability: jax.Array
    score: jax.Array
    ended: jax.Array


def length_normalized_score(log_probability, length, alpha=0.0):
    """``(1 / T_y^α) · log P(y | x)``: the notes' normalized log-likelihood objective (elementwise;
    ``T_y ≥ 1`` counts the tokens up to and including ``<EOS>``; ``α`` may be traced)."""
    length = jnp.asarray(length, jnp.float32)
    return jnp.asarray(log_probability) / jnp.power(length, jnp.asarray(alpha, jnp.float32))


def _is_positive_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1


def _tile(state: Any, m: int, beam_width: int) -> Any:
    def tile(path, leaf):
        leaf = jnp.asarray(leaf)
        if leaf.ndim == 0 or leaf.shape[0] != m:
            raise ValueError(f"every leaf of state must have the leading axis m = {m} (to tile it to m·B rows); "
                             f"leaf {jax.tree_util.keystr(path)} has shape {leaf.shape}")
        return jnp.repeat(leaf, beam_width, axis=0)

    return jax.tree_util.tree_map_with_path(tile, state)


def beam_search(step: Step, state: Any, first_tokens: jax.Array, max_length: int, eos_id: int, *,
                beam_width: int, alpha=0.0, pad_id: int = 0, excluded_tokens: Sequence[int] = ()) -> Beams:
    """The ``B = beam_width`` best hypotheses of each example under ``(1 / T_y^α) Σ_t log P`` (module docstring).

    Args:
      step: ``(state, x⟨t⟩: int [n]) -> (state, logits [n, |V|])``, called with ``n = m·B``.
      state: the model's state before the first step; every leaf with leading axis ``m`` (encoder
        memory, masks and caches included).
      first_tokens: ``x⟨1⟩`` per example, int ``[m]`` (e.g. ``<BOS>``, or a language model's ``pad_id``).
      max_length: static number of steps, the longest hypothesis.
      eos_id: the ``<EOS>`` id, which ends a hypothesis (and counts in ``T_y``).
      beam_width: static ``B ≥ 1``; ``1`` is greedy decoding.
      alpha: the length-normalization exponent ``α ≥ 0`` (traced or not; ``0``: none).
      pad_id: the token written after ``<EOS>``.
      excluded_tokens: static ids never chosen (e.g. ``(pad_id, unk_id)``).

    Returns:
      :class:`Beams`, shapes ``[m, B, …]``, best first.
    """
    if not _is_positive_int(max_length):
        raise ValueError(f"max_length must be a positive int; got {max_length!r}")
    if not _is_positive_int(beam_width):
        raise ValueError(f"beam_width must be a positive int; got {beam_width!r}")
    if not isinstance(alpha, jax.core.Tracer) and (np.ndim(alpha) != 0 or not np.asarray(alpha) >= 0):
        raise ValueError(f"alpha must be a scalar >= 0; got {alpha!r}")
    first_tokens = jnp.asarray(first_tokens)
    if first_tokens.ndim != 1:
        raise ValueError(f"first_tokens must be one token per example, shape [m]; got shape {first_tokens.shape}")
    m, width = first_tokens.shape[0], beam_width
    rows = m * width
    state = _tile(state, m, width)
    examples = jnp.arange(m)[:, None] * width                                   # row of beam 0 of each example

    def one_step(carry, t):
        state, last, log_probability, score, length, ended, tokens = carry
        state, logits = step(state, last)
        if logits.ndim != 2 or logits.shape[0] != rows:
            raise ValueError(f"step must return logits of shape [m·B, |V|] = [{rows}, |V|]; got {logits.shape}")
        vocab = logits.shape[-1]
        log_p = without_tokens(jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1), excluded_tokens)
        extended = log_probability[..., None] + log_p.reshape(m, width, vocab)          # [m, B, |V|]
        extended_score = length_normalized_score(extended, (length + 1)[..., None], alpha)
        kept = jnp.where(jnp.arange(vocab) == 0, score[..., None], -jnp.inf)          # a finished one: itself
        candidates = jnp.where(ended[..., None], kept, extended_score).reshape(m, width * vocab)
        best_score, best = lax.top_k(candidates, width)                                # [m, B], sorted
        parent, token = best // vocab, (best % vocab).astype(jnp.int32)

        def pick(x):
            return jnp.take_along_axis(x, parent, axis=1)

        dead = best_score == -jnp.inf                           # fewer than B hypotheses exist
        frozen = pick(ended) | dead
        token = jnp.where(frozen, pad_id, token).astype(jnp.int32)
        log_probability = jnp.where(frozen, pick(log_probability),
                                    jnp.take_along_axis(extended.reshape(m, width * vocab), best, axis=1))
        log_probability = jnp.where(dead, -jnp.inf, log_probability)
        length = pick(length) + (~frozen).astype(jnp.int32)
        ended = frozen | (token == eos_id)
        tokens = jnp.take_along_axis(tokens, parent[..., None], axis=1).at[:, :, t].set(token)
        rows_kept = (examples + parent).reshape(-1)
        state = jax.tree_util.tree_map(lambda leaf: leaf[rows_kept], state)
        return (state, token.reshape(-1), log_probability, best_score, length, ended, tokens), None

    start = jnp.full((m, width), -jnp.inf, jnp.float32).at[:, 0].set(0.0)   # one live copy of the start
    carry = (state, jnp.repeat(first_tokens.astype(jnp.int32), width), start, start,
             jnp.zeros((m, width), jnp.int32), jnp.zeros((m, width), bool),
             jnp.full((m, width, max_length), pad_id, jnp.int32))
    (_, _, log_probability, score, length, ended, tokens), _ = lax.scan(one_step, carry, jnp.arange(max_length))
    alive = score > -jnp.inf
    mask = (jnp.arange(max_length) < length[..., None]) & alive[..., None]
    return Beams(tokens, mask, log_probability, score, ended & alive)
