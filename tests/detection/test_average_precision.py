"""mAP@0.5: a hand-worked case (duplicates, misses, a wrong place and two classes), AP against the
VOC devkit's formulation written in NumPy, and the additive (binned) form against the exact one."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.detection import (
    Detections,
    average_precision_statistics,
    class_average_precision,
    mean_average_precision,
    mean_average_precision_from_statistics,
)
from tests.detection.test_boxes import random_boxes

#: One compiled program for the cases of these shapes (2 images, 4 detections, 3 objects, 3 classes).
exact_map = jax.jit(functools.partial(mean_average_precision, num_classes=3))


def hand_worked_case():
    A, B = [0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.7, 0.7]
    C, D, E = [0.1, 0.1, 0.3, 0.3], [0.6, 0.6, 0.9, 0.9], [0.0, 0.0, 0.5, 0.5]
    true_boxes = jnp.array([[A, B, [0.0] * 4], [C, D, E]])
    true_classes = jnp.array([[0, 0, -1], [0, 0, 1]])
    true_present = jnp.array([[True, True, False], [True, True, True]])
    detections = Detections(
        boxes=jnp.array([[[0.52, 0.5, 0.72, 0.7], A, [0.01, 0.01, 0.21, 0.21], [0.0] * 4],
                         [C, [0.4, 0.0, 0.5, 0.1], E, [0.6, 0.6, 0.75, 0.75]]]),
        scores=jnp.array([[0.5, 0.9, 0.8, 0.0], [0.7, 0.6, 0.3, 0.2]]),
        classes=jnp.array([[0, 0, 0, -1], [0, 0, 1, 0]]),
        valid=jnp.array([[True, True, True, False], [True, True, True, True]]))
    return detections, true_boxes, true_classes, true_present


def test_map_of_the_hand_worked_case():
    # Class 0, by score: 0.9 A (TP), 0.8 A again (duplicate: FP), 0.7 C (TP), 0.6 nowhere (FP),
    # 0.5 B shifted, IoU 0.82 (TP), 0.2 D shrunk, IoU 0.25 (FP); 4 objects, D missed.
    # Precision 1, 1/2, 2/3, 1/2, 3/5, 1/2 at recall 1/4, 1/4, 1/2, 1/2, 3/4, 3/4; the envelope gives
    # AP = 1/4 · 1 + 1/4 · 2/3 + 1/4 · 3/5 = 17/30. Class 1: its one object found first, AP = 1.
    value, per_class = exact_map(*hand_worked_case())
    np.testing.assert_allclose(per_class[:2], [17 / 30, 1.0], rtol=1e-6)
    assert np.isnan(per_class[2])                        # class 2 has no object: left out of the mean
    assert float(value) == pytest.approx((17 / 30 + 1.0) / 2, rel=1e-6)


def voc_devkit_ap(scores, hits, num_truths):
    """PASCAL VOC 2010+ (devkit ``VOCap``): sentinels, the precision envelope, the sum over recall steps."""
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = np.concatenate([[0.0], tp / num_truths, [1.0]])
    precision = np.concatenate([[0.0], tp / np.maximum(tp + fp, 1), [0.0]])
    for i in range(len(precision) - 2, -1, -1):
        precision[i] = max(precision[i], precision[i + 1])
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def test_average_precision_equals_the_voc_devkit_formulation():
    rng = np.random.default_rng(0)
    compute = jax.jit(class_average_precision)
    for trial in range(5):
        count = 30
        scores = rng.permutation(count).astype(np.float32) / count      # distinct scores
        hits = rng.uniform(size=count) < 0.5
        valid = rng.uniform(size=count) < 0.8
        num_truths = int(hits[valid].sum()) + trial                      # some objects never found
        expected = voc_devkit_ap(scores[valid], hits[valid], num_truths)
        assert float(compute(scores, hits, valid, num_truths)) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_the_additive_form_sums_over_batches_and_equals_the_exact_map_on_distinct_levels():
    rng = np.random.default_rng(1)
    m, count, objects, classes = 6, 8, 3, 2
    true_boxes = np.stack([random_boxes(rng, objects) for _ in range(m)])
    true_classes = rng.integers(0, classes, (m, objects))
    true_present = rng.uniform(size=(m, objects)) < 0.8
    # Detections: some near the objects (true or duplicate), some anywhere; scores on distinct levels.
    near = true_boxes[:, rng.integers(0, objects, count)] + rng.normal(0, 0.03, (m, count, 4))
    boxes = np.where(rng.uniform(size=(m, count, 1)) < 0.7, near, np.stack([random_boxes(rng, count)
                                                                              for _ in range(m)]))
    levels = rng.permutation(1000)[:m * count].reshape(m, count)
    detections = Detections(jnp.asarray(boxes, jnp.float32), jnp.asarray((levels + 0.5) / 1000, jnp.float32),
                            jnp.asarray(rng.integers(0, classes, (m, count))),
                            jnp.asarray(rng.uniform(size=(m, count)) < 0.9))

    statistics = jax.jit(functools.partial(average_precision_statistics, num_classes=classes))
    exact = jax.jit(functools.partial(mean_average_precision, num_classes=classes))
    first, second = (jax.tree.map(lambda a: a[rows], (detections, true_boxes, true_classes, true_present))
                     for rows in (slice(0, 3), slice(3, m)))
    whole = jax.tree.map(jnp.add, statistics(*first, jnp.ones(3)), statistics(*second, jnp.ones(3)))
    binned, exact_value = mean_average_precision_from_statistics(whole), exact(detections, true_boxes, true_classes,
                                                                               true_present)[0]
    assert 0.0 < float(exact_value) < 1.0                # a mix of hits and misses
    assert float(binned) == pytest.approx(float(exact_value), rel=1e-5)
    # The last image as padding (weight 0) counts as if it were not there: no detection, no object.
    padded = jax.tree.map(jnp.add, statistics(*first, jnp.ones(3)), statistics(*second, jnp.array([1.0, 1.0, 0.0])))
    emptied = detections._replace(valid=detections.valid.at[-1].set(False))
    without_last = exact(emptied, true_boxes, true_classes, jnp.asarray(true_present).at[-1].set(False))[0]
    assert float(mean_average_precision_from_statistics(padded)) == pytest.approx(float(without_last), rel=1e-5)


def test_finding_every_object_exactly_gives_map_one():
    _, true_boxes, true_classes, true_present = hand_worked_case()
    scores = jnp.array([[0.3, 0.9, 0.0, 0.0], [0.5, 0.2, 0.8, 0.0]])
    pad = lambda a, value: jnp.concatenate([a, jnp.full(a.shape[:1] + (1,) + a.shape[2:], value, a.dtype)], 1)  # noqa: E731
    detections = Detections(pad(true_boxes, 0.0), scores, pad(true_classes, -1), pad(true_present, False))
    value, per_class = exact_map(detections, true_boxes, true_classes, true_present)
    assert float(value) == pytest.approx(1.0)
    np.testing.assert_allclose(per_class[:2], 1.0)
