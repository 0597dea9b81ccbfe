"""Search methods: reproducibility per trial id, Halton low discrepancy, grid, coarse to fine."""

import math

import numpy as np
import pytest

from dlcourse.metrics import ACCURACY
from dlcourse.sweep import (
    Choice,
    IntRange,
    LogUniform,
    OneMinusLogUniform,
    Uniform,
    grid_shape,
    sample_round,
    shrink_spaces,
    unit_points,
)

SPACES = {"learning_rate": LogUniform(1e-4, 1.0), "beta1": OneMinusLogUniform(1e-3, 1e-1),
          "hidden": IntRange(50, 100), "optimizer": Choice(("adam", "sgd"))}


def test_random_trial_is_reproducible_from_seed_and_id():
    all_trials = sample_round(SPACES, "random", seed=7, round_index=0, first_id=0, trials=10)
    alone = sample_round(SPACES, "random", seed=7, round_index=0, first_id=6, trials=1)[0]
    assert alone == all_trials[6]
    again = sample_round(SPACES, "random", seed=7, round_index=0, first_id=0, trials=10)
    assert again == all_trials
    other_seed = sample_round(SPACES, "random", seed=8, round_index=0, first_id=0, trials=10)
    assert [t.hparams for t in other_seed] != [t.hparams for t in all_trials]
    assert [t.id for t in all_trials] == list(range(10))
    for t in all_trials:
        assert 1e-4 <= t.hparams["learning_rate"] <= 1 and 0.9 <= t.hparams["beta1"] <= 0.999
        assert isinstance(t.hparams["hidden"], int) and t.hparams["optimizer"] in ("adam", "sgd")


def test_quasirandom_is_reproducible_and_seed_dependent():
    a = unit_points("quasirandom", SPACES, seed=3, round_index=0, first_id=0, trials=16)
    b = unit_points("quasirandom", SPACES, seed=3, round_index=0, first_id=0, trials=16)
    c = unit_points("quasirandom", SPACES, seed=4, round_index=0, first_id=0, trials=16)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == (16, 4) and a.min() >= 0 and a.max() <= 1
    # A trial's point depends on its index in the round only, not on how many were asked for.
    np.testing.assert_array_equal(a[:5], unit_points("quasirandom", SPACES, 3, 0, 0, 5))


@pytest.mark.parametrize("dim, base", [(0, 2), (1, 3), (2, 5)])
def test_scrambled_halton_stratifies_each_dimension(dim, base):
    # base**k consecutive points put exactly one point in each interval [i/base**k, (i+1)/base**k).
    spaces = {f"x{j}": Uniform(0.0, 1.0) for j in range(3)}
    for k in (2, 3):
        n = base ** k
        points = unit_points("quasirandom", spaces, seed=11, round_index=0, first_id=0, trials=n)
        cells = np.floor(points[:, dim] * n).astype(int)
        assert sorted(cells.tolist()) == list(range(n))


def _star_discrepancy(points, grid=20):
    edges = np.linspace(0, 1, grid + 1)[1:]
    worst = 0.0
    for a in edges:
        for b in edges:
            inside = np.mean((points[:, 0] < a) & (points[:, 1] < b))
            worst = max(worst, abs(inside - a * b))
    return worst


def test_halton_has_lower_discrepancy_than_random():
    spaces = {"a": Uniform(0.0, 1.0), "b": Uniform(0.0, 1.0)}
    n = 128
    halton = [_star_discrepancy(unit_points("quasirandom", spaces, s, 0, 0, n)) for s in range(5)]
    random = [_star_discrepancy(unit_points("random", spaces, s, 0, 0, n)) for s in range(5)]
    assert max(halton) < 0.6 * np.mean(random), (halton, random)


def test_grid_covers_every_combination():
    spaces = {"lr": LogUniform(1e-4, 1.0), "opt": Choice(("adam", "sgd")), "hidden": IntRange(2, 4)}
    # Points go one at a time to the dimension with the fewest: (2,1,1), (2,2,1), (2,2,2), (3,2,2).
    assert grid_shape(spaces, 12) == (3, 2, 2)
    assert grid_shape(spaces, 18) == (3, 2, 3)
    trials = sample_round(spaces, "grid", seed=0, round_index=0, first_id=0, trials=18)
    assert len(trials) == 18
    combos = {(t.hparams["lr"], t.hparams["opt"], t.hparams["hidden"]) for t in trials}
    assert len(combos) == 18
    # Midpoints (i + 1/2)/3 of the unit interval: exponents -4 + 4(i + 1/2)/3.
    assert sorted({c[0] for c in combos}) == pytest.approx([10 ** (-4 + 4 * (i + 0.5) / 3) for i in range(3)])
    assert {c[1] for c in combos} == {"adam", "sgd"} and {c[2] for c in combos} == {2, 3, 4}
    # Discrete dimensions stop at their size; continuous ones take the rest.
    assert grid_shape({"opt": Choice(("a", "b")), "lr": LogUniform(1e-4, 1)}, 10) == (2, 5)
    assert len(sample_round(spaces, "grid", 0, 0, 0, 7)) <= 7


def test_nothing_swept_gives_distinct_trials_with_empty_hparams():
    trials = sample_round({}, "random", 0, 0, 0, 3)
    assert [t.id for t in trials] == [0, 1, 2] and all(t.hparams == {} for t in trials)


def test_unknown_method_and_bad_trials():
    with pytest.raises(ValueError, match="search method"):
        sample_round(SPACES, "bayesian", 0, 0, 0, 4)
    with pytest.raises(ValueError, match="trials"):
        sample_round(SPACES, "random", 0, 0, 0, 0)


def _record(i, hparams, best, status="ok"):
    return {"id": i, "hparams": hparams, "status": status, "metrics": {"best_dev_accuracy": best}}


def test_coarse_to_fine_shrinks_around_the_best_in_log_space():
    original = {"learning_rate": LogUniform(1e-4, 1.0), "beta1": OneMinusLogUniform(1e-3, 1e-1),
                "optimizer": Choice(("adam", "sgd", "momentum"))}
    trials = sample_round(original, "random", seed=0, round_index=0, first_id=0, trials=16)
    # A made-up objective peaking at α = 3e-3 and β = 0.99; the diverged trial is ignored.
    def score(h):
        return -abs(math.log10(h["learning_rate"] / 3e-3)) - abs(math.log10((1 - h["beta1"]) / 1e-2))

    records = [_record(t.id, t.hparams, score(t.hparams)) for t in trials]
    records.append(_record(99, {"learning_rate": 3e-3, "beta1": 0.99, "optimizer": "adam"}, None, "diverged"))
    best = max(records[:-1], key=lambda r: r["metrics"]["best_dev_accuracy"])
    spaces = shrink_spaces(original, records, objective=ACCURACY, factor=0.5)
    lr = spaces["learning_rate"]
    assert math.log10(lr.high / lr.low) == pytest.approx(2.0)          # half of 4 decades
    assert lr.low <= best["hparams"]["learning_rate"] <= lr.high
    assert original["learning_rate"].low <= lr.low and lr.high <= original["learning_rate"].high
    beta = spaces["beta1"]
    assert math.log10(beta.high / beta.low) == pytest.approx(1.0)
    assert beta.low <= 1 - best["hparams"]["beta1"] <= beta.high
    assert best["hparams"]["optimizer"] in spaces["optimizer"].options
    # A second round samples inside the shrunk ranges and zooms in again.
    trials2 = sample_round(spaces, "random", seed=0, round_index=1, first_id=16, trials=16)
    assert all(lr.low <= t.hparams["learning_rate"] <= lr.high for t in trials2)
    records += [_record(t.id, t.hparams, score(t.hparams)) for t in trials2]
    spaces3 = shrink_spaces(spaces, records, objective=ACCURACY, factor=0.5)
    assert math.log10(spaces3["learning_rate"].high / spaces3["learning_rate"].low) == pytest.approx(1.0)
    assert lr.low <= spaces3["learning_rate"].low and spaces3["learning_rate"].high <= lr.high


def test_shrink_without_successes_keeps_spaces():
    records = [_record(0, {"learning_rate": 1.0}, None, "diverged")]
    spaces = {"learning_rate": LogUniform(1e-4, 1.0)}
    assert shrink_spaces(spaces, records, ACCURACY) == spaces
