"""The inception module and GoogLeNet (Inception v1; Szegedy et al., 2015)."""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.models.cnn_layers import AdaptiveAveragePool, ConvBatchNorm, GlobalAveragePool, MaxPool
from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM
from dlcourse.nn.inverted_dropout import Dropout

# Filters of each module, as the paper's Table 1 lists them:
# (1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool projection); stages 3 (a, b), 4 (a–e), 5 (a, b).
GOOGLENET_STAGES = (
    ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
    ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
     (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)),
    ((256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)),
)
# The side classifiers read the outputs of modules 4a and 4d (stage 2 of GOOGLENET_STAGES).
SIDE_CLASSIFIER_MODULES = (1, 4)


class InceptionModule(nn.Module):
    """Four branches on the same input, concatenated along the channels::

        1×1 conv (conv1x1)
        1×1 conv (reduce3x3) → 3×3 conv (conv3x3)
        1×1 conv (reduce5x5) → 5×5 conv (conv5x5)
        3×3, s=1 same max pool → 1×1 conv (pool_projection)

    Output ``[batch, n_H, n_W, conv1x1 + conv3x3 + conv5x5 + pool_projection]``, the same
    ``n_H × n_W`` (every branch is "same"). The 1×1 "reduce" convolutions are the course's
    bottleneck layers: on 28×28×192 a 5×5 same convolution to 32 channels costs
    ``28·28·32·5·5·192 ≈ 120 M`` multiplications; shrinking to 16 channels first costs
    ``28·28·16·192 + 28·28·32·5·5·16 ≈ 12.4 M``. The course's example module (28×28×192 →
    64 + 128 + 32 + 32 = 256 channels) is GoogLeNet's 3a. Every convolution is followed by batch norm
    and ReLU (torchvision's GoogLeNet; the 2015 paper predates batch norm and used biases).

    Attributes:
      conv1x1, reduce3x3, conv3x3, reduce5x5, conv5x5, pool_projection: filters of each convolution.
      large_kernel_size: the "5×5" branch's kernel; torchvision uses 3 there (its GoogLeNet has
        6,624,904 parameters instead of 7,005,832).
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.
    """

    conv1x1: int
    reduce3x3: int
    conv3x3: int
    reduce5x5: int
    conv5x5: int
    pool_projection: int
    large_kernel_size: int = 5
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        def conv(features, kernel_size, name):
            return ConvBatchNorm(features, kernel_size, axis_name=self.axis_name,
                                 batch_norm_momentum=self.batch_norm_momentum,
                                 batch_norm_epsilon=self.batch_norm_epsilon, name=name)

        keywords = dict(train=train, mask=mask)
        branch1 = conv(self.conv1x1, 1, "conv1x1")(x, **keywords)
        branch2 = conv(self.conv3x3, 3, "conv3x3")(conv(self.reduce3x3, 1, "reduce3x3")(x, **keywords), **keywords)
        branch3 = conv(self.conv5x5, self.large_kernel_size, "conv5x5")(
            conv(self.reduce5x5, 1, "reduce5x5")(x, **keywords), **keywords)
        branch4 = conv(self.pool_projection, 1, "pool_projection")(MaxPool(3, 1, 1, name="pool")(x), **keywords)
        return jnp.concatenate([branch1, branch2, branch3, branch4], axis=-1)


class SideClassifier(nn.Module):
    """GoogLeNet's side classifier: adaptive average pool to 4×4 → 1×1 conv → dense → ReLU → dropout → dense.

    The paper pools 5×5, s=3 (4×4 on a 14×14 map); the adaptive pool gives 4×4 from any map.
    ``__call__(x, *, train, mask=None)``: ``[batch, n_H, n_W, n_C] → [batch, num_classes]`` logits.
    """

    num_classes: int
    conv_features: int = 128
    hidden_features: int = 1024
    keep_prob: float = 0.3
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        x = AdaptiveAveragePool((4, 4), name="pool")(x)
        x = ConvBatchNorm(self.conv_features, 1, axis_name=self.axis_name, batch_norm_momentum=self.batch_norm_momentum,
                          batch_norm_epsilon=self.batch_norm_epsilon, name="conv")(x, train=train, mask=mask)
        x = x.reshape((x.shape[0], -1))
        x = nn.relu(nn.Dense(self.hidden_features, name="fc")(x))
        x = Dropout(name="dropout")(x, self.keep_prob, train=train)
        return nn.Dense(self.num_classes, name="output")(x)


class InceptionOutputs(NamedTuple):
    """What :class:`InceptionV1` returns in training with side classifiers."""

    logits: jax.Array
    side_logits: tuple[jax.Array, ...]


class InceptionV1(nn.Module):
    """GoogLeNet: stem, 9 inception modules in 3 stages, global average pool, dropout, dense.

    On 224×224×3 (paper's Table 1): 7×7, s=2 conv, 64 → 112×112 → 3×3, s=2 max pool → 56×56 →
    1×1 conv, 64 → 3×3 conv, 192 → max pool → 28×28×192 → 3a, 3b → max pool → 14×14×480 →
    4a … 4e → max pool → 7×7×832 → 5a, 5b → 7×7×1024 → average pool → dropout → dense. Pools are
    3×3, s=2 with ``'SAME'`` padding (``⌈n/2⌉``, the paper's sizes); any input of at least 1×1 works.

    Side classifiers (``side_classifiers=True``) on the outputs of 4a and 4d: adaptive average pool
    to 4×4 → 1×1 conv, 128 → dense 1024 → ReLU → dropout (keep 0.3) → dense ``num_classes``. They
    "add a regularization effect and make sure that features computed in the hidden units are not
    too bad for predicting the output" (the course); the paper adds their losses with weight 0.3 and
    drops them at test time. Here, in training, the model returns
    :class:`InceptionOutputs` ``(logits, side_logits=(after 4a, after 4d))``; in inference, the
    logits alone. Their parameters are created by ``init`` in either mode.

    Parameters for 1,000 classes: 7,005,832 (5×5 branches, no side classifiers); torchvision's
    ``googlenet`` (3×3 in the "5×5" branch: ``large_kernel_size=3``) 6,624,904, and 13,004,888 with
    its side classifiers. Conv–BN–ReLU everywhere, no local response normalization (torchvision's).

    Attributes:
      num_classes: outputs of the classifier(s).
      side_classifiers: whether the two side classifiers exist.
      stage_sizes: how many of each stage's modules to keep, from its first (default ``(2, 5, 2)``,
        all; 0 keeps only the stage's pool); the side classifiers need at least 4 in the middle stage.
      width_multiplier: every convolution's filters are ``max(1, round(α · filters))``.
      large_kernel_size: see :class:`InceptionModule`.
      side_classifier_keep_prob: the side classifiers' dropout keep probability (paper: 0.3).
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, keep_prob=0.6, mask=None)``: ``keep_prob`` is the main classifier's
    dropout keep probability (paper: 40% dropped); dropout needs ``rngs={'dropout': key}`` and batch
    norm ``mutable=['batch_stats']`` when ``train``.
    """

    num_classes: int = 1000
    side_classifiers: bool = False
    stage_sizes: Sequence[int] = (2, 5, 2)
    width_multiplier: float = 1.0
    large_kernel_size: int = 5
    side_classifier_keep_prob: float = 0.3
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    def _width(self, filters: int) -> int:
        return max(1, round(self.width_multiplier * filters))

    def _check(self) -> None:
        full = tuple(len(stage) for stage in GOOGLENET_STAGES)
        if len(self.stage_sizes) != 3 or any(not 0 <= n <= m for n, m in zip(self.stage_sizes, full)):
            raise ValueError(f"stage_sizes must have 3 entries with 0 ≤ n ≤ {full}; got {tuple(self.stage_sizes)}")
        if self.side_classifiers and self.stage_sizes[1] < max(SIDE_CLASSIFIER_MODULES):
            raise ValueError(f"side classifiers read modules 4a and 4d: stage_sizes[1] must be ≥ 4; "
                             f"got stage_sizes={tuple(self.stage_sizes)}")
        if self.width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be positive; got {self.width_multiplier}")

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, keep_prob=0.6, mask: Optional[jax.Array] = None):
        self._check()
        if x.ndim != 4:
            raise ValueError(f"InceptionV1 needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        normalization = dict(axis_name=self.axis_name, batch_norm_momentum=self.batch_norm_momentum,
                             batch_norm_epsilon=self.batch_norm_epsilon)
        keywords = dict(train=train, mask=mask)
        x = ConvBatchNorm(self._width(64), 7, 2, name="conv1", **normalization)(x, **keywords)
        x = MaxPool(3, 2, "SAME", name="pool1")(x)
        x = ConvBatchNorm(self._width(64), 1, name="conv2", **normalization)(x, **keywords)
        x = ConvBatchNorm(self._width(192), 3, name="conv3", **normalization)(x, **keywords)
        x = MaxPool(3, 2, "SAME", name="pool2")(x)
        with_sides = self.side_classifiers and (train or self.is_initializing())
        side_logits = []
        for stage, (size, modules) in enumerate(zip(self.stage_sizes, GOOGLENET_STAGES), start=3):
            if stage > 3:
                x = MaxPool(3, 2, "SAME", name=f"pool{stage - 1}")(x)
            for index, filters in enumerate(modules[:size]):
                x = InceptionModule(*(self._width(n) for n in filters), large_kernel_size=self.large_kernel_size,
                                    name=f"inception{stage}{'abcde'[index]}", **normalization)(x, **keywords)
                if with_sides and stage == 4 and index + 1 in SIDE_CLASSIFIER_MODULES:
                    side = SideClassifier(self.num_classes, self._width(128), self._width(1024),
                                          self.side_classifier_keep_prob, name=f"side_classifier{len(side_logits) + 1}",
                                          **normalization)
                    side_logits.append(side(x, **keywords))
        x = GlobalAveragePool(name="pool5")(x)
        x = Dropout(name="dropout")(x, keep_prob, train=train)
        logits = nn.Dense(self.num_classes, name="output")(x)
        if self.side_classifiers and train:
            return InceptionOutputs(logits, tuple(side_logits))
        return logits
