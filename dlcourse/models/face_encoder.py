"""A small convnet encoder for face verification: an image to a unit vector ``f(x)``."""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.models.cnn_layers import MaxPool
from dlcourse.nn.activations import get_activation
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.loop_friendly_convolution import Conv

#: Added under the square root of the norm, so an all-zero code divides by 1e-6, not 0.
NORM_EPSILON = 1e-12


class FaceEncoder(nn.Module):
    """``x [B, n_H, n_W, n_C] → f(x) [B, embedding_size]`` with ``‖f(x)‖₂ = 1``.

    For each entry of ``features``: a 3×3 "same" convolution, the activation, a 2×2 max pool of
    stride 2 (skipped once the feature map is 1 pixel high or wide); then a dense layer of
    ``embedding_size`` (128 in the course, FaceNet's size) and L2 normalization
    ``f = v / √(‖v‖² + ε)`` (ε = 1e-12), so the squared distance of two codes is
    ``‖f_1 − f_2‖² = 2 − 2 f_1·f_2 ∈ [0, 4]`` and a margin α compares across images.

    Attributes:
      embedding_size: length ``d`` of the code.
      features: channels of each convolution stage.
      activation: name from :data:`dlcourse.nn.ACTIVATION_NAMES`.

    ``__call__(x, *, train=False, mask=None)``: the keywords are accepted and ignored (no dropout,
    no batch norm), so a training loop can call every model alike.
    """

    embedding_size: int = 128
    features: Sequence[int] = (16, 32, 64)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        del train, mask
        if x.ndim != 4:
            raise ValueError(f"FaceEncoder needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        if not isinstance(self.embedding_size, int) or self.embedding_size < 1:
            raise ValueError(f"embedding_size must be a positive int, got {self.embedding_size!r}")
        g = get_activation(self.activation)
        init = get_initializer("he")
        for index, channels in enumerate(self.features):
            x = g(Conv(channels, (3, 3), padding="SAME", kernel_init=init, name=f"conv{index + 1}")(x))
            if min(x.shape[1:3]) >= 2:
                x = MaxPool(2, 2, name=f"pool{index + 1}")(x)
        v = nn.Dense(self.embedding_size, name="embedding")(x.reshape((x.shape[0], -1)))
        return v / jnp.sqrt(jnp.sum(v * v, axis=-1, keepdims=True) + NORM_EPSILON)
