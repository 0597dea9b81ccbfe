"""Multi-task learning: one network, several binary labels per example, some of them unknown.

The course's self-driving example: y⁽ⁱ⁾ ∈ {0, 1}⁴ says whether image i shows a pedestrian, a car,
a stop sign and a traffic light, stacked as Y of shape (4, m) (tasks, examples). Labellers may
leave entries unknown ("?"); those entries are left out of the sum.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["known_label_mask", "multitask_logistic_loss"]


def known_label_mask(y):
    """1 where a label is known, 0 where it is unknown.

    Unknown entries are marked either NaN (float labels) or −1 (float or integer labels).
    """
    y = jnp.asarray(y)
    known = y != -1
    if jnp.issubdtype(y.dtype, jnp.floating):
        known = known & ~jnp.isnan(y)
    return known


def multitask_logistic_loss(logits, y, mask=None):
    """J = (1/m) Σᵢ₌₁ᵐ Σⱼ L(ŷⱼ⁽ⁱ⁾, yⱼ⁽ⁱ⁾), summed over the known entries only.

    L(ŷ, y) = −[y log ŷ + (1 − y) log(1 − ŷ)] with ŷ = σ(z), computed from the logits z as
    softplus(z) − y·z for numerical stability.

    Shapes: ``logits`` and ``y`` are (tasks, m), examples along the second axis as in the course.
    Unknown labels are marked NaN or −1 in ``y``; or pass ``mask`` (same shape, truthy = known),
    which then decides alone. m is the number of examples (columns), unknown entries included:
    the course's 1/m, not a mean over known entries. Unknown entries get zero gradient.
    """
    logits = jnp.asarray(logits)
    y = jnp.asarray(y)
    if logits.ndim != 2 or logits.shape != y.shape:
        raise ValueError(
            f"logits and y must both have shape (tasks, m), got {logits.shape} and {y.shape}"
        )
    if mask is None:
        known = known_label_mask(y)
    else:
        mask = jnp.asarray(mask)
        if mask.shape != y.shape:
            raise ValueError(f"mask must have the shape of y {y.shape}, got {mask.shape}")
        known = mask.astype(bool)
    targets = jnp.where(known, y, 0).astype(logits.dtype)
    per_entry = jax.nn.softplus(logits) - targets * logits
    num_examples = logits.shape[1]
    return jnp.sum(jnp.where(known, per_entry, 0.0)) / num_examples
