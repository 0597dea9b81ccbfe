"""Non-max suppression against a plain-Python greedy reference (the notes' algorithm, per class) on
random boxes; the notes' thresholds at their edges; fixed-size output under jit and vmap."""

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.detection import batched_non_max_suppression, non_max_suppression
from tests.detection.test_boxes import python_iou, random_boxes


def greedy_reference(boxes, scores, classes, score_threshold, iou_threshold):
    """The notes' loop, per class: discard scores ≤ threshold; take the best; drop its overlaps."""
    kept = []
    for cls in sorted(set(classes.tolist())):
        left = [i for i in range(len(boxes)) if classes[i] == cls and scores[i] > score_threshold]
        while left:
            best = max(left, key=lambda i: scores[i])
            kept.append(best)
            left = [i for i in left if i != best and python_iou(boxes[best], boxes[i]) < iou_threshold]
    return sorted(kept, key=lambda i: -scores[i])


def test_nms_equals_the_greedy_reference_on_random_boxes():
    rng = np.random.default_rng(0)
    images, count = 6, 40
    boxes = np.stack([random_boxes(rng, count) for _ in range(images)])
    scores = rng.uniform(0, 1, (images, count)).astype(np.float32)
    classes = rng.integers(0, 3, (images, count)).astype(np.int32)
    thresholds = [(0.6, 0.5), (0.2, 0.3)]
    run = jax.jit(lambda b, s, c, st, it: batched_non_max_suppression(b, s, c, max_outputs=count, score_threshold=st,
                                                                      iou_threshold=it))
    for score_threshold, iou_threshold in thresholds:           # traced thresholds: one compile
        found = run(boxes, scores, classes, score_threshold, iou_threshold)
        for b in range(images):
            expected = greedy_reference(boxes[b], scores[b], classes[b], score_threshold, iou_threshold)
            valid = np.asarray(found.valid[b])
            assert valid.sum() == len(expected) and valid[:len(expected)].all()
            np.testing.assert_allclose(found.boxes[b][:len(expected)], boxes[b][expected])
            np.testing.assert_allclose(found.scores[b][:len(expected)], scores[b][expected])
            np.testing.assert_array_equal(found.classes[b][:len(expected)], classes[b][expected])
            assert (np.asarray(found.classes[b])[~valid] == -1).all()
    assert run._cache_size() == 1


def test_the_notes_thresholds_at_their_edges_and_a_fixed_size_output():
    boxes = jnp.array([[0.0, 0, 2, 2], [0.0, 0, 2, 1], [0.0, 0, 1.9, 2], [5.0, 5, 6, 6], [0.0, 0, 2, 2]])
    scores = jnp.array([0.9, 0.8, 0.7, 0.6, 0.65])
    classes = jnp.array([0, 0, 1, 0, 1])
    # Box 1 has IoU exactly 0.5 with box 0 (suppressed); box 2 is another class (kept); box 3 has
    # score 0.6, not above the threshold (discarded); box 4 overlaps box 2 of its class (suppressed).
    found = jax.jit(lambda b, s, c: non_max_suppression(b, s, c, max_outputs=3))(boxes, scores, classes)
    np.testing.assert_array_equal(found.valid, [True, True, False])
    np.testing.assert_allclose(found.scores, [0.9, 0.7, 0.0])
    np.testing.assert_array_equal(found.classes, [0, 1, -1])
    only_best = non_max_suppression(boxes, scores, jnp.zeros(5, jnp.int32), max_outputs=1, score_threshold=0.0)
    np.testing.assert_allclose(only_best.boxes, boxes[:1])
