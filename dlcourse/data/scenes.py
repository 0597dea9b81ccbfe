"""Generated scenes for detection: images with several shapes, their boxes, landmarks and pixel classes.

Each image is ``size × size`` RGB. Pixel (i, j) covers the unit square whose centre is
``(x, y) = (j + ½, i + ½)``: x across (columns), y down (rows), origin at the top-left corner.
Every output coordinate is a fraction of the image side (pixels / ``size``).

An object of class c (:data:`SCENE_CLASSES`) has a side ``d`` — an odd number of pixels, the odd
integer nearest ``scale · size`` with ``scale ~ U(min_scale, max_scale)`` — and a top-left corner
``(x_1, y_1)`` at integer pixels, uniform over the positions that keep it inside the image. With
``c_x = x_1 + d/2``, ``c_y = y_1 + d/2`` (so ``x_2 = x_1 + d``, ``y_2 = y_1 + d``) it covers the pixels
whose centres satisfy

- circle: ``(x − c_x)² + (y − c_y)² ≤ (d/2)²``;
- square (axis-aligned): ``|x − c_x| ≤ d/2`` and ``|y − c_y| ≤ d/2``;
- triangle (isosceles, apex up, base ``d``, height ``d``): ``y ≤ y_2`` and ``|x − c_x| ≤ (y − y_1)/2``.

An odd ``d`` on the integer grid makes the box ``(x_1, y_1, x_2, y_2)`` exactly the tight box of the
shape's pixels (each shape reaches its box's first and last row and column), so the corner and
centre boxes below are tight around the drawn shape, whatever covers it later.

Landmarks: :data:`LANDMARKS_PER_OBJECT` = 4 points ``(l_x, l_y)`` per object, in this order:

- circle: top ``(c_x, y_1)``, right ``(x_2, c_y)``, bottom ``(c_x, y_2)``, left ``(x_1, c_y)``;
- square: corners top-left ``(x_1, y_1)``, top-right ``(x_2, y_1)``, bottom-right ``(x_2, y_2)``,
  bottom-left ``(x_1, y_2)``;
- triangle: apex ``(c_x, y_1)``, bottom-right ``(x_2, y_2)``, bottom-left ``(x_1, y_2)``, centroid
  ``(c_x, y_1 + 2d/3)``.

Colours: per scene a background colour with each channel ``~ U(0, 0.3)``; each object one of the
bright colours of :data:`dlcourse.data.shapes.COLOURS` (distinct within a scene for up to 7 objects)
with each channel moved by ``U(−0.05, 0.05)``; then Gaussian noise ``σ · N(0, 1)`` per pixel and channel,
and values clipped to [0, 1]. Objects are drawn in slot order, so with ``occlusion=True`` a later
object covers an earlier one (the pixel map shows the top-most object; boxes and landmarks are those of
the whole shape). With ``occlusion=False`` the boxes of a scene are disjoint, placed by rejection
sampling.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from dlcourse.data.shapes import COLOURS

SCENE_CLASSES = ("circle", "square", "triangle")
LANDMARKS_PER_OBJECT = 4
BACKGROUND_RANGE = (0.0, 0.3)
COLOUR_JITTER = 0.05
#: Tries of rejection sampling per scene before ``occlusion=False`` gives up.
PLACEMENT_ATTEMPTS = 200


class Scenes(NamedTuple):
    """``m`` scenes with up to ``K`` objects (slots ``k < count`` hold objects, the rest are empty).

    Attributes:
      images: float32 ``[m, H, W, 3]`` in [0, 1].
      corners: float32 ``[m, K, 4]`` ``(x_1, y_1, x_2, y_2)`` as fractions of the image side; 0 where absent.
      centres: float32 ``[m, K, 4]`` ``(b_x, b_y, b_h, b_w)``, the course's form, same units; 0 where absent.
      classes: int32 ``[m, K]`` class id (index in :data:`SCENE_CLASSES`), −1 where absent.
      present: bool ``[m, K]``.
      landmarks: float32 ``[m, K, LANDMARKS_PER_OBJECT, 2]`` ``(x, y)`` fractions; 0 where absent.
      pixel_classes: int32 ``[m, H, W]``: 0 background, 1 + class id of the top-most object there.
      num_classes: number of object classes ``n`` (the pixel map has ``n + 1``).
    """

    images: np.ndarray
    corners: np.ndarray
    centres: np.ndarray
    classes: np.ndarray
    present: np.ndarray
    landmarks: np.ndarray
    pixel_classes: np.ndarray
    num_classes: int


class SceneSplits(NamedTuple):
    train: Scenes
    dev: Scenes
    test: Scenes


def _check_int(argument: str, value, least: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < least:
        raise ValueError(f"{argument} must be an int >= {least}, got {value!r}")


def _odd_sides(scale: np.ndarray, size: int) -> np.ndarray:
    """The odd integer nearest ``scale · size``, at least 1 and at most the image side."""
    largest = size if size % 2 else size - 1
    return np.clip(2 * np.floor(scale * size / 2) + 1, 1, largest).astype(np.int64)


def _boxes_overlap(x1: np.ndarray, y1: np.ndarray, side: np.ndarray, present: np.ndarray) -> np.ndarray:
    """bool ``[m]``: some two present objects' boxes share a pixel (boxes ``[x_1, x_1 + d) × [y_1, y_1 + d)``)."""
    left, right = x1[:, :, None], x1[:, None, :]
    top, bottom = y1[:, :, None], y1[:, None, :]
    d_a, d_b = side[:, :, None], side[:, None, :]
    share = (left < right + d_b) & (right < left + d_a) & (top < bottom + d_b) & (bottom < top + d_a)
    both = present[:, :, None] & present[:, None, :]
    k = x1.shape[1]
    return (share & both & ~np.eye(k, dtype=bool)).any(axis=(1, 2))


def _shape_mask(classes: np.ndarray, dx: np.ndarray, dy: np.ndarray, half: np.ndarray) -> np.ndarray:
    """bool ``[m, H, W]``: pixels inside each scene's object of class ``classes`` ``[m]`` with offsets
    ``(dx, dy)`` ``[m, 1, W]``, ``[m, H, 1]`` from its centre and half side ``half`` ``[m, 1, 1]``."""
    circle = dx * dx + dy * dy <= half * half
    square = (np.abs(dx) <= half) & (np.abs(dy) <= half)
    triangle = (dy <= half) & (np.abs(dx) <= (dy + half) / 2)
    kind = classes[:, None, None]
    return np.where(kind == 0, circle, np.where(kind == 1, square, triangle))


def _landmark_pixels(classes: np.ndarray, x1: np.ndarray, y1: np.ndarray, side: np.ndarray) -> np.ndarray:
    """float64 ``[..., 4, 2]`` landmark points in pixels (module docstring's order per class)."""
    x2, y2 = x1 + side, y1 + side
    cx, cy = x1 + side / 2, y1 + side / 2
    circle = [(cx, y1), (x2, cy), (cx, y2), (x1, cy)]
    square = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    triangle = [(cx, y1), (x2, y2), (x1, y2), (cx, y1 + 2 * side / 3)]
    stacked = [np.stack([np.stack(point, axis=-1) for point in points], axis=-2)
               for points in (circle, square, triangle)]
    kind = classes[..., None, None]
    return np.where(kind == 0, stacked[0], np.where(kind == 1, stacked[1], stacked[2]))


def make_scenes(
    m: int,
    *,
    size: int = 64,
    min_objects: int = 1,
    max_objects: int = 3,
    num_classes: int = 3,
    min_scale: float = 0.15,
    max_scale: float = 0.45,
    noise: float = 0.03,
    occlusion: bool = True,
    seed: int = 0,
) -> Scenes:
    """``m`` generated scenes (see the module docstring).

    Args:
      m: number of scenes (≥ 1).
      size: image height and width in pixels (≥ 4).
      min_objects, max_objects: each scene holds ``U{min_objects … max_objects}`` objects in its first
        slots; ``K = max_objects`` (≥ 1) slots in all. ``min_objects = 0`` allows empty scenes.
      num_classes: ``n`` ∈ {1, 2, 3}: objects are drawn from the first ``n`` of :data:`SCENE_CLASSES`.
      min_scale, max_scale: ``0 < min_scale ≤ max_scale ≤ 1``; an object's side is about
        ``U(min_scale, max_scale) · size`` pixels.
      noise: standard deviation σ ≥ 0 of the Gaussian pixel noise.
      occlusion: True lets later objects cover earlier ones; False keeps the boxes disjoint.
      seed: non-negative int; the same arguments give bitwise the same scenes.

    Returns:
      `Scenes` with ``K = max_objects`` slots.

    Raises:
      ValueError: naming the offending argument, or when ``occlusion=False`` and the objects could not
        be placed without overlap.
    """
    _check_int("m", m, 1)
    _check_int("size", size, 4)
    _check_int("min_objects", min_objects, 0)
    _check_int("max_objects", max_objects, max(1, min_objects))
    if not isinstance(num_classes, numbers.Integral) or not 1 <= num_classes <= len(SCENE_CLASSES):
        raise ValueError(f"num_classes must be an int in 1 … {len(SCENE_CLASSES)}, got {num_classes!r}")
    if not (isinstance(min_scale, numbers.Real) and isinstance(max_scale, numbers.Real)
            and 0 < min_scale <= max_scale <= 1):
        raise ValueError(f"need 0 < min_scale <= max_scale <= 1, got min_scale={min_scale!r}, "
                         f"max_scale={max_scale!r}")
    if not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    if not isinstance(occlusion, (bool, np.bool_)):
        raise ValueError(f"occlusion must be True or False, got {occlusion!r}")
    _check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    k = max_objects
    count = rng.integers(min_objects, max_objects + 1, size=m)
    present = np.arange(k)[None, :] < count[:, None]
    classes = rng.integers(num_classes, size=(m, k))

    def sample_boxes(rows: int):
        side = _odd_sides(rng.uniform(min_scale, max_scale, size=(rows, k)), size)
        x1 = np.floor(rng.uniform(size=(rows, k)) * (size - side + 1)).astype(np.int64)
        y1 = np.floor(rng.uniform(size=(rows, k)) * (size - side + 1)).astype(np.int64)
        return side, x1, y1

    side, x1, y1 = sample_boxes(m)
    if not occlusion:
        pending = _boxes_overlap(x1, y1, side, present)
        for _ in range(PLACEMENT_ATTEMPTS):
            if not pending.any():
                break
            rows = np.flatnonzero(pending)
            new_side, new_x1, new_y1 = sample_boxes(len(rows))
            side[rows], x1[rows], y1[rows] = new_side, new_x1, new_y1
            pending[rows] = _boxes_overlap(new_x1, new_y1, new_side, present[rows])
        if pending.any():
            raise ValueError(
                f"could not place {int(count[pending].max())} objects without overlap in a {size}×{size} image "
                f"(scales {min_scale}–{max_scale}) after {PLACEMENT_ATTEMPTS} tries; lower max_objects or "
                f"max_scale, or set occlusion=True")

    palette = np.array(list(COLOURS.values()), dtype=np.float64)
    order = np.argsort(rng.uniform(size=(m, len(palette))), axis=1)
    colours = palette[order[:, np.arange(k) % len(palette)]]
    colours = np.clip(colours + rng.uniform(-COLOUR_JITTER, COLOUR_JITTER, size=colours.shape), 0, 1)
    background = rng.uniform(*BACKGROUND_RANGE, size=(m, 3))

    top_slot = np.zeros((m, size, size), dtype=np.int64)  # 0 background, 1 + slot of the top-most object
    centres_1d = np.arange(size, dtype=np.float32) + 0.5
    for slot in range(k):
        half = (side[:, slot] / 2).astype(np.float32)
        dx = centres_1d[None, None, :] - (x1[:, slot] + half)[:, None, None]
        dy = centres_1d[None, :, None] - (y1[:, slot] + half)[:, None, None]
        inside = _shape_mask(classes[:, slot], dx, dy, half[:, None, None]) & present[:, slot, None, None]
        top_slot[inside] = slot + 1
    colour_table = np.concatenate([background[:, None, :], colours], axis=1).astype(np.float32)  # [m, K+1, 3]
    images = colour_table[np.arange(m)[:, None, None], top_slot]
    class_table = np.concatenate([np.zeros((m, 1), np.int64), classes + 1], axis=1)
    pixel_classes = np.take_along_axis(class_table, top_slot.reshape(m, -1), axis=1).reshape(m, size, size)
    pixel_classes = pixel_classes.astype(np.int32)
    if noise > 0:
        images += np.float32(noise) * rng.standard_normal(images.shape, dtype=np.float32)
    images = np.clip(images, 0.0, 1.0).astype(np.float32)

    corners = np.stack([x1, y1, x1 + side, y1 + side], axis=-1) / size
    centres = np.stack([x1 + side / 2, y1 + side / 2, side, side], axis=-1) / size
    landmarks = _landmark_pixels(classes, x1.astype(np.float64), y1.astype(np.float64), side) / size
    keep = present[..., None]
    return Scenes(
        images=images,
        corners=np.where(keep, corners, 0).astype(np.float32),
        centres=np.where(keep, centres, 0).astype(np.float32),
        classes=np.where(present, classes, -1).astype(np.int32),
        present=present,
        landmarks=np.where(keep[..., None], landmarks, 0).astype(np.float32),
        pixel_classes=pixel_classes,
        num_classes=int(num_classes),
    )


def make_scene_splits(train: int = 512, dev: int = 128, test: int = 128, *, seed: int = 0,
                      **scene_options) -> SceneSplits:
    """Train, dev and test scenes from one draw of :func:`make_scenes` of ``train + dev + test`` scenes
    (in that order), so the three are independent samples of the same distribution.

    Raises:
      ValueError: a split size is not an int ≥ 1, or from :func:`make_scenes`.
    """
    for argument, value in (("train", train), ("dev", dev), ("test", test)):
        _check_int(argument, value, 1)
    scenes = make_scenes(train + dev + test, seed=seed, **scene_options)

    def rows(start: int, stop: int) -> Scenes:
        return Scenes(*(field[start:stop] for field in scenes[:-1]), num_classes=scenes.num_classes)

    return SceneSplits(rows(0, train), rows(train, train + dev), rows(train + dev, train + dev + test))
