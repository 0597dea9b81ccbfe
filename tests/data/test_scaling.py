"""Tests for dlcourse.data.scaling against numpy computed independently."""

import numpy as np
import pytest

from dlcourse import data


def _arrays(seed=0):
    rng = np.random.default_rng(seed)
    scale = np.array([1.0, 10.0, 0.01, 300.0])
    shift = np.array([0.0, -5.0, 2.0, 1000.0])
    return [rng.normal(size=(m, 4)) * scale + shift for m in (50, 20, 10)]


def test_standardize_train_has_zero_mean_unit_std():
    x_train, x_dev, x_test = _arrays()
    (train, dev, test), stats = data.standardize(x_train, x_dev, x_test)
    assert train.dtype == dev.dtype == test.dtype == np.float32
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(stats.mean, np.mean(x_train, axis=0))
    np.testing.assert_allclose(stats.std, np.std(x_train, axis=0))


def test_standardize_uses_training_statistics_for_the_others():
    x_train, x_dev, x_test = _arrays(1)
    (_, dev, test), stats = data.standardize(x_train, x_dev, x_test)
    mu, sigma = x_train.mean(axis=0), x_train.std(axis=0)
    np.testing.assert_allclose(dev, (x_dev - mu) / sigma, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(test, (x_test - mu) / sigma, rtol=1e-5, atol=1e-5)
    assert abs(dev.mean()) > 1e-3  # dev is not re-centred on its own statistics
    np.testing.assert_array_equal(data.apply_standardization(x_test, stats), test)


def test_zero_variance_feature_gives_no_nan():
    x_train = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    x_dev = np.array([[2.0, 7.0]])
    (train, dev), stats = data.standardize(x_train, x_dev)
    assert np.all(np.isfinite(train)) and np.all(np.isfinite(dev))
    np.testing.assert_array_equal(train[:, 1], 0.0)
    np.testing.assert_allclose(dev[0], [0.0, 2.0])
    np.testing.assert_array_equal(stats.std[1], 1.0)


def test_standardize_images_per_pixel():
    x = np.random.default_rng(2).uniform(size=(30, 8, 8, 1))
    x[:, 0, 0, 0] = 0.0  # a blank corner pixel, as in digits
    (scaled,), stats = data.standardize(x)
    assert scaled.shape == x.shape and stats.mean.shape == (8, 8, 1)
    np.testing.assert_allclose(scaled[:, 1:, 1:].mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(scaled[:, 1:, 1:].std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(scaled[:, 0, 0, 0], 0.0)


def test_min_max_scale_maps_training_range():
    x_train, x_dev = _arrays(3)[:2]
    (train, dev), stats = data.min_max_scale(x_train, x_dev)
    np.testing.assert_allclose(train.min(axis=0), 0.0, atol=1e-7)
    np.testing.assert_allclose(train.max(axis=0), 1.0, atol=1e-6)
    low, high = x_train.min(axis=0), x_train.max(axis=0)
    np.testing.assert_allclose(dev, (x_dev - low) / (high - low), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats.minimum, low)
    np.testing.assert_allclose(stats.maximum, high)


def test_min_max_scale_custom_range_and_constant_feature():
    x_train = np.array([[0.0, 4.0], [10.0, 4.0], [5.0, 4.0]])
    (train, other), _ = data.min_max_scale(x_train, np.array([[20.0, 6.0]]),
                                           feature_range=(-1.0, 1.0))
    np.testing.assert_allclose(train, [[-1.0, -1.0], [1.0, -1.0], [0.0, -1.0]])
    np.testing.assert_allclose(other, [[3.0, 3.0]])  # outside the range: not clipped


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"examples of shape \(3,\).*expected \(4,\)"):
        data.standardize(np.zeros((5, 4)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="x_train has no examples"):
        data.standardize(np.zeros((0, 4)))
    with pytest.raises(ValueError, match=r"low < high, got \(1.0, 0.0\)"):
        data.min_max_scale(np.zeros((5, 4)), feature_range=(1.0, 0.0))
