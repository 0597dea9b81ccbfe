"""The layers the convolutional models are built from, each a Linen module so that
:func:`dlcourse.models.summary` sees it as one row.

Layout NHWC: ``x: [batch, n_H, n_W, n_C]``. Output sizes follow the course's
``n_out = ⌊(n_in + 2p − f) / s⌋ + 1``. ``ConvBatchNorm`` pads symmetrically with
``p = ⌊(f − 1) / 2⌋`` on each side ("same" for stride 1, PyTorch's padding for stride 2);
``MaxPool``/``AveragePool`` pad with ``p`` as given (``-inf`` for max, zeros counted for average)
or with TensorFlow's ``'SAME'`` rule (``n_out = ⌈n_in / s⌉``).
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.nn.batch_norm import DEFAULT_EPSILON, DEFAULT_MOMENTUM, BatchNorm
from dlcourse.nn.initializers import get_initializer
from dlcourse.nn.loop_friendly_convolution import Conv

Activation = Callable[[jax.Array], jax.Array]


def same_padding(kernel_size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((p, p), (p, p))`` with ``p = ⌊(f − 1) / 2⌋``: "same" output size for stride 1 and odd ``f``."""
    p = (kernel_size - 1) // 2
    return ((p, p), (p, p))


class ConvBatchNorm(nn.Module):
    """``A = g(BN(W ∗ X))``: convolution without bias (batch norm's β replaces it), batch norm, activation.

    ``W: (f, f, n_C / groups, n_C′)``, stride ``s``, padding ``⌊(f − 1)/2⌋`` on each side;
    ``feature_group_count = n_C`` makes it a depthwise convolution (one ``f × f`` filter per
    channel). Parameters: ``f·f·(n_C/groups)·n_C′`` weights and ``2·n_C′`` for γ, β.

    Attributes:
      features: ``n_C′``, the number of filters.
      kernel_size: ``f``.
      strides: ``s``.
      feature_group_count: groups of input channels convolved separately (``n_C`` = depthwise).
      activation: ``g`` (a function), or ``None`` for a linear output (a projection, a shortcut).
      axis_name, batch_norm_momentum, batch_norm_epsilon: see :class:`dlcourse.nn.BatchNorm`.

    ``__call__(x, *, train, mask=None)``: ``mask`` (``[batch]``) keeps padded examples out of the
    batch statistics.
    """

    features: int
    kernel_size: int
    strides: int = 1
    feature_group_count: int = 1
    activation: Optional[Activation] = nn.relu
    axis_name: Optional[str] = None
    batch_norm_momentum: float = DEFAULT_MOMENTUM
    batch_norm_epsilon: float = DEFAULT_EPSILON

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        z = Conv(
            self.features,
            (self.kernel_size, self.kernel_size),
            strides=(self.strides, self.strides),
            padding=same_padding(self.kernel_size),
            feature_group_count=self.feature_group_count,
            use_bias=False,
            kernel_init=get_initializer("he"),
            name="conv",
        )(x)
        z = BatchNorm(
            momentum=self.batch_norm_momentum,
            epsilon=self.batch_norm_epsilon,
            axis_name=self.axis_name,
            name="batch_norm",
        )(z, train=train, mask=mask)
        return z if self.activation is None else self.activation(z)


Padding = Union[int, str]


def _pool_padding(padding: Padding):
    if isinstance(padding, str):
        if padding != "SAME":
            raise ValueError(f"pool padding must be an int or 'SAME'; got {padding!r}")
        return padding
    return ((padding, padding), (padding, padding))


def _check_pool_input(kind: str, x: jax.Array, window: int, strides: int, padding: Padding) -> None:
    if x.ndim != 4:
        raise ValueError(f"{kind} needs x of shape [batch, n_H, n_W, n_C]; got shape {x.shape}")
    if _pool_padding(padding) == "SAME":
        return
    for n in x.shape[1:3]:
        if (n + 2 * padding - window) // strides + 1 < 1:
            raise ValueError(
                f"{kind} with window {window}, stride {strides}, padding {padding} needs n_H, n_W ≥ "
                f"{window - 2 * padding}; got input of shape {x.shape} (the input image is too small)"
            )


class MaxPool(nn.Module):
    """Max pooling: each output is the maximum of an ``f × f`` window, stride ``s``, per channel.

    No parameters. ``padding``: ``p`` on each side (padded with ``-inf``) or ``'SAME'``.
    ``__call__(x)``: ``[batch, n_H, n_W, n_C] → [batch, ⌊(n_H + 2p − f)/s⌋ + 1, …, n_C]``.
    """

    window: int
    strides: int
    padding: Padding = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        _check_pool_input("max pooling", x, self.window, self.strides, self.padding)
        return nn.max_pool(x, (self.window, self.window), (self.strides, self.strides), _pool_padding(self.padding))


class AveragePool(nn.Module):
    """Average pooling over ``f × f`` windows, stride ``s``; padded zeros count in the average.

    No parameters; shapes as :class:`MaxPool`.
    """

    window: int
    strides: int
    padding: Padding = 0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        _check_pool_input("average pooling", x, self.window, self.strides, self.padding)
        return nn.avg_pool(x, (self.window, self.window), (self.strides, self.strides), _pool_padding(self.padding))


def adaptive_bins(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` averaging matrix of adaptive pooling along one axis.

    Output ``i`` averages inputs ``⌊i·n_in/n_out⌋ ≤ j < ⌈(i+1)·n_in/n_out⌉`` (PyTorch's
    ``AdaptiveAvgPool2d`` bins): equal windows when ``n_out`` divides ``n_in``, overlapping ones
    otherwise, and copies of the input when ``n_out > n_in``.
    """
    if n_in < 1 or n_out < 1:
        raise ValueError(f"adaptive pooling needs positive sizes; got n_in={n_in}, n_out={n_out}")
    matrix = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        start, stop = (i * n_in) // n_out, math.ceil((i + 1) * n_in / n_out)
        matrix[i, start:stop] = 1.0 / (stop - start)
    return matrix


def adaptive_average_pool(x: jax.Array, output_size: Sequence[int]) -> jax.Array:
    """``[batch, n_H, n_W, n_C] → [batch, h, w, n_C]`` for any input size (see :func:`adaptive_bins`).

    ``y[b, i, k, c] = Σ_{j, l} P_H[i, j] x[b, j, l, c] P_W[k, l]``, a product with the two averaging
    matrices, so a network ending in it takes images of any size ≥ 1 × 1 at its last feature map.
    """
    if x.ndim != 4:
        raise ValueError(f"adaptive pooling needs x of shape [batch, n_H, n_W, n_C]; got shape {x.shape}")
    height, width = (int(n) for n in output_size)
    rows = jnp.asarray(adaptive_bins(x.shape[1], height), x.dtype)
    columns = jnp.asarray(adaptive_bins(x.shape[2], width), x.dtype)
    return jnp.einsum("ij,bjlc,kl->bikc", rows, x, columns)


class AdaptiveAveragePool(nn.Module):
    """:func:`adaptive_average_pool` to a fixed ``output_size = (h, w)``; no parameters."""

    output_size: tuple[int, int]

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return adaptive_average_pool(x, self.output_size)


class GlobalAveragePool(nn.Module):
    """``[batch, n_H, n_W, n_C] → [batch, n_C]``: the mean of each channel over all positions."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4:
            raise ValueError(f"global average pooling needs x of shape [batch, n_H, n_W, n_C]; got {x.shape}")
        return jnp.mean(x, axis=(1, 2))
