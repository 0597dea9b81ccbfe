"""Face verification as binary classification of pairs ("learning the similarity function").

A siamese network encodes both images of a pair with the *same* encoder ``f`` and a logistic unit
on the element-wise difference of the two codes says "same" (``y = 1``) or "different" (``y = 0``):

    ŷ = σ(Σ_k w_k |f(x^(i))_k − f(x^(j))_k| + b)                      (``features='absolute'``)
    ŷ = σ(Σ_k w_k (f(x^(i))_k − f(x^(j))_k)² / (f(x^(i))_k + f(x^(j))_k) + b)   (``'chi_square'``)

trained with the logistic loss on labelled pairs (Taigman et al., 2014, DeepFace). The χ² form
assumes non-negative codes (DeepFace's follow a ReLU); for codes of any sign the denominator here is
``|f(x^(i))_k| + |f(x^(j))_k| + ε`` (ε = 1e-6), which equals the χ² form up to ε on non-negative
codes and keeps every term finite. Both forms are symmetric in the two images.
"""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

SIMILARITY_FEATURES = ("absolute", "chi_square")
CHI_SQUARE_EPSILON = 1e-6


def similarity_features(first: jax.Array, second: jax.Array, features: str = "absolute") -> jax.Array:
    """The pair's features ``[..., d]``: ``|f_i − f_j|`` or ``(f_i − f_j)² / (|f_i| + |f_j| + ε)``."""
    if features == "absolute":
        return jnp.abs(first - second)
    if features == "chi_square":
        return (first - second) ** 2 / (jnp.abs(first) + jnp.abs(second) + CHI_SQUARE_EPSILON)
    raise ValueError(f"features must be one of {SIMILARITY_FEATURES}, got {features!r}")


class SimilarityHead(nn.Module):
    """The logistic unit on a pair of codes: ``(f_i [B, d], f_j [B, d]) → z [B]``, the logit of
    "same", ``z = Σ_k w_k φ_k + b`` with ``φ`` from :func:`similarity_features`; ``ŷ = σ(z)``."""

    features: str = "absolute"

    @nn.compact
    def __call__(self, first: jax.Array, second: jax.Array) -> jax.Array:
        phi = similarity_features(first, second, self.features)
        return nn.Dense(1, name="logistic")(phi)[..., 0]


class SiameseNetwork(nn.Module):
    """``(x_i, x_j) → z [B]``: both images through the one ``encoder`` (shared weights, one pass
    over the ``2B`` images), then :class:`SimilarityHead`. Logits: pair it with the ``'sigmoid'``
    loss and ``'accuracy'`` metric (``z > 0`` predicts "same").

    ``__call__(pair, *, train=False, mask=None)``: ``pair`` is a tuple of two ``[B, ...]`` image
    arrays; ``mask`` is accepted and unused (the loss is per pair). Parameters: ``'encoder'``,
    ``'head'``.
    """

    encoder: nn.Module
    features: str = "absolute"

    @nn.compact
    def __call__(self, pair, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        del mask
        first, second = pair
        if first.shape != second.shape:
            raise ValueError(f"the two images of a pair must have one shape; got {first.shape} and {second.shape}")
        codes = self.encoder(jnp.concatenate([first, second], axis=0), train=train)
        return SimilarityHead(self.features, name="head")(codes[:first.shape[0]], codes[first.shape[0]:])
