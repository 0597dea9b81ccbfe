"""Residual networks (He et al., 2016): residual blocks ``a[l+2] = g(z[l+2] + a[l])`` stacked in
stages, in torchvision's layout (batch norm after every convolution, the stride of a bottleneck
block on its 3×3 convolution, projection shortcuts only where the shape changes)."""

from __future__ import annotations

from typing import ClassVar, Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import ConvBatchNorm, GlobalAveragePool, MaxPool
from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM

STEMS = ("imagenet", "small")


class _ResidualBlock(nn.Module):
    """Attributes shared by the blocks; ``expansion``: output channels per unit of ``features``."""

    features: int
    strides: int = 1
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON
    expansion: ClassVar[int] = 1

    def _conv(self, features: int, kernel_size: int, strides: int = 1, activation=nn.relu, *, name: str):
        return ConvBatchNorm(features, kernel_size, strides, activation=activation, axis_name=self.axis_name,
                             batch_norm_momentum=self.batch_norm_momentum,
                             batch_norm_epsilon=self.batch_norm_epsilon, name=name)

    def _shortcut(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array]) -> jax.Array:
        """``a[l]`` itself when the shapes match (identity), else ``BN(W_s ∗ a[l])`` with a 1×1, stride-s conv."""
        out_features = self.features * self.expansion
        if self.strides == 1 and x.shape[-1] == out_features:
            return x
        return self._conv(out_features, 1, self.strides, None, name="projection")(x, train=train, mask=mask)


class BasicBlock(_ResidualBlock):
    """``a[l+2] = ReLU(BN(W₂ ∗ ReLU(BN(W₁ ∗ a[l]))) + shortcut(a[l]))`` with two 3×3 convolutions.

    ``W₁`` has stride ``s``; both have ``features`` filters (output ``n_C′ = features``). The
    shortcut is the identity when ``s = 1`` and ``n_C = n_C′``, else a 1×1, stride-``s``
    projection with batch norm (option B of the paper).

    ``__call__(x, *, train, mask=None)``: ``[batch, n_H, n_W, n_C] → [batch, n_H/s, n_W/s, features]``.
    """

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        y = self._conv(self.features, 3, self.strides, name="conv_bn1")(x, train=train, mask=mask)
        y = self._conv(self.features, 3, 1, None, name="conv_bn2")(y, train=train, mask=mask)
        return nn.relu(y + self._shortcut(x, train=train, mask=mask))


class BottleneckBlock(_ResidualBlock):
    """``1×1 (features) → 3×3, stride s (features) → 1×1 (4·features)``, each with batch norm, plus the shortcut.

    ``a[l+3] = ReLU(BN(W₃ ∗ a₂) + shortcut(a[l]))``, ``a₂ = ReLU(BN(W₂ ∗ ReLU(BN(W₁ ∗ a[l]))))``. The
    1×1 convolutions shrink and restore the channels around the 3×3 one (the course's "bottleneck
    layer"); the stride sits on the 3×3 convolution (torchvision's "ResNet v1.5"; the paper put it
    on the first 1×1). Shortcut as in :class:`BasicBlock`.

    ``__call__(x, *, train, mask=None)``: ``[batch, n_H, n_W, n_C] → [batch, n_H/s, n_W/s, 4·features]``.
    """

    expansion: ClassVar[int] = 4

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        y = self._conv(self.features, 1, 1, name="conv_bn1")(x, train=train, mask=mask)
        y = self._conv(self.features, 3, self.strides, name="conv_bn2")(y, train=train, mask=mask)
        y = self._conv(self.features * self.expansion, 1, 1, None, name="conv_bn3")(y, train=train, mask=mask)
        return nn.relu(y + self._shortcut(x, train=train, mask=mask))


BLOCKS = {"basic": BasicBlock, "bottleneck": BottleneckBlock}


class ResNet(nn.Module):
    """``stem → stage 1 → … → stage S → global average pool → dense``.

    Stem ``'imagenet'``: 7×7, s=2 conv (``stem_width`` filters) + BN + ReLU, then 3×3, s=2 max pool
    (224 → 56). Stem ``'small'``: 3×3, s=1 conv + BN + ReLU and no pool, for 8×8 or 32×32 images
    (as the paper's CIFAR-10 networks). Stage ``i`` has ``stage_sizes[i]`` blocks of width
    ``stage_widths[i]``; the first block of every stage after the first has stride 2 (and a
    projection shortcut). Global average pooling makes any input size work.

    Parameter counts at 224×224×3 and 1,000 classes (torchvision's): ResNet-18 11,689,512,
    -34 21,797,672, -50 25,557,032, -101 44,549,160, -152 60,192,808 (``'params'`` only; the batch
    norms' running averages are ``'batch_stats'``). A CPU-sized network, e.g.
    ``ResNet((1, 1), num_classes=10, stage_widths=(8, 16), stem='small')``.

    Attributes:
      stage_sizes: blocks per stage (ResNet-50: ``(3, 4, 6, 3)``).
      block: ``'basic'`` (:class:`BasicBlock`) or ``'bottleneck'`` (:class:`BottleneckBlock`).
      num_classes: outputs of the last layer.
      stage_widths: each stage's ``features`` (a bottleneck stage outputs 4× as many channels).
      stem: ``'imagenet'`` or ``'small'``.
      stem_width: filters of the stem convolution; ``None`` means ``stage_widths[0]``.
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, mask=None)``: ``[batch, n_H, n_W, n_C] → [batch, num_classes]`` logits;
    ``train`` needs ``mutable=['batch_stats']``; ``mask`` (``[batch]``) keeps padded examples out of
    the batch statistics.
    """

    stage_sizes: Sequence[int]
    block: str = "basic"
    num_classes: int = 1000
    stage_widths: Sequence[int] = (64, 128, 256, 512)
    stem: str = "imagenet"
    stem_width: Optional[int] = None
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    def _check(self) -> None:
        if self.block not in BLOCKS:
            raise ValueError(f"unknown block {self.block!r}; expected one of {tuple(BLOCKS)}")
        if self.stem not in STEMS:
            raise ValueError(f"unknown stem {self.stem!r}; expected one of {STEMS}")
        if len(self.stage_sizes) != len(self.stage_widths) or not self.stage_sizes:
            raise ValueError(f"stage_sizes and stage_widths need one entry per stage; got "
                             f"stage_sizes={tuple(self.stage_sizes)}, stage_widths={tuple(self.stage_widths)}")
        if any(int(n) < 1 for n in (*self.stage_sizes, *self.stage_widths, self.stem_width or 1)):
            raise ValueError(f"stage sizes and widths must be positive; got stage_sizes={tuple(self.stage_sizes)}, "
                             f"stage_widths={tuple(self.stage_widths)}, stem_width={self.stem_width}")

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        self._check()
        if x.ndim != 4:
            raise ValueError(f"ResNet needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        normalization = dict(axis_name=self.axis_name, batch_norm_momentum=self.batch_norm_momentum,
                             batch_norm_epsilon=self.batch_norm_epsilon)
        stem_width = self.stem_width or self.stage_widths[0]
        if self.stem == "imagenet":
            x = ConvBatchNorm(stem_width, 7, 2, name="stem", **normalization)(x, train=train, mask=mask)
            x = MaxPool(3, 2, 1, name="stem_pool")(x)
        else:
            x = ConvBatchNorm(stem_width, 3, 1, name="stem", **normalization)(x, train=train, mask=mask)
        block = BLOCKS[self.block]
        for stage, (size, width) in enumerate(zip(self.stage_sizes, self.stage_widths), start=1):
            for index in range(1, size + 1):
                strides = 2 if stage > 1 and index == 1 else 1
                x = block(width, strides, name=f"stage{stage}_block{index}", **normalization)(x, train=train, mask=mask)
        x = GlobalAveragePool(name="pool")(x)
        return nn.Dense(self.num_classes, name="output")(x)


def resnet18(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-18: basic blocks ``(2, 2, 2, 2)``; ``options`` are :class:`ResNet`'s other attributes."""
    return ResNet((2, 2, 2, 2), "basic", num_classes, **options)


def resnet34(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-34: basic blocks ``(3, 4, 6, 3)``."""
    return ResNet((3, 4, 6, 3), "basic", num_classes, **options)


def resnet50(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-50: bottleneck blocks ``(3, 4, 6, 3)``."""
    return ResNet((3, 4, 6, 3), "bottleneck", num_classes, **options)


def resnet101(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-101: bottleneck blocks ``(3, 4, 23, 3)``."""
    return ResNet((3, 4, 23, 3), "bottleneck", num_classes, **options)


def resnet152(num_classes: int = 1000, **options) -> ResNet:
    """ResNet-152: bottleneck blocks ``(3, 8, 36, 3)``."""
    return ResNet((3, 8, 36, 3), "bottleneck", num_classes, **options)
