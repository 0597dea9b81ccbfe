"""Classification metrics from logits, and named metrics a training run reports.

Rows are examples. Two kinds of output are recognised by shape (static, so jittable):

- **binary**: logits ``[batch]`` or ``[batch, 1]``; the prediction is ``ŷ = 1[z > 0]``
  (``σ(z) > 0.5``); labels are 0/1 (ints, bools or floats), shape ``[batch]`` or ``[batch, 1]``.
- **multi-class**: logits ``[batch, C]`` with ``C ≥ 2``; the prediction is ``argmax_j z_j``;
  labels are integer classes ``[batch]`` or one-hot rows ``[batch, C]``.

``mask`` (``[batch]``, 1 for a real example, 0 for padding) excludes padded examples. A batch
with no real example (all-zero mask) has accuracy 0 *and* error rate 0: there is nothing to count,
and neither rate reports a result that did not happen.

**Named metrics** (:class:`Metric`) are what a training run reports per epoch and a sweep ranks
by: a name, a goal (``"max"``/``"min"``), the range of values, and a computation by *sufficient
statistics* — sums over the elements of a batch that add up across mini-batches and devices, from
which the value follows (accuracy = Σ correct / Σ weight; F1 = 2TP / (2TP + FP + FN); perplexity =
exp(Σ NLL / Σ weight); mean IoU from per-class intersections and unions). So a metric over a dev
set evaluated in mini-batches equals the metric of the whole set in one pass. Elements are
examples, tokens or pixels: the statistics take ``weights`` of the shape of the elements
(``[B]``, ``[B, T]``, ``[B, H, W]``), and outputs whose shape is ``weights.shape`` (binary logits)
or ``weights.shape + (C,)`` (class logits).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp

from dlcourse.nn.masked_means import guarded_divide, weighted_mean


def is_binary(logits: jax.Array) -> bool:
    """True when ``logits`` are one score per example (``[batch]`` or ``[batch, 1]``)."""
    return logits.ndim == 1 or (logits.ndim == 2 and logits.shape[-1] == 1)


def predicted_classes(logits: jax.Array) -> jax.Array:
    """``1[z > 0]`` for binary logits, ``argmax_j z_j`` for multi-class; int32 ``[batch]``."""
    logits = jnp.asarray(logits)
    if is_binary(logits):
        return (logits.reshape(logits.shape[0]) > 0).astype(jnp.int32)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [batch], [batch, 1] or [batch, classes]; got {logits.shape}")
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def true_classes(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Labels as int32 classes ``[batch]`` (one-hot rows → argmax; binary floats → ``y > 0.5``)."""
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    batch = logits.shape[0]
    if is_binary(logits):
        if labels.size != batch:
            raise ValueError(f"binary labels must have {batch} entries; got shape {labels.shape}")
        labels = labels.reshape(batch)
        if jnp.issubdtype(labels.dtype, jnp.floating):
            return (labels > 0.5).astype(jnp.int32)
        return labels.astype(jnp.int32)
    if labels.shape == logits.shape:
        return jnp.argmax(labels, axis=-1).astype(jnp.int32)
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape {(batch,)} or {logits.shape}; got {labels.shape}")
    return labels.astype(jnp.int32)


def _weights(batch: int, mask: Optional[jax.Array]) -> jax.Array:
    if mask is None:
        return jnp.ones((batch,), jnp.float32)
    mask = jnp.asarray(mask, jnp.float32)
    if mask.shape != (batch,):
        raise ValueError(f"mask must have shape {(batch,)}; got {mask.shape}")
    return mask


def accuracy(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Fraction of (unmasked) examples with ``ŷ = y``; a float32 scalar (0 for an all-zero mask)."""
    correct = (predicted_classes(logits) == true_classes(logits, labels)).astype(jnp.float32)
    return weighted_mean(correct, _weights(correct.shape[0], mask))


def error_rate(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """The fraction of misclassified (unmasked) examples, ``1 − accuracy``; a float32 scalar.

    With an all-zero mask it is 0 (like :func:`accuracy`), not ``1 − 0``.
    """
    wrong = (predicted_classes(logits) != true_classes(logits, labels)).astype(jnp.float32)
    return weighted_mean(wrong, _weights(wrong.shape[0], mask))


def confusion_matrix(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Counts ``M[i, j]`` of examples of true class ``i`` predicted as class ``j``.

    Shape ``[C, C]`` with ``C = 2`` for binary logits, else ``logits.shape[-1]``; float32 so masked
    (weighted) counts are exact sums of weights. The diagonal holds the correct predictions.
    """
    logits = jnp.asarray(logits)
    num_classes = 2 if is_binary(logits) else logits.shape[-1]
    predicted = predicted_classes(logits)
    actual = true_classes(logits, labels)
    weights = _weights(predicted.shape[0], mask)
    flat_index = actual * num_classes + predicted
    counts = jnp.zeros((num_classes * num_classes,), jnp.float32).at[flat_index].add(weights)
    return counts.reshape(num_classes, num_classes)


# --- named metrics -----------------------------------------------------------------------------


class Metric(NamedTuple):
    """A metric a run reports under its own name (``train_<name>``, ``dev_<name>``, ``test_<name>``).

    Attributes:
      name: e.g. ``"accuracy"``; a plain identifier.
      goal: ``"max"`` when larger is better, else ``"min"``.
      low, high: the range of its values (for plots and checks).
      statistics: ``(outputs, targets, weights) -> pytree of sums`` over one batch's elements
        (additive across batches and devices); None for a metric only described here (a
        hand-written ``Trainable`` computes its own rows).
      value: ``statistics -> scalar``.
      fraction: ``"correct"`` when the metric is the fraction of elements predicted right (an
        accuracy), ``"wrong"`` when it is the fraction predicted wrong (an error rate), else None.
        Only such a metric gives the error the course compares with human-level error
        (:meth:`error_rate`).
    """

    name: str
    goal: str
    low: float = -math.inf
    high: float = math.inf
    statistics: Optional[Callable[[Any, Any, jax.Array], Any]] = None
    value: Optional[Callable[[Any], jax.Array]] = None
    fraction: Optional[str] = None

    def error_rate(self, value: float) -> float:
        """The error rate a value of this metric means: ``1 − accuracy`` or the error itself.

        Raises:
          ValueError: the metric is neither (:attr:`fraction` is None).
        """
        if self.fraction == "correct":
            return 1.0 - value
        if self.fraction == "wrong":
            return value
        raise ValueError(f"{self.name} is not an error rate in [0, 1] (nor an accuracy)")


def element_classes(outputs: jax.Array, targets: jax.Array, shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """Predicted and true classes per element, both int32 of ``shape`` (the weights' shape).

    ``outputs`` of ``shape`` (or ``shape + (1,)``) are binary logits (``ŷ = 1[z > 0]``; float
    targets are read as ``y > 0.5``); ``outputs`` of ``shape + (C,)`` are class logits
    (``ŷ = argmax``; targets are classes of ``shape`` or one-hot rows of ``shape + (C,)``).
    """
    outputs, targets = jnp.asarray(outputs), jnp.asarray(targets)
    shape = tuple(shape)
    if outputs.shape == shape or outputs.shape == shape + (1,):
        predicted = (outputs.reshape(shape) > 0).astype(jnp.int32)
        truth = targets.reshape(shape) if targets.size == math.prod(shape) else targets
        if truth.shape != shape:
            raise ValueError(f"binary targets must have shape {shape}; got {targets.shape}")
        truth = (truth > 0.5) if jnp.issubdtype(truth.dtype, jnp.floating) else truth
        return predicted, truth.astype(jnp.int32)
    if outputs.shape[:-1] == shape:
        predicted = jnp.argmax(outputs, axis=-1).astype(jnp.int32)
        if targets.shape == outputs.shape:
            return predicted, jnp.argmax(targets, axis=-1).astype(jnp.int32)
        if targets.shape != shape:
            raise ValueError(f"targets must have shape {shape} (classes) or {outputs.shape} (one-hot); "
                             f"got {targets.shape}")
        return predicted, targets.astype(jnp.int32)
    raise ValueError(f"outputs of shape {outputs.shape} match neither the elements {shape} (binary "
                     f"logits) nor {shape} + (classes,)")


def _rate_statistics(right: bool):
    def statistics(outputs, targets, weights):
        predicted, truth = element_classes(outputs, targets, weights.shape)
        hit = (predicted == truth) if right else (predicted != truth)
        return {"hits": jnp.sum(jnp.where(weights != 0, weights * hit, 0.0)), "count": jnp.sum(weights)}
    return statistics


def _rate_value(stats):
    return guarded_divide(stats["hits"], stats["count"])


ACCURACY = Metric("accuracy", "max", 0.0, 1.0, _rate_statistics(True), _rate_value, fraction="correct")
ERROR = Metric("error", "min", 0.0, 1.0, _rate_statistics(False), _rate_value, fraction="wrong")


def _exact_match_statistics(outputs, targets, weights):
    predicted, truth = element_classes(outputs, targets, weights.shape)
    real = weights != 0
    axes = tuple(range(1, weights.ndim))
    correct = jnp.all(~real | (predicted == truth), axis=axes)
    counted = jnp.any(real, axis=axes)
    return {"hits": jnp.sum(counted & correct).astype(jnp.float32), "count": jnp.sum(counted).astype(jnp.float32)}


#: Fraction of sequences whose every real token is predicted right (logits ``[B, T, C]``, weights
#: ``[B, T]``). On teacher-forced logits it is greedy decoding's exact-match accuracy: every step's
#: argmax equal to ``y⟨t⟩`` means greedy decoding, which feeds back those same argmaxes, writes exactly
#: ``y``, and conversely (decoding as long as the targets, no excluded token ever an argmax).
EXACT_MATCH = Metric("exact_match", "max", 0.0, 1.0, _exact_match_statistics,
                     _rate_value, fraction="correct")


def _confusion_statistics(outputs, targets, weights):
    predicted, truth = element_classes(outputs, targets, weights.shape)
    positive, actual = predicted == 1, truth == 1
    total = lambda condition: jnp.sum(jnp.where(weights != 0, weights * condition, 0.0))  # noqa: E731
    return {"true_positives": total(positive & actual), "false_positives": total(positive & ~actual),
            "false_negatives": total(~positive & actual)}


def _f1_value(stats):
    tp = stats["true_positives"]
    return guarded_divide(2 * tp, 2 * tp + stats["false_positives"] + stats["false_negatives"])


#: F1 of the positive class (1) of a binary task: ``2PR / (P + R) = 2TP / (2TP + FP + FN)``;
#: 0 when there is no positive prediction nor positive example.
F1 = Metric("f1", "max", 0.0, 1.0, _confusion_statistics, _f1_value)
#: Precision ``TP / (TP + FP)`` of the positive class (1) of a binary task; 0 without positive predictions.
PRECISION = Metric("precision", "max", 0.0, 1.0, _confusion_statistics,
                   lambda s: guarded_divide(s["true_positives"], s["true_positives"] + s["false_positives"]))
#: Recall ``TP / (TP + FN)`` of the positive class (1) of a binary task; 0 without positive examples.
RECALL = Metric("recall", "max", 0.0, 1.0, _confusion_statistics,
                lambda s: guarded_divide(s["true_positives"], s["true_positives"] + s["false_negatives"]))


def _perplexity_statistics(outputs, targets, weights):
    log_probs = jax.nn.log_softmax(jnp.asarray(outputs, jnp.float32), axis=-1)
    targets = jnp.asarray(targets)
    if targets.shape == log_probs.shape:
        nll = -jnp.sum(targets * log_probs, axis=-1)
    else:
        nll = -jnp.take_along_axis(log_probs, targets.astype(jnp.int32)[..., None], axis=-1)[..., 0]
    return {"nll": jnp.sum(jnp.where(weights != 0, weights * nll, 0.0)), "count": jnp.sum(weights)}


#: Perplexity ``exp((1/Σw) Σ w_t (−log P(y⟨t⟩)))`` of class (token) logits ``[..., C]``.
PERPLEXITY = Metric("perplexity", "min", 1.0, math.inf, _perplexity_statistics,
                    lambda stats: jnp.exp(guarded_divide(stats["nll"], stats["count"])))


def mean_iou(num_classes: int) -> Metric:
    """Mean intersection over union of ``num_classes`` classes (segmentation): per class ``c``,
    ``IoU_c = |ŷ = c ∧ y = c| / |ŷ = c ∨ y = c|`` over the weighted elements of the whole set, then the
    mean over the classes that occur (union > 0)."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"mean_iou needs an int num_classes >= 2, got {num_classes!r}")

    def statistics(outputs, targets, weights):
        predicted, truth = element_classes(outputs, targets, weights.shape)
        classes = jnp.arange(num_classes)
        w = weights[..., None]
        is_predicted, is_true = predicted[..., None] == classes, truth[..., None] == classes
        axes = tuple(range(weights.ndim))
        total = lambda condition: jnp.sum(jnp.where(w != 0, w * condition, 0.0), axis=axes)  # noqa: E731
        return {"intersection": total(is_predicted & is_true), "union": total(is_predicted | is_true)}

    def value(stats):
        present = stats["union"] > 0
        iou = guarded_divide(stats["intersection"], stats["union"])
        return guarded_divide(jnp.sum(jnp.where(present, iou, 0.0)), jnp.sum(present))

    return Metric("mean_iou", "max", 0.0, 1.0, statistics, value)


#: The metrics known by name (``mean_iou`` needs a class count: call :func:`mean_iou`).
METRICS = {m.name: m for m in (ACCURACY, ERROR, EXACT_MATCH, F1, PRECISION, RECALL, PERPLEXITY)}


def metric(name_or_metric: "str | Metric") -> Metric:
    """The :class:`Metric` of a name in :data:`METRICS` (a ``Metric`` passes through)."""
    if isinstance(name_or_metric, Metric):
        return name_or_metric
    if name_or_metric not in METRICS:
        raise ValueError(f"unknown metric {name_or_metric!r}; known: {', '.join(METRICS)} "
                         f"(and mean_iou(num_classes))")
    return METRICS[name_or_metric]


def per_class_iou(predicted: jax.Array, truth: jax.Array, num_classes: int,
                  weights: Optional[jax.Array] = None) -> jax.Array:
    """``IoU_c = Σ w·1[ŷ = c ∧ y = c] / Σ w·1[ŷ = c ∨ y = c]`` for ``c = 0 … num_classes − 1``.

    ``predicted``, ``truth``: integer class maps of one shape (e.g. ``[B, H, W]``); ``weights``:
    per-pixel weights of that shape (0 leaves a pixel out; e.g. :func:`dlcourse.losses.ignore_mask`),
    default 1. Returns float32 ``[num_classes]``, NaN for a class neither predicted nor present
    (union 0); the mean IoU is ``nanmean`` of it (what :func:`mean_iou` reports).
    """
    predicted, truth = jnp.asarray(predicted), jnp.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted and true class maps must have one shape; got {predicted.shape} and "
                         f"{truth.shape}")
    weights = jnp.ones(truth.shape, jnp.float32) if weights is None else jnp.asarray(weights, jnp.float32)
    if weights.shape != truth.shape:
        raise ValueError(f"weights must have the class maps' shape {truth.shape}; got {weights.shape}")
    classes = jnp.arange(num_classes)
    w = weights[..., None]
    is_predicted, is_true = predicted[..., None] == classes, truth[..., None] == classes
    axes = tuple(range(truth.ndim))
    intersection = jnp.sum(jnp.where(w != 0, w * (is_predicted & is_true), 0.0), axis=axes)
    union = jnp.sum(jnp.where(w != 0, w * (is_predicted | is_true), 0.0), axis=axes)
    return jnp.where(union > 0, intersection / jnp.where(union > 0, union, 1.0), jnp.nan)


def class_iou(num_classes: int, class_index: int, name: Optional[str] = None) -> Metric:
    """The IoU of one class as a named metric ``iou_<name>`` (default ``iou_<class_index>``), from
    the same statistics as :func:`mean_iou`; 0 when the class is neither predicted nor present."""
    if not isinstance(class_index, int) or not 0 <= class_index < num_classes:
        raise ValueError(f"class_index must be an int in [0, {num_classes}); got {class_index!r}")
    whole = mean_iou(num_classes)

    def value(stats):
        return guarded_divide(stats["intersection"][class_index], stats["union"][class_index])

    return Metric(f"iou_{class_index if name is None else name}", "max", 0.0, 1.0, whole.statistics, value)
