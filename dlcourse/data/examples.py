"""Supervised data of any shape: inputs and targets as pytrees, masks per element.

A classifier's data are one array of inputs and one of labels per split (:class:`Splits`). Later
models need more: a pair or triplet of images per example, encoder and decoder token arrays, a
padding mask per token or per pixel. :class:`Examples` holds one split in that general form,

- ``inputs``: a pytree of arrays, each ``[m, ...]`` (rows are examples);
- ``targets``: a pytree of arrays, each ``[m, ...]``;
- ``mask``: ``None`` (every example counts once) or float weights ``[m, ...]`` of the loss's
  elements — ``[m]`` per example, ``[m, T]`` per token, ``[m, H, W]`` per pixel; 0 excludes an
  element (padding) from the loss and every metric,

and :class:`Dataset` holds the train, dev and (optional) test splits. :func:`as_dataset` turns a
:class:`Splits` into one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from dlcourse.data.splits import Splits


class Examples(NamedTuple):
    """One split: ``inputs`` and ``targets`` (pytrees of ``[m, ...]`` arrays) and an optional
    per-element ``mask`` (see the module docstring)."""

    inputs: Any
    targets: Any
    mask: Any = None


class Dataset(NamedTuple):
    """The splits a supervised run uses: ``train`` and ``dev``; ``test`` when the data have one."""

    train: Examples
    dev: Examples
    test: Examples | None = None


def example_count(examples: Examples) -> int:
    """``m``, the number of rows shared by every leaf of ``examples``.

    Raises:
      ValueError: leaves with different row counts, a leaf without a row axis, or no leaf at all.
    """
    counts = {}
    for part in ("inputs", "targets", "mask"):
        for path, leaf in jax.tree_util.tree_flatten_with_path(getattr(examples, part))[0]:
            shape = np.shape(leaf)
            if not shape:
                raise ValueError(f"{part}{jax.tree_util.keystr(path)} is a scalar; every array needs a row "
                                 f"axis [m, ...]")
            counts[f"{part}{jax.tree_util.keystr(path)}"] = shape[0]
    if not any(name.startswith("inputs") for name in counts) or not any(
            name.startswith("targets") for name in counts):
        raise ValueError("examples need at least one input array and one target array")
    if len(set(counts.values())) != 1:
        listed = ", ".join(f"{name}: {count}" for name, count in counts.items())
        raise ValueError(f"every array of a split must have the same number of rows; got {listed}")
    return next(iter(counts.values()))


def as_dataset(data: Any) -> Dataset:
    """A :class:`Dataset` from a ``Dataset`` (returned as is) or a :class:`Splits` (``x``, ``y``
    of each split; the test split kept when it has rows).

    Raises:
      ValueError: anything else, an empty train or dev split, or a split whose arrays disagree
        in their row counts.
    """
    if isinstance(data, Splits):
        test = Examples(data.x_test, data.y_test) if len(data.x_test) else None
        data = Dataset(Examples(data.x_train, data.y_train), Examples(data.x_dev, data.y_dev), test)
    if not isinstance(data, Dataset):
        raise ValueError(f"data must be a dlcourse.data.Dataset or Splits, got {type(data).__name__}")
    for name in ("train", "dev", "test"):
        split = getattr(data, name)
        if split is None and name == "test":
            continue
        if not isinstance(split, Examples):
            raise ValueError(f"data.{name} must be dlcourse.data.Examples, got {type(split).__name__}")
        try:
            m = example_count(split)
        except ValueError as error:
            raise ValueError(f"data.{name}: {error}") from None
        if m < 1:
            raise ValueError(f"data.{name} is empty; need at least one example")
    return data
