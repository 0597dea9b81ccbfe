"""Boxes: the notes' IoU example, disjoint/touching/identical boxes, broadcasting against a plain
Python IoU, and the corner ↔ centre conversions."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.detection import box_area, centres_to_corners, corners_to_centres, iou, pairwise_iou


def python_iou(a, b):
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def random_boxes(rng, count):
    x1, y1 = rng.uniform(0, 1, (2, count))
    w, h = rng.uniform(0.05, 0.6, (2, count))
    return np.stack([x1, y1, x1 + w, y1 + h], axis=-1).astype(np.float32)


def test_iou_of_the_worked_example_is_one_seventh():
    # Intersection (2, 2, 3, 3) of area 1; union 4 + 4 - 1 = 7.
    assert float(iou(jnp.array([2.0, 1, 4, 3]), jnp.array([1.0, 2, 3, 4]))) == pytest.approx(1 / 7, rel=1e-6)


@pytest.mark.parametrize("other, expected", [
    ((3.0, 3, 4, 4), 0.0),      # disjoint
    ((2.0, 0, 3, 2), 0.0),      # touching along an edge
    ((2.0, 2, 3, 3), 0.0),      # touching at a corner
    ((0.0, 0, 2, 2), 1.0),      # identical
    ((0.0, 0, 1, 2), 0.5),      # half of it
])
def test_iou_of_disjoint_touching_identical_and_nested_boxes(other, expected):
    assert float(iou(jnp.array([0.0, 0, 2, 2]), jnp.array(other))) == pytest.approx(expected)


def test_iou_of_empty_boxes_is_zero():
    assert float(iou(jnp.array([1.0, 1, 1, 1]), jnp.array([1.0, 1, 1, 1]))) == 0.0


def test_iou_broadcasts_and_pairwise_iou_matches_python():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 6), random_boxes(rng, 5)
    expected = np.array([[python_iou(p, q) for q in b] for p in a])
    pairwise, broadcast, batched, rows = jax.jit(lambda a, b: (
        pairwise_iou(a, b), iou(a[:, None], b[None]), pairwise_iou(jnp.stack([a, a]), jnp.stack([b, b])),
        iou(a, a[::-1])))(a, b)
    np.testing.assert_allclose(pairwise, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(broadcast, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(batched, np.stack([expected] * 2), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rows, [python_iou(p, q) for p, q in zip(a, a[::-1])], rtol=1e-5)
    assert np.any(expected > 0) and np.any(expected == 0)   # both cases occur


def test_conversions_follow_the_course_order_and_invert_each_other():
    corners = jnp.array([2.0, 1, 4, 5])               # x1, y1, x2, y2
    np.testing.assert_allclose(corners_to_centres(corners), [3.0, 3.0, 4.0, 2.0])   # b_x, b_y, b_h, b_w
    boxes = random_boxes(np.random.default_rng(1), 7).reshape(7, 1, 4)
    round_trip, area = jax.jit(lambda b: (centres_to_corners(corners_to_centres(b)), box_area(b)))(boxes)
    np.testing.assert_allclose(round_trip, boxes, atol=1e-6)
    np.testing.assert_allclose(area[:, 0], [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes[:, 0]], rtol=1e-5)


@pytest.mark.parametrize("function", [corners_to_centres, centres_to_corners, box_area])
def test_a_last_axis_other_than_four_is_refused(function):
    with pytest.raises(ValueError, match="last axis of 4"):
        function(jnp.zeros((3, 5)))


def test_iou_is_symmetric_and_in_the_unit_interval():
    boxes = random_boxes(np.random.default_rng(2), 8)
    matrix = np.asarray(jax.jit(pairwise_iou)(boxes, boxes))
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-7)
    np.testing.assert_allclose(np.diag(matrix), 1.0, rtol=1e-6)
    assert all(0.0 <= matrix[i, j] <= 1.0 for i, j in itertools.product(range(8), repeat=2))
