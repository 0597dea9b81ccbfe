"""Logistic regression as a Linen module: ``z = wᵀx + b`` (one linear layer, logits out)."""

from __future__ import annotations

import flax.linen as nn
import jax

from dlcourse.nn.initializers import get_initializer


class LogisticRegression(nn.Module):
    """``z = x w + b`` on ``x: [batch, features]`` (inputs of any trailing shape are flattened).

    Outputs logits ``[batch, num_outputs]``: ``ŷ = σ(z)`` for binary (``num_outputs = 1``) or
    ``softmax(z)`` for C classes — applied by the loss, not here. The course initializes
    ``w = 0, b = 0`` (there is no symmetry to break with one unit), the default.

    ``__call__(x, *, train=False, keep_prob=1.0, mask=None)``: the keywords are accepted and
    ignored, so a training loop can call every dlcourse model alike.
    """

    num_outputs: int = 1
    kernel_init: str = "zeros"
    init_scale: float = 0.01

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, keep_prob=1.0, mask=None) -> jax.Array:
        del train, keep_prob, mask
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(
            self.num_outputs,
            kernel_init=get_initializer(self.kernel_init, self.init_scale),
            bias_init=nn.initializers.zeros,
            name="linear",
        )(x)
