"""The costs of neural style transfer (Gatys et al., 2015), in the course's notation.

For a generated image ``G``, a content image ``C`` and a style image ``S``, with ``a^[l](X)`` the
activations ``[n_H, n_W, n_C]`` of layer ``l`` of a fixed convnet on image ``X``::

    J_content(C, G)   = ½ ‖a^[l](C) − a^[l](G)‖²                                   (the course)
    G^[l]_kk′         = Σ_i Σ_j a^[l]_ijk a^[l]_ijk′                                 (Gram / style matrix, n_C × n_C)
    J^[l]_style(S, G) = 1 / (2 n_H n_W n_C)² · Σ_k Σ_k′ (G^[l]_kk′(S) − G^[l]_kk′(G))²
    J_style(S, G)     = Σ_l λ^[l] J^[l]_style(S, G)
    J(G)              = α J_content(C, G) + β J_style(S, G)

``content_cost(..., normalization='assignment')`` uses the programming assignment's
``1 / (4 n_H n_W n_C) · ‖a^[l](C) − a^[l](G)‖²`` instead of ½ (same minimizer, a cost that does not
grow with the layer's size, so α and β mean the same at any image size); ``'course'`` (½) is the
default. The style normalization is the notes' and the paper's ``1 / (4 N_l² M_l²)`` with
``N_l = n_C``, ``M_l = n_H n_W``. Every function accepts leading axes before ``[n_H, n_W, n_C]``
(e.g. a batch of one) and sums the cost over them.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp

CONTENT_NORMALIZATIONS = ("course", "assignment")


def _check_activations(name: str, a: jax.Array) -> None:
    if jnp.ndim(a) < 3:
        raise ValueError(f"{name} must be activations [..., n_H, n_W, n_C]; got shape {jnp.shape(a)}")


def content_cost(a_C: jax.Array, a_G: jax.Array, normalization: str = "course") -> jax.Array:
    """``J_content = ½ ‖a^[l](C) − a^[l](G)‖²`` (``'course'``) or ``‖·‖² / (4 n_H n_W n_C)`` (``'assignment'``).

    Args:
      a_C, a_G: activations of one layer on the content and the generated image, ``[..., n_H, n_W, n_C]``.
      normalization: ``'course'`` or ``'assignment'`` (see the module docstring).
    """
    _check_activations("a_C", a_C)
    if jnp.shape(a_C) != jnp.shape(a_G):
        raise ValueError(f"a_C and a_G must have the same shape; got {jnp.shape(a_C)} and {jnp.shape(a_G)}")
    if normalization not in CONTENT_NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {CONTENT_NORMALIZATIONS}, got {normalization!r}")
    squared = jnp.sum((a_C - a_G) ** 2)
    if normalization == "course":
        return 0.5 * squared
    n_H, n_W, n_C = jnp.shape(a_C)[-3:]
    return squared / (4.0 * n_H * n_W * n_C)


def gram_matrix(a: jax.Array) -> jax.Array:
    """The style matrix ``G_kk′ = Σ_i Σ_j a_ijk a_ijk′``: ``[..., n_H, n_W, n_C] → [..., n_C, n_C]``.

    With ``A`` the ``(n_H n_W) × n_C`` matrix of the unrolled activations, ``G = Aᵀ A`` (the
    assignment's ``A Aᵀ`` with ``A`` as ``n_C × (n_H n_W)``): unnormalized, symmetric, positive semidefinite.
    """
    _check_activations("a", a)
    return jnp.einsum("...ijk,...ijl->...kl", a, a)


def layer_style_cost(a_S: jax.Array, a_G: jax.Array) -> jax.Array:
    """``J^[l]_style = 1 / (2 n_H n_W n_C)² · Σ_k Σ_k′ (G_kk′(S) − G_kk′(G))²`` for one layer.

    ``a_S`` and ``a_G`` are the layer's activations on the style and the generated image, of one
    shape ``[..., n_H, n_W, n_C]`` (style and generated images of one size).
    """
    _check_activations("a_S", a_S)
    if jnp.shape(a_S) != jnp.shape(a_G):
        raise ValueError(f"a_S and a_G must have the same shape (style and generated images of one size); "
                         f"got {jnp.shape(a_S)} and {jnp.shape(a_G)}")
    n_H, n_W, n_C = jnp.shape(a_S)[-3:]
    return jnp.sum((gram_matrix(a_S) - gram_matrix(a_G)) ** 2) / (2.0 * n_H * n_W * n_C) ** 2


def style_cost(a_S: Mapping[str, jax.Array], a_G: Mapping[str, jax.Array],
               layer_weights: Mapping[str, float | jax.Array]) -> jax.Array:
    """``J_style = Σ_l λ^[l] J^[l]_style(S, G)`` over the layers named in ``layer_weights`` (``{l: λ^[l]}``).

    ``a_S``, ``a_G``: ``{layer: activations}`` holding at least those layers.
    """
    if not layer_weights:
        raise ValueError("layer_weights must name at least one layer")
    missing = [name for name in layer_weights if name not in a_S or name not in a_G]
    if missing:
        raise ValueError(f"style layers {missing} are missing from the activations (have {sorted(a_G)})")
    return sum(weight * layer_style_cost(a_S[name], a_G[name]) for name, weight in layer_weights.items())


def total_cost(j_content: jax.Array, j_style: jax.Array, alpha: float | jax.Array = 10.0,
               beta: float | jax.Array = 40.0) -> jax.Array:
    """``J(G) = α J_content + β J_style``; α = 10, β = 40 by default (the programming assignment's values)."""
    return alpha * j_content + beta * j_style
