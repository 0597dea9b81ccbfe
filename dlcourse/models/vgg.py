"""VGG-16 (Simonyan & Zisserman, 2015): thirteen 3×3 "same" convolutions in five stages, each
stage ending in a 2×2, s=2 max pool, then three fully connected layers."""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import AdaptiveAveragePool, MaxPool
from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM, BatchNorm
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.inverted_dropout import Dropout
from dlcourse.nn.loop_friendly_convolution import Conv

# Filters of each stage's convolutions (configuration D of the paper).
VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))


class VGG16(nn.Module):
    """``[CONV 3×3 s=1 same → ReLU]×n → MAX-POOL 2×2 s=2`` per stage, then ``FC 4096 → FC 4096 → softmax``.

    On 224×224×3: 224×224×64 → 112×112×128 → 56×56×256 → 28×28×512 → 14×14×512 → pool →
    7×7×512 = 25,088 → 4096 → 4096 → ``num_classes``: 138,357,544 parameters for 1,000 classes
    (biases included; torchvision's ``vgg16``). Layers are named as in the paper's stages
    (``conv3_2`` is stage 3's second convolution).

    As torchvision does, an adaptive average pool to 7×7 sits before FC6 (the identity at 224×224,
    so any input of at least 32×32 works: a 1×1 map is copied to 7×7) and inverted dropout follows
    the ReLUs of FC6 and FC7. ``batch_norm=True`` puts batch norm between each convolution and its
    ReLU, keeping the convolutions' biases as torchvision's ``vgg16_bn`` does (138,365,992
    parameters).

    Attributes:
      num_classes: outputs of the last layer.
      batch_norm: whether the convolutions are batch-normalized.
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, keep_prob=0.5, mask=None)``: dropout needs ``rngs={'dropout': key}``
    and batch norm ``mutable=['batch_stats']`` when ``train``; ``mask`` (``[batch]``) keeps padded
    examples out of the batch statistics.
    """

    num_classes: int = 1000
    batch_norm: bool = False
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, keep_prob=0.5, mask: Optional[jax.Array] = None) -> jax.Array:
        init = get_initializer("he")
        for stage, filters in enumerate(VGG16_STAGES, start=1):
            for index, features in enumerate(filters, start=1):
                x = Conv(features, (3, 3), padding=((1, 1), (1, 1)), kernel_init=init,
                            name=f"conv{stage}_{index}")(x)
                if self.batch_norm:
                    batch_norm = BatchNorm(momentum=self.batch_norm_momentum, epsilon=self.batch_norm_epsilon,
                                           axis_name=self.axis_name, name=f"batch_norm{stage}_{index}")
                    x = batch_norm(x, train=train, mask=mask)
                x = nn.relu(x)
            x = MaxPool(2, 2, name=f"pool{stage}")(x)
        x = AdaptiveAveragePool((7, 7), name="adaptive_pool")(x)
        x = x.reshape((x.shape[0], -1))
        for index in (6, 7):
            x = nn.relu(nn.Dense(4096, kernel_init=init, name=f"fc{index}")(x))
            x = Dropout(name=f"dropout{index}")(x, keep_prob, train=train)
        return nn.Dense(self.num_classes, name="output")(x)
