"""Tests for dlcourse.data.scenes: generated detection scenes."""

import time

import numpy as np
import pytest

from dlcourse import data


def _object_pixels(scenes, i, k):
    """bool [H, W]: pixels of object k of scene i, read from a non-occluded scene's pixel map."""
    size = scenes.images.shape[1]
    x1, y1, x2, y2 = np.round(scenes.corners[i, k] * size).astype(int)
    pixels = np.zeros(scenes.pixel_classes.shape[1:], dtype=bool)
    pixels[y1:y2, x1:x2] = scenes.pixel_classes[i, y1:y2, x1:x2] == scenes.classes[i, k] + 1
    return pixels


def test_shapes_dtypes_and_empty_slots():
    s = data.make_scenes(40, size=24, min_objects=0, max_objects=3, seed=1)
    assert s.images.shape == (40, 24, 24, 3) and s.images.dtype == np.float32
    assert 0.0 <= s.images.min() and s.images.max() <= 1.0
    assert s.corners.shape == s.centres.shape == (40, 3, 4) and s.corners.dtype == np.float32
    assert s.classes.shape == (40, 3) and s.classes.dtype == np.int32
    assert s.present.dtype == bool and s.landmarks.shape == (40, 3, data.LANDMARKS_PER_OBJECT, 2)
    assert s.pixel_classes.shape == (40, 24, 24) and s.pixel_classes.dtype == np.int32
    assert s.num_classes == 3 and data.SCENE_CLASSES == ("circle", "square", "triangle")
    # Objects fill the first slots; absent slots are zero / -1; some scenes are empty.
    count = s.present.sum(axis=1)
    np.testing.assert_array_equal(s.present, np.arange(3)[None] < count[:, None])
    assert set(count) == {0, 1, 2, 3}
    assert np.all(s.classes[~s.present] == -1) and np.all(s.classes[s.present] >= 0)
    assert not s.corners[~s.present].any() and not s.landmarks[~s.present].any()
    np.testing.assert_array_equal(s.pixel_classes[count == 0], 0)


def test_deterministic_for_a_seed_and_different_across_seeds():
    first, second, other = (data.make_scenes(20, size=16, seed=seed) for seed in (3, 3, 4))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.images, other.images)


@pytest.mark.parametrize("size", [64, 37])
def test_boxes_are_tight_around_the_drawn_pixels(size):
    s = data.make_scenes(150, size=size, max_objects=2, min_scale=0.02, max_scale=0.6, occlusion=False,
                         noise=0.0, seed=size)
    for i, k in zip(*np.nonzero(s.present)):
        rows, columns = np.nonzero(_object_pixels(s, i, k))
        tight = np.array([columns.min(), rows.min(), columns.max() + 1, rows.max() + 1]) / size
        np.testing.assert_allclose(s.corners[i, k], tight, atol=1e-6)
    # Centre form equals the corner form: b_x = (x1 + x2)/2, b_y = (y1 + y2)/2, b_h = y2 − y1, b_w = x2 − x1.
    x1, y1, x2, y2 = np.moveaxis(s.corners, -1, 0)
    expected = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, y2 - y1, x2 - x1], axis=-1)
    np.testing.assert_allclose(s.centres, np.where(s.present[..., None], expected, 0), atol=1e-6)


def test_non_occluded_objects_keep_all_their_pixels_and_their_colour():
    s = data.make_scenes(60, size=32, max_objects=3, occlusion=False, noise=0.0, seed=5)
    for i in range(60):
        counted = sum(_object_pixels(s, i, k).sum() for k in np.flatnonzero(s.present[i]))
        assert counted == (s.pixel_classes[i] > 0).sum()
        background = s.images[i][s.pixel_classes[i] == 0]
        assert np.ptp(background, axis=0).max() == 0  # one flat colour without noise
        for k in np.flatnonzero(s.present[i]):
            colour = s.images[i][_object_pixels(s, i, k)]
            assert np.ptp(colour, axis=0).max() == 0
            assert np.abs(colour[0] - background[0]).max() > 0.3


def test_shape_pixel_counts_match_each_class():
    """Fill of the box: square 1, circle ≈ π/4, triangle ≈ 1/2 (large objects, no occlusion)."""
    s = data.make_scenes(60, size=64, max_objects=1, min_scale=0.4, max_scale=0.6, noise=0.0, seed=6)
    fill = (s.pixel_classes > 0).sum(axis=(1, 2)) / ((s.corners[:, 0, 2] - s.corners[:, 0, 0]) * 64) ** 2
    expected = np.array([np.pi / 4, 1.0, 0.5])[s.classes[:, 0]]
    np.testing.assert_allclose(fill, expected, atol=0.04)
    assert set(s.classes[:, 0]) == {0, 1, 2}


def test_occlusion_lets_objects_overlap_and_the_top_one_wins():
    s = data.make_scenes(200, size=32, min_objects=2, max_objects=2, max_scale=0.7, noise=0.0, seed=7)
    x1, y1, x2, y2 = np.moveaxis(s.corners, -1, 0)
    overlap = (np.maximum(x1[:, 0], x1[:, 1]) < np.minimum(x2[:, 0], x2[:, 1])) & \
              (np.maximum(y1[:, 0], y1[:, 1]) < np.minimum(y2[:, 0], y2[:, 1]))
    assert overlap.sum() > 20
    for i in np.flatnonzero(overlap):
        # Where the later object's (slot 1) drawn pixels are, the map shows it: its box is tight on them.
        rows, columns = np.nonzero(_object_pixels(s, i, 1))
        np.testing.assert_allclose(s.corners[i, 1] * 32, [columns.min(), rows.min(), columns.max() + 1,
                                                          rows.max() + 1])


def test_landmarks_lie_in_the_box_in_the_documented_order():
    s = data.make_scenes(100, size=48, max_objects=3, seed=8)
    x1, y1, x2, y2 = (s.corners[..., j][..., None] for j in range(4))
    lx, ly = s.landmarks[..., 0], s.landmarks[..., 1]
    inside = (x1 - 1e-6 <= lx) & (lx <= x2 + 1e-6) & (y1 - 1e-6 <= ly) & (ly <= y2 + 1e-6)
    assert inside[s.present].all()
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    expected = {
        0: np.stack([np.concatenate([cx, x2, cx, x1], -1), np.concatenate([y1, cy, y2, cy], -1)], -1),
        1: np.stack([np.concatenate([x1, x2, x2, x1], -1), np.concatenate([y1, y1, y2, y2], -1)], -1),
        2: np.stack([np.concatenate([cx, x2, x1, cx], -1),
                     np.concatenate([y1, y2, y2, y1 + 2 * (y2 - y1) / 3], -1)], -1),
    }
    for c, points in expected.items():
        chosen = s.classes == c
        np.testing.assert_allclose(s.landmarks[chosen], points[chosen], atol=1e-6)


def test_num_classes_and_splits():
    s = data.make_scenes(100, size=16, num_classes=2, seed=9)
    assert s.num_classes == 2 and set(s.classes[s.present]) == {0, 1}
    assert set(np.unique(s.pixel_classes)) <= {0, 1, 2}
    splits = data.make_scene_splits(30, 10, 5, seed=2, size=16, max_objects=2)
    assert [len(part.images) for part in splits] == [30, 10, 5]
    whole = data.make_scenes(45, seed=2, size=16, max_objects=2)
    np.testing.assert_array_equal(splits.dev.corners, whole.corners[30:40])
    assert splits.test.num_classes == 3


def test_a_thousand_scenes_are_quick():
    data.make_scenes(10)
    start = time.process_time()  # this process's CPU seconds: other processes' load does not count
    data.make_scenes(1000, size=64)
    assert time.process_time() - start < 3.0


@pytest.mark.parametrize("options, message", [
    (dict(m=0), "m must be"),
    (dict(size=3), "size must be"),
    (dict(min_objects=3, max_objects=2), "max_objects"),
    (dict(num_classes=4), "num_classes"),
    (dict(min_scale=0.5, max_scale=0.4), "min_scale"),
    (dict(max_scale=1.5), "max_scale"),
    (dict(noise=-0.1), "noise"),
    (dict(occlusion="no"), "occlusion"),
    (dict(seed=-1), "seed"),
    (dict(min_objects=4, max_objects=4, min_scale=0.6, max_scale=0.7, occlusion=False), "without overlap"),
])
def test_bad_arguments_raise(options, message):
    options = {"m": 4, "size": 16, **options}
    with pytest.raises(ValueError, match=message):
        data.make_scenes(options.pop("m"), **options)
    if "seed" not in options:
        with pytest.raises(ValueError, match="train"):
            data.make_scene_splits(0, 1, 1)
