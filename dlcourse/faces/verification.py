"""One-shot verification by a distance threshold: ROC curve, equal-error rate, accuracy.

"Is this the claimed person?" is answered by comparing one stored image with the new one:
``d(x_1, x_2) ≤ τ`` says "same", otherwise "different". ``d`` is any dissimilarity (smaller =
more alike): the squared distance of the embeddings ``‖f(x_1) − f(x_2)‖²``, or ``−z`` for the logit
``z`` of the binary similarity head. Given pairs with distances ``d [n]`` and truths ``same [n]``
(1 same, 0 different; ``P`` same pairs, ``N`` different ones):

- ``TPR(τ) = #{same, d ≤ τ} / P`` and ``FPR(τ) = #{different, d ≤ τ} / N``; the ROC curve is
  ``(FPR, TPR)`` as ``τ`` grows, from (0, 0) (accept nothing) to (1, 1) (accept everything);
- the area under it, ``AUC`` (trapezoids): the probability that a random same pair is closer
  than a random different one, ties counting ½ — as :func:`sklearn.metrics.roc_auc_score` of the
  scores ``−d``;
- the equal-error rate, where the false-accept rate equals the false-reject rate,
  ``FPR = 1 − TPR``: interpolated linearly between the two consecutive ROC points where
  ``FPR + TPR − 1`` changes sign;
- the verification accuracy at ``τ``: the fraction of pairs where ``1[d ≤ τ] = same``.

``τ`` is chosen on dev pairs (maximizing the accuracy there; :func:`best_threshold`) and used
unchanged on test pairs. Everything is jittable: fixed shapes, ties handled by counting each tie
group whole (a curve of ``n + 1`` points whose tied points repeat).
"""

from __future__ import annotations

import os
from typing import Mapping, NamedTuple

import jax
import jax.numpy as jnp

from dlcourse.nn.masked_means import guarded_divide


class RocCurve(NamedTuple):
    """``n + 1`` points of the ROC curve, thresholds ascending (a tie group's points repeat).

    Attributes:
      thresholds: ``[n + 1]``: ``−inf`` (accept nothing), then the sorted distances.
      false_positive_rate, true_positive_rate: ``[n + 1]``, non-decreasing from 0 to 1.
    """

    thresholds: jax.Array
    false_positive_rate: jax.Array
    true_positive_rate: jax.Array


def pair_distances(first: jax.Array, second: jax.Array) -> jax.Array:
    """``‖f_i − f_j‖²`` row by row of two ``[n, d]`` arrays of embeddings; ``[n]``."""
    return jnp.sum((first - second) ** 2, axis=-1)


def _check_pairs(distances, same) -> tuple[jax.Array, jax.Array]:
    distances, same = jnp.asarray(distances, jnp.float32), jnp.asarray(same)
    if distances.ndim != 1 or same.shape != distances.shape:
        raise ValueError(f"distances and same must be vectors [n] of one length; got shapes {distances.shape} "
                         f"and {same.shape}")
    if distances.shape[0] < 1:
        raise ValueError("need at least one pair")
    return distances, same.astype(jnp.float32) > 0.5


def _cumulative_counts(distances, same):
    """Sorted distances and, for each position, ``#same`` and ``#different`` with ``d ≤`` it (whole ties)."""
    order = jnp.argsort(distances, stable=True)
    sorted_distances, sorted_same = distances[order], same[order].astype(jnp.float32)
    group_end = jnp.searchsorted(sorted_distances, sorted_distances, side="right") - 1
    true_positives = jnp.cumsum(sorted_same)[group_end]
    false_positives = jnp.cumsum(1.0 - sorted_same)[group_end]
    return sorted_distances, group_end, true_positives, false_positives, jnp.sum(sorted_same)


def roc_curve(distances: jax.Array, same: jax.Array) -> RocCurve:
    """The ROC curve of "same iff ``d ≤ τ``" over every threshold (see the module docstring).

    With no same pair (``P = 0``) the TPR is 0 throughout, with no different pair the FPR.
    """
    distances, same = _check_pairs(distances, same)
    sorted_distances, _, true_positives, false_positives, positives = _cumulative_counts(distances, same)
    negatives = distances.shape[0] - positives
    zero = jnp.zeros((1,), jnp.float32)
    return RocCurve(jnp.concatenate([jnp.full((1,), -jnp.inf), sorted_distances]),
                    jnp.concatenate([zero, guarded_divide(false_positives, negatives)]),
                    jnp.concatenate([zero, guarded_divide(true_positives, positives)]))


def roc_auc(curve: RocCurve) -> jax.Array:
    """The area under the ROC curve by trapezoids, ``Σ (FPR_k − FPR_{k−1}) (TPR_k + TPR_{k−1}) / 2``."""
    fpr, tpr = curve.false_positive_rate, curve.true_positive_rate
    return jnp.sum(jnp.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)


class EqualErrorRate(NamedTuple):
    """The equal-error point: ``rate`` (FPR = FNR there) and the interpolated ``threshold``."""

    rate: jax.Array
    threshold: jax.Array


def equal_error_rate(curve: RocCurve) -> EqualErrorRate:
    """The rate where ``FPR = 1 − TPR`` (false accepts = false rejects), linearly interpolated
    between the consecutive ROC points ``k − 1``, ``k`` where ``g = FPR + TPR − 1`` first becomes
    ``≥ 0``: ``t = −g_{k−1} / (g_k − g_{k−1})``, ``EER = FPR_{k−1} + t (FPR_k − FPR_{k−1})``, and the
    threshold likewise between the two points' thresholds (the first finite one when ``k = 1``)."""
    fpr, tpr, thresholds = curve.false_positive_rate, curve.true_positive_rate, curve.thresholds
    gap = fpr + tpr - 1.0
    k = jnp.maximum(jnp.argmax(gap >= 0), 1)
    before, after = gap[k - 1], gap[k]
    t = guarded_divide(-before, after - before)
    rate = fpr[k - 1] + t * (fpr[k] - fpr[k - 1])
    low = jnp.where(jnp.isfinite(thresholds[k - 1]), thresholds[k - 1], thresholds[k])
    return EqualErrorRate(rate, low + t * (thresholds[k] - low))


def verification_accuracy(distances: jax.Array, same: jax.Array, threshold) -> jax.Array:
    """The fraction of pairs where ``1[d ≤ τ]`` equals ``same``."""
    distances, same = _check_pairs(distances, same)
    return jnp.mean(((distances <= threshold) == same).astype(jnp.float32))


class Threshold(NamedTuple):
    """A threshold ``τ`` and the accuracy it gives on the pairs it was chosen on."""

    threshold: jax.Array
    accuracy: jax.Array


def best_threshold(distances: jax.Array, same: jax.Array) -> Threshold:
    """The ``τ`` of highest verification accuracy on these pairs.

    Candidates are "accept nothing" and every cut between consecutive distinct distances; the
    first best candidate wins (the smallest ``τ`` among equals). A cut after distance ``d_(k)``
    places ``τ`` midway to the next distinct distance (after the largest, at the largest);
    "accept nothing" places it 1 below the smallest distance.
    """
    distances, same = _check_pairs(distances, same)
    n = distances.shape[0]
    sorted_distances, group_end, true_positives, false_positives, positives = _cumulative_counts(distances, same)
    negatives = n - positives
    correct = jnp.concatenate([negatives[None], true_positives + negatives - false_positives])
    # a position inside a tie group repeats its group's end; only group ends are distinct cuts
    correct = jnp.where(jnp.concatenate([jnp.ones((1,), bool), group_end == jnp.arange(n)]), correct, -1.0)
    best = jnp.argmax(correct)
    end = jnp.clip(best - 1, 0, n - 1)
    following = sorted_distances[jnp.minimum(end + 1, n - 1)]
    cut = jnp.where(end + 1 < n, (sorted_distances[end] + following) / 2, sorted_distances[end])
    threshold = jnp.where(best == 0, sorted_distances[0] - 1.0, cut)
    return Threshold(threshold, correct[best] / n)


def verification_figures(dev_distances: jax.Array, dev_same: jax.Array, test_distances: jax.Array,
                         test_same: jax.Array) -> dict[str, jax.Array]:
    """``τ`` chosen on the dev pairs, then the test pairs' figures; jittable.

    Returns float32 scalars: ``threshold``; ``dev_verification_accuracy`` and
    ``test_verification_accuracy`` at ``τ``; ``dev_roc_auc``, ``test_roc_auc``,
    ``dev_equal_error_rate``, ``test_equal_error_rate``.
    """
    chosen = best_threshold(dev_distances, dev_same)
    dev_curve, test_curve = roc_curve(dev_distances, dev_same), roc_curve(test_distances, test_same)
    return {"threshold": chosen.threshold, "dev_verification_accuracy": chosen.accuracy,
            "test_verification_accuracy": verification_accuracy(test_distances, test_same, chosen.threshold),
            "dev_roc_auc": roc_auc(dev_curve), "test_roc_auc": roc_auc(test_curve),
            "dev_equal_error_rate": equal_error_rate(dev_curve).rate,
            "test_equal_error_rate": equal_error_rate(test_curve).rate}


def plot_roc(path: str | os.PathLike, curves: Mapping[str, RocCurve], title: str = "ROC curve") -> None:
    """A PNG of ROC curves (one line per label, its AUC and equal-error point marked), with the
    chance diagonal and the line ``FPR = 1 − TPR`` where the equal-error points lie."""
    import numpy as np

    from dlcourse.train.reporting import figure, place_axes, save_figure

    fig = figure(5, 5)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1], color="0.7", linestyle=":", label="chance")
    axes.plot([0, 1], [1, 0], color="0.7", linestyle="--", linewidth=0.8, label="FPR = 1 − TPR")
    figures = jax.jit(lambda curve: (roc_auc(curve), equal_error_rate(curve).rate))
    for label, curve in curves.items():
        auc, eer = (float(value) for value in figures(curve))
        line, = axes.plot(np.asarray(curve.false_positive_rate), np.asarray(curve.true_positive_rate),
                          label=f"{label} (AUC {auc:.3f}, EER {eer:.3f})")
        axes.plot([eer], [1 - eer], marker="o", color=line.get_color())
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_xlabel("false positive rate (different accepted)")
    axes.set_ylabel("true positive rate (same accepted)")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right", fontsize="small")
    place_axes(fig)
    save_figure(fig, path)
