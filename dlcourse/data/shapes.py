"""Generated images of coloured shapes: a small, seeded image-classification set of any size.

Each image is ``size × size`` RGB: a grey background, one filled shape of one colour, Gaussian
noise, values clipped to [0, 1]. Pixel (i, j) covers the unit square whose centre is
``(x, y) = (j + ½, i + ½)`` (y grows downwards). A shape is drawn from a centre ``(c_x, c_y)`` and a
size ``r`` (the radius of a circle of the same area), so every kind covers the same area ``π r²``
and only its form tells it apart:

- circle: ``(x − c_x)² + (y − c_y)² ≤ r²``;
- square (axis-aligned): ``max(|x − c_x|, |y − c_y|) ≤ s``, half side ``s = (√π / 2) r``;
- triangle (equilateral, apex up, centroid at the centre): ``−R ≤ y − c_y ≤ R / 2`` and
  ``√3 |x − c_x| ≤ y − c_y + R``, circumradius ``R = √(4π / (3√3)) r``.

Per image, independently: ``r ~ U(0.12, 0.22) · size``; the centre uniform over the positions
that keep the whole shape inside the image; background grey level ``g ~ U(0, 0.25)``; noise
``σ · N(0, 1)`` per pixel and channel. Filled pixels take the colour's RGB value (:data:`COLOURS`).
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcourse.data.splits import Splits, split_dataset

SHAPE_NAMES = ("circle", "square", "triangle")
#: RGB value of each colour a shape may take.
COLOURS = {
    "red": (0.9, 0.1, 0.1),
    "green": (0.1, 0.8, 0.2),
    "blue": (0.15, 0.3, 0.95),
    "yellow": (0.95, 0.85, 0.1),
    "magenta": (0.85, 0.15, 0.85),
    "cyan": (0.1, 0.85, 0.9),
    "white": (0.95, 0.95, 0.95),
}
#: What the label ``y`` names: the shape, the colour, or both (``y = shape_index · K + colour_index``
#: for ``K`` colours).
CLASS_KINDS = ("shape", "colour", "shape_and_colour")

RADIUS_RANGE = (0.12, 0.22)
BACKGROUND_RANGE = (0.0, 0.25)
SQUARE_HALF_SIDE = np.sqrt(np.pi) / 2
TRIANGLE_CIRCUMRADIUS = np.sqrt(4 * np.pi / (3 * np.sqrt(3)))
#: Extent of each shape around its centre in units of r: (left, right, above, below).
EXTENTS = {
    "circle": (1.0, 1.0, 1.0, 1.0),
    "square": (SQUARE_HALF_SIDE,) * 4,
    "triangle": (TRIANGLE_CIRCUMRADIUS * np.sqrt(3) / 2, TRIANGLE_CIRCUMRADIUS * np.sqrt(3) / 2,
                 TRIANGLE_CIRCUMRADIUS, TRIANGLE_CIRCUMRADIUS / 2),
}


def shape_masks(name: str, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Boolean mask of the pixels inside shape ``name`` with offsets ``(dx, dy)`` from its centre and
    size ``r`` (broadcast together; see the module docstring)."""
    if name == "circle":
        return dx * dx + dy * dy <= r * r
    if name == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) <= SQUARE_HALF_SIDE * r
    if name == "triangle":
        big_r = TRIANGLE_CIRCUMRADIUS * r
        return (dy >= -big_r) & (dy <= big_r / 2) & (np.sqrt(3) * np.abs(dx) <= dy + big_r)
    raise ValueError(f"unknown shape {name!r}; choose from {SHAPE_NAMES}")


def _check_names(argument: str, names, known) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [n for n in names if n not in known]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(f"{argument} must be distinct names from {tuple(known)}, got {names!r}")
    return names


def _balanced(rng: np.random.Generator, m: int, count: int) -> np.ndarray:
    """``m`` indices in ``0 … count − 1``, each ``⌊m / count⌋`` or one more times, shuffled."""
    return rng.permutation(np.arange(m) % count)


def make_shapes(
    seed: int = 0,
    m: int = 1000,
    size: int = 32,
    *,
    classes: str = "shape",
    shapes=SHAPE_NAMES,
    colours=("red", "green", "blue"),
    noise: float = 0.05,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """``m`` images of coloured shapes (see the module docstring), classified by ``classes``.

    Args:
      seed: non-negative int; the same arguments give bitwise the same splits.
      m: number of images.
      size: image height and width in pixels (≥ 8).
      classes: ``'shape'`` (y = index in ``shapes``, the colour drawn uniformly), ``'colour'``
        (y = index in ``colours``, the shape drawn uniformly) or ``'shape_and_colour'``
        (y = shape_index · len(colours) + colour_index). The labelled attribute is balanced: each
        class occurs ``⌊m / C⌋`` or ``⌈m / C⌉`` times.
      shapes: names from :data:`SHAPE_NAMES`.
      colours: names from :data:`COLOURS`.
      noise: standard deviation σ ≥ 0 of the Gaussian pixel noise.
      dev_fraction, test_fraction: split sizes (`dlcourse.data.split_dataset`, stratified).

    Returns:
      `Splits` with x float32 ``[m, size, size, 3]`` in [0, 1], y int32 ``[m]``, and
      ``num_classes`` = len(shapes), len(colours) or their product.

    Raises:
      ValueError: naming the offending argument.
    """
    if classes not in CLASS_KINDS:
        raise ValueError(f"classes must be one of {CLASS_KINDS}, got {classes!r}")
    shapes = _check_names("shapes", shapes, SHAPE_NAMES)
    colours = _check_names("colours", colours, COLOURS)
    for argument, value, least in (("m", m, 1), ("size", size, 8)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < least:
            raise ValueError(f"{argument} must be an int >= {least}, got {value!r}")
    if not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    if not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")

    rng = np.random.default_rng(seed)
    num_shapes, num_colours = len(shapes), len(colours)
    if classes == "shape":
        shape_index, colour_index = _balanced(rng, m, num_shapes), rng.integers(num_colours, size=m)
        y, num_classes = shape_index, num_shapes
    elif classes == "colour":
        shape_index, colour_index = rng.integers(num_shapes, size=m), _balanced(rng, m, num_colours)
        y, num_classes = colour_index, num_colours
    else:
        y = _balanced(rng, m, num_shapes * num_colours)
        shape_index, colour_index = y // num_colours, y % num_colours
        num_classes = num_shapes * num_colours

    r = rng.uniform(*RADIUS_RANGE, size=m) * size
    extents = np.array([EXTENTS[name] for name in shapes])[shape_index] * r[:, None]  # [m, 4]
    cx = extents[:, 0] + rng.uniform(size=m) * (size - extents[:, 0] - extents[:, 1])
    cy = extents[:, 2] + rng.uniform(size=m) * (size - extents[:, 2] - extents[:, 3])
    background = rng.uniform(*BACKGROUND_RANGE, size=m)

    centres = np.arange(size, dtype=np.float64) + 0.5
    dx = centres[None, None, :] - cx[:, None, None]
    dy = centres[None, :, None] - cy[:, None, None]
    radius = r[:, None, None]
    inside = np.zeros((m, size, size), dtype=bool)
    for k, name in enumerate(shapes):
        chosen = shape_index == k
        inside[chosen] = shape_masks(name, dx[chosen], dy[chosen], radius[chosen])

    palette = np.array([COLOURS[name] for name in colours], dtype=np.float32)
    images = np.where(inside[..., None], palette[colour_index][:, None, None, :],
                      background.astype(np.float32)[:, None, None, None])
    if noise > 0:
        images = images + np.float32(noise) * rng.standard_normal(images.shape, dtype=np.float32)
    images = np.clip(images, 0.0, 1.0).astype(np.float32)
    return split_dataset(images, y, seed=seed, dev_fraction=dev_fraction, test_fraction=test_fraction,
                         num_classes=num_classes)
