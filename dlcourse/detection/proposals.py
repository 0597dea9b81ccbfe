"""A region-proposal baseline: sliding windows as proposals, each crop classified, then NMS.

R-CNN's shape at toy scale (see :mod:`dlcourse.detection`): the proposals are a fixed set of
``N`` windows (square or of given shapes) slid over the image with a stride (:func:`sliding_windows`);
every window is cropped and resized to ``crop × crop`` pixels (:func:`crop_windows`) and
classified by a small convnet into background or one of the ``C`` classes; a window's score is its
largest class probability ``max_c P(c)`` (background excluded) and its box is the window itself (no
box regression); then per-class non-max suppression (:func:`windows_to_detections`). The
classifier is trained on crops labelled by their overlap with the ground truth
(:func:`label_windows`, :func:`sample_window_examples`), R-CNN's rule: class ``c`` when the best
IoU with an object of class ``c`` is ``≥ 0.5``, background when every IoU is ``< 0.3``, unused in
between. Each image costs ``N`` classifier passes instead of YOLO's one.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.data.augment import sample_bilinear
from dlcourse.detection.boxes import pairwise_iou
from dlcourse.detection.suppression import IOU_THRESHOLD, SCORE_THRESHOLD, Detections, non_max_suppression

#: R-CNN's labelling thresholds: an object's class at IoU ≥ 0.5, background below 0.3.
POSITIVE_IOU = 0.5
NEGATIVE_IOU = 0.3
#: The label of a window used neither as an object nor as background.
IGNORED = -1


def sliding_windows(shapes: Sequence[tuple[float, float]], stride: float) -> np.ndarray:
    """Every window of every shape ``(h, w)`` (fractions of the image) whose top-left corner lies on
    the grid ``0, stride, 2·stride, …`` and that fits inside the image; float32 corners ``[N, 4]``,
    shape by shape, rows then columns."""
    if not stride > 0:
        raise ValueError(f"stride must be positive, got {stride!r}")
    windows = []
    for shape in shapes:
        if len(shape) != 2 or not all(0 < side <= 1 for side in shape):
            raise ValueError(f"each window shape must be (h, w) with 0 < h, w <= 1; got {shape!r}")
        h, w = float(shape[0]), float(shape[1])
        tops = np.arange(0.0, 1.0 - h + 1e-6, stride)
        lefts = np.arange(0.0, 1.0 - w + 1e-6, stride)
        for top in tops:
            for left in lefts:
                windows.append((left, top, left + w, top + h))
    return np.asarray(windows, np.float32)


def crop_windows(image: jax.Array, windows: jax.Array, size: int) -> jax.Array:
    """Crops of one image ``[H, W, C]`` at corner ``windows [N, 4]`` (fractions), each resized to
    ``size × size`` by bilinear interpolation (pixel centres, as
    :func:`dlcourse.data.crop_and_resize`); ``[N, size, size, C]``. ``jax.vmap`` for a batch."""
    height, width = image.shape[0], image.shape[1]
    windows = jnp.asarray(windows, jnp.float32)
    steps = (jnp.arange(size, dtype=jnp.float32) + 0.5) / size                # [size]
    x1, y1, x2, y2 = (windows[:, i, None] for i in range(4))
    source_y = (y1 + steps * (y2 - y1)) * height - 0.5                          # [N, size]
    source_x = (x1 + steps * (x2 - x1)) * width - 0.5
    count = windows.shape[0]
    rows = jnp.broadcast_to(source_y[:, :, None], (count, size, size)).reshape(1, count * size, size)
    columns = jnp.broadcast_to(source_x[:, None, :], (count, size, size)).reshape(1, count * size, size)
    crops = sample_bilinear(image[None], rows, columns)
    return crops.reshape(count, size, size, image.shape[-1])


def label_windows(windows: jax.Array, true_boxes: jax.Array, true_classes: jax.Array, true_present: jax.Array,
                  *, positive_iou: float = POSITIVE_IOU, negative_iou: float = NEGATIVE_IOU) -> jax.Array:
    """The training label of each window of one image: ``1 + c`` (class ``c`` of the object of
    highest IoU) when that IoU is ``≥ positive_iou``, 0 (background) when every IoU is
    ``< negative_iou``, :data:`IGNORED` in between. int32 ``[N]``."""
    overlaps = jnp.where(jnp.asarray(true_present, bool)[None, :], pairwise_iou(windows, true_boxes), 0.0)
    best = jnp.argmax(overlaps, axis=1)
    best_iou = jnp.max(overlaps, axis=1)
    return jnp.where(best_iou >= positive_iou, 1 + jnp.asarray(true_classes, jnp.int32)[best],
                     jnp.where(best_iou < negative_iou, 0, IGNORED)).astype(jnp.int32)


def sample_window_examples(key: jax.Array, images: jax.Array, true_boxes: jax.Array, true_classes: jax.Array,
                           true_present: jax.Array, windows: jax.Array, *, crop_size: int, positives: int,
                           negatives: int, negative_iou: float = NEGATIVE_IOU) -> tuple[jax.Array, jax.Array]:
    """Training crops for the window classifier: per image, ``positives`` windows drawn (with
    replacement) among those labelled with a class and ``negatives`` among the background ones
    (an image without a positive window gives background crops in their place).

    Args:
      key: PRNG key.
      images: ``[m, H, W, C]``; ``true_boxes [m, K, 4]``, ``true_classes [m, K]``, ``true_present [m, K]``.
      windows: ``[N, 4]`` (:func:`sliding_windows`).
      crop_size: side of a crop.
      positives, negatives: windows per image of each kind.
      negative_iou: windows whose best IoU is below it are background (:func:`label_windows`; Fast
        R-CNN trains with 0.5, so every window is either an object or background).

    Returns:
      ``(crops [m·(positives + negatives), crop, crop, C], labels [m·(positives + negatives)])``;
      labels ``0`` (background) … ``C``.
    """
    windows = jnp.asarray(windows, jnp.float32)

    def one(key, image, boxes, classes, present):
        labels = label_windows(windows, boxes, classes, present, negative_iou=negative_iou)
        is_object, is_background = labels > 0, labels == 0
        positive_key, negative_key = jax.random.split(key)
        object_weights = jnp.where(jnp.any(is_object), is_object, is_background).astype(jnp.float32)
        chosen = jnp.concatenate([
            jax.random.choice(positive_key, windows.shape[0], (positives,), p=object_weights / jnp.sum(object_weights)),
            jax.random.choice(negative_key, windows.shape[0], (negatives,),
                              p=is_background / jnp.maximum(jnp.sum(is_background), 1)),
        ])
        return crop_windows(image, windows[chosen], crop_size), labels[chosen]

    keys = jax.random.split(key, images.shape[0])
    crops, labels = jax.vmap(one)(keys, images, true_boxes, true_classes, true_present)
    return crops.reshape((-1,) + crops.shape[2:]), labels.reshape(-1)


def windows_to_detections(windows: jax.Array, logits: jax.Array, *, max_outputs: int,
                          score_threshold: float = SCORE_THRESHOLD, iou_threshold: float = IOU_THRESHOLD
                          ) -> Detections:
    """Detections of one image from its windows ``[N, 4]`` and the classifier's logits
    ``[N, 1 + C]`` (column 0: background): score ``max_{c ≥ 1} softmax(logits)_c``, class its
    ``c − 1``, box the window; then :func:`dlcourse.detection.non_max_suppression`."""
    probabilities = jax.nn.softmax(jnp.asarray(logits, jnp.float32), axis=-1)[:, 1:]
    return non_max_suppression(windows, jnp.max(probabilities, axis=-1), jnp.argmax(probabilities, axis=-1),
                               max_outputs=max_outputs, score_threshold=score_threshold,
                               iou_threshold=iou_threshold)
