"""Search spaces: inverse-CDF mappings, bounds checks, coarse-to-fine shrinking."""

import math

import numpy as np
import pytest

from dlcourse.sweep import Choice, IntRange, LogUniform, OneMinusLogUniform, Uniform

U = np.random.default_rng(123).random(20000)


def test_log_uniform_exponent_is_uniform():
    space = LogUniform(1e-4, 1.0)
    exponents = np.log10(space.from_unit(U))
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert abs(np.quantile(exponents, q) - (-4 + 4 * q)) < 0.05
    # Each decade gets a quarter of the samples (the course's α ∈ [1e-4, 1] on a log scale).
    counts = np.histogram(exponents, bins=[-4, -3, -2, -1, 0])[0] / len(U)
    np.testing.assert_allclose(counts, 0.25, atol=0.015)
    assert space.from_unit(0.0) == pytest.approx(1e-4)
    assert space.from_unit(1.0) == pytest.approx(1.0)
    assert space.from_unit(0.5) == pytest.approx(1e-2)


def test_one_minus_log_uniform_maps_beta_on_log_scale():
    space = OneMinusLogUniform(1e-3, 1e-1)
    betas = space.from_unit(U)
    assert betas.min() >= 0.9 and betas.max() <= 0.999
    exponents = np.log10(1 - betas)
    for q in (0.1, 0.5, 0.9):
        assert abs(np.quantile(exponents, q) - (-3 + 2 * q)) < 0.05
    assert space.from_unit(0.0) == pytest.approx(0.999)
    assert space.from_unit(1.0) == pytest.approx(0.9)
    # Half of the samples have β > 0.99: the sensitive end near 1 gets its share.
    assert np.mean(betas > 0.99) == pytest.approx(0.5, abs=0.015)


def test_uniform():
    values = Uniform(-1.0, 3.0).from_unit(U)
    assert np.quantile(values, 0.25) == pytest.approx(0.0, abs=0.05)
    assert values.min() >= -1 and values.max() <= 3


def test_int_range_is_inclusive_and_even():
    space = IntRange(50, 100)
    values = space.from_unit(U)
    assert values.dtype.kind == "i"
    assert set(values.tolist()) == set(range(50, 101))
    counts = np.bincount(values - 50)
    np.testing.assert_allclose(counts / len(U), 1 / 51, atol=0.005)
    assert space.from_unit(0.0) == 50 and space.from_unit(1.0) == 100
    assert isinstance(space.from_unit(0.3), int)
    assert [IntRange(2, 4).from_unit(u) for u in (0.0, 0.34, 0.67, 1.0)] == [2, 3, 4, 4]


def test_choice():
    space = Choice(("adam", "sgd", "momentum"))
    assert [space.from_unit(u) for u in (0.0, 0.4, 0.7, 1.0)] == ["adam", "sgd", "momentum", "momentum"]
    assert not space.numeric and Choice((1, 2)).integer and Choice((1, 2.5)).numeric


@pytest.mark.parametrize("make, message", [
    (lambda: LogUniform(0.0, 1.0), "> 0"),
    (lambda: LogUniform(-1.0, 1.0), "> 0"),
    (lambda: LogUniform(1.0, 1e-4), "inverted"),
    (lambda: Uniform(0.5, 0.5), "empty"),
    (lambda: IntRange(4, 2), "inverted"),
    (lambda: IntRange(3, 3), "empty"),
    (lambda: IntRange(1.5, 3), "integer"),
    (lambda: OneMinusLogUniform(1e-3, 2.0), "1-beta"),
    (lambda: Uniform(0.0, math.inf), "finite"),
    (lambda: Choice(()), "at least one"),
    (lambda: Choice(("a", "a")), "distinct"),
])
def test_invalid_spaces_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_from_unit_rejects_outside_unit_interval():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        LogUniform(1e-4, 1).from_unit(1.5)


def test_log_shrink_halves_width_in_log_space_around_best():
    space = LogUniform(1e-4, 1.0)
    shrunk = space.shrink([1e-2], factor=0.5)
    assert math.log10(shrunk.low) == pytest.approx(-3) and math.log10(shrunk.high) == pytest.approx(-1)
    # Near the edge the window is shifted, not clipped: still half the width, still inside.
    edge = space.shrink([2e-4], factor=0.5)
    assert edge.low == pytest.approx(1e-4) and edge.high == pytest.approx(1e-2)
    assert edge.low >= space.low and edge.high <= space.high


def test_one_minus_log_shrink_works_on_one_minus_beta():
    space = OneMinusLogUniform(1e-3, 1e-1)
    shrunk = space.shrink([0.99], factor=0.5)   # 1 - β = 1e-2, the middle in log space
    assert math.log10(shrunk.low) == pytest.approx(-2.5) and math.log10(shrunk.high) == pytest.approx(-1.5)


def test_repeated_shrinking_stays_inside_original_bounds():
    space = original = LogUniform(1e-4, 1.0)
    rng = np.random.default_rng(0)
    for _ in range(8):
        best = space.from_unit(rng.random())
        new = space.shrink([best], 0.5)
        assert space.low <= new.low < new.high <= space.high
        assert new.low <= best * (1 + 1e-12) and best <= new.high * (1 + 1e-12)
        ratio = math.log10(new.high / new.low) / math.log10(space.high / space.low)
        assert ratio == pytest.approx(0.5, rel=1e-6)
        space = new
    assert original.low <= space.low and space.high <= original.high


def test_int_and_choice_shrink():
    shrunk = IntRange(50, 100).shrink([98], 0.5)
    assert 50 <= shrunk.low < shrunk.high == 100 and shrunk.high - shrunk.low + 1 in (25, 26)
    tiny = IntRange(2, 4).shrink([4], 0.1)
    assert (tiny.low, tiny.high) == (3, 4)
    assert Choice(("adam", "sgd", "momentum")).shrink(["momentum", "adam", "adam"]).options == ("adam", "momentum")
    with pytest.raises(ValueError, match="not options"):
        Choice(("adam",)).shrink(["rmsprop"])
