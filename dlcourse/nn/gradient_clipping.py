"""Gradient clipping for exploding gradients (course 5: RNNs), as functions on gradient pytrees.

- by value: every component to ``[−max_value, max_value]``: ``dW ← min(max(dW, −max_value), max_value)``
  (``optax.clip``; the course's assignment clips each of ``dW_ax, dW_aa, dW_ya, db, db_y`` this way);
- by global norm: ``‖g‖ = √(Σ_leaves Σ |g|²)``; if ``‖g‖ > max_norm`` every leaf becomes
  ``g · max_norm / ‖g‖`` (``optax.clip_by_global_norm``; the direction is kept).

Inside an optimizer chain use the transformation :func:`dlcourse.optim.clip_by_global_norm`, which
:func:`clip_gradients_by_global_norm` applies. Thresholds may be traced arrays (a population can
sweep them); concrete ones must be positive.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from dlcourse.optim.base import EmptyState, check_in_range
from dlcourse.optim.transforms import clip_by_global_norm

__all__ = ["clip_gradients_by_global_norm", "clip_gradients_by_value", "global_norm"]


def global_norm(tree: Any) -> jax.Array:
    """``‖g‖ = √(Σ_leaves Σ |g|²)`` over every leaf of ``tree`` (0 for an empty tree)."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros(())
    return jnp.sqrt(sum(jnp.sum(jnp.real(jnp.conj(leaf) * leaf)) for leaf in leaves))


def clip_gradients_by_value(gradients: Any, max_value: float | jax.Array) -> Any:
    """Every component clipped to ``[−max_value, max_value]`` (``max_value > 0``); same tree and dtypes."""
    check_in_range("max_value", max_value, 0.0, low_inclusive=False)
    return jax.tree.map(lambda g: jnp.clip(g, -jnp.asarray(max_value, g.dtype), jnp.asarray(max_value, g.dtype)),
                        gradients)


def clip_gradients_by_global_norm(gradients: Any, max_norm: float | jax.Array) -> Any:
    """``gradients`` rescaled together to global norm at most ``max_norm`` (> 0); unchanged below it."""
    clipped, _ = clip_by_global_norm(max_norm).update(gradients, EmptyState())
    return clipped
