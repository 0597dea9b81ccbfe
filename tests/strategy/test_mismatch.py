"""Tests of dlcourse.strategy.mismatch."""
import numpy as np
import pytest

from dlcourse.strategy import human_level, mismatch


def test_split_is_a_partition_and_deterministic():
    x = np.arange(50 * 3).reshape(50, 3).astype(np.float32)
    y = np.arange(50)
    x_train, y_train, x_train_dev, y_train_dev = mismatch.train_dev_split(x, y, 10, seed=3)
    assert x_train.shape == (40, 3) and x_train_dev.shape == (10, 3)
    assert sorted(np.concatenate([y_train, y_train_dev]).tolist()) == list(range(50))
    # x rows stay paired with their y.
    np.testing.assert_array_equal(np.asarray(x_train)[:, 0], np.asarray(y_train) * 3)
    np.testing.assert_array_equal(np.asarray(x_train_dev)[:, 0], np.asarray(y_train_dev) * 3)
    again = mismatch.train_dev_split(x, y, 10, seed=3)
    np.testing.assert_array_equal(again[3], y_train_dev)
    other = mismatch.train_dev_split(x, y, 10, seed=4)
    assert not np.array_equal(other[3], y_train_dev)
    # Not simply the first or last rows.
    assert sorted(np.asarray(y_train_dev).tolist()) != list(range(10))


def test_split_fraction_and_course_axis():
    x = np.arange(2 * 20).reshape(2, 20)  # (n_x, m) as in the course
    y = np.arange(20)[None, :]
    x_train, y_train, x_train_dev, y_train_dev = mismatch.train_dev_split(x, y, 0.25, seed=0, axis=-1)
    assert x_train.shape == (2, 15) and x_train_dev.shape == (2, 5) and y_train_dev.shape == (1, 5)
    np.testing.assert_array_equal(np.asarray(x_train_dev)[0], np.asarray(y_train_dev)[0])


@pytest.mark.parametrize("size", [0, 20, 1.0, 0.0, True])
def test_split_size_errors(size):
    with pytest.raises(ValueError, match="size"):
        mismatch.train_dev_split(np.zeros((20, 2)), np.zeros(20), size)


def test_split_length_mismatch():
    with pytest.raises(ValueError, match="same number"):
        mismatch.train_dev_split(np.zeros((20, 2)), np.zeros(19), 5)


@pytest.mark.parametrize(
    "train, train_dev, dev, focus",
    [
        (0.01, 0.09, 0.10, human_level.VARIANCE),
        (0.01, 0.015, 0.10, human_level.DATA_MISMATCH),
        (0.10, 0.11, 0.12, human_level.AVOIDABLE_BIAS),
        (0.10, 0.11, 0.20, human_level.AVOIDABLE_BIAS),  # bias 10% and mismatch 9%
    ],
)
def test_course_mismatch_cases(train, train_dev, dev, focus):
    diagnosis = mismatch.diagnose_data_mismatch(0.0, train, train_dev, dev)
    assert diagnosis.variance == pytest.approx(train_dev - train)
    assert diagnosis.data_mismatch == pytest.approx(dev - train_dev)
    assert diagnosis.focus == focus
