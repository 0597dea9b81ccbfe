"""Bounding boxes: the two forms the course uses, and intersection over union.

- **corners** ``(x1, y1, x2, y2)``: left, top, right, bottom; ``x`` across (columns), ``y`` down
  (rows), origin top-left; any unit shared by all four (fractions of the image in
  :mod:`dlcourse.data.scenes`).
- **centres** ``(b_x, b_y, b_h, b_w)``: the midpoint, then height and width, in the course's order
  ("Specify the bounding boxes"): ``x1 = b_x − b_w/2``, ``y1 = b_y − b_h/2``, ``x2 = b_x + b_w/2``,
  ``y2 = b_y + b_h/2``.

Boxes are the last axis (size 4); every function broadcasts over the leading axes and is jittable.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _check_boxes(name: str, boxes: jax.Array) -> jax.Array:
    boxes = jnp.asarray(boxes)
    if boxes.ndim < 1 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have a last axis of 4 box coordinates; got shape {boxes.shape}")
    return boxes.astype(jnp.promote_types(boxes.dtype, jnp.float32))


def corners_to_centres(corners: jax.Array) -> jax.Array:
    """``(x1, y1, x2, y2) → (b_x, b_y, b_h, b_w)`` along the last axis: ``b_x = (x1 + x2)/2``,
    ``b_y = (y1 + y2)/2``, ``b_h = y2 − y1``, ``b_w = x2 − x1``."""
    corners = _check_boxes("corners", corners)
    x1, y1, x2, y2 = jnp.moveaxis(corners, -1, 0)
    return jnp.stack([(x1 + x2) / 2, (y1 + y2) / 2, y2 - y1, x2 - x1], axis=-1)


def centres_to_corners(centres: jax.Array) -> jax.Array:
    """``(b_x, b_y, b_h, b_w) → (x1, y1, x2, y2)`` along the last axis (the inverse of
    :func:`corners_to_centres`)."""
    centres = _check_boxes("centres", centres)
    b_x, b_y, b_h, b_w = jnp.moveaxis(centres, -1, 0)
    return jnp.stack([b_x - b_w / 2, b_y - b_h / 2, b_x + b_w / 2, b_y + b_h / 2], axis=-1)


def box_area(corners: jax.Array) -> jax.Array:
    """``max(x2 − x1, 0) · max(y2 − y1, 0)``; shape ``corners.shape[:-1]``."""
    corners = _check_boxes("corners", corners)
    return (jnp.maximum(corners[..., 2] - corners[..., 0], 0.0)
            * jnp.maximum(corners[..., 3] - corners[..., 1], 0.0))


def iou(box1: jax.Array, box2: jax.Array) -> jax.Array:
    """Intersection over union of corner boxes, ``|B₁ ∩ B₂| / |B₁ ∪ B₂|``, broadcast over the
    leading axes (``[..., 4]`` and ``[..., 4]`` → ``[...]``).

    The intersection is the box ``(max x1, max y1, min x2, min y2)``, of area 0 when empty, so
    disjoint boxes and boxes that only touch along an edge give 0 and identical boxes 1. Two boxes
    of zero area (union 0) give 0. Example: ``iou((2, 1, 4, 3), (1, 2, 3, 4)) = 1 / 7``.
    """
    box1, box2 = _check_boxes("box1", box1), _check_boxes("box2", box2)
    left = jnp.maximum(box1[..., 0], box2[..., 0])
    top = jnp.maximum(box1[..., 1], box2[..., 1])
    right = jnp.minimum(box1[..., 2], box2[..., 2])
    bottom = jnp.minimum(box1[..., 3], box2[..., 3])
    intersection = jnp.maximum(right - left, 0.0) * jnp.maximum(bottom - top, 0.0)
    union = box_area(box1) + box_area(box2) - intersection
    return jnp.where(union > 0, intersection / jnp.where(union > 0, union, 1.0), 0.0)


def pairwise_iou(boxes1: jax.Array, boxes2: jax.Array) -> jax.Array:
    """The matrix ``M[..., i, j] = iou(boxes1[..., i, :], boxes2[..., j, :])``: ``[..., N, 4]`` and
    ``[..., M, 4]`` → ``[..., N, M]``."""
    boxes1, boxes2 = _check_boxes("boxes1", boxes1), _check_boxes("boxes2", boxes2)
    if boxes1.ndim < 2 or boxes2.ndim < 2:
        raise ValueError(f"pairwise_iou needs [..., N, 4] and [..., M, 4]; got {boxes1.shape} and {boxes2.shape}")
    return iou(boxes1[..., :, None, :], boxes2[..., None, :, :])
