"""Population-based training: exploit/explore on a hand-made population, a diverged trial replaced
by a copy that continues exactly as its source would, 4 devices = 1, determinism, resume."""

import jax
import numpy as np
import pytest

from dlcourse.sweep.pbt import check_pbt_spaces, plot_lineage, run_pbt
from dlcourse.sweep.pbt_exploit import (
    exploit_and_explore,
    exploit_count,
    explore,
    explore_values,
    ranking_scores,
    truncation_sources,
)
from dlcourse.sweep.spaces import Choice, IntRange, LogUniform, OneMinusLogUniform, Uniform
from dlcourse.sweep.spec import parse_spec
from tests.compilations import count_compilations
from tests.sweep import toy_experiment as toy

# Grid search gives trial i the i-th option; trial 5 (α = 1e6) diverges in its first epoch.
SPEC = "learning_rate=choice(0.02,0.05,0.1,0.3,0.5,1000000.0)"
SETTINGS = dict(trials=6, seed=1, ready_every=2, search="grid")   # 5 epochs: intervals of 2, 2, 1


@pytest.fixture(scope="module")
def trainable():
    config = toy.get_config()
    config.epochs = 5
    return toy.build(config)


@pytest.fixture(scope="module")
def spaces():
    return parse_spec(SPEC)


@pytest.fixture(scope="module")
def one_device(trainable, spaces):
    return run_pbt(trainable, spaces, devices=jax.devices()[:1], **SETTINGS)


def _without_seconds(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def test_exploit_count():
    assert [exploit_count(n, 0.25) for n in (1, 2, 4, 5, 6, 8)] == [0, 1, 1, 2, 2, 2]
    assert exploit_count(10, 0.5) == 5 and exploit_count(3, 0.5) == 1
    with pytest.raises(ValueError, match="0.6"):
        exploit_count(8, 0.6)


def test_truncation_on_a_hand_made_population():
    dev = np.float32([0.5, 0.9, 0.95, 0.7, 0.6, 0.8, 0.1, 0.7])
    diverged = np.array([False, False, True, False, False, False, False, False])
    scores = np.asarray(jax.jit(ranking_scores, static_argnums=2)(dev, diverged, "max"))
    assert np.isneginf(scores[2])
    # Best first: 1 (0.9), 5 (0.8), 3 and 7 (0.7, lower index first), 4, 0, 6, and 2 (diverged) last.
    # q = 2: targets are 6 and 2, in rank order; picks [1, 0] give them trials 5 and 1.
    truncation = jax.jit(truncation_sources, static_argnums=1)
    sources, targets = truncation(scores, 2, np.int32([1, 0]))
    assert targets.tolist() == [6, 2]
    assert sources.tolist() == [0, 1, 1, 3, 4, 5, 5, 7]
    # A loss to minimize ranks the other way; a NaN ranks with the diverged.
    loss = np.float32([0.3, 0.1, np.nan, 0.2])
    scores = jax.jit(ranking_scores, static_argnums=2)(loss, np.zeros(4, bool), "min")
    sources, targets = truncation(scores, 1, np.int32([0]))
    assert targets.tolist() == [2] and sources.tolist() == [0, 1, 1, 3]


def test_explore_on_hand_made_values():
    spaces = {"learning_rate": LogUniform(1e-3, 1.0), "beta1": OneMinusLogUniform(1e-3, 0.1),
              "l2": Uniform(0.0, 0.1)}
    copied = {"learning_rate": np.float32([0.01, 0.9]), "beta1": np.float32([0.95, 0.9]),
              "l2": np.float32([0.0, 0.05]), "keep_prob": np.float32([0.8, 0.8])}
    up = np.array([[True, False, False], [True, True, True]])
    resample = np.array([[False, False, False], [False, True, False]])
    unit = np.float32([[0.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    out = jax.jit(lambda *draws: explore(copied, spaces, *draws))(up, resample, unit)
    f = np.float32
    np.testing.assert_allclose(out["learning_rate"], [f(0.01) * f(1.2), 1.0], rtol=1e-6)   # 1.08 clipped to 1
    # β: 1 − (1 − 0.95)·0.8 = 0.96; resampled at u = 0.5: 1 − 10^(−3 + 0.5·2) = 0.99.
    np.testing.assert_allclose(out["beta1"], [0.96, 0.99], rtol=1e-6)
    # Uniform(0, 0.1) steps by 0.02: 0 − 0.02 clipped to 0; 0.05 + 0.02.
    np.testing.assert_allclose(out["l2"], [0.0, 0.07], rtol=1e-6)
    np.testing.assert_array_equal(out["keep_prob"], copied["keep_prob"])   # not swept: kept

    up, resample = np.array([True, False, False]), np.array([False, False, True])
    unit = np.float32([0.0, 0.0, 0.99])
    # IntRange(1, 11) steps by round(0.2·10) = 2: 10 + 2 → 11 (clipped); 2 − 2 → 1; u = 0.99 → 1 + ⌊10.89⌋.
    explored = jax.jit(explore_values, static_argnums=1)
    np.testing.assert_array_equal(explored(np.float32([10, 2, 5]), IntRange(1, 11), up, resample, unit),
                                  [11, 1, 11])
    # Choice moves to the neighbouring option (clipped); u = 0.4 → options[⌊1.2⌋].
    unit = np.float32([0.0, 0.0, 0.4])
    np.testing.assert_allclose(explored(np.float32([0.3, 0.1, 0.5]), Choice((0.1, 0.3, 0.5)), up,
                                        resample, unit), [0.5, 0.1, 0.3], rtol=1e-6)


def test_keyed_exploit_and_explore_follows_its_documented_draws():
    spaces = {"learning_rate": LogUniform(1e-3, 1.0), "beta1": OneMinusLogUniform(1e-3, 0.1)}
    learning_rate = np.float32([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08])
    beta1 = np.float32([0.95, 0.955, 0.96, 0.965, 0.97, 0.975, 0.98, 0.985])
    scores = np.float32([8, 7, 6, 5, 4, 3, 2, 1])          # rank = index: targets 6, 7; top 0, 1
    key = np.uint32([0, 7])                                 # PRNGKey(7)

    @jax.jit
    def keyed(p):
        out = exploit_and_explore(key, scores, {"learning_rate": learning_rate, "beta1": beta1}, spaces, 2, p)
        return out, jax.random.uniform(key, (2, 7))       # q = 2 rows of 1 + 3·2 documented draws

    (sources, out), draws = keyed(0.0)
    (again, _), _ = keyed(0.0)
    np.testing.assert_array_equal(again, sources)
    picks = np.floor(np.asarray(draws)[:, 0] * 2).astype(int)
    assert sources.tolist() == [0, 1, 2, 3, 4, 5, picks[0], picks[1]]
    for j, target in enumerate((6, 7)):
        factor = np.where(np.asarray(draws)[j, 1:3] < 0.5, np.float32(1.2), np.float32(0.8))
        np.testing.assert_allclose(out["learning_rate"][target], learning_rate[picks[j]] * factor[0], rtol=1e-6)
        np.testing.assert_allclose(1 - out["beta1"][target], (1 - beta1[picks[j]]) * factor[1], rtol=1e-5)
    np.testing.assert_array_equal(out["learning_rate"][:6], learning_rate[:6])   # the others keep theirs
    np.testing.assert_array_equal(out["beta1"][:6], beta1[:6])
    # Always resampling: u[j, 5:7] through the spaces' inverse CDFs.
    (_, drawn), _ = keyed(1.0)
    unit = np.asarray(draws)[:, 5:7].astype(np.float64)
    np.testing.assert_allclose(drawn["learning_rate"][6:], 10 ** (-3 + 3 * unit[:, 0]), rtol=1e-5)
    np.testing.assert_allclose(1 - drawn["beta1"][6:], 10 ** (-3 + 2 * unit[:, 1]), rtol=1e-4)


def test_structural_and_out_of_domain_spaces_are_refused(trainable):
    with pytest.raises(ValueError, match="features is not a numeric hyperparameter"):
        check_pbt_spaces(trainable, parse_spec("features=choice(linear,square)"))
    with pytest.raises(ValueError, match="batch_size is not a numeric"):
        run_pbt(trainable, parse_spec("batch_size=int(8,64)"), trials=4, seed=0, ready_every=1)
    with pytest.raises(ValueError, match="beta1=1.5"):
        check_pbt_spaces(trainable, parse_spec("beta1=uniform(0.5,1.5)"))
    for bad, match in (({"ready_every": 0}, "ready_every"), ({"exploit": "tournament"}, "tournament"),
                       ({"explore": "jitter"}, "jitter"), ({"fraction": 0.75}, "fraction")):
        with pytest.raises(ValueError, match=match):
            run_pbt(trainable, {}, **dict(dict(trials=4, seed=0, ready_every=1), **bad))


def test_diverged_trial_copies_a_top_trial_and_continues_as_it_would(trainable, one_device):
    records = {r["id"]: r for r in one_device}
    diverged = records[5]
    assert np.isnan(np.asarray(diverged["metrics"]["train_loss"][:2], float)).all()
    top = sorted(range(5), key=lambda i: -records[i]["metrics"]["dev_accuracy"][1])[:2]
    assert diverged["lineage"][0]["epoch"] == 2 and diverged["lineage"][0]["copied_from"] in top
    assert diverged["status"] == "ok" and diverged["metrics"]["epochs_run"] >= 3
    # Independently: the source trained alone for 2 epochs at its own α, then 2 at the explored α.
    source = records[diverged["lineage"][0]["copied_from"]]
    schedule = [s["hparams"]["learning_rate"] for s in diverged["hparam_schedule"]]
    assert schedule[0] == pytest.approx(1e6) and schedule[1] != schedule[0]
    defaults = {k: np.float32(v) for k, v in trainable.hparams.items()}

    @jax.jit
    def alone(learning_rates):
        key = jax.random.fold_in(jax.random.PRNGKey(SETTINGS["seed"]), source["id"])
        start = trainable.start(dict(defaults, learning_rate=learning_rates[0]), key)

        def epoch(carry, learning_rate):
            state, guard, row = trainable.guarded_epoch(*carry, dict(defaults, learning_rate=learning_rate))
            return (state, guard), row

        return jax.lax.scan(epoch, start, learning_rates)[1]

    own = source["hparam_schedule"][0]["hparams"]["learning_rate"]
    rows = alone(np.float32([own, own, schedule[1], schedule[1]]))
    np.testing.assert_allclose(source["metrics"]["train_loss"][:2], rows["train_loss"][:2], rtol=1e-5)
    np.testing.assert_allclose(diverged["metrics"]["train_loss"][2:4], rows["train_loss"][2:], rtol=1e-5)
    np.testing.assert_allclose(diverged["metrics"]["dev_accuracy"][2:4], rows["dev_accuracy"][2:], rtol=1e-6)


def test_records_and_lineage_plot(one_device, spaces, tmp_path):
    assert [r["id"] for r in one_device] == list(range(6))
    for r in one_device:
        assert [(s["from_epoch"], s["to_epoch"]) for s in r["hparam_schedule"]] == [(0, 2), (2, 4), (4, 5)]
        assert r["hparams"] == r["hparam_schedule"][-1]["hparams"]     # nothing explored after the last
        assert len(r["metrics"]["dev_accuracy"]) == 5
        assert all(event["epoch"] in (2, 4) for event in r["lineage"])
        for event in r["lineage"]:   # a copy starts the next interval from its source's values, explored
            assert event["copied_from"] != r["id"]
    copies = sum(len(r["lineage"]) for r in one_device)
    assert copies == 4                                           # q = ⌈0.25 · 6⌉ = 2 at each of 2 boundaries
    path = tmp_path / "lineage.png"
    plot_lineage(one_device, path, spaces, "accuracy")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="not from population-based training"):
        plot_lineage([{"id": 0, "metrics": {}}], tmp_path / "x.png")


def test_four_devices_equal_one_and_runs_are_deterministic(trainable, spaces, one_device):
    assert len(jax.devices()) == 4
    sharded = run_pbt(trainable, spaces, **SETTINGS)                # 6 trials padded to 8
    assert _without_seconds(sharded) == _without_seconds(one_device)


class _Killed(Exception):
    pass


def test_resume_after_an_interval_equals_an_uninterrupted_run(trainable, spaces, one_device, tmp_path):
    def kill_after_first(progress):
        if not progress.restored:
            raise _Killed

    with pytest.raises(_Killed):
        run_pbt(trainable, spaces, devices=jax.devices()[:1], workdir=tmp_path, on_interval=kill_after_first,
                **SETTINGS)
    seen = []
    resumed = run_pbt(trainable, spaces, devices=jax.devices()[:1], workdir=tmp_path, on_interval=seen.append,
                      **SETTINGS)
    assert [(p.interval, p.restored) for p in seen] == [(0, True), (1, False), (2, False)]
    assert _without_seconds(resumed) == _without_seconds(one_device)
    with count_compilations() as compiled:                      # finished: read back, nothing compiled
        again = run_pbt(trainable, spaces, devices=jax.devices()[:1], workdir=tmp_path, **SETTINGS)
    assert len(compiled) == 0 and _without_seconds(again) == _without_seconds(one_device)
    with pytest.raises(ValueError, match="another population-based training run"):
        run_pbt(trainable, spaces, devices=jax.devices()[:1], workdir=tmp_path, **dict(SETTINGS, seed=4))
    config = toy.get_config()
    config.update(epochs=5, features="square")                 # 8 weights instead of 4
    with pytest.raises(ValueError, match="another model structure"):
        run_pbt(toy.build(config), spaces, devices=jax.devices()[:1], workdir=tmp_path, **SETTINGS)
