"""Sliding windows as one convolution (notes, "Turning FC layer into convolutional layers",
"Convolution implementation of sliding windows").

A fully connected layer of ``n`` units on an ``f × f × n_C`` volume is the same computation as
``n`` filters of size ``f × f × n_C`` with no padding (output ``1 × 1 × n``): the dense weight
matrix ``W: (f·f·n_C, n)``, read on the row-major flattened volume, *is* the filter
``W.reshape(f, f, n_C, n)``; a dense layer after that is a ``1 × 1`` convolution. The notes'
window classifier, written so::

    14×14×3 ─conv 5×5, 16─▶ 10×10×16 ─max pool 2×2─▶ 5×5×16 ─"FC" 5×5, 400─▶ 1×1×400
            ─"FC" 1×1, 400─▶ 1×1×400 ─1×1, 4─▶ 1×1×4        (softmax over the 4 classes)

takes any larger image: 16×16×3 gives 2×2×4, 28×28×3 gives 8×8×4 — the class scores of every
14×14 window at stride 2 (the pooling's stride), computed in one pass that shares the overlapping
windows' work instead of cropping and classifying each window again
(:func:`sliding_window_logits` does that, for comparison; the two agree exactly).
"""

from __future__ import annotations

from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from dlcourse.models.cnn_layers import MaxPool
from dlcourse.nn.loop_friendly_convolution import Conv


def dense_kernel_as_conv(kernel: jax.Array, window_shape: tuple[int, int, int]) -> jax.Array:
    """The ``(f_H, f_W, n_C, n)`` filter bank equal to a dense ``kernel: (f_H·f_W·n_C, n)`` applied to the
    row-major flattening of an ``(f_H, f_W, n_C)`` volume (``x.reshape(m, -1) @ kernel``)."""
    kernel = jnp.asarray(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != window_shape[0] * window_shape[1] * window_shape[2]:
        size = "·".join(map(str, window_shape))
        raise ValueError(f"a dense kernel on a {window_shape} volume has shape ({size}, n); got {kernel.shape}")
    return kernel.reshape(*window_shape, kernel.shape[1])


def conv_kernel_as_dense(kernel: jax.Array) -> jax.Array:
    """The dense ``(f_H·f_W·n_C, n)`` matrix of a valid convolution's ``(f_H, f_W, n_C, n)`` filters on
    one ``f_H × f_W × n_C`` window (the inverse of :func:`dense_kernel_as_conv`)."""
    kernel = jnp.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"a conv kernel has shape (f_H, f_W, n_C, n); got {kernel.shape}")
    return kernel.reshape(-1, kernel.shape[-1])


class WindowClassifier(nn.Module):
    """The notes' window classifier with its fully connected layers as ``f × f`` and ``1 × 1``
    convolutions (module docstring): ``x: [batch, n_H, n_W, n_C]`` → class logits
    ``[batch, (n_H − w)/2 + 1, (n_W − w)/2 + 1, num_classes]`` for ``w = window_size``, one per
    ``w × w`` window at stride 2 (``[batch, 1, 1, num_classes]`` on a single window).

    ``fc_size = (window_size − kernel_size + 1) / 2`` is the pooled map's size (5 for the notes'
    14 and 5), the first "FC" filter's size. Layers ``conv`` → ReLU → ``pool`` → ``fc1`` → ReLU →
    ``fc2`` → ReLU → ``output``.

    Attributes:
      num_classes: 4 in the notes (3 objects and background).
      window_size: ``w``, the window the classifier is trained on (14).
      conv_features, kernel_size: the first convolution (16 filters, 5 × 5).
      hidden_units: width of both "FC" layers (400).
    """

    num_classes: int = 4
    window_size: int = 14
    conv_features: int = 16
    kernel_size: int = 5
    hidden_units: int = 400

    @property
    def fc_size(self) -> int:
        convolved = self.window_size - self.kernel_size + 1
        if convolved < 2 or convolved % 2:
            raise ValueError(f"window_size − kernel_size + 1 must be even and ≥ 2 (the 2×2 pool tiles it); got "
                             f"window_size={self.window_size}, kernel_size={self.kernel_size}")
        return convolved // 2

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, mask: Optional[jax.Array] = None) -> jax.Array:
        del train, mask
        if x.ndim != 4 or min(x.shape[1:3]) < self.window_size:
            raise ValueError(f"WindowClassifier needs images [batch, n_H, n_W, n_C] of at least "
                             f"{self.window_size}×{self.window_size}; got shape {x.shape}")
        fc = self.fc_size
        x = nn.relu(Conv(self.conv_features, (self.kernel_size,) * 2, padding="VALID", name="conv")(x))
        x = MaxPool(2, 2, name="pool")(x)
        x = nn.relu(Conv(self.hidden_units, (fc, fc), padding="VALID", name="fc1")(x))
        x = nn.relu(Conv(self.hidden_units, (1, 1), name="fc2")(x))
        return Conv(self.num_classes, (1, 1), name="output")(x)


def fully_connected_logits(params, windows: jax.Array) -> jax.Array:
    """The :class:`WindowClassifier` read as the notes' first picture — conv, pool, *flatten*, dense
    layers — on single windows ``[m, w, w, n_C]`` → ``[m, num_classes]``: each dense weight matrix is
    the conv filter bank flattened (:func:`conv_kernel_as_dense`). Equal to the conv form's ``1 × 1``
    output."""
    conv = params["conv"]
    spec = ("NHWC", "HWIO", "NHWC")
    x = lax.conv_general_dilated(windows, conv["kernel"], (1, 1), "VALID", dimension_numbers=spec) + conv["bias"]
    x = nn.max_pool(nn.relu(x), (2, 2), (2, 2))
    x = x.reshape(x.shape[0], -1)
    if x.shape[1] != conv_kernel_as_dense(params["fc1"]["kernel"]).shape[0]:
        raise ValueError(f"windows of shape {windows.shape[1:]} do not give the volume fc1 was built for")
    for name in ("fc1", "fc2"):
        x = nn.relu(x @ conv_kernel_as_dense(params[name]["kernel"]) + params[name]["bias"])
    return x @ conv_kernel_as_dense(params["output"]["kernel"]) + params["output"]["bias"]


def sliding_window_logits(classify: Callable[[jax.Array], jax.Array], images: jax.Array, window_size: int = 14,
                          stride: int = 2) -> jax.Array:
    """The explicit sliding window: crop every ``window_size × window_size`` window of ``images``
    ``[m, n_H, n_W, n_C]`` at ``stride`` and classify each crop on its own.

    ``classify``: windows ``[N, w, w, n_C]`` → logits ``[N, C]`` (or ``[N, 1, 1, C]``), called once
    on all ``m·o_H·o_W`` crops. Returns ``[m, o_H, o_W, C]`` with ``o = ⌊(n − w)/s⌋ + 1``; entry
    ``(i, j)`` is the crop whose top-left pixel is ``(i·s, j·s)``.
    """
    images = jnp.asarray(images)
    if images.ndim != 4 or min(images.shape[1:3]) < window_size or stride < 1:
        raise ValueError(f"sliding windows of {window_size}×{window_size}, stride {stride}, need images "
                         f"[m, n_H, n_W, n_C] at least that large and a stride >= 1; got shape {images.shape}")
    rows, cols = (jnp.arange((n - window_size) // stride + 1)[:, None] * stride + jnp.arange(window_size)
                  for n in images.shape[1:3])  # (o, w): the pixel indices of each window
    crops = images[:, rows[:, None, :, None], cols[None, :, None, :]]  # (m, o_H, o_W, w, w, n_C)
    grid = crops.shape[:3]
    logits = classify(crops.reshape((-1,) + crops.shape[3:]))
    return logits.reshape(grid + (logits.shape[-1],))
