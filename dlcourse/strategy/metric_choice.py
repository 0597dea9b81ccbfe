"""Evaluation metrics for deciding between models: one number, or one optimizing + N−1 satisficing.

Precision, recall, F1 and the weighted error are JAX functions (jittable, usable inside a sweep);
the selection helpers work on a small host-side table of candidate classifiers.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

__all__ = [
    "precision",
    "recall",
    "f1_score",
    "single_number_metric",
    "Satisficing",
    "Selection",
    "select_optimizing_satisficing",
    "combined_cost",
    "weighted_error",
]


def _check_same_shape(labels, predictions):
    if jnp.shape(labels) != jnp.shape(predictions):
        raise ValueError(
            f"labels and predictions must have the same shape, got {jnp.shape(labels)} "
            f"and {jnp.shape(predictions)}"
        )


def _positive_counts(labels, predictions, positive_label):
    _check_same_shape(labels, predictions)
    actual = jnp.asarray(labels) == positive_label
    predicted = jnp.asarray(predictions) == positive_label
    true_positives = jnp.sum(actual & predicted)
    return true_positives, jnp.sum(predicted), jnp.sum(actual)


def _safe_ratio(numerator, denominator):
    denominator = jnp.asarray(denominator, jnp.float32)
    return jnp.where(denominator > 0, numerator / jnp.maximum(denominator, 1.0), 0.0)


def precision(labels, predictions, positive_label=1):
    """Precision = true positives / predicted positives.

    "Of the examples recognised as cats, what fraction are cats?" ``labels`` and ``predictions``
    are class labels of the same shape. 0 when nothing is predicted positive.
    """
    true_positives, predicted_positives, _ = _positive_counts(labels, predictions, positive_label)
    return _safe_ratio(true_positives, predicted_positives)


def recall(labels, predictions, positive_label=1):
    """Recall = true positives / actual positives.

    "Of the actual cats, what fraction were recognised?" 0 when there is no actual positive.
    """
    true_positives, _, actual_positives = _positive_counts(labels, predictions, positive_label)
    return _safe_ratio(true_positives, actual_positives)


def f1_score(labels, predictions, positive_label=1):
    """F1 = 2 / (1/P + 1/R) = 2PR / (P + R), the harmonic mean of precision P and recall R.

    The course's single number evaluation metric that replaces the (P, R) pair. Computed as
    2·TP / (predicted positives + actual positives), which equals 2PR/(P+R) and is 0 when both
    counts are 0.
    """
    true_positives, predicted_positives, actual_positives = _positive_counts(
        labels, predictions, positive_label
    )
    return _safe_ratio(2.0 * true_positives, predicted_positives + actual_positives)


def single_number_metric(metric_values, weights=None):
    """Collapse several values of one metric into one number: the (weighted) mean over the last axis.

    The course's example: errors of each classifier on US, China, India and Other users, averaged
    to rank the classifiers. ``metric_values`` has shape (..., k); ``weights`` (k,) nonnegative,
    e.g. each region's share of users. Returns shape (...).
    """
    values = jnp.asarray(metric_values, jnp.float32)
    if values.ndim == 0:
        raise ValueError("metric_values must have at least one axis (the metrics to combine)")
    if weights is None:
        return jnp.mean(values, axis=-1)
    weights = jnp.asarray(weights, jnp.float32)
    if weights.shape != values.shape[-1:]:
        raise ValueError(f"weights must have shape {values.shape[-1:]}, got {weights.shape}")
    return jnp.sum(values * weights, axis=-1) / jnp.sum(weights)


class Satisficing(NamedTuple):
    """A satisficing metric: good enough once ``values`` is ≤ ``limit`` (or ≥ when ``at_least``)."""

    name: str
    values: Sequence[float]
    limit: float
    at_least: bool = False


class Selection(NamedTuple):
    """Result of :func:`select_optimizing_satisficing`.

    ``index`` is the chosen candidate, or None when no candidate meets every satisficing metric;
    ``feasible`` is the boolean mask of candidates meeting all of them.
    """

    index: int | None
    feasible: np.ndarray


def select_optimizing_satisficing(
    optimizing: Sequence[float],
    satisficing: Sequence[Satisficing] = (),
    *,
    maximize: bool = True,
) -> Selection:
    """Choose among N candidates with 1 optimizing metric and N−1 satisficing ones.

    Among candidates whose satisficing metrics all meet their limits, pick the best optimizing
    value (argmax, or argmin when ``maximize=False``; first on ties). The course's example:
    maximize accuracy subject to running time ≤ 100 ms over A (90%, 80 ms), B (92%, 95 ms),
    C (95%, 1,500 ms) picks B.
    """
    optimizing = np.asarray(optimizing, dtype=np.float64)
    if optimizing.ndim != 1 or optimizing.size == 0:
        raise ValueError(f"optimizing must be a non-empty 1-D sequence, got shape {optimizing.shape}")
    feasible = np.ones(optimizing.shape, dtype=bool)
    for constraint in satisficing:
        values = np.asarray(constraint.values, dtype=np.float64)
        if values.shape != optimizing.shape:
            raise ValueError(
                f"satisficing metric {constraint.name!r} has shape {values.shape}, "
                f"expected {optimizing.shape}"
            )
        feasible &= values >= constraint.limit if constraint.at_least else values <= constraint.limit
    if not feasible.any():
        return Selection(index=None, feasible=feasible)
    score = optimizing if maximize else -optimizing
    index = int(np.argmax(np.where(feasible, score, -np.inf)))
    return Selection(index=index, feasible=feasible)


def combined_cost(accuracy, running_time, time_weight=0.5):
    """The course's combined metric: cost = accuracy − 0.5 × running time (higher is better).

    The notes give no unit, and the winner depends on it: with accuracy as a fraction and time in
    seconds the course's table ranks B first; with accuracy in percent and time in milliseconds it
    ranks A first. Pass both in the units you mean; ``time_weight`` is the 0.5.
    """
    accuracy = jnp.asarray(accuracy, jnp.float32)
    running_time = jnp.asarray(running_time, jnp.float32)
    if accuracy.shape != running_time.shape:
        raise ValueError(
            f"accuracy and running_time must have the same shape, got {accuracy.shape} "
            f"and {running_time.shape}"
        )
    return accuracy - time_weight * running_time


def weighted_error(labels, predictions, weights):
    """Error = (1 / Σᵢ w⁽ⁱ⁾) Σᵢ w⁽ⁱ⁾ · 1[ŷ⁽ⁱ⁾ ≠ y⁽ⁱ⁾].

    Changes the metric when some mistakes matter more, e.g. ``w = 10`` for pornographic images
    and 1 otherwise. ``weights`` has the shape of ``labels``; a zero total weight gives NaN.
    """
    _check_same_shape(labels, predictions)
    weights = jnp.asarray(weights, jnp.float32)
    if weights.shape != jnp.shape(labels):
        raise ValueError(f"weights must have shape {jnp.shape(labels)}, got {weights.shape}")
    mistakes = (jnp.asarray(labels) != jnp.asarray(predictions)).astype(jnp.float32)
    return jnp.sum(weights * mistakes) / jnp.sum(weights)
