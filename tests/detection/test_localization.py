"""Tests for dlcourse.detection.localization: the course's y vector, its two losses, metrics."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import data
from dlcourse.detection import localization as loc

# The notes' classes (pedestrian, car, motorcycle): a car at (b_x, b_y, b_h, b_w) = (0.5, 0.7, 0.3, 0.4).
CAR = [1.0, 0.5, 0.7, 0.3, 0.4, 0.0, 1.0, 0.0]


def _evaluate(metric, outputs, targets, weights):
    """The metric's value after adding its statistics over two halves (mini-batches)."""
    half = len(weights) // 2
    parts = [metric.statistics(jnp.asarray(outputs[s]), jnp.asarray(targets[s]), jnp.asarray(weights[s]))
             for s in (slice(0, half), slice(half, None))]
    return float(metric.value(jax.tree.map(lambda a, b: a + b, *parts)))


def test_targets_follow_the_course_layout():
    y = loc.localization_targets(np.array([True, False]), np.array([[0.5, 0.7, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]]),
                                 np.array([1, 2]), 3)
    chex.assert_trees_all_close(y, jnp.array([CAR, [0.0] * 8]))
    with_landmarks = loc.localization_targets(np.array([1]), np.array([[0.5, 0.7, 0.3, 0.4]]), np.array([1]), 3,
                                              landmarks=np.array([[[0.1, 0.2], [0.3, 0.4]]]))
    chex.assert_trees_all_close(with_landmarks, jnp.array([CAR + [0.1, 0.2, 0.3, 0.4]]))
    assert loc.target_size(3, 2) == 12


def test_scene_targets_take_the_first_object():
    scenes = data.make_scenes(6, size=16, min_objects=0, max_objects=1, seed=3)
    y = loc.scene_localization_targets(scenes, landmarks=True)
    assert y.shape == (6, 5 + 3 + 8) and y.dtype == np.float32
    for i in range(6):
        if scenes.present[i, 0]:
            expected = [1.0, *scenes.centres[i, 0], *np.eye(3)[scenes.classes[i, 0]], *scenes.landmarks[i, 0].ravel()]
        else:
            expected = [0.0] * 16
        np.testing.assert_allclose(y[i], expected)
    assert not scenes.present[:, 0].all() and scenes.present[:, 0].any()


def test_squared_loss_uses_every_component_only_with_an_object():
    outputs = jnp.array([[0.8, 0.5, 0.6, 0.3, 0.2, 0.1, 0.9, 0.0]] * 2)
    targets = jnp.array([CAR, [0.0] * 8])
    # Present: 0.2² + 0.1² + 0.2² + 0.1² + 0.1² = 0.11; absent: only (0.8 − 0)².
    chex.assert_trees_all_close(loc.squared_localization_terms(outputs, targets), jnp.array([0.11, 0.64]))
    assert loc.localization_loss("squared", 3) is loc.squared_localization_terms


def test_log_loss_hand_worked():
    outputs = jnp.array([[2.0, 0.5, 0.6, 0.3, 0.2, 1.0, 2.0, 0.0, 0.3, 0.3]] * 2)
    targets = jnp.array([CAR + [0.1, 0.5], [0.0] * 10])
    present = (math.log1p(math.exp(-2.0))                       # −log σ(2)
               + (0.1 ** 2 + 0.2 ** 2)                          # box
               + (math.log(math.e + math.e ** 2 + 1.0) - 2.0)   # −log softmax(1, 2, 0)_2
               + (0.2 ** 2 + 0.2 ** 2))                         # landmark
    absent = math.log1p(math.exp(2.0))                          # −log(1 − σ(2))
    terms = loc.localization_loss("log", 3)(outputs, targets)
    chex.assert_trees_all_close(terms, jnp.array([present, absent]), rtol=1e-5)
    with pytest.raises(ValueError, match="5 \\+ 3 \\+ 2L"):
        loc.log_localization_terms(outputs[:, :9], targets[:, :9], 3)


def test_landmark_loss_and_gradient():
    predicted, targets = jnp.array([[0.1, 0.2, 0.5, 0.5]]), jnp.array([[0.1, 0.4, 0.2, 0.9]])
    chex.assert_trees_all_close(loc.landmark_squared_error_terms(predicted, targets), jnp.array([0.29]))
    # d/dŷ Σ(ŷ − y)² = 2(ŷ − y).
    grad = jax.grad(lambda p: loc.landmark_squared_error_terms(p, targets).sum())(predicted)
    chex.assert_trees_all_close(grad, 2 * (predicted - targets))


def test_box_iou_counts_only_objects():
    # Corner boxes (2, 1, 4, 3) and (1, 2, 3, 4) on a 10-wide image: IoU 1/7 (the example).
    predicted = [0.0, 0.3, 0.2, 0.2, 0.2, 0, 0, 0]
    truth = [1.0, 0.2, 0.3, 0.2, 0.2, 1, 0, 0]
    exact = [0.0, 0.5, 0.5, 0.2, 0.4, 0, 1, 0]
    outputs = np.array([predicted, exact, exact, exact], np.float32)
    targets = np.array([truth, [1.0, 0.5, 0.5, 0.2, 0.4, 0, 1, 0], [0.0] * 8, [1.0, 0.5, 0.5, 0.2, 0.4, 0, 1, 0]],
                       np.float32)
    weights = np.array([1.0, 1.0, 1.0, 0.0], np.float32)  # the last is padding
    assert _evaluate(loc.box_iou_metric(), outputs, targets, weights) == pytest.approx((1 / 7 + 1) / 2, rel=1e-5)


def test_presence_class_and_localization_accuracy():
    targets = np.array([CAR, CAR, CAR, [0.0] * 8], np.float32)
    outputs = np.array([
        [0.9, 0.5, 0.7, 0.3, 0.4, 0.1, 0.8, 0.0],   # found, right class, IoU 1: correct
        [0.6, 0.5, 0.7, 0.3, 0.4, 0.9, 0.1, 0.0],   # found, wrong class
        [0.4, 0.5, 0.7, 0.3, 0.4, 0.1, 0.8, 0.0],   # missed (0.4 ≤ 0.5)
        [0.7, 0.5, 0.7, 0.3, 0.4, 0.1, 0.8, 0.0],   # false alarm
    ], np.float32)
    weights = np.ones(4, np.float32)
    assert _evaluate(loc.presence_accuracy_metric("squared"), outputs, targets, weights) == pytest.approx(0.5)
    assert _evaluate(loc.class_accuracy_metric(3), outputs, targets, weights) == pytest.approx(2 / 3)
    assert _evaluate(loc.localization_accuracy_metric(3, "squared"), outputs, targets, weights) == pytest.approx(0.25)
    # The log variant reads ŷ_1 as a logit: 0.4 > 0 is found, and only the absent row is wrong.
    assert _evaluate(loc.presence_accuracy_metric("log"), outputs, targets, weights) == pytest.approx(0.75)
    shifted = outputs.copy()
    shifted[0, 1] += 0.3  # box moved by 0.75 of its width: IoU 0.25/1.75 < 0.5
    assert _evaluate(loc.localization_accuracy_metric(3, "squared"), shifted, targets, weights) == 0.0


def test_landmark_error_in_pixels():
    targets = np.array([CAR + [0.1, 0.1, 0.5, 0.5], [0.0] * 12], np.float32)
    outputs = np.array([CAR + [0.13, 0.14, 0.5, 0.5], CAR + [0.9, 0.9, 0.9, 0.9]], np.float32)
    metric = loc.landmark_error_metric(3, 2, image_size=100)
    # Distances 5 px and 0 px for the object; the empty example does not count.
    assert _evaluate(metric, outputs, targets, np.ones(2, np.float32)) == pytest.approx(2.5, rel=1e-5)
    assert metric.goal == "min"


def test_decoding_helpers():
    vector = jnp.array([0.3, 0.5, 0.5, 0.2, 0.4, 0, 1, 0, 0.1, 0.2, 0.3, 0.4])
    chex.assert_trees_all_close(loc.box_corners(vector), jnp.array([0.3, 0.4, 0.7, 0.6]))
    chex.assert_trees_all_close(loc.landmark_points(vector, 3, 2), jnp.array([[0.1, 0.2], [0.3, 0.4]]))
    assert float(loc.presence_probability(vector, "log")) == pytest.approx(1 / (1 + math.exp(-0.3)))
    assert float(loc.presence_probability(vector, "squared")) == pytest.approx(0.3)


@pytest.mark.parametrize("call, message", [
    (lambda: loc.localization_loss("hinge", 3), "kind"),
    (lambda: loc.class_accuracy_metric(0), "num_classes"),
    (lambda: loc.landmark_error_metric(3, 0), "num_landmarks"),
    (lambda: loc.squared_localization_terms(jnp.zeros((2, 8)), jnp.zeros((2, 7))), "shape"),
])
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
