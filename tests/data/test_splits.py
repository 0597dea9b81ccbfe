"""Tests for dlcourse.data.splits: sizes, disjointness, determinism, stratification, errors."""

import numpy as np
import pytest

from dlcourse.data import Splits, select_classes, split_dataset


def _labelled_rows(class_sizes):
    """x whose single feature is the row index, so each example can be traced through a split."""
    y = np.concatenate([np.full(n, c) for c, n in enumerate(class_sizes)])
    x = np.arange(len(y), dtype=np.float64)[:, None]
    return x, y


def _indices(x):
    return x[:, 0].astype(np.int64)


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("m,dev_fraction,test_fraction", [(100, 0.2, 0.2), (57, 0.15, 0.3),
                                                          (10, 0.0, 0.25)])
def test_sizes_sum_to_total_and_splits_are_disjoint(m, dev_fraction, test_fraction, stratify):
    x, y = _labelled_rows([m // 3, m // 3, m - 2 * (m // 3)])
    s = split_dataset(x, y, seed=3, dev_fraction=dev_fraction, test_fraction=test_fraction,
                      stratify=stratify)
    assert len(s.x_test) == int(np.floor(test_fraction * m + 0.5))
    assert len(s.x_dev) == int(np.floor(dev_fraction * m + 0.5))
    assert len(s.x_train) + len(s.x_dev) + len(s.x_test) == m
    parts = [set(_indices(part).tolist()) for part in (s.x_train, s.x_dev, s.x_test)]
    assert parts[0].isdisjoint(parts[1]) and parts[0].isdisjoint(parts[2])
    assert parts[1].isdisjoint(parts[2])
    assert set().union(*parts) == set(range(m))
    for xs, ys in ((s.x_train, s.y_train), (s.x_dev, s.y_dev), (s.x_test, s.y_test)):
        np.testing.assert_array_equal(ys, y[_indices(xs)])  # labels travel with their rows


def test_types_and_shapes():
    x = np.random.default_rng(0).normal(size=(40, 3, 2))
    y = np.arange(40) % 2
    s = split_dataset(x, y, seed=0)
    assert isinstance(s, Splits) and s.num_classes == 2
    for xs, ys in ((s.x_train, s.y_train), (s.x_dev, s.y_dev), (s.x_test, s.y_test)):
        assert xs.dtype == np.float32 and xs.shape[1:] == (3, 2)
        assert ys.dtype == np.int32 and ys.shape == (xs.shape[0],)


def test_same_seed_same_arrays_other_seed_other_order():
    x, y = _labelled_rows([30, 50, 20])
    first = split_dataset(x, y, seed=7)
    second = split_dataset(x, y, seed=7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    other = split_dataset(x, y, seed=8)
    assert not np.array_equal(first.x_train, other.x_train)


def test_stratified_counts_within_one_of_each_class_share():
    sizes = [13, 61, 26]
    x, y = _labelled_rows(sizes)
    s = split_dataset(x, y, seed=1, dev_fraction=0.2, test_fraction=0.3)
    for labels, fraction in ((s.y_dev, 0.2), (s.y_test, 0.3)):
        counts = np.bincount(labels, minlength=3)
        assert np.all(np.abs(counts - fraction * np.array(sizes)) < 1.0 + 1e-9), counts


def test_every_class_keeps_a_share_and_a_singleton_class_is_placed_once():
    x, y = _labelled_rows([1, 9, 10])
    s = split_dataset(x, y, seed=0, dev_fraction=0.45, test_fraction=0.45)
    all_labels = np.concatenate([s.y_train, s.y_dev, s.y_test])
    np.testing.assert_array_equal(np.bincount(all_labels), [1, 9, 10])


def test_unstratified_split_is_a_permutation_prefix():
    x, y = _labelled_rows([50, 50])
    s = split_dataset(x, y, seed=4, stratify=False)
    order = np.random.default_rng(4).permutation(100)
    np.testing.assert_array_equal(_indices(s.x_test), order[:20])
    np.testing.assert_array_equal(_indices(s.x_dev), order[20:40])
    np.testing.assert_array_equal(_indices(s.x_train), order[40:])


def test_num_classes_given_larger_than_labels_seen():
    x, y = _labelled_rows([5, 5])
    assert split_dataset(x, y, seed=0, num_classes=4).num_classes == 4


@pytest.mark.parametrize("kwargs,message", [
    (dict(dev_fraction=-0.1), "dev_fraction must be in"),
    (dict(test_fraction=1.0), "test_fraction must be in"),
    (dict(dev_fraction=0.5, test_fraction=0.5), "must be below 1"),
    (dict(num_classes=1), "label 1 is out of range for num_classes=1"),
    (dict(seed=-1), "seed must be a non-negative int, got -1"),
])
def test_bad_arguments_raise_naming_the_value(kwargs, message):
    x, y = _labelled_rows([5, 5])
    kwargs = {"seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        split_dataset(x, y, **kwargs)


def test_bad_shapes_and_labels_raise():
    with pytest.raises(ValueError, match=r"got shapes \(4, 2\) and \(3,\)"):
        split_dataset(np.zeros((4, 2)), np.zeros(3, int), seed=0)
    with pytest.raises(ValueError, match="integer class indices"):
        split_dataset(np.zeros((4, 2)), np.zeros(4), seed=0)
    with pytest.raises(ValueError, match="leave no training examples out of m=2"):
        split_dataset(np.zeros((2, 1)), np.array([0, 1]), seed=0, dev_fraction=0.3,
                      test_fraction=0.3)


def test_select_classes_keeps_and_relabels_the_chosen_classes():
    x = np.arange(20, dtype=np.float32)[:, None]
    y = np.arange(20) % 4
    splits = Splits(x[:12], y[:12], x[12:16], y[12:16], x[16:], y[16:], 4)
    chosen = select_classes(splits, [3, 1])
    np.testing.assert_array_equal(chosen.y_train, [1, 0, 1, 0, 1, 0])  # 1 → 1, 3 → 0
    np.testing.assert_array_equal(chosen.x_train[:, 0], [1, 3, 5, 7, 9, 11])
    np.testing.assert_array_equal(chosen.x_dev[:, 0], [13, 15])
    np.testing.assert_array_equal(chosen.y_test, [1, 0])
    assert chosen.num_classes == 2
    with pytest.raises(ValueError, match="distinct classes"):
        select_classes(splits, [1, 1])
    with pytest.raises(ValueError, match="distinct classes"):
        select_classes(splits, [4])
