"""The course's shallow network: one hidden tanh layer, sigmoid output (planar data lesson)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.nn.initializers import get_initializer


class ShallowNet(nn.Module):
    """``A[1] = tanh(x W[1] + b[1])``, ``z[2] = A[1] W[2] + b[2]`` on ``x: [batch, features]``.

    Outputs logits ``[batch, num_outputs]`` (the sigmoid ``ŷ = σ(z[2])`` belongs to the loss).
    The course initializes ``W = randn · 0.01`` and ``b = 0``: the defaults.

    ``__call__(x, *, train=False, keep_prob=1.0, mask=None)``: the keywords are accepted and
    ignored, so a training loop can call every dlcourse model alike.
    """

    hidden_size: int = 4
    num_outputs: int = 1
    kernel_init: str = "random"
    init_scale: float = 0.01

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, keep_prob=1.0, mask=None) -> jax.Array:
        del train, keep_prob, mask
        if self.hidden_size < 1:
            raise ValueError(f"hidden_size must be positive; got {self.hidden_size}")
        init = get_initializer(self.kernel_init, self.init_scale)
        x = x.reshape((x.shape[0], -1))
        hidden = jnp.tanh(nn.Dense(self.hidden_size, kernel_init=init, name="hidden")(x))
        return nn.Dense(self.num_outputs, kernel_init=init, name="output")(hidden)
