"""launch.py --schedule: successive halving with two Hyperband brackets end to end (exactly the
right trials promoted, rung plot, TensorBoard export), resume after a crash at a rung, PBT wired
through the store, and one-line refusals of the schedule flags."""

import importlib.util
import json
import os

import pytest

from tests.test_launch import LAUNCH, TOY, _env, _one_line_error, _records, _run

HALVING = [f"--config={TOY}", "--schedule=halving", "--eta=3", "--brackets=2", "--trials=9", "--seed=5",
           "--config.epochs=3", "--sweep=learning_rate=log(1e-3,10),beta1=1-log(1e-2,1)"]


@pytest.fixture(scope="module")
def launch():
    spec = importlib.util.spec_from_file_location("launch_schedules_under_test", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def halving(launch, tmp_path_factory):
    """One uninterrupted halving sweep (with --tensorboard): its workdir and printed output.

    Budget 3 epochs, η = 3: s_max = 1. Bracket s = 1 starts N = 9 trials with rungs at ⌊3/3⌋ = 1
    and 3 epochs; bracket s = 0 starts ⌈9 · 3⁻¹ · 2/1⌉ = 6 trials trained 3 epochs."""
    import io
    from contextlib import redirect_stdout

    workdir = str(tmp_path_factory.mktemp("halving") / "run")
    out = io.StringIO()
    with redirect_stdout(out):
        status = launch.main(["launch.py", *HALVING, "--tensorboard", f"--workdir={workdir}"])
    assert status == 0
    return workdir, out.getvalue()


def test_halving_promotes_exactly_the_best_third_and_continues_them(halving, launch, capsys):
    workdir, out = halving
    everything = _records(workdir)
    assert [(r["id"], r["round"], r["bracket"]) for r in everything] == [(i, 0, 0) for i in range(9)] + [
        (i, 1, 1) for i in range(9, 15)]
    assert all(r["rungs"] == [] and len(r["metrics"]["dev_accuracy"]) == 3 for r in everything[9:])
    records = everything[:9]
    # Recompute the first bracket's selection from the curves, independently: best dev accuracy
    # after epoch 1, diverged trials out, ties to the lower id, keep ⌊9/3⌋ = 3.
    first = {r["id"]: r["metrics"]["dev_accuracy"][0] for r in records}
    diverged_at_1 = {r["id"] for r in records if first[r["id"]] is None}
    eligible = sorted((i for i in first if i not in diverged_at_1), key=lambda i: (-first[i], i))
    kept = set(eligible[:3])
    for r in records:
        assert r["rungs"] == [{"epochs": 1, "promoted": r["id"] in kept, "score": first[r["id"]]}]
        assert len(r["metrics"]["dev_accuracy"]) == (3 if r["id"] in kept else 1)
        assert r["metrics"]["epochs_run"] <= len(r["metrics"]["dev_accuracy"])
    assert "kept 3 (cut-off dev accuracy" in out and "[toy_experiment bracket 1/2 rung 2/2] 3 trials at 3 epochs" in out
    assert ("random search, successive halving, eta 3, 2 Hyperband brackets: 9 trials at 1/3 epochs; 6 trials at 3 "
            "epochs, seed 5" in out)
    assert "[toy_experiment bracket 2/2 rung 1/1] 6 trials at 3 epochs: budget reached  trials 15/15" in out
    for name in ("rungs.png", "axis_plots.png", "learning_curves.png", "leaderboard.txt"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0
    # Rung 0's file was superseded by rung 1's.
    assert sorted(os.listdir(os.path.join(workdir, "rungs"))) == ["bracket-0-rung-1.npz", "bracket-1-rung-0.npz"]
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(os.path.join(workdir, "trial-0")))
    meta = json.load(open(os.path.join(workdir, "sweep.json")))
    assert (meta["schedule"], meta["eta"], meta["min_epochs"], meta["brackets"]) == ("halving", 3, 1, 2)
    # Again: only reported. With another eta: refused, naming it.
    assert launch.main(["launch.py", *HALVING, f"--workdir={workdir}"]) == 0
    assert "all 15 trials are recorded" in capsys.readouterr().out
    err = _one_line_error(capsys, launch.main(["launch.py", *HALVING[:2], "--eta=2", "--brackets=1", *HALVING[4:],
                                               f"--workdir={workdir}"]))
    assert "eta: stored 3, now 2" in err


def test_a_crash_between_a_rungs_file_and_its_records_resumes_to_the_uninterrupted_records(
        halving, launch, tmp_path, capsys, monkeypatch):
    from dlcourse.sweep.store import Store

    workdir = str(tmp_path / "run")
    args = ["launch.py", *HALVING, f"--workdir={workdir}"]

    def append(self, records):
        raise KeyboardInterrupt              # the rung file is written; trials.jsonl is not
    monkeypatch.setattr(Store, "append", append)
    assert launch.main(args) == 130
    assert os.listdir(os.path.join(workdir, "rungs")) == ["bracket-0-rung-0.npz"]
    assert not os.path.exists(os.path.join(workdir, "trials.jsonl"))
    monkeypatch.undo()
    capsys.readouterr()
    assert launch.main(args) == 0
    assert "[toy_experiment bracket 1/2 rung 1/2] 9 trials at 1 epochs" in capsys.readouterr().out
    assert _records(workdir) == _records(halving[0])    # trial for trial, bitwise


def test_a_killed_process_resumes_at_the_next_bracket(halving, launch, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    killed = _run([*HALVING, f"--workdir={workdir}"], _env(DLCOURSE_SWEEP_CRASH_AFTER_RUNGS="2"))
    assert killed.returncode == 17, killed.stderr                # os._exit after bracket 1's last rung
    assert os.listdir(os.path.join(workdir, "rungs")) == ["bracket-0-rung-1.npz"]
    assert [r["id"] for r in _records(workdir)] == list(range(9))
    assert launch.main(["launch.py", *HALVING, f"--workdir={workdir}"]) == 0
    out = capsys.readouterr().out
    assert "resuming with 9 finished" in out and "rung 2/2] 3 trials at 3 epochs: budget reached" in out
    assert "resumed: already done" in out
    assert _records(workdir) == _records(halving[0])


def test_pbt_runs_through_the_store_and_draws_its_lineage(launch, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    # tests/sweep/test_pbt.py's settings on four devices: a session runs (compiles) its programs once.
    args = ["launch.py", f"--config={TOY}", "--schedule=pbt", "--ready_every=2", "--trials=6", "--seed=3",
            "--search=grid", "--config.epochs=5", "--sweep=learning_rate=choice(0.02,0.05,0.1,0.3,0.5,1000000.0)",
            f"--workdir={workdir}"]
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    records = _records(workdir)
    assert [r["id"] for r in records] == list(range(6))
    assert all("lineage" in r and len(r["hparam_schedule"]) == 3 for r in records)   # epochs 2, 2, 1
    assert os.path.getsize(os.path.join(workdir, "lineage.png")) > 0
    assert "pbt interval 3/3] epochs 5/5" in out and "cannot be retrained alone" in out
    assert json.load(open(os.path.join(workdir, "sweep.json")))["schedule"] == "pbt"
    assert launch.main(args) == 0 and "all 6 trials are recorded" in capsys.readouterr().out



def test_ctrl_c_during_pbt_says_what_is_saved_and_the_rerun_equals_an_uninterrupted_run(launch, tmp_path, capsys,
                                                                                       monkeypatch):
    from dlcourse.cli import schedules

    args = ["launch.py", f"--config={TOY}", "--schedule=pbt", "--ready_every=2", "--trials=6", "--seed=3",
            "--search=grid", "--config.epochs=5", "--sweep=learning_rate=choice(0.02,0.05,0.1,0.3,0.5,1000000.0)"]
    whole, cut = str(tmp_path / "whole"), str(tmp_path / "cut")
    assert launch.main([*args, f"--workdir={whole}"]) == 0
    real_say = schedules.say

    def interrupted_after_the_second_interval(text):
        real_say(text)
        if "pbt interval 2/3]" in text:
            raise KeyboardInterrupt

    monkeypatch.setattr(schedules, "say", interrupted_after_the_second_interval)
    capsys.readouterr()
    assert launch.main([*args, f"--workdir={cut}"]) == 130
    err = capsys.readouterr().err
    assert err == (f"launch.py: interrupted; the population after epoch 4 is saved in {cut}; run the same command "
                   f"again to resume from it\n")
    monkeypatch.setattr(schedules, "say", real_say)
    assert launch.main([*args, f"--workdir={cut}"]) == 0
    assert "pbt interval 2/3] epochs 4/5  best dev" in capsys.readouterr().out
    strip = lambda records: [{k: v for k, v in r.items() if k != "seconds"} for r in records]  # noqa: E731
    assert strip(_records(cut)) == strip(_records(whole))

@pytest.mark.parametrize("args, message", [
    (["--schedule=asha"], "--schedule must be one of none, halving, pbt, got 'asha'"),
    (["--eta=2"], "--eta applies to --schedule=halving; add it, or drop --eta"),
    (["--schedule=halving", "--ready_every=2"], "--ready_every applies to --schedule=pbt"),
    (["--schedule=halving", "--eta=1"], "--eta must be >= 2, got 1"),
    (["--schedule=halving", "--min_epochs=0"], "--min_epochs must be >= 1, got 0"),
    (["--schedule=halving", "--brackets=0"], "--brackets must be >= 1, got 0"),
    (["--schedule=halving", "--rounds=2"], "--rounds=2: coarse-to-fine rounds apply to --schedule=none"),
    (["--schedule=halving", "--num_processes=2"], "--schedule=halving runs in one process"),
    (["--schedule=halving", "--config.epochs=2"], "epochs=2 leaves nothing to halve"),
    (["--schedule=halving", "--config.epochs=9", "--brackets=4"], "brackets=4: epochs=9, min_epochs=1 and eta=3 "
                                                                  "allow at most 3"),
    (["--schedule=halving", "--sweep=epochs=int(3,9)"], "epochs cannot be swept under --schedule=halving"),
    (["--schedule=pbt", "--ready_every=0"], "--ready_every must be >= 1, got 0"),
    (["--schedule=pbt", "--explore=mutate"], "--explore must be one of perturb, resample, got 'mutate'"),
    (["--schedule=pbt", "--exploit=binary"], "--exploit must be one of truncation"),
    (["--schedule=pbt", "--chunk=4"], "--chunk: population-based training ranks the whole population"),
    (["--schedule=pbt", "--sweep=features=choice(linear,square)"], "structural keys cannot be swept"),
])
def test_bad_schedule_flags_are_one_line_exit_2_and_write_nothing(launch, tmp_path, capsys, args, message):
    workdir = tmp_path / "run"
    status = launch.main(["launch.py", f"--config={TOY}", f"--workdir={workdir}", *args])
    assert message in _one_line_error(capsys, status)
    assert not workdir.exists()


def test_start_over_removes_a_schedules_saved_state_and_nothing_else(tmp_path):
    from dlcourse.sweep.store import Store

    (tmp_path / "rungs").mkdir()
    (tmp_path / "rungs" / "bracket-0-rung-0.npz").write_bytes(b"state")
    for name in ("sweep.json", "trials.jsonl", "rungs.png", "lineage.png", "pbt_state.npz", "notes.txt"):
        (tmp_path / name).write_text("x")
    Store(str(tmp_path)).start_over()
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
