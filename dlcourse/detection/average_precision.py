"""Mean average precision (mAP) at an IoU threshold, PASCAL VOC 2010 style, written here.

**Matching** (per image, :func:`match_detections`): detections are taken in decreasing score;
each is compared with the ground-truth boxes of its class; it is a *true positive* when the one of
highest IoU has ``IoU ≥ iou_threshold`` (0.5: "mAP@0.5") and was not matched before, else a
*false positive* (a duplicate of a matched object is a false positive; it does not fall back to
the next-best box). Ground truths never matched are misses.

**Average precision of one class** (:func:`class_average_precision`): all its detections over the whole
set, sorted by decreasing score; after the ``k``-th, precision ``P_k = TP_k / k`` and recall
``R_k = TP_k / n_gt``. The precision envelope ``P̃_k = max_{k′ ≥ k} P_{k′}`` makes the curve
monotone, and ``AP = Σ_k (R_k − R_{k−1}) P̃_k`` (``R_0 = 0``): the area under the interpolated
precision/recall curve at *all* points — VOC 2010 onwards (VOC 2007's 11-point average is not
used). **mAP** is the mean of AP over the classes that have at least one ground truth.

**Additive form** (:func:`average_precision_statistics`, :func:`mean_average_precision_metric`):
AP needs the detections of the whole set sorted together, which is not a sum over mini-batches.
Rounding each score down to one of ``bins`` levels (``⌊score · bins⌋``) makes it one: per class,
histograms of true and false positives over the levels, and the number of ground truths, add up
across batches and devices; the precision/recall points are then taken at the levels, from the
top down. This equals the exact AP when no level holds both a true and a false positive of the
same class (only then can the order inside a level matter); with 1000 levels the difference is
small. It makes mAP a :class:`dlcourse.metrics.Metric` a training run reports every epoch and a
sweep ranks by.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from dlcourse.detection.boxes import pairwise_iou
from dlcourse.detection.suppression import Detections
from dlcourse.metrics import Metric
from dlcourse.nn.masked_means import guarded_divide

#: "Correct" if IoU ≥ 0.5 (the notes' "Evaluating object localization"): mAP@0.5.
MATCH_IOU = 0.5
#: Score levels of the additive form.
SCORE_BINS = 1000


def match_detections(detections: Detections, true_boxes: jax.Array, true_classes: jax.Array,
                     true_present: jax.Array, *, iou_threshold: float = MATCH_IOU) -> jax.Array:
    """Which detections of one image are true positives (module docstring's matching).

    Args:
      detections: :class:`Detections` of one image (``[M, ...]``).
      true_boxes: ``[K, 4]`` ground-truth corner boxes; ``true_classes`` int ``[K]``;
        ``true_present`` bool ``[K]``.
      iou_threshold: the least IoU of a match.

    Returns:
      bool ``[M]``: true positive (False for an invalid detection and for a false positive).
    """
    overlaps = pairwise_iou(detections.boxes, true_boxes)                     # [M, K]
    same = (detections.classes[:, None] == true_classes[None, :]) & jnp.asarray(true_present, bool)[None, :]
    overlaps = jnp.where(same, overlaps, -1.0)
    order = jnp.argsort(-jnp.where(detections.valid, detections.scores, -jnp.inf), stable=True)

    def take(matched, index):
        best = jnp.argmax(overlaps[index])
        hit = detections.valid[index] & (overlaps[index, best] >= iou_threshold) & ~matched[best]
        return matched.at[best].set(matched[best] | hit), hit

    _, hits = jax.lax.scan(take, jnp.zeros(true_boxes.shape[:1], bool), order)
    return jnp.zeros_like(hits).at[order].set(hits)


def class_average_precision(scores: jax.Array, true_positive: jax.Array, valid: jax.Array,
                      num_ground_truths: jax.Array) -> jax.Array:
    """AP of one class from all its detections (module docstring): ``scores``, ``true_positive``
    and ``valid`` ``[D]`` (invalid rows are left out); 0 when there is no ground truth."""
    scores = jnp.asarray(scores, jnp.float32)
    valid = jnp.asarray(valid, bool)
    order = jnp.argsort(-jnp.where(valid, scores, -jnp.inf), stable=True)
    hit = (jnp.asarray(true_positive, bool) & valid)[order].astype(jnp.float32)
    counted = valid[order].astype(jnp.float32)
    return _area(jnp.cumsum(hit), jnp.cumsum(counted - hit), counted, num_ground_truths)


def _area(true_positives: jax.Array, false_positives: jax.Array, steps: jax.Array,
          num_ground_truths: jax.Array) -> jax.Array:
    """``Σ_k (R_k − R_{k−1}) P̃_k`` over the points where ``steps > 0`` (cumulative counts along
    the last axis, best scores first)."""
    precision = guarded_divide(true_positives, true_positives + false_positives)
    envelope = jax.lax.cummax(jnp.where(steps > 0, precision, 0.0), axis=precision.ndim - 1, reverse=True)
    recall = guarded_divide(true_positives, jnp.asarray(num_ground_truths, jnp.float32)[..., None])
    gained = jnp.diff(recall, axis=-1, prepend=0.0)
    return jnp.sum(gained * envelope, axis=-1)


def mean_average_precision(detections: Detections, true_boxes: jax.Array, true_classes: jax.Array,
                           true_present: jax.Array, *, num_classes: int, iou_threshold: float = MATCH_IOU
                           ) -> tuple[jax.Array, jax.Array]:
    """mAP of a set of images, exactly (every detection of the set sorted together).

    Args:
      detections: :class:`Detections` ``[m, M, ...]``.
      true_boxes, true_classes, true_present: ``[m, K, 4]``, ``[m, K]``, ``[m, K]``.
      num_classes: ``C``.
      iou_threshold: the least IoU of a match.

    Returns:
      ``(mAP, AP per class [C])``; the mean is over the classes with a ground truth (NaN for a
      class without one).
    """
    hits = jax.vmap(lambda d, b, c, p: match_detections(d, b, c, p, iou_threshold=iou_threshold))(
        detections, true_boxes, true_classes, true_present)
    scores, hits, valid, classes = (a.reshape(-1) for a in (detections.scores, hits, detections.valid,
                                                             detections.classes))
    present = jnp.asarray(true_present, bool)
    per_class = []
    for c in range(num_classes):
        count = jnp.sum(present & (jnp.asarray(true_classes) == c))
        per_class.append(jnp.where(count > 0, class_average_precision(scores, hits, valid & (classes == c), count),
                                   jnp.nan))
    per_class = jnp.stack(per_class)
    has_truth = ~jnp.isnan(per_class)
    return guarded_divide(jnp.sum(jnp.where(has_truth, per_class, 0.0)), jnp.sum(has_truth)), per_class


def average_precision_statistics(detections: Detections, true_boxes: jax.Array, true_classes: jax.Array,
                                 true_present: jax.Array, weights: jax.Array, *, num_classes: int,
                                 iou_threshold: float = MATCH_IOU, bins: int = SCORE_BINS) -> dict:
    """The additive statistics of mAP over a batch (module docstring): ``true_positives`` and
    ``false_positives`` ``[C, bins]`` (counts per score level), ``ground_truths`` ``[C]``; images
    of weight 0 (padding) count for nothing. Inputs as :func:`mean_average_precision`, plus
    ``weights [m]``."""
    hits = jax.vmap(lambda d, b, c, p: match_detections(d, b, c, p, iou_threshold=iou_threshold))(
        detections, true_boxes, true_classes, true_present)
    weights = jnp.asarray(weights, jnp.float32)
    counted = detections.valid & (weights[:, None] > 0)
    level = jnp.clip(jnp.floor(detections.scores * bins), 0, bins - 1).astype(jnp.int32)
    flat = jnp.where(counted, jnp.clip(detections.classes, 0) * bins + level, num_classes * bins).reshape(-1)
    weight = jnp.broadcast_to(weights[:, None], hits.shape).reshape(-1)

    def histogram(selected):
        counts = jnp.zeros((num_classes * bins,), jnp.float32).at[flat].add(
            jnp.where(selected.reshape(-1), weight, 0.0), mode="drop")
        return counts.reshape(num_classes, bins)

    truth = jnp.asarray(true_present, bool) & (weights[:, None] > 0)
    ground_truths = jnp.sum(jnp.where(truth[..., None], weights[:, None, None], 0.0)
                            * jax.nn.one_hot(true_classes, num_classes), axis=(0, 1))
    return {"true_positives": histogram(hits), "false_positives": histogram(counted & ~hits),
            "ground_truths": ground_truths}


def mean_average_precision_from_statistics(statistics: dict) -> jax.Array:
    """mAP from summed :func:`average_precision_statistics` (precision/recall points at the score
    levels, top down; the mean over classes with a ground truth)."""
    true_positives = jnp.cumsum(jnp.flip(statistics["true_positives"], -1), axis=-1)
    false_positives = jnp.cumsum(jnp.flip(statistics["false_positives"], -1), axis=-1)
    steps = jnp.flip(statistics["true_positives"] + statistics["false_positives"], -1)
    ground_truths = statistics["ground_truths"]
    per_class = _area(true_positives, false_positives, steps, ground_truths)
    has_truth = ground_truths > 0
    return guarded_divide(jnp.sum(jnp.where(has_truth, per_class, 0.0)), jnp.sum(has_truth))


def mean_average_precision_metric(detect: Callable[[jax.Array], Detections], *, num_classes: int,
                                  iou_threshold: float = MATCH_IOU, bins: int = SCORE_BINS,
                                  name: str = "map") -> Metric:
    """mAP@``iou_threshold`` as a named :class:`dlcourse.metrics.Metric` (additive form).

    Args:
      detect: ``outputs [B, ...] -> Detections [B, M, ...]`` (e.g. :func:`dlcourse.detection.detect`
        with its anchors and thresholds bound).
      num_classes: ``C``.
      iou_threshold, bins: see the module docstring.
      name: the metric's name (``dev_map``, ``test_map``).

    The targets the metric reads are a dict with ``'boxes'`` ``[B, K, 4]`` (corners),
    ``'classes'`` ``[B, K]`` and ``'present'`` ``[B, K]``; the weights are per example ``[B]``.
    """
    def statistics(outputs, targets, weights):
        return average_precision_statistics(detect(outputs), targets["boxes"], targets["classes"],
                                            targets["present"], weights, num_classes=num_classes,
                                            iou_threshold=iou_threshold, bins=bins)

    return Metric(name, "max", 0.0, 1.0, statistics, mean_average_precision_from_statistics)
