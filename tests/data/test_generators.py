"""Tests for dlcourse.data.generators: flower, moons and circles."""

import numpy as np
import pytest
import sklearn.linear_model

from dlcourse import data


def _all(s):
    return (np.concatenate([s.x_train, s.x_dev, s.x_test]),
            np.concatenate([s.y_train, s.y_dev, s.y_test]))


@pytest.mark.parametrize("make", [data.make_flower, data.make_moons, data.make_circles])
def test_shapes_types_and_determinism(make):
    s = make(seed=0)
    x, y = _all(s)
    assert x.shape == (400, 2) and x.dtype == np.float32 and y.dtype == np.int32
    assert s.num_classes == 2
    np.testing.assert_array_equal(np.bincount(y), [200, 200])
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (240, 80, 80)
    again = make(seed=0)
    for a, b in zip(s, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(s.x_train, make(seed=1).x_train)


def test_flower_points_lie_on_the_rose_without_noise():
    x, y = _all(data.make_flower(seed=0, noise=0.0, radius=3.0))
    angle = np.arctan2(x[:, 0], x[:, 1])  # the point is (r sin θ, r cos θ)
    # A negative r reflects the point through the origin; sin(4(θ + π)) = sin 4θ, so ‖p‖ = a|sin 4φ|.
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 3.0 * np.abs(np.sin(4.0 * angle)),
                               atol=1e-5)


def test_flower_size_options_and_not_linearly_separable():
    s = data.make_flower(seed=0, m=101, dev_fraction=0.0, test_fraction=0.0)
    np.testing.assert_array_equal(np.bincount(s.y_train), [51, 50])
    x, y = _all(data.make_flower(seed=0))
    accuracy = sklearn.linear_model.LogisticRegression().fit(x, y).score(x, y)
    assert accuracy < 0.7  # the course's logistic regression gets about 47%


def test_moons_and_circles_radii_without_noise():
    x, y = _all(data.make_moons(seed=0, noise=0.0))
    centres = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(x - centres, axis=1), 1.0, atol=1e-5)
    x, y = _all(data.make_circles(seed=0, noise=0.0, factor=0.3))
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), np.where(y == 0, 1.0, 0.3), atol=1e-5)


def test_noise_spreads_the_circles():
    x, y = _all(data.make_circles(seed=0, noise=0.1))
    residual = np.linalg.norm(x, axis=1) - np.where(y == 0, 1.0, 0.5)
    assert 0.05 < residual.std() < 0.2


@pytest.mark.parametrize("call,message", [
    (lambda: data.make_flower(m=1), "m must be an int ≥ 2, got 1"),
    (lambda: data.make_moons(noise=-0.1), "noise must be ≥ 0, got -0.1"),
    (lambda: data.make_circles(factor=1.5), r"factor must be in \(0, 1\), got 1.5"),
    (lambda: data.make_flower(radius=0.0), "radius must be > 0, got 0.0"),
])
def test_bad_options_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()
