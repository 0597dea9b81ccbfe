"""LeNet-5 as the course draws it ("Neural network example"): two conv–pool stages and three
fully connected layers."""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import AveragePool, MaxPool
from dlcourse.nn.activations import get_activation
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.loop_friendly_convolution import Conv

POOLINGS = ("max", "average")


class LeNet5(nn.Module):
    """``CONV1 → POOL1 → CONV2 → POOL2 → FC3 → FC4 → softmax`` on ``x: [batch, 32, 32, n_C]``.

    ======  ====================  ==============  ==================================
    layer   operation             output (32×32)  parameters (weights + biases)
    ======  ====================  ==============  ==================================
    conv1   5×5 conv, s=1, 6      28×28×6         5·5·n_C·6 + 6      (456 for n_C=3)
    pool1   2×2 pool, s=2         14×14×6         0
    conv2   5×5 conv, s=1, 16     10×10×16        5·5·6·16 + 16      = 2,416
    pool2   2×2 pool, s=2         5×5×16          0
    fc3     dense 120             120             400·120 + 120      = 48,120
    fc4     dense 84              84              120·84 + 84        = 10,164
    output  dense num_classes     10              84·10 + 10         = 850
    ======  ====================  ==============  ==================================

    The course's table counts every bias (FC3's 48,120 is ``400·120 + 120``) and its input is
    32×32×3. Convolutions are "valid" (no padding), and each is followed by the activation. The
    course's example uses max pooling and ReLU (the defaults); LeCun et al. (1998) used average
    pooling (``pooling='average'``, without their trainable coefficient) and sigmoid/tanh
    (``activation='tanh'``). The output layer returns logits; the softmax is applied by the loss.
    FC3's width is ``5·5·16 = 400`` only for 32×32 inputs: another input size changes FC3's
    weights (a 28×28 MNIST digit is padded to 32×32 in the paper).

    Attributes:
      num_classes: outputs of the last layer (10 in the course).
      pooling: ``'max'`` or ``'average'``.
      activation: name from :data:`dlcourse.nn.ACTIVATION_NAMES`.

    ``__call__(x, *, train=False, mask=None)``: the keywords are accepted and ignored (no dropout,
    no batch norm), so a training loop can call every model alike.
    """

    num_classes: int = 10
    pooling: str = "max"
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        del train, mask
        if self.pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {self.pooling!r}; expected one of {POOLINGS}")
        if x.ndim != 4:
            raise ValueError(f"LeNet5 needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        g = get_activation(self.activation)
        pool = MaxPool if self.pooling == "max" else AveragePool
        init = get_initializer("he")
        x = g(Conv(6, (5, 5), padding="VALID", kernel_init=init, name="conv1")(x))
        x = pool(2, 2, name="pool1")(x)
        x = g(Conv(16, (5, 5), padding="VALID", kernel_init=init, name="conv2")(x))
        x = pool(2, 2, name="pool2")(x)
        x = x.reshape((x.shape[0], -1))
        x = g(nn.Dense(120, kernel_init=init, name="fc3")(x))
        x = g(nn.Dense(84, kernel_init=init, name="fc4")(x))
        return nn.Dense(self.num_classes, name="output")(x)
