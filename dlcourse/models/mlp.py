"""The L-layer deep network as a Linen module, with batch norm and inverted dropout options."""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.nn.activations import get_activation
from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM, BatchNorm
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.inverted_dropout import Dropout

OUTPUTS = ("logits", "sigmoid", "softmax")


class MLP(nn.Module):
    """``[LINEAR → (BATCH NORM) → g → (DROPOUT)] × (L − 1) → LINEAR`` on ``x: [batch, features]``.

    Hidden layer ``l``: ``Z[l] = A[l−1] W[l] + b[l]``; with batch norm the bias is dropped (β takes
    its place) and ``Z̃[l] = γ z_norm + β``; ``A[l] = g(Z̃[l])``; with dropout, in training,
    ``A[l] ← A[l] · D[l] / keep_prob``. The output layer is linear.

    Attributes:
      layer_sizes: hidden sizes ``n[1], …, n[L−1]`` (static structure).
      num_outputs: ``n[L]`` (1 for binary, C for C classes).
      activation: hidden activation name (see :func:`dlcourse.nn.get_activation`).
      kernel_init: initializer name (see :func:`dlcourse.nn.get_initializer`); biases start at 0.
      init_scale: standard deviation for ``kernel_init='random'``.
      dropout: whether hidden activations go through inverted dropout when training.
      batch_norm: whether hidden pre-activations are batch-normalized.
      batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.
      axis_name: named device axis for batch-norm statistics (data parallel under ``shard_map``).
      output: ``'logits'`` (the default; losses take logits), or ``'sigmoid'``/``'softmax'`` to
        return probabilities.

    ``__call__(x, *, train, keep_prob=1.0, mask=None)``: ``keep_prob`` may be a traced array
    (never branched on); dropout needs ``rngs={'dropout': key}`` when ``train`` and ``dropout``;
    batch norm needs ``mutable=['batch_stats']`` when ``train``. ``mask`` (``[batch]``) keeps
    padded examples out of the batch statistics.
    """

    layer_sizes: Sequence[int]
    num_outputs: int
    activation: str = "relu"
    kernel_init: str = "he"
    init_scale: float = 0.01
    dropout: bool = False
    batch_norm: bool = False
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON
    axis_name: Optional[str] = None
    output: str = "logits"

    @nn.compact
    def __call__(
        self, x: jax.Array, *, train: bool, keep_prob=1.0, mask: Optional[jax.Array] = None
    ) -> jax.Array:
        if self.output not in OUTPUTS:
            raise ValueError(f"unknown output {self.output!r}; expected one of {OUTPUTS}")
        if self.num_outputs < 1 or any(int(n) < 1 for n in self.layer_sizes):
            raise ValueError(
                f"layer sizes must be positive; got layer_sizes={list(self.layer_sizes)}, "
                f"num_outputs={self.num_outputs}"
            )
        g = get_activation(self.activation)
        init = get_initializer(self.kernel_init, self.init_scale)
        a = x.reshape((x.shape[0], -1))
        for l, size in enumerate(self.layer_sizes, start=1):
            z = nn.Dense(size, use_bias=not self.batch_norm, kernel_init=init, name=f"dense_{l}")(a)
            if self.batch_norm:
                z = BatchNorm(
                    momentum=self.batch_norm_momentum,
                    epsilon=self.batch_norm_epsilon,
                    axis_name=self.axis_name,
                    name=f"batch_norm_{l}",
                )(z, train=train, mask=mask)
            a = g(z)
            if self.dropout:
                a = Dropout(name=f"dropout_{l}")(a, keep_prob, train=train)
        logits = nn.Dense(self.num_outputs, kernel_init=init, name="output")(a)
        if self.output == "sigmoid":
            return jax.nn.sigmoid(logits)
        if self.output == "softmax":
            return jax.nn.softmax(logits, axis=-1)
        return logits
