"""MobileNet v1 (Howard et al., 2017) and v2 (Sandler et al., 2018): networks of depthwise
separable convolutions.

Cost of a convolution in multiplications (the course's count): a normal ``f × f`` convolution
from ``n_C`` to ``n_C′`` channels on an ``n_H × n_W`` output costs ``n_H·n_W·n_C′·f·f·n_C``; the
depthwise one (one ``f × f`` filter per input channel) ``n_H·n_W·n_C·f·f``, and the pointwise
(1×1) one ``n_H·n_W·n_C′·n_C``. Their ratio is ``1/n_C′ + 1/f²`` (the course's 6×6×3 → 4×4×5
example: ``(432 + 240) / 2160 = 0.31``; about 1/9 for ``f = 3`` and many channels).
"""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import Activation, ConvBatchNorm, GlobalAveragePool
from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM
from dlcourse.nn.inverted_dropout import Dropout

# (pointwise filters, stride) of MobileNet v1's 13 depthwise separable blocks (paper's Table 1).
MOBILENET_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                       (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
# (expansion t, output channels c, repeats n, first stride s) of MobileNet v2 (paper's Table 2).
MOBILENET_V2_BOTTLENECKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def round_to_multiple_of_eight(channels: float) -> int:
    """MobileNet v2's channel rounding: the nearest multiple of 8, at least 8, never below 90% of ``channels``."""
    rounded = max(8, int(channels + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * channels else rounded


def _normalization(model) -> dict:
    return dict(axis_name=model.axis_name, batch_norm_momentum=model.batch_norm_momentum,
                batch_norm_epsilon=model.batch_norm_epsilon)


class DepthwiseSeparableConv(nn.Module):
    """``3×3 depthwise conv (stride s) → BN → g → 1×1 pointwise conv (features) → BN → g``.

    ``[batch, n_H, n_W, n_C] → [batch, n_H/s, n_W/s, features]``; ``f·f·n_C + n_C·features``
    weights instead of a normal convolution's ``f·f·n_C·features``.

    Attributes:
      features: ``n_C′``, the pointwise convolution's filters.
      strides: the depthwise convolution's stride.
      activation: ``g`` (ReLU in the paper; Keras uses ReLU6).
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.
    """

    features: int
    strides: int = 1
    activation: Optional[Activation] = nn.relu
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        channels = x.shape[-1]
        x = ConvBatchNorm(channels, 3, self.strides, feature_group_count=channels, activation=self.activation,
                          name="depthwise", **_normalization(self))(x, train=train, mask=mask)
        return ConvBatchNorm(self.features, 1, activation=self.activation, name="pointwise",
                             **_normalization(self))(x, train=train, mask=mask)


class InvertedResidual(nn.Module):
    """MobileNet v2's bottleneck block: expansion → depthwise → projection (+ the input when shapes match).

    ``1×1 conv to t·n_C → BN → ReLU6 → 3×3 depthwise (stride s) → BN → ReLU6 → 1×1 conv to
    features → BN`` (no activation after the projection: the "linear bottleneck"); the input is
    added when ``s = 1`` and ``n_C = features``. With ``t = 1`` there is no expansion convolution.

    Attributes:
      features: output channels.
      expansion: ``t``.
      strides: the depthwise convolution's stride.
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.
    """

    features: int
    expansion: int
    strides: int = 1
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        keywords = dict(train=train, mask=mask)
        channels = x.shape[-1]
        hidden = channels * self.expansion
        y = x
        if self.expansion != 1:
            y = ConvBatchNorm(hidden, 1, activation=nn.relu6, name="expand", **_normalization(self))(y, **keywords)
        y = ConvBatchNorm(hidden, 3, self.strides, feature_group_count=hidden, activation=nn.relu6,
                          name="depthwise", **_normalization(self))(y, **keywords)
        y = ConvBatchNorm(self.features, 1, activation=None, name="project", **_normalization(self))(y, **keywords)
        return x + y if self.strides == 1 and channels == self.features else y


class MobileNetV1(nn.Module):
    """``3×3, s=2 conv (32) → 13 depthwise separable blocks → global average pool → dense``.

    Width multiplier α: every layer's filters are ``int(α · filters)``; the cost and parameters
    shrink roughly by α². (The resolution multiplier is the input size: any input works.) At
    224×224×3, α = 1 and 1,000 classes: 4,231,976 parameters (Keras' ``MobileNet``'s trainable
    ones; the paper's "4.2 million") and 568,740,352 multiplications (with the dense layer; the
    paper's "569 million" mult-adds) by :func:`dlcourse.models.summary`'s count. Conv–BN–ReLU
    throughout; the dense layer has a bias.

    Attributes:
      num_classes: outputs of the last layer.
      width_multiplier: α > 0.
      blocks: ``(filters, stride)`` of each depthwise separable block, before α.
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, keep_prob=1.0, mask=None)``: inverted dropout before the dense layer
    (Keras drops 0.1%: ``keep_prob=0.999``); batch norm needs ``mutable=['batch_stats']`` when
    ``train``.
    """

    num_classes: int = 1000
    width_multiplier: float = 1.0
    blocks: Sequence[tuple[int, int]] = MOBILENET_V1_BLOCKS
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    def _width(self, filters: int) -> int:
        return max(1, int(filters * self.width_multiplier))

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, keep_prob=1.0, mask: Optional[jax.Array] = None) -> jax.Array:
        if self.width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be positive; got {self.width_multiplier}")
        keywords = dict(train=train, mask=mask)
        x = ConvBatchNorm(self._width(32), 3, 2, name="stem", **_normalization(self))(x, **keywords)
        for index, (filters, strides) in enumerate(self.blocks, start=1):
            x = DepthwiseSeparableConv(self._width(filters), strides, name=f"block{index}",
                                       **_normalization(self))(x, **keywords)
        x = GlobalAveragePool(name="pool")(x)
        x = Dropout(name="dropout")(x, keep_prob, train=train)
        return nn.Dense(self.num_classes, name="output")(x)


class MobileNetV2(nn.Module):
    """``3×3, s=2 conv (32) → 17 inverted residual blocks → 1×1 conv (1280) → global average pool → dense``.

    The blocks follow :data:`MOBILENET_V2_BOTTLENECKS`: ``n`` blocks of expansion ``t`` and ``c``
    output channels, the first with stride ``s``. Width multiplier α: channels are
    ``round_to_multiple_of_eight(α · c)``, the last convolution ``round_to_multiple_of_eight(1280 ·
    max(1, α))`` (not shrunk for α < 1, as in the paper). ReLU6 after every convolution but the
    projections. At 224×224×3, α = 1 and 1,000 classes: 3,504,872 parameters (torchvision's
    ``mobilenet_v2``; Keras' trainable ones).

    Attributes:
      num_classes: outputs of the last layer.
      width_multiplier: α > 0.
      bottlenecks: ``(t, c, n, s)`` rows, before α.
      last_features: the last 1×1 convolution's filters; ``None`` for the rule above (a small
        network for the CPU may want fewer than 1280).
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, keep_prob=0.8, mask=None)``: inverted dropout before the dense layer
    (torchvision drops 20%); batch norm needs ``mutable=['batch_stats']`` when ``train``.
    """

    num_classes: int = 1000
    width_multiplier: float = 1.0
    bottlenecks: Sequence[tuple[int, int, int, int]] = MOBILENET_V2_BOTTLENECKS
    last_features: Optional[int] = None
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, keep_prob=0.8, mask: Optional[jax.Array] = None) -> jax.Array:
        if self.width_multiplier <= 0:
            raise ValueError(f"width_multiplier must be positive; got {self.width_multiplier}")
        keywords = dict(train=train, mask=mask)
        width = self.width_multiplier
        x = ConvBatchNorm(round_to_multiple_of_eight(32 * width), 3, 2, activation=nn.relu6, name="stem",
                          **_normalization(self))(x, **keywords)
        index = 0
        for expansion, channels, repeats, first_stride in self.bottlenecks:
            for repeat in range(repeats):
                index += 1
                x = InvertedResidual(round_to_multiple_of_eight(channels * width), expansion,
                                     first_stride if repeat == 0 else 1, name=f"block{index}",
                                     **_normalization(self))(x, **keywords)
        last = self.last_features or round_to_multiple_of_eight(1280 * max(1.0, width))
        x = ConvBatchNorm(last, 1, activation=nn.relu6, name="last_conv", **_normalization(self))(x, **keywords)
        x = GlobalAveragePool(name="pool")(x)
        x = Dropout(name="dropout")(x, keep_prob, train=train)
        return nn.Dense(self.num_classes, name="output")(x)
