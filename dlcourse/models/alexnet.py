"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012) on one device: the course's version and
torchvision's."""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import AdaptiveAveragePool, MaxPool
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.inverted_dropout import Dropout
from dlcourse.nn.loop_friendly_convolution import Conv

# (filters, f, s, p) of conv1 … conv5; a 3×3, s=2 max pool follows conv1, conv2 and conv5.
ALEXNET_CONVOLUTIONS = {
    "course": ((96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1), (384, 3, 1, 1), (256, 3, 1, 1)),
    "torchvision": ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)),
}


class AlexNet(nn.Module):
    """Five convolutions, three max pools, three fully connected layers; ReLU after each hidden layer.

    ``variant='course'`` (the default) is the course's drawing of the paper, on 227×227×3::

        227×227×3 → conv 11×11 s=4, 96 → 55×55×96 → max 3×3 s=2 → 27×27×96
        → conv 5×5 same, 256 → 27×27×256 → max 3×3 s=2 → 13×13×256
        → conv 3×3 same, 384 → conv 3×3 same, 384 → conv 3×3 same, 256 → 13×13×256
        → max 3×3 s=2 → 6×6×256 = 9216 → FC 4096 → FC 4096 → softmax 1000

    with 62,378,344 parameters (biases included). The paper split conv2, conv4, conv5 and the
    connections between towers over two GPUs (grouped convolutions, about 61 million parameters) and
    used local response normalization; like the course's drawing, this single-tower network has
    neither (the course notes LRN "does not affect that much").

    ``variant='torchvision'`` is torchvision's ``alexnet`` (after Krizhevsky's 2014 "one weird
    trick" network): conv1 64 filters with ``p = 2``, conv2 192, conv4 256, 224×224×3 inputs, and
    61,100,840 parameters for 1,000 classes.

    Both put an adaptive average pool to 6×6 before the classifier (the identity at 227 resp. 224,
    so any input of at least 67×67 resp. 63×63 works) and inverted dropout before FC6 and FC7.

    Attributes:
      num_classes: outputs of the last layer.
      variant: ``'course'`` or ``'torchvision'``.

    ``__call__(x, *, train, keep_prob=0.5, mask=None)``: ``keep_prob`` may be traced; dropout
    needs ``rngs={'dropout': key}`` when ``train``. ``mask`` is accepted and ignored (no batch norm).
    """

    num_classes: int = 1000
    variant: str = "course"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, keep_prob=0.5, mask: Optional[jax.Array] = None) -> jax.Array:
        del mask
        if self.variant not in ALEXNET_CONVOLUTIONS:
            raise ValueError(f"unknown AlexNet variant {self.variant!r}; expected one of {tuple(ALEXNET_CONVOLUTIONS)}")
        init = get_initializer("he")
        for index, (features, f, s, p) in enumerate(ALEXNET_CONVOLUTIONS[self.variant], start=1):
            x = Conv(features, (f, f), strides=(s, s), padding=((p, p), (p, p)), kernel_init=init,
                        name=f"conv{index}")(x)
            x = nn.relu(x)
            if index in (1, 2, 5):
                x = MaxPool(3, 2, name=f"pool{index}")(x)
        x = AdaptiveAveragePool((6, 6), name="adaptive_pool")(x)
        x = x.reshape((x.shape[0], -1))
        for index in (6, 7):
            x = Dropout(name=f"dropout{index}")(x, keep_prob, train=train)
            x = nn.relu(nn.Dense(4096, kernel_init=init, name=f"fc{index}")(x))
        return nn.Dense(self.num_classes, name="output")(x)
