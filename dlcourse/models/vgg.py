"""VGG (Simonyan & Zisserman, 2015): stages of 3×3 "same" convolutions, each stage ending in a
2×2, s=2 max pool, then three fully connected layers. VGG-16 (configuration D, thirteen
convolutions) and VGG-19 (configuration E, sixteen), and the activations of any layer by name."""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import AdaptiveAveragePool, MaxPool
from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM, BatchNorm
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.inverted_dropout import Dropout
from dlcourse.nn.loop_friendly_convolution import Conv

# Filters of each stage's convolutions (configurations D and E of the paper).
VGG16_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
VGG19_STAGES = ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)


def vgg_layer_names(stages: Sequence[Sequence[int]]) -> tuple[str, ...]:
    """The convolution and pooling layers in order: ``conv1_1, conv1_2, pool1, conv2_1, …``."""
    names = []
    for stage, filters in enumerate(stages, start=1):
        names += [f"conv{stage}_{index}" for index in range(1, len(filters) + 1)] + [f"pool{stage}"]
    return tuple(names)


class VGG(nn.Module):
    """``[CONV 3×3 s=1 same → ReLU]×n → MAX-POOL 2×2 s=2`` per stage, then ``FC 4096 → FC 4096 → softmax``.

    Layers are named as in the paper's stages (``conv3_2`` is stage 3's second convolution,
    ``pool3`` the pool that ends stage 3; Keras calls them ``block3_conv2``, ``block3_pool``). As
    torchvision does, an adaptive average pool to 7×7 sits before FC6 (the identity at 224×224, so
    any input of at least 32×32 works: a 1×1 map is copied to 7×7) and inverted dropout follows the
    ReLUs of FC6 and FC7. ``batch_norm=True`` puts batch norm between each convolution and its ReLU,
    keeping the convolutions' biases as torchvision's ``vgg*_bn`` do.

    Attributes:
      stages: filters of each convolution, stage by stage (:data:`VGG16_STAGES`, :data:`VGG19_STAGES`,
        or narrower ones, e.g. for features trained here).
      num_classes: outputs of the last layer.
      include_top: ``False`` leaves out the adaptive pool and the three dense layers (Keras's
        ``include_top=False``): the output is the last pool's ``[batch, n_H/2^S, n_W/2^S, n_C]``.
      batch_norm: whether the convolutions are batch-normalized.
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, keep_prob=0.5, mask=None, layers=None)``: dropout needs
    ``rngs={'dropout': key}`` and batch norm ``mutable=['batch_stats']`` when ``train``; ``mask``
    (``[batch]``) keeps padded examples out of the batch statistics. With ``layers`` (names of
    :func:`vgg_layer_names`) it returns ``{name: activation}`` instead of logits — ``a^[l]`` after
    the ReLU for a ``conv`` name, the pooled map for a ``pool`` name — and computes nothing past
    the deepest one asked for.
    """

    stages: tuple = VGG16_STAGES
    num_classes: int = 1000
    include_top: bool = True
    batch_norm: bool = False
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, keep_prob=0.5, mask: Optional[jax.Array] = None,
                 layers: Optional[Sequence[str]] = None):
        names = vgg_layer_names(self.stages)
        if layers is not None:
            layers = tuple(layers)
            unknown = [name for name in layers if name not in names]
            if unknown or not layers:
                raise ValueError(f"unknown VGG layer(s) {unknown or layers}; expected names among {names}")
            last = max(names.index(name) for name in layers)
        activations = {}
        init = get_initializer("he")
        for stage, filters in enumerate(self.stages, start=1):
            for index, features in enumerate(filters, start=1):
                x = Conv(features, (3, 3), padding=((1, 1), (1, 1)), kernel_init=init,
                         name=f"conv{stage}_{index}")(x)
                if self.batch_norm:
                    batch_norm = BatchNorm(momentum=self.batch_norm_momentum, epsilon=self.batch_norm_epsilon,
                                           axis_name=self.axis_name, name=f"batch_norm{stage}_{index}")
                    x = batch_norm(x, train=train, mask=mask)
                x = nn.relu(x)
                activations[f"conv{stage}_{index}"] = x
                if layers is not None and len(activations) > last:
                    return {name: activations[name] for name in layers}
            x = MaxPool(2, 2, name=f"pool{stage}")(x)
            activations[f"pool{stage}"] = x
            if layers is not None and len(activations) > last:
                return {name: activations[name] for name in layers}
        if not self.include_top:
            return x
        x = AdaptiveAveragePool((7, 7), name="adaptive_pool")(x)
        x = x.reshape((x.shape[0], -1))
        for index in (6, 7):
            x = nn.relu(nn.Dense(4096, kernel_init=init, name=f"fc{index}")(x))
            x = Dropout(name=f"dropout{index}")(x, keep_prob, train=train)
        return nn.Dense(self.num_classes, name="output")(x)


class VGG16(VGG):
    """VGG-16: :class:`VGG` with the thirteen convolutions of :data:`VGG16_STAGES`.

    On 224×224×3: 224×224×64 → 112×112×128 → 56×56×256 → 28×28×512 → 14×14×512 → pool →
    7×7×512 = 25,088 → 4096 → 4096 → ``num_classes``: 138,357,544 parameters for 1,000 classes
    (biases included; torchvision's ``vgg16``); 138,365,992 with ``batch_norm=True``
    (``vgg16_bn``); 14,714,688 without the top.
    """

    stages: tuple = VGG16_STAGES


class VGG19(VGG):
    """VGG-19: :class:`VGG` with the sixteen convolutions of :data:`VGG19_STAGES` (two, two, four,
    four, four per stage): 143,667,240 parameters for 1,000 classes (torchvision's ``vgg19``,
    Keras's ``VGG19``); 20,024,384 without the top. The network of neural style transfer
    (Gatys et al., 2015), whose costs read ``conv1_1 … conv5_1`` and ``conv4_2``.
    """

    stages: tuple = VGG19_STAGES
