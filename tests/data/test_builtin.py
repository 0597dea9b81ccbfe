"""Tests for dlcourse.data.builtin: scikit-learn's shipped sets as deterministic splits."""

import numpy as np
import pytest
import sklearn.datasets

from dlcourse import data

LOADERS = [
    (data.load_digits, sklearn.datasets.load_digits, 10),
    (data.load_breast_cancer, sklearn.datasets.load_breast_cancer, 2),
    (data.load_iris, sklearn.datasets.load_iris, 3),
    (data.load_wine, sklearn.datasets.load_wine, 3),
]


def _sorted_rows(x):
    x = x.reshape(len(x), -1)
    return x[np.lexsort(x.T[::-1])]


@pytest.mark.parametrize("load,reference,num_classes", LOADERS)
def test_splits_partition_the_reference_set(load, reference, num_classes):
    s = load(seed=0)
    x_ref, y_ref = reference(return_X_y=True)
    m = len(y_ref)
    assert s.num_classes == num_classes
    assert len(s.y_train) + len(s.y_dev) + len(s.y_test) == m
    assert len(s.y_dev) == round(0.2 * m) and len(s.y_test) == round(0.2 * m)
    for xs, ys in ((s.x_train, s.y_train), (s.x_dev, s.y_dev), (s.x_test, s.y_test)):
        assert xs.dtype == np.float32 and xs.shape == (len(ys), x_ref.shape[1])
        assert ys.dtype == np.int32 and ys.min() >= 0 and ys.max() < num_classes
    x_all = np.concatenate([s.x_train, s.x_dev, s.x_test])
    y_all = np.concatenate([s.y_train, s.y_dev, s.y_test])
    scale = 16.0 if load is data.load_digits else 1.0
    np.testing.assert_allclose(_sorted_rows(x_all * scale),
                               _sorted_rows(x_ref.astype(np.float32)), rtol=1e-6)
    np.testing.assert_array_equal(np.bincount(y_all), np.bincount(y_ref))


@pytest.mark.parametrize("load,reference,num_classes", LOADERS)
def test_same_seed_same_arrays(load, reference, num_classes):
    first, second, other = load(seed=5), load(seed=5), load(seed=6)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.x_train, other.x_train)


@pytest.mark.parametrize("load,reference,num_classes", LOADERS)
def test_class_shares_preserved(load, reference, num_classes):
    s = load(seed=2, dev_fraction=0.25, test_fraction=0.15)
    overall = np.bincount(np.concatenate([s.y_train, s.y_dev, s.y_test]))
    overall = overall / overall.sum()
    for ys in (s.y_train, s.y_dev, s.y_test):
        share = np.bincount(ys, minlength=num_classes) / len(ys)
        assert np.all(np.abs(share - overall) < 0.03), (share, overall)


def test_digits_flat_and_image_layouts_agree():
    flat = data.load_digits(seed=1)
    images = data.load_digits(seed=1, flat=False)
    assert images.x_train.shape[1:] == (8, 8, 1)
    np.testing.assert_array_equal(images.x_train.reshape(-1, 64), flat.x_train)
    np.testing.assert_array_equal(images.y_test, flat.y_test)
    assert flat.x_train.min() == 0.0 and flat.x_train.max() == 1.0


def test_split_sizes_are_configurable():
    s = data.load_iris(seed=0, dev_fraction=0.1, test_fraction=0.3)
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (90, 15, 45)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        data.load_wine(seed=0, test_fraction=1.5)


@pytest.mark.parametrize("file_name, header, reference", [
    ("digits.csv.gz", False, sklearn.datasets.load_digits), ("breast_cancer.csv", True,
                                                              sklearn.datasets.load_breast_cancer),
    ("iris.csv", True, sklearn.datasets.load_iris), ("wine_data.csv", True, sklearn.datasets.load_wine)])
def test_shipped_tables_are_scikit_learns_arrays_in_order(file_name, header, reference):
    """Read without importing scikit-learn, the tables equal its loaders' arrays, row for row."""
    from dlcourse.data.builtin import shipped_table

    x, y = shipped_table(file_name, header)
    x_ref, y_ref = reference(return_X_y=True)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(y, y_ref)
