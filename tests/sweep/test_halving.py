"""Successive halving: the selection on a hand-made table, Li et al.'s schedule, and segments that
continue a trial exactly where a longer run would be."""

import math
import os
import sys

import chex
import numpy as np
import pytest

from dlcourse.sweep.halving import hyperband_brackets, select_survivors, survivors

sys.path.insert(0, os.path.dirname(__file__))
import toy_experiment  # noqa: E402

NAN = float("nan")


def test_selection_keeps_exactly_the_best_and_never_a_diverged_or_nan_trial():
    # id: best dev accuracy so far, by hand.
    scores = {7: 0.91, 3: 0.95, 12: 0.91, 5: None, 9: NAN, 1: 0.97, 4: math.inf, 8: 0.99, 2: 0.50}
    diverged = {8}                          # the best score, but it diverged: ranked last, never promoted
    # Eligible, best first: 1 (0.97), 3 (0.95), then the tie 7/12 at 0.91 (lower id first), then 2.
    assert select_survivors(scores, "max", 3, diverged) == [1, 3, 7]
    assert select_survivors(scores, "max", 4, diverged) == [1, 3, 7, 12]
    assert select_survivors(scores, "max", 9, diverged) == [1, 3, 7, 12, 2]   # fewer than asked: 5 eligible
    assert select_survivors(scores, "max", 0, diverged) == []
    # Minimizing the same table (say an error): 2 first, then the tie 7/12, …
    assert select_survivors(scores, "min", 3, diverged) == [2, 7, 12]
    # Every trial diverged or non-finite: nobody goes on.
    assert select_survivors({1: NAN, 2: None, 3: 0.8}, "max", 1, {3}) == []
    with pytest.raises(ValueError, match="goal must be"):
        select_survivors(scores, "up", 3)
    with pytest.raises(ValueError, match=r"diverged ids \[99\] have no score"):
        select_survivors(scores, "max", 3, {99})


def test_survivors_are_the_floor_of_n_over_eta_but_at_least_one():
    assert [survivors(n, 3) for n in (1, 2, 3, 8, 9, 10, 34, 81)] == [1, 1, 1, 2, 3, 3, 11, 27]


def test_brackets_are_li_et_als_table_1():
    # Hyperband paper (Li et al., 2018), Table 1: R = 81, η = 3; each bracket's (n_i, r_i).
    table = {4: [(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)],
             3: [(34, 3), (11, 9), (3, 27), (1, 81)],
             2: [(15, 9), (5, 27), (1, 81)],
             1: [(8, 27), (2, 81)],
             0: [(5, 81)]}
    brackets = hyperband_brackets(epochs=81, eta=3, min_epochs=1, brackets=5, trials=81)
    assert [b.s for b in brackets] == [4, 3, 2, 1, 0] and [b.index for b in brackets] == [0, 1, 2, 3, 4]
    for bracket in brackets:
        sizes = [bracket.trials]
        for _ in bracket.rung_epochs[1:]:
            sizes.append(survivors(sizes[-1], 3))
        assert list(zip(sizes, bracket.rung_epochs)) == table[bracket.s]
    # A budget that is not a power of η: rungs at ⌊E / η^(s−i)⌋, at least min_epochs.
    (only,) = hyperband_brackets(epochs=10, eta=3, min_epochs=2, brackets=1, trials=7)
    assert (only.s, only.trials, only.rung_epochs) == (1, 7, (3, 10))
    assert hyperband_brackets(epochs=10, eta=3, min_epochs=1, brackets=1, trials=9)[0].rung_epochs == (1, 3, 10)


@pytest.mark.parametrize("kwargs, message", [
    (dict(eta=1), "eta must be an integer >= 2, got 1"),
    (dict(min_epochs=0), "min_epochs must be an integer >= 1, got 0"),
    (dict(epochs=5, min_epochs=2), "epochs=5 leaves nothing to halve: it must be >= min_epochs x eta = 2 x 3"),
    (dict(brackets=4), "brackets=4: epochs=9, min_epochs=1 and eta=3 allow at most 3"),
])
def test_bad_schedules_name_the_value(kwargs, message):
    arguments = dict(epochs=9, eta=3, min_epochs=1, brackets=1, trials=9) | kwargs
    with pytest.raises(ValueError, match=message):
        hyperband_brackets(**arguments)


def test_segments_re_packed_and_saved_continue_as_one_longer_run(tmp_path):
    from dlcourse.sweep.population import Population, stack_hparams
    from dlcourse.sweep.segments import Carry, Segments

    config = toy_experiment.get_config()
    config.epochs = 3
    trainable = toy_experiment.build(config)
    population = Population(trainable, swept=["learning_rate"])
    rates = [0.01, 0.1, 1.0, 300.0, 3.0]            # 300 diverges in its first epoch
    hparams = stack_hparams(trainable, [{"learning_rate": r} for r in rates])
    ids = [10, 11, 12, 13, 14]
    whole = population.run(hparams, 7, ids)         # 3 epochs in one program

    segments = Segments(population)
    carry, first = segments.begin(hparams, 7, ids, 1)
    np.testing.assert_array_equal(segments.guard(carry).diverged, [False, False, False, True, False])
    rows = [4, 3, 1, 0]                              # re-packed: another order, one trial dropped
    np.savez(tmp_path / "carry.npz", **carry.take(rows).arrays("carry/"))
    with np.load(tmp_path / "carry.npz") as saved:
        loaded = Carry.from_arrays(saved, "carry/")
    chex.assert_trees_all_equal(loaded, carry.take(rows))
    carry, second = segments.advance(loaded, {k: v[rows] for k, v in hparams.items()}, 2)
    for name in ("train_loss", "dev_accuracy", "train_accuracy"):
        joined = np.concatenate([first[name][rows], second[name]], axis=1)
        np.testing.assert_allclose(joined, whole[name][rows], rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(segments.guard(carry).diverged, whole["diverged"][rows])
    assert np.isnan(second["train_loss"][1]).all()   # the diverged trial stays diverged
