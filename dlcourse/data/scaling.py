"""Feature scaling with statistics from the training set only.

Statistics are taken per feature over the example axis (axis 0; rows are examples), computed in
float64 and applied to every array given, so dev and test are scaled exactly as train was.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class StandardizationStatistics(NamedTuple):
    """Per-feature ``μ`` and ``σ`` of the training set, each shaped like one example."""

    mean: np.ndarray
    std: np.ndarray


class MinMaxStatistics(NamedTuple):
    """Per-feature minimum and maximum of the training set, each shaped like one example."""

    minimum: np.ndarray
    maximum: np.ndarray
    feature_range: tuple[float, float]


def _as_examples(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{name} must be [m, ...] with examples as rows, got a scalar")
    return x


def _check_feature_shape(arrays, feature_shape) -> None:
    for x in arrays:
        if x.shape[1:] != feature_shape:
            raise ValueError(
                f"got examples of shape {x.shape[1:]} (array shape {x.shape}), expected "
                f"{feature_shape}, the example shape of the training statistics")


def apply_standardization(x, statistics: StandardizationStatistics) -> np.ndarray:
    """``(x − μ) / σ`` with given statistics; float32 ``[m, ...]``."""
    x = _as_examples(x, "x")
    _check_feature_shape([x], statistics.mean.shape)
    return ((x.astype(np.float64) - statistics.mean) / statistics.std).astype(np.float32)


def standardize(x_train, *others) -> tuple[tuple[np.ndarray, ...], StandardizationStatistics]:
    """Zero mean, unit variance per feature, with ``μ`` and ``σ`` from ``x_train`` only.

    ``μ = (1/m) Σᵢ x⁽ⁱ⁾``, ``σ² = (1/m) Σᵢ (x⁽ⁱ⁾ − μ)²`` over the m training examples, then
    ``x ← (x − μ) / σ`` for ``x_train`` and every array in ``others``.
    A feature with ``σ = 0`` in training is divided by 1 instead (it becomes ``x − μ``,
    zero on the training set), never NaN.

    Args:
      x_train: ``[m, ...]``; statistics are taken over axis 0.
      *others: arrays ``[m_k, ...]`` with the same trailing shape (dev, test, …).

    Returns:
      ``((x_train_scaled, *others_scaled), StandardizationStatistics(mean, std))``; arrays are
      float32, the statistics float64 with ``std`` holding the divisor used (1 where ``σ = 0``).
      For example ``(x_train, x_dev, x_test), stats = standardize(s.x_train, s.x_dev, s.x_test)``.
    """
    x_train = _as_examples(x_train, "x_train")
    others = [_as_examples(x, "x") for x in others]
    _check_feature_shape(others, x_train.shape[1:])
    if x_train.shape[0] == 0:
        raise ValueError("x_train has no examples; cannot take statistics from it")
    values = x_train.astype(np.float64)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std = np.where(std > 0.0, std, 1.0)
    statistics = StandardizationStatistics(mean=mean, std=std)
    scaled = tuple(apply_standardization(x, statistics) for x in (x_train, *others))
    return scaled, statistics


def apply_min_max_scaling(x, statistics: MinMaxStatistics) -> np.ndarray:
    """``low + (high − low)·(x − min) / (max − min)`` with given statistics; float32."""
    x = _as_examples(x, "x")
    _check_feature_shape([x], statistics.minimum.shape)
    low, high = statistics.feature_range
    spread = statistics.maximum - statistics.minimum
    spread = np.where(spread > 0.0, spread, 1.0)
    unit = (x.astype(np.float64) - statistics.minimum) / spread
    return (low + (high - low) * unit).astype(np.float32)


def min_max_scale(
    x_train, *others, feature_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[tuple[np.ndarray, ...], MinMaxStatistics]:
    """Maps each feature's training range ``[min, max]`` onto ``feature_range = (low, high)``.

    ``x ← low + (high − low)·(x − min) / (max − min)`` with ``min`` and ``max`` over the
    training examples, applied to ``x_train`` and every array in ``others``. Dev and test values
    outside the training range land outside ``feature_range``; nothing is clipped. A constant
    feature (``max = min``) maps to ``low`` on the training set, never NaN.

    Returns:
      ``((x_train_scaled, *others_scaled), MinMaxStatistics(minimum, maximum, feature_range))``.
    """
    low, high = feature_range
    if not low < high:
        raise ValueError(f"feature_range must have low < high, got {feature_range!r}")
    x_train = _as_examples(x_train, "x_train")
    others = [_as_examples(x, "x") for x in others]
    _check_feature_shape(others, x_train.shape[1:])
    if x_train.shape[0] == 0:
        raise ValueError("x_train has no examples; cannot take statistics from it")
    values = x_train.astype(np.float64)
    statistics = MinMaxStatistics(minimum=values.min(axis=0), maximum=values.max(axis=0),
                                  feature_range=(float(low), float(high)))
    scaled = tuple(apply_min_max_scaling(x, statistics) for x in (x_train, *others))
    return scaled, statistics
