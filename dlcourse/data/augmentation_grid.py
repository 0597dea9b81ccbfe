"""A PNG of one image and random augmentations of it, to see what a transform does before training with it."""

from __future__ import annotations

import os
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.data.augment import Transform, compose_transforms


def save_augmentation_grid(
    path: str | os.PathLike,
    image,
    transforms: Transform | Sequence[Transform],
    key: jax.Array,
    rows: int = 3,
    cols: int = 4,
    *,
    title: str | None = None,
    cell_inches: float = 1.8,
) -> np.ndarray:
    """Saves a ``rows × cols`` grid as a PNG at ``path``: the original ``image`` (``[H, W, C]`` in [0, 1],
    ``C`` = 1 or 3) top left, then ``rows · cols − 1`` augmentations of it, row by row.

    The augmentations are one call of the transform (a sequence is composed with
    `dlcourse.data.compose_transforms`) on the image repeated ``rows · cols − 1`` times, so each
    cell shows an independent draw. The file is written atomically
    (`dlcourse.train.reporting.save_figure`).

    Returns:
      the augmented images ``[rows · cols − 1, H, W, C]``.

    Raises:
      ValueError: an image that is not ``[H, W, 1]`` or ``[H, W, 3]``, or fewer than two cells.
    """
    from dlcourse.train.reporting import figure, save_figure

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(f"image must be [H, W, C] with C = 1 or 3, got shape {image.shape}")
    for name, value in (("rows", rows), ("cols", cols)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if rows * cols < 2:
        raise ValueError(f"rows * cols must be at least 2 (the original and one augmentation), got {rows} * {cols}")
    transform = transforms if callable(transforms) else compose_transforms(*transforms)
    batch = jnp.broadcast_to(jnp.asarray(image), (rows * cols - 1,) + image.shape)
    augmented = np.asarray(jax.jit(transform)(key, batch))

    fig = figure(cols * cell_inches, rows * cell_inches + (0.4 if title else 0.0))
    grey = image.shape[-1] == 1
    for index, picture in enumerate([image] + list(augmented)):
        axes = fig.add_subplot(rows, cols, index + 1)
        picture = np.clip(picture, 0.0, 1.0)
        axes.imshow(picture[..., 0] if grey else picture, cmap="gray" if grey else None, vmin=0.0, vmax=1.0,
                    interpolation="nearest")
        axes.set_axis_off()
        if index == 0:
            axes.set_title("original", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9 if title else 0.94, wspace=0.05, hspace=0.15)
    save_figure(fig, path)
    return augmented
