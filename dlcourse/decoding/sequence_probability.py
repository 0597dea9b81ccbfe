"""The probability a sequence model gives a sequence, by the chain rule (course 5).

A language model's per-step logits ``z⟨t⟩`` give ``ŷ⟨t⟩ = softmax(z⟨t⟩) = P(· | y⟨1⟩ … y⟨t−1⟩)``, so

    P(y⟨1⟩, y⟨2⟩, …, y⟨T_y⟩) = P(y⟨1⟩) P(y⟨2⟩ | y⟨1⟩) ⋯ P(y⟨T_y⟩ | y⟨1⟩ … y⟨T_y−1⟩)

(the notes' slide shows the third factor under a fraction bar, a transcription slip: the chain
rule multiplies all three), computed in logs, ``log P = Σ_t log ŷ⟨t⟩_{y⟨t⟩}``, over the steps a
mask marks real (``<EOS>`` is one of them when it is a target). Its negative is the course's loss
``Σ_t L(ŷ⟨t⟩, y⟨t⟩)`` of the sequence.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

__all__ = ["sequence_log_probability", "sequence_perplexity", "token_log_probabilities"]


def token_log_probabilities(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """``log P(y⟨t⟩ | y⟨1⟩ … y⟨t−1⟩) = log softmax(z⟨t⟩)_{y⟨t⟩}``: logits ``[..., T, |V|]``, integer
    targets ``[..., T]`` → ``[..., T]``. A target outside ``[0, |V|)`` raises ``ValueError`` when concrete."""
    logits = jnp.asarray(logits)
    targets = jnp.asarray(targets)
    if logits.ndim < 1 or targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have the logits' shape without its last axis, {logits.shape[:-1]}; "
                         f"got {targets.shape}")
    if not jnp.issubdtype(targets.dtype, jnp.integer):
        raise ValueError(f"targets must be integer token ids; got dtype {targets.dtype}")
    if not isinstance(targets, jax.core.Tracer) and targets.size and (
            int(targets.min()) < 0 or int(targets.max()) >= logits.shape[-1]):
        raise ValueError(f"target ids must lie in [0, {logits.shape[-1]}); got ids from {int(targets.min())} "
                         f"to {int(targets.max())}")
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def sequence_log_probability(logits: jax.Array, targets: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """``log P(y⟨1⟩ … y⟨T_y⟩) = Σ_t mask⟨t⟩ log P(y⟨t⟩ | y⟨<t⟩)``: ``[..., T, |V|]``, ``[..., T]`` → ``[...]``.

    ``mask`` ``[..., T]`` (1 at real steps; ``None``: all real); masked steps add nothing, whatever
    their logits or targets.
    """
    targets = jnp.asarray(targets)
    if mask is None:
        return jnp.sum(token_log_probabilities(logits, targets), axis=-1)
    mask = jnp.asarray(mask)
    if mask.shape != targets.shape:
        raise ValueError(f"mask must have the targets' shape {targets.shape}; got {mask.shape}")
    safe_targets = jnp.where(mask != 0, targets, 0)
    terms = token_log_probabilities(logits, safe_targets)
    return jnp.sum(jnp.where(mask != 0, mask * terms, 0.0), axis=-1)


def sequence_perplexity(logits: jax.Array, targets: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Each sequence's perplexity ``exp(−(1/T_y) Σ_t log P(y⟨t⟩ | y⟨<t⟩))`` over its real steps
    (``T_y = Σ_t mask⟨t⟩``); the corpus-level one is :data:`dlcourse.metrics.PERPLEXITY`."""
    targets = jnp.asarray(targets)
    count = jnp.sum(jnp.ones(targets.shape) if mask is None else jnp.asarray(mask, jnp.float32), axis=-1)
    return jnp.exp(-sequence_log_probability(logits, targets, mask) / jnp.maximum(count, 1.0))
