"""Debiasing word embeddings (Bolukbasi et al., 2016): bias direction, neutralize, equalize.

1. **Identify the bias direction** g from definitional pairs (woman/man, girl/boy, she/he, …):
   ``method="average"``: g = (1/p) Σ_i (e_{a_i} − e_{b_i}), the average difference (the course's
   e_woman − e_man for one pair); ``method="pca"``: the first principal component of the vectors
   e_{a_i} − μ_i, e_{b_i} − μ_i with μ_i the pair's mean (Bolukbasi et al.), a unit vector signed
   to point the way of the average difference.
2. **Neutralize** a word that should carry no bias (receptionist, babysitter, doctor): remove its
   projection on g::

       e^bias_component = (e · g / ‖g‖₂²) g,     e^debiased = e − e^bias_component

3. **Equalize** a pair that should differ only along g (man/woman, grandfather/grandmother):
   make both the same vector off the axis and opposite, unit-length-completing ones on it, so any
   neutralized word is equally far from both::

       μ = (e_w1 + e_w2) / 2,   μ_B = (μ · g / ‖g‖²) g,   μ_⊥ = μ − μ_B
       e_wiB = (e_wi · g / ‖g‖²) g
       e_wiB^corrected = √|1 − ‖μ_⊥‖²| · (e_wiB − μ_B) / ‖e_wiB − μ_B‖
       e_wi^equalized = e_wiB^corrected + μ_⊥

   The denominator is Bolukbasi et al.'s ‖e_wiB − μ_B‖ (a version of the course's exercise prints
   ‖(e_w1 − μ_⊥) − μ_B‖, which equals it only when e_w1's off-axis part is μ_⊥). The results have
   unit norm when ‖μ_⊥‖ ≤ 1, i.e. the formula presumes unit-length embeddings.

All functions broadcast over leading axes (a batch of words or pairs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["BIAS_DIRECTION_METHODS", "bias_component", "bias_direction", "equalize", "neutralize"]

BIAS_DIRECTION_METHODS = ("average", "pca")


def bias_direction(first: jax.Array, second: jax.Array, method: str = "average") -> jax.Array:
    """g ``[n_e]`` from definitional pairs: ``first`` and ``second`` ``[p, n_e]`` (e.g. woman, man rows)."""
    if method not in BIAS_DIRECTION_METHODS:
        raise ValueError(f"method must be one of {BIAS_DIRECTION_METHODS}, got {method!r}")
    first, second = jnp.atleast_2d(first), jnp.atleast_2d(second)
    if first.shape != second.shape:
        raise ValueError(f"first and second must have the same shape, got {first.shape} and {second.shape}")
    average = jnp.mean(first - second, axis=0)
    if method == "average":
        return average
    half_differences = (first - second) / 2                          # e_a − μ; e_b − μ is its negative
    centred = jnp.concatenate([half_differences, -half_differences], axis=0)
    _, _, components = jnp.linalg.svd(centred, full_matrices=False)
    direction = components[0]
    return jnp.where(jnp.dot(direction, average) < 0, -direction, direction)


def bias_component(e: jax.Array, g: jax.Array) -> jax.Array:
    """(e · g / ‖g‖₂²) g: the projection of ``e`` ``[..., n_e]`` on the axis g ``[n_e]``."""
    return (jnp.sum(e * g, axis=-1, keepdims=True) / jnp.sum(g * g)) * g


def neutralize(e: jax.Array, g: jax.Array) -> jax.Array:
    """e − (e · g / ‖g‖₂²) g: ``e`` ``[..., n_e]`` with nothing left along g."""
    return e - bias_component(e, g)


def equalize(e_w1: jax.Array, e_w2: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The equalized pair ``(e_w1, e_w2)`` (see the module docstring), each ``[..., n_e]``."""
    mu = (e_w1 + e_w2) / 2
    mu_b = bias_component(mu, g)
    mu_orthogonal = mu - mu_b
    scale = jnp.sqrt(jnp.abs(1.0 - jnp.sum(mu_orthogonal ** 2, axis=-1, keepdims=True)))

    def corrected(e_w):
        offset = bias_component(e_w, g) - mu_b
        return scale * offset / jnp.linalg.norm(offset, axis=-1, keepdims=True) + mu_orthogonal

    return corrected(e_w1), corrected(e_w2)
