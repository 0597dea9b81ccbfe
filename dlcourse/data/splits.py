"""Train/dev/test splits: the `Splits` type every loader returns, and the split itself.

Layout. Examples are **rows**: ``x`` is ``[m, ...]`` (``[m, n_x]`` for feature vectors,
``[m, height, width, channels]`` for images) and ``y`` is ``[m]``. The course writes examples as
columns (``X`` is ``n_x × m``, ``Y`` is ``1 × m``); transpose to get its layout, ``X = x.T``.

Sizes are **fractions** of the whole: ``dev_fraction`` and ``test_fraction`` in ``[0, 1)`` with
a sum below 1; the test set has ``round(test_fraction · m)`` examples, the dev set
``round(dev_fraction · m)``, and the training set the rest.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Splits(NamedTuple):
    """A data set split three ways; rows are examples.

    Attributes:
      x_train, x_dev, x_test: float32 ``[m_split, ...]`` inputs (the course's ``X`` transposed).
      y_train, y_dev, y_test: int32 ``[m_split]`` class indices in ``0 … num_classes − 1``;
        for binary tasks ``y ∈ {0, 1}`` and ``num_classes == 2``.
      num_classes: number of classes ``C``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_dev: np.ndarray
    y_dev: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int


def check_fractions(dev_fraction: float, test_fraction: float) -> None:
    """Raises ValueError unless both fractions are in [0, 1) and leave a training set."""
    for name, value in (("dev_fraction", dev_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    if dev_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"dev_fraction + test_fraction must be below 1 to leave a training set, got "
            f"{dev_fraction!r} + {test_fraction!r} = {dev_fraction + test_fraction!r}")


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))


def _apportion(total: int, sizes: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Splits ``total`` units over classes in proportion to ``sizes`` (largest remainder).

    No class gets more than its ``capacity``; ties go to the lower class index.
    """
    quotas = total * sizes / sizes.sum()
    counts = np.minimum(np.floor(quotas).astype(np.int64), capacity)
    remainders = quotas - counts
    while counts.sum() < total:
        open_classes = counts < capacity
        if not open_classes.any():
            raise ValueError(f"cannot place {total} examples in classes of sizes {sizes.tolist()}")
        pick = int(np.argmax(np.where(open_classes, remainders, -np.inf)))
        counts[pick] += 1
        remainders[pick] -= 1.0
    return counts


def split_dataset(
    x,
    y,
    *,
    seed: int,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
    num_classes: int | None = None,
    stratify: bool = True,
) -> Splits:
    """Shuffles ``(x, y)`` with ``seed`` and splits it into train/dev/test.

    Args:
      x: ``[m, ...]`` inputs, cast to float32.
      y: ``[m]`` integer class indices, cast to int32.
      seed: non-negative int; the same seed gives bitwise the same splits.
      dev_fraction, test_fraction: sizes as fractions of ``m`` (see the module docstring).
      num_classes: ``C``; inferred as ``max(y) + 1`` when None.
      stratify: keep each class's share in every split. Per-class counts are
        apportioned by largest remainder so the split totals are exactly
        ``round(fraction · m)``.

    Returns:
      `Splits`, each split in shuffled order.
    """
    check_fractions(dev_fraction, test_fraction)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if y.ndim != 1 or x.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be [m, ...] and y [m], got shapes {x.shape} and {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}")
    m = y.shape[0]
    if m and y.min() < 0:
        raise ValueError(f"class indices must be non-negative, got {int(y.min())}")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if m else 0
    elif m and y.max() >= num_classes:
        raise ValueError(f"label {int(y.max())} is out of range for num_classes={num_classes}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")

    num_test = _round_half_up(test_fraction * m)
    num_dev = _round_half_up(dev_fraction * m)
    if num_test + num_dev >= m:
        raise ValueError(
            f"dev_fraction={dev_fraction!r} and test_fraction={test_fraction!r} leave no training "
            f"examples out of m={m}")

    rng = np.random.default_rng(seed)
    if stratify:
        class_indices = [np.flatnonzero(y == c) for c in range(num_classes)]
        sizes = np.array([len(ix) for ix in class_indices], dtype=np.int64)
        test_counts = _apportion(num_test, sizes, sizes)
        dev_counts = _apportion(num_dev, sizes, sizes - test_counts)
        train_parts, dev_parts, test_parts = [], [], []
        for ix, n_test, n_dev in zip(class_indices, test_counts, dev_counts):
            ix = rng.permutation(ix)
            test_parts.append(ix[:n_test])
            dev_parts.append(ix[n_test:n_test + n_dev])
            train_parts.append(ix[n_test + n_dev:])
        test_ix, dev_ix, train_ix = (
            rng.permutation(np.concatenate(parts)) for parts in (test_parts, dev_parts, train_parts))
    else:
        order = rng.permutation(m)
        test_ix, dev_ix, train_ix = (
            order[:num_test], order[num_test:num_test + num_dev], order[num_test + num_dev:])

    y = y.astype(np.int32)
    return Splits(
        x_train=x[train_ix], y_train=y[train_ix],
        x_dev=x[dev_ix], y_dev=y[dev_ix],
        x_test=x[test_ix], y_test=y[test_ix],
        num_classes=int(num_classes),
    )


def select_classes(splits: Splits, classes) -> Splits:
    """The examples of ``classes`` only, relabelled ``classes[k] → k`` in every split (e.g. digits
    0–4 as one task and 5–9 as another, for transfer learning)."""
    classes = list(classes)
    if not classes or len(set(classes)) != len(classes) or not all(0 <= c < splits.num_classes for c in classes):
        raise ValueError(f"classes must be distinct classes in [0, {splits.num_classes}), got {classes}")
    relabel = np.full(splits.num_classes, -1, np.int32)
    relabel[classes] = np.arange(len(classes), dtype=np.int32)

    def keep(x, y):
        chosen = relabel[y] >= 0
        return x[chosen], relabel[y[chosen]]

    x_train, y_train = keep(splits.x_train, splits.y_train)
    x_dev, y_dev = keep(splits.x_dev, splits.y_dev)
    x_test, y_test = keep(splits.x_test, splits.y_test)
    return Splits(x_train, y_train, x_dev, y_dev, x_test, y_test, len(classes))
