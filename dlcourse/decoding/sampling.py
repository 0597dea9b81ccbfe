"""Sampling novel sequences from a trained sequence model, and greedy decoding (course 5).

The model is a *step* ``step(state, x⟨t⟩: int [m]) -> (state, z⟨t⟩: [m, |V|])`` that reads one
token per sequence and returns the logits of the next, ``P(y⟨t⟩ | y⟨1⟩ … y⟨t−1⟩) = softmax(z⟨t⟩)``
(e.g. :func:`dlcourse.models.language_model_step`). As in the course, each sequence starts from
``x⟨1⟩`` (the model's zero input), draws ``y⟨t⟩`` from ``ŷ⟨t⟩``, feeds it back as ``x⟨t+1⟩ = y⟨t⟩``,
and ends at ``<EOS>``:

- temperature ``τ``: ``y⟨t⟩ ~ softmax(z⟨t⟩ / τ)``; ``τ = 1`` is the model's own distribution,
  ``τ < 1`` sharpens it, ``τ = 0`` is the argmax (greedy), ``τ > 1`` flattens it;
- top-``k``: only the ``k`` most likely tokens can be drawn, renormalized among themselves;
- excluded tokens (e.g. ``<PAD>``, or ``<UNK>`` as the course suggests for names) are never drawn:
  their logits are set to ``−∞`` before everything else (greedy decoding included).

Everything runs in one ``lax.scan`` of ``max_length`` steps over the whole batch (jittable; ``τ``
may be traced, ``k`` and ``max_length`` are static). A sequence that has emitted ``<EOS>`` keeps
being stepped but its later tokens are ``pad_id`` and masked out (:class:`Samples`); one that
reaches ``max_length`` without ``<EOS>`` is cut there.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

__all__ = ["Samples", "choose_tokens", "greedy_decode", "sample_sequences", "without_tokens"]

Step = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


class Samples(NamedTuple):
    """Sequences drawn from a model.

    Attributes:
      tokens: int32 ``[m, max_length]``, ``y⟨1⟩ … y⟨T_y⟩`` (``<EOS>`` included when drawn), then ``pad_id``.
      mask: bool ``[m, max_length]``, true on the tokens drawn before or at the first ``<EOS>``.
      log_probability: ``[m]``, ``log P(y⟨1⟩ … y⟨T_y⟩) = Σ_t log P(y⟨t⟩ | y⟨<t⟩)`` under the model
        itself (``τ = 1``, no top-``k``) over the masked tokens.
      ended: bool ``[m]``, whether the sequence ended with ``<EOS>`` within ``max_length``.
    """

    tokens: jax.Array
    mask: jax.Array
    log_probability: jax.Array
    ended: jax.Array


def _check_top_k(top_k: Optional[int]) -> None:
    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"top_k must be a positive int or None; got {top_k!r}")


def choose_tokens(key: jax.Array, logits: jax.Array, temperature=1.0, top_k: Optional[int] = None,
                  excluded_tokens: Sequence[int] = ()) -> jax.Array:
    """One token per row of ``logits [..., |V|]``: a draw from ``softmax(z / τ)`` restricted to the
    ``top_k`` largest logits (all when ``None``), or ``argmax z`` where ``τ = 0``; never one of
    ``excluded_tokens`` (static ids).

    ``temperature`` ``τ ≥ 0`` may be traced (a negative concrete value raises ``ValueError``);
    ``top_k`` is static, ``1 ≤ top_k`` (larger than ``|V|`` means all).
    """
    _check_top_k(top_k)
    if not isinstance(temperature, jax.core.Tracer) and np.any(np.asarray(temperature) < 0):
        raise ValueError(f"temperature must be >= 0; got {temperature!r}")
    logits = without_tokens(jnp.asarray(logits), excluded_tokens)
    greedy = jnp.argmax(logits, axis=-1)
    positive = temperature > 0
    scaled = logits / jnp.where(positive, temperature, 1.0).astype(logits.dtype)
    if top_k is None or top_k >= logits.shape[-1]:
        drawn = jax.random.categorical(key, scaled, axis=-1)
    else:
        values, indices = lax.top_k(scaled, top_k)
        picked = jax.random.categorical(key, values, axis=-1)
        drawn = jnp.take_along_axis(indices, picked[..., None], axis=-1)[..., 0]
    return jnp.where(positive, drawn, greedy).astype(jnp.int32)


def without_tokens(logits: jax.Array, excluded_tokens: Sequence[int]) -> jax.Array:
    """``logits [..., |V|]`` with ``−∞`` at the ``excluded_tokens`` ids (static, in ``[0, |V|)``)."""
    excluded = sorted({int(i) for i in excluded_tokens})
    if not excluded:
        return logits
    if excluded[0] < 0 or excluded[-1] >= logits.shape[-1]:
        raise ValueError(f"excluded_tokens must be ids in [0, {logits.shape[-1]}); got {list(excluded_tokens)}")
    if len(excluded) == logits.shape[-1]:
        raise ValueError(f"excluded_tokens exclude every one of the {logits.shape[-1]} tokens")
    return logits.at[..., jnp.array(excluded)].set(-jnp.inf)


def _decode(step: Step, state: Any, first_tokens: jax.Array, max_length: int, eos_id: int, pad_id: int,
            choose: Callable[[jax.Array, jax.Array], jax.Array], key: jax.Array) -> Samples:
    if not isinstance(max_length, (int, np.integer)) or max_length < 1:
        raise ValueError(f"max_length must be a positive int; got {max_length!r}")
    first_tokens = jnp.asarray(first_tokens)
    if first_tokens.ndim != 1:
        raise ValueError(f"first_tokens must be one token per sequence, shape [m]; got shape {first_tokens.shape}")
    m = first_tokens.shape[0]

    def one_step(carry, step_key):
        state, token, done, log_probability = carry
        state, logits = step(state, token)
        chosen = choose(step_key, logits)
        real = ~done
        chosen = jnp.where(real, chosen, pad_id).astype(jnp.int32)
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), chosen[:, None], axis=-1)[:, 0]
        log_probability = log_probability + jnp.where(real, log_p, 0.0)
        done = done | (chosen == eos_id)
        return (state, chosen, done, log_probability), (chosen, real)

    carry = (state, first_tokens.astype(jnp.int32), jnp.zeros(m, bool), jnp.zeros(m, jnp.float32))
    (_, _, ended, log_probability), (tokens, mask) = lax.scan(one_step, carry, jax.random.split(key, max_length))
    return Samples(tokens.T, mask.T, log_probability, ended)


def sample_sequences(step: Step, state: Any, first_tokens: jax.Array, key: jax.Array, max_length: int,
                     eos_id: int, *, temperature=1.0, top_k: Optional[int] = None,
                     excluded_tokens: Sequence[int] = (), pad_id: int = 0) -> Samples:
    """Draws one sequence per row, token by token (module docstring), at most ``max_length`` tokens.

    Args:
      step: ``(state, x⟨t⟩: int [m]) -> (state, logits [m, |V|])``.
      state: the model's state before the first step (e.g. ``model.initial_states(m)``).
      first_tokens: ``x⟨1⟩`` per sequence, int ``[m]`` (a language model's zero input ``pad_id``).
      key: PRNG key; the same key gives the same sequences.
      max_length: static number of steps.
      eos_id: the ``<EOS>`` id, which ends a sequence (and is kept as its last token).
      temperature: ``τ ≥ 0`` (traced or not); ``0`` is greedy.
      top_k: static ``k`` (``None``: every token).
      excluded_tokens: static ids never drawn (e.g. ``(pad_id, unk_id)``).
      pad_id: the token written after ``<EOS>``.
    """
    _check_top_k(top_k)
    return _decode(step, state, first_tokens, max_length, eos_id, pad_id,
                   lambda k, z: choose_tokens(k, z, temperature, top_k, excluded_tokens), key)


def greedy_decode(step: Step, state: Any, first_tokens: jax.Array, max_length: int, eos_id: int, *,
                  excluded_tokens: Sequence[int] = (), pad_id: int = 0) -> Samples:
    """The greedy sequence ``y⟨t⟩ = argmax_y P(y | y⟨<t⟩)`` of each row (arguments as
    :func:`sample_sequences`); needs no key."""
    return _decode(step, state, first_tokens, max_length, eos_id, pad_id,
                   lambda _, z: jnp.argmax(without_tokens(z, excluded_tokens), axis=-1).astype(jnp.int32),
                   jax.random.key(0))
