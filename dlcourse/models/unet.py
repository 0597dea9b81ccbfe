"""U-Net (Ronneberger et al., 2015; notes, "U-Net"): per-pixel class logits from an image.

A contracting path halves the height and width and doubles the channels at each level; an
expanding path blows the picture back up with transposed convolutions, and each level
concatenates the contracting path's activations of the same size (the skip connection, which
tells the network *where* in the image things were), so the output has the input's ``n_H × n_W``::

    level l = 0 … depth−1:   a_l = conv3×3–conv3×3(x) with w·2^l channels;  x = max_pool_2×2(a_l)
    bottom:                  x = conv3×3–conv3×3(x) with w·2^depth channels
    level l = depth−1 … 0:   x = conv3×3–conv3×3([a_l, up(x)]) with w·2^l channels,
                             up = transposed conv, stride 2, w·2^l filters
    output:                  1×1 conv to n_classes logits per pixel

Convention choices: convolutions are "same" (3×3, padding 1) so no cropping is needed and the
output is exactly the input size (the paper's "valid" convolutions shrink every map and crop the
skip connections; 572×572 in gives 388×388 out); ``n_H`` and ``n_W`` must be multiples of
``2^depth``. The skip connection is concatenated *before* the up-sampled map on the channel axis.
The paper's network is ``depth=4, base_width=64``.
"""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.models.cnn_layers import ConvBatchNorm, MaxPool, same_padding
from dlcourse.nn.batch_norm import DEFAULT_MOMENTUM
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.loop_friendly_convolution import Conv
from dlcourse.nn.transposed_convolution_layer import ConvTranspose


def up_sampling_padding(kernel_size: int) -> tuple[int, int]:
    """``(p, output_padding)`` making a stride-2 transposed convolution with an ``f × f`` filter
    exactly double its input: ``2(n − 1) + f − 2p + output_padding = 2n`` with
    ``p = ⌊(f − 1)/2⌋``, ``output_padding = 2 − f + 2p`` (f = 2: (0, 0); f = 3: (1, 1), the notes')."""
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 2:
        raise ValueError(f"up-sampling kernel_size must be an int >= 2; got {kernel_size!r}")
    padding = (kernel_size - 1) // 2
    return padding, 2 - kernel_size + 2 * padding


class DoubleConv(nn.Module):
    """``conv3×3 → ReLU → conv3×3 → ReLU`` ("same" padding), each conv followed by batch norm when
    ``batch_norm`` (then without bias). Parameters: ``9·n_C·c + c + 9·c·c + c`` without batch norm;
    ``9·n_C·c + 9·c·c + 4c`` with it (γ, β per conv)."""

    features: int
    batch_norm: bool = False
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        for index in range(2):
            if self.batch_norm:
                x = ConvBatchNorm(self.features, 3, axis_name=self.axis_name,
                                  batch_norm_momentum=self.batch_norm_momentum,
                                  name=f"conv{index + 1}")(x, train=train, mask=mask)
            else:
                x = nn.relu(Conv(self.features, (3, 3), padding=same_padding(3), kernel_init=get_initializer("he"),
                                 name=f"conv{index + 1}")(x))
        return x


class UNet(nn.Module):
    """U-Net on ``x: [batch, n_H, n_W, n_C]`` → logits ``[batch, n_H, n_W, num_classes]`` (module docstring).

    Parameters without batch norm, with ``w = base_width``, ``c_l = w·2^l``, ``L = depth`` and
    ``n_C`` input channels: the double convolutions ``9·c_in·c + c + 9·c·c + c`` with ``c_in = n_C,
    c_0, …`` down and ``c_in = 2·c_l`` up; the transposed convolutions ``f²·c_{l+1}·c_l + c_l``; the
    output ``c_0·num_classes + num_classes``.

    Attributes:
      num_classes: logits per pixel.
      depth: number of 2× down-samplings (and up-samplings), ``≥ 1``.
      base_width: channels of the first level, doubled per level.
      up_kernel_size: the transposed convolution's ``f`` (stride 2; padding from
        :func:`up_sampling_padding`): 2 (no overlap, the paper's "up-conv 2×2") or 3 (the notes').
      batch_norm: batch norm after every 3×3 convolution.
      axis_name, batch_norm_momentum: batch norm across devices and its running-average momentum.

    ``__call__(x, *, train=False, mask=None)``: ``train`` and ``mask`` (``[batch]``) act on batch norm.
    """

    num_classes: int
    depth: int = 3
    base_width: int = 16
    up_kernel_size: int = 2
    batch_norm: bool = False
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"UNet depth must be an int >= 1; got {self.depth!r}")
        if not isinstance(self.base_width, int) or self.base_width < 1:
            raise ValueError(f"UNet base_width must be an int >= 1; got {self.base_width!r}")
        if x.ndim != 4:
            raise ValueError(f"UNet needs images [batch, n_H, n_W, n_C]; got shape {x.shape}")
        factor = 2 ** self.depth
        if x.shape[1] % factor or x.shape[2] % factor:
            raise ValueError(f"UNet of depth {self.depth} needs n_H and n_W divisible by 2^depth = {factor}; "
                             f"got images of shape {x.shape}")
        padding, output_padding = up_sampling_padding(self.up_kernel_size)
        norm = dict(batch_norm=self.batch_norm, axis_name=self.axis_name, batch_norm_momentum=self.batch_norm_momentum)
        skips = []
        for level in range(self.depth):
            x = DoubleConv(self.base_width * 2 ** level, name=f"down{level}", **norm)(x, train=train, mask=mask)
            skips.append(x)
            x = MaxPool(2, 2, name=f"pool{level}")(x)
        x = DoubleConv(self.base_width * 2 ** self.depth, name="bottom", **norm)(x, train=train, mask=mask)
        for level in reversed(range(self.depth)):
            width = self.base_width * 2 ** level
            x = ConvTranspose(width, self.up_kernel_size, 2, padding, output_padding,
                              kernel_init=get_initializer("he"), name=f"up_sampling{level}")(x)
            x = jnp.concatenate([skips[level], x], axis=-1)
            x = DoubleConv(width, name=f"up{level}", **norm)(x, train=train, mask=mask)
        return Conv(self.num_classes, (1, 1), name="output")(x)
