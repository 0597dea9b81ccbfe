"""Tests for dlcourse.data.shapes: generated images of coloured shapes."""

import time

import numpy as np
import pytest

from dlcourse import data


def _all_rows(splits):
    return (np.concatenate([splits.x_train, splits.x_dev, splits.x_test]),
            np.concatenate([splits.y_train, splits.y_dev, splits.y_test]))


@pytest.mark.parametrize("classes, num_classes", [("shape", 3), ("colour", 3), ("shape_and_colour", 9)])
def test_layout_ranges_and_balanced_classes(classes, num_classes):
    s = data.make_shapes(seed=0, m=90, size=20, classes=classes)
    x, y = _all_rows(s)
    assert s.num_classes == num_classes
    assert x.shape == (90, 20, 20, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y, minlength=num_classes), np.full(num_classes, 90 // num_classes))
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (54, 18, 18)
    for labels in (s.y_dev, s.y_test):
        assert np.bincount(labels, minlength=num_classes).min() >= 18 // num_classes - 1


def test_deterministic_for_a_seed_and_different_across_seeds():
    first, second, other = (data.make_shapes(seed=seed, m=60, size=16) for seed in (7, 7, 8))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.x_train, other.x_train)


def _recognise(image):
    """(shape, colour) read from a noise-free image: the shape's pixels are the non-grey ones; the
    fill ratio of their bounding box is 1 for a square, π/4 for a circle, 1/2 for a triangle."""
    inside = ~((image[..., 0] == image[..., 1]) & (image[..., 1] == image[..., 2]))
    rows, columns = np.nonzero(inside)
    box = (rows.max() - rows.min() + 1) * (columns.max() - columns.min() + 1)
    fill = inside.sum() / box
    shape = "square" if fill > 0.9 else "circle" if fill > 0.65 else "triangle"
    colour = image[inside].mean(axis=0)
    palette = {name: np.array(rgb) for name, rgb in data.COLOURS.items()}
    return shape, min(palette, key=lambda name: np.abs(palette[name] - colour).max())


def test_class_is_recoverable_from_the_pixels():
    shapes, colours = ("circle", "square", "triangle"), ("red", "green", "blue", "yellow")
    s = data.make_shapes(seed=1, m=120, size=64, classes="shape_and_colour", colours=colours, noise=0.0)
    x, y = _all_rows(s)
    for image, label in zip(x, y):
        assert _recognise(image) == (shapes[label // 4], colours[label % 4])


def test_shapes_have_equal_areas_and_stay_inside():
    s = data.make_shapes(seed=2, m=300, size=64, noise=0.0)
    x, y = _all_rows(s)
    counts = (~((x[..., 0] == x[..., 1]) & (x[..., 1] == x[..., 2]))).sum(axis=(1, 2))
    means = [counts[y == k].mean() for k in range(3)]   # π E[r²] with r ~ U(0.12, 0.22)·64
    expected = np.pi * (0.12**2 + 0.12 * 0.22 + 0.22**2) / 3 * 64**2
    np.testing.assert_allclose(means, expected, rtol=0.12)


def test_subsets_of_shapes_and_colours_and_speed():
    s = data.make_shapes(seed=0, m=40, size=12, shapes=("triangle",), colours=("white",), classes="colour")
    assert s.num_classes == 1
    start = time.perf_counter()
    s = data.make_shapes(seed=0, m=1000, size=32)
    assert time.perf_counter() - start < 1.5
    assert s.x_train.shape == (600, 32, 32, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"classes": "size"}, "classes must be one of.*'size'"),
    ({"shapes": ("circle", "hexagon")}, "shapes must be distinct names.*hexagon"),
    ({"colours": ("red", "red")}, "colours must be distinct names.*'red', 'red'"),
    ({"size": 4}, "size must be an int >= 8, got 4"),
    ({"m": 0}, "m must be an int >= 1, got 0"),
    ({"noise": -0.1}, "noise must be a number >= 0, got -0.1"),
    ({"seed": -1}, "seed must be a non-negative int, got -1"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.make_shapes(**kwargs)
