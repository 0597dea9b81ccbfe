"""A small convnet that maps an image to one vector: the course's classification-with-localization
network ("softmax output plus bounding box"), or any per-image regression."""

from __future__ import annotations

from typing import Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import MaxPool
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.loop_friendly_convolution import Conv


class LocalizationNet(nn.Module):
    """``x: [batch, n_H, n_W, n_C] → [batch, outputs]``.

    One stage per entry of ``widths``: a 3×3 convolution (``'SAME'`` padding, stride 1) to ``widths[s]``
    channels, ReLU, then 2×2 max pooling of stride 2; then the feature map is flattened, a dense layer of
    ``hidden`` units with ReLU, and a dense layer of ``outputs`` units without activation (the vector
    ``ŷ``: for localization ``[p_c, b_x, b_y, b_h, b_w, c_1 … c_n, l_1x, l_1y, …]``, read by the loss;
    :mod:`dlcourse.detection.localization`). He initialization. The input side must be a multiple of
    ``2^len(widths)``.

    Attributes:
      outputs: length of the output vector.
      widths: channels of each convolution stage.
      hidden: units of the hidden dense layer (0: none).

    ``__call__(x, *, train=False, mask=None)``: the keywords are accepted and ignored (no dropout, no
    batch norm), so a training loop can call every model alike.
    """

    outputs: int
    widths: Sequence[int] = (16, 32, 32)
    hidden: int = 64

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        del train, mask
        if x.ndim != 4:
            raise ValueError(f"LocalizationNet needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        reduction = 2 ** len(self.widths)
        if x.shape[1] % reduction or x.shape[2] % reduction:
            raise ValueError(f"LocalizationNet with {len(self.widths)} pooling stages needs a side that is a "
                             f"multiple of {reduction}; got shape {x.shape}")
        init = get_initializer("he")
        for stage, width in enumerate(self.widths, start=1):
            x = nn.relu(Conv(width, (3, 3), padding="SAME", kernel_init=init, name=f"conv{stage}")(x))
            x = MaxPool(2, 2, name=f"pool{stage}")(x)
        x = x.reshape((x.shape[0], -1))
        if self.hidden:
            x = nn.relu(nn.Dense(self.hidden, kernel_init=init, name="hidden")(x))
        return nn.Dense(self.outputs, name="output")(x)
