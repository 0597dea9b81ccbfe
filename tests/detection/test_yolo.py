"""YOLO targets (the notes' shapes and pedestrian/car example by hand), the loss against a plain
NumPy transcription of its formula, decoding as the inverse of encoding, and the model's shape."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import models
from dlcourse.detection import centres_to_corners, decode_outputs, detect, encode_targets, targets_to_boxes, yolo_loss

PEDESTRIAN, CAR, MOTORCYCLE = 0, 1, 2
# Anchor 1 tall and thin (a pedestrian's shape), anchor 2 short and wide (a car's): (p_h, p_w).
NOTES_ANCHORS = jnp.array([[0.3, 0.1], [0.1, 0.3]])


def test_target_shapes_of_the_notes():
    none = (jnp.zeros((1, 4)), jnp.zeros((1,), jnp.int32), jnp.zeros((1,), bool))
    assert encode_targets(*none, NOTES_ANCHORS, grid_size=3, num_classes=3).shape == (3, 3, 2, 8)
    assert encode_targets(*none, jnp.full((5, 2), 0.2), grid_size=19, num_classes=80).shape == (19, 19, 5, 85)


def test_the_notes_pedestrian_and_car_in_one_cell_go_to_their_anchors():
    # Both midpoints fall in the bottom-middle cell (row 2, column 1) of the 3 x 3 grid.
    centres = jnp.array([[0.5, 0.75, 0.3, 0.1],      # pedestrian: b_x, b_y, b_h, b_w (image fractions)
                         [0.45, 0.8, 0.1, 0.3]])     # car
    y = encode_targets(centres, jnp.array([PEDESTRIAN, CAR]), jnp.array([True, True]), NOTES_ANCHORS,
                       grid_size=3, num_classes=3)
    # In cell units: b_x = 3·0.5 − 1, b_y = 3·0.75 − 2, b_h = 3·0.3, b_w = 3·0.1, and likewise for the car.
    expected_cell = np.array([[1, 0.5, 0.25, 0.9, 0.3, 1, 0, 0],       # anchor 1: the pedestrian
                              [1, 0.35, 0.4, 0.3, 0.9, 0, 1, 0]])      # anchor 2: the car
    np.testing.assert_allclose(y[2, 1], expected_cell, atol=1e-5)
    rest = np.asarray(y).copy()
    rest[2, 1] = 0
    assert not rest.any()                                               # every other slot is "no object"


def test_an_object_goes_to_the_cell_of_its_midpoint_and_the_anchor_of_best_shape():
    anchors = jnp.array([[0.1, 0.1], [0.5, 0.5]])
    y = encode_targets(jnp.array([[0.9, 0.1, 0.4, 0.45]]), jnp.array([MOTORCYCLE]), jnp.array([True]), anchors,
                       grid_size=4, num_classes=3)
    assert np.argwhere(np.asarray(y[..., 0])).tolist() == [[0, 3, 1]]   # row 0, column 3, big anchor
    np.testing.assert_allclose(y[0, 3, 1], [1, 0.6, 0.4, 1.6, 1.8, 0, 0, 1], atol=1e-5)


def test_the_first_of_two_objects_claiming_one_slot_keeps_it_and_absent_ones_are_ignored():
    centres = jnp.array([[0.2, 0.2, 0.2, 0.2], [0.25, 0.22, 0.21, 0.2], [0.7, 0.7, 0.2, 0.2]])
    y = encode_targets(centres, jnp.array([CAR, PEDESTRIAN, CAR]), jnp.array([True, True, False]),
                       jnp.array([[0.2, 0.2]]), grid_size=2, num_classes=3)
    assert float(jnp.sum(y[..., 0])) == 1.0
    np.testing.assert_allclose(y[0, 0, 0, 5:], [0, 1, 0])


def test_a_batch_encodes_under_jit_and_vmap_like_each_scene():
    rng = np.random.default_rng(0)
    centres = np.concatenate([rng.uniform(0.1, 0.9, (4, 3, 2)), rng.uniform(0.05, 0.5, (4, 3, 2))], axis=-1)
    classes, present = rng.integers(0, 3, (4, 3)), rng.uniform(size=(4, 3)) < 0.7
    batch = jax.jit(lambda c, k, p: encode_targets(c, k, p, NOTES_ANCHORS, grid_size=3, num_classes=3))(
        centres, classes, present)
    one_by_one = [encode_targets(centres[i], classes[i], present[i], NOTES_ANCHORS, grid_size=3, num_classes=3)
                  for i in range(4)]
    np.testing.assert_allclose(batch, np.stack(one_by_one))


def numpy_loss(outputs, targets, anchors, coord=5.0, noobj=0.5):
    """The loss's formula, slot by slot, in plain NumPy (float64)."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    S, _, A, _ = targets.shape
    total = 0.0
    for i in range(S):
        for j in range(S):
            for a in range(A):
                t, y = outputs[i, j, a].astype(np.float64), targets[i, j, a]
                if y[0] == 1:
                    coordinates = ((sigmoid(t[1]) - y[1]) ** 2 + (sigmoid(t[2]) - y[2]) ** 2
                                   + (t[3] - np.log(y[3] / (S * anchors[a, 0]))) ** 2
                                   + (t[4] - np.log(y[4] / (S * anchors[a, 1]))) ** 2)
                    log_softmax = t[5:] - np.log(np.sum(np.exp(t[5:])))
                    total += coord * coordinates + (sigmoid(t[0]) - 1) ** 2 - np.sum(y[5:] * log_softmax)
                else:
                    total += noobj * sigmoid(t[0]) ** 2
    return total


def test_the_loss_equals_its_formula_per_example():
    centres = jnp.array([[[0.5, 0.75, 0.3, 0.1], [0.45, 0.8, 0.1, 0.3]], [[0.2, 0.3, 0.25, 0.2], [0, 0, 0, 0]]])
    targets = encode_targets(centres, jnp.array([[0, 1], [2, -1]]), jnp.array([[True, True], [True, False]]),
                             NOTES_ANCHORS, grid_size=3, num_classes=3)
    outputs = np.random.default_rng(0).standard_normal(targets.shape).astype(np.float32)
    terms, weighted = jax.jit(lambda o, t: (yolo_loss(o, t, NOTES_ANCHORS), yolo_loss(
        o, t, NOTES_ANCHORS, coord_weight=1.0, no_object_weight=2.0)))(outputs, targets)
    assert terms.shape == (2,)
    expected = [numpy_loss(np.asarray(outputs[b]), np.asarray(targets[b]), np.asarray(NOTES_ANCHORS)) for b in range(2)]
    np.testing.assert_allclose(terms, expected, rtol=1e-5)
    np.testing.assert_allclose(weighted[1], numpy_loss(np.asarray(outputs[1]), np.asarray(targets[1]),
                                                       np.asarray(NOTES_ANCHORS), 1.0, 2.0), rtol=1e-5)


def outputs_that_reproduce(targets, anchors, confidence=12.0):
    """Raw outputs whose decoding is the target: logit of the offsets, log of the size over the
    anchor's, ±confidence for p_c, one-hot logits."""
    S = targets.shape[-4]
    offsets = jnp.clip(targets[..., 1:3], 1e-4, 1 - 1e-4)
    present = targets[..., :1] > 0.5
    sizes = jnp.where(present, targets[..., 3:5], S * anchors) / (S * anchors)
    return jnp.concatenate([jnp.where(present, confidence, -confidence), jnp.log(offsets / (1 - offsets)),
                            jnp.log(sizes), confidence * targets[..., 5:]], axis=-1)


def test_decoding_inverts_encoding_and_a_perfect_output_has_almost_no_loss():
    centres = jnp.array([[0.5, 0.75, 0.3, 0.1], [0.45, 0.8, 0.1, 0.3], [0.1, 0.1, 0.15, 0.12]])
    classes, present = jnp.array([0, 1, 2]), jnp.array([True, True, True])
    targets = encode_targets(centres, classes, present, NOTES_ANCHORS, grid_size=3, num_classes=3)

    @jax.jit
    def run(targets):
        outputs = outputs_that_reproduce(targets, NOTES_ANCHORS)
        return (decode_outputs(outputs, NOTES_ANCHORS), targets_to_boxes(targets),
                yolo_loss(outputs[None], targets[None], NOTES_ANCHORS)[0],
                detect(outputs, NOTES_ANCHORS, max_outputs=4))

    (corners, objectness, probabilities), (true_boxes, true_classes, true_present), loss, found = run(targets)
    assert corners.shape == (18, 4) and objectness.shape == (18,) and probabilities.shape == (18, 3)
    kept = np.asarray(objectness) > 0.5
    np.testing.assert_array_equal(kept, true_present)
    np.testing.assert_allclose(corners[kept], true_boxes[kept], atol=1e-4)
    order = np.argsort(np.asarray(true_classes)[kept])
    np.testing.assert_allclose(np.asarray(true_boxes)[kept][order], centres_to_corners(centres), atol=1e-5)
    assert float(loss) < 1e-3
    assert int(found.valid.sum()) == 3 and sorted(np.asarray(found.classes[:3]).tolist()) == [0, 1, 2]


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="anchors must have shape"):
        encode_targets(jnp.zeros((1, 4)), jnp.zeros(1, int), jnp.ones(1, bool), jnp.zeros((2, 3)), grid_size=3,
                       num_classes=3)
    with pytest.raises(ValueError, match="targets must have the outputs' shape"):
        yolo_loss(jnp.zeros((1, 3, 3, 2, 8)), jnp.zeros((1, 3, 3, 2, 7)), NOTES_ANCHORS)


def test_the_small_yolo_maps_64_pixel_images_to_its_grid():
    model = models.YOLO(num_classes=3, num_anchors=2, widths=(4, 8, 8))
    x = jnp.zeros((2, 64, 64, 3))
    variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x))
    assert jax.eval_shape(lambda v: model.apply(v, x), variables).shape == (2, 8, 8, 2, 8)
    with pytest.raises(ValueError, match="multiple of 8"):
        model.init(jax.random.key(0), jnp.zeros((1, 60, 60, 3)))
