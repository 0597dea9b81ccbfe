"""Weighted means that survive an all-padding batch: ``Σ_i w_i x_i / Σ_i w_i``, 0 when ``Σ w = 0``.

Losses, metrics and batch norm all average over the examples of a possibly padded batch with
weights ``w = mask`` (1 for a real example, 0 for padding). A batch that is all padding has
``Σ w = 0``; dividing would give NaN (0/0), and a NaN in a loss or a statistic poisons everything
downstream, gradients included. These helpers give 0 instead, with finite gradients.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp


def guarded_divide(total: jax.Array, count: jax.Array) -> jax.Array:
    """``total / count`` where ``count > 0``, else 0 (elementwise; the gradient stays finite)."""
    positive = count > 0
    return jnp.where(positive, total / jnp.where(positive, count, 1), 0)


def weighted_mean(values: jax.Array, weights: Optional[jax.Array] = None) -> jax.Array:
    """``Σ_i w_i v_i / Σ_i w_i`` over ``values: [batch]`` (the plain mean when ``weights`` is None).

    ``weights`` must have the shape of ``values`` (``ValueError`` otherwise) and is cast to its
    dtype. All-zero weights give 0. Examples of weight 0 are left out entirely, so a NaN or inf in
    a padding row (e.g. the loss of a placeholder label) does not reach the mean.
    """
    values = jnp.asarray(values)
    if weights is None:
        return jnp.mean(values)
    weights = jnp.asarray(weights, values.dtype)
    if weights.shape != values.shape:
        raise ValueError(
            f"mask must have shape {values.shape} (one weight per example); got {weights.shape}"
        )
    weighted = jnp.where(weights != 0, weights * values, 0)
    return guarded_divide(jnp.sum(weighted), jnp.sum(weights))
