"""A small convolutional YOLO: stride-2 stages down to an ``S × S`` grid, then a 1×1 convolution to
``A · (5 + C)`` channels per cell (:mod:`dlcourse.detection.yolo` for the targets, loss and decoding)."""

from __future__ import annotations

import functools
from typing import Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.models.cnn_layers import ConvBatchNorm
from dlcourse.nn.activations import leaky_relu
from dlcourse.nn.batch_norm import DEFAULT_MOMENTUM
from dlcourse.nn.loop_friendly_convolution import Conv

#: YOLO's leaky ReLU slope (Redmon et al. 2016).
LEAKY_SLOPE = 0.1


class YOLO(nn.Module):
    """``x: [batch, H, W, n_C] → [batch, S, S, A, 5 + C]`` raw outputs ``(t_o, t_x, t_y, t_h, t_w, z_1 … z_C)``.

    Stage ``s`` (one per entry of ``widths``): a 3×3 convolution of stride 2 to ``widths[s]`` channels,
    then ``convs_per_stage − 1`` 3×3 convolutions of stride 1, each ``ConvBatchNorm`` (no bias, batch
    norm, leaky ReLU with slope 0.1). So ``S = H / 2^len(widths)`` (64×64 with three stages: an 8×8
    grid, four: 4×4). The head is a 1×1 convolution with bias to ``A · (5 + C)`` channels, reshaped to
    ``(A, 5 + C)`` per cell: the convolutional implementation of one detector per grid cell.

    Attributes:
      num_classes: ``C``.
      num_anchors: ``A``.
      widths: channels of each stride-2 stage.
      convs_per_stage: 3×3 convolutions per stage (the first of stride 2).
      axis_name, batch_norm_momentum: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train=False, mask=None)``: batch norm on the batch (``train``) or its running
    averages; ``mask`` keeps padded examples out of the batch statistics.
    """

    num_classes: int
    num_anchors: int
    widths: Sequence[int] = (16, 32, 64)
    convs_per_stage: int = 2
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"YOLO needs images [batch, H, W, n_C]; got shape {x.shape}")
        if not self.widths or self.convs_per_stage < 1:
            raise ValueError(f"YOLO needs at least one stage and one convolution per stage; got widths="
                             f"{tuple(self.widths)}, convs_per_stage={self.convs_per_stage}")
        reduction = 2 ** len(self.widths)
        if x.shape[1] != x.shape[2] or x.shape[1] % reduction:
            raise ValueError(f"YOLO with {len(self.widths)} stride-2 stages needs square images whose side is a "
                             f"multiple of {reduction}; got shape {x.shape}")
        activation = functools.partial(leaky_relu, negative_slope=LEAKY_SLOPE)
        layer = functools.partial(ConvBatchNorm, kernel_size=3, activation=activation, axis_name=self.axis_name,
                                  batch_norm_momentum=self.batch_norm_momentum)
        for stage, width in enumerate(self.widths, start=1):
            for index in range(self.convs_per_stage):
                x = layer(width, strides=2 if index == 0 else 1, name=f"stage{stage}_conv{index + 1}")(
                    x, train=train, mask=mask)
        channels = 5 + self.num_classes
        x = Conv(self.num_anchors * channels, (1, 1), name="head")(x)
        return x.reshape(x.shape[:3] + (self.num_anchors, channels))
