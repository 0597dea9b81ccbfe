"""Experiments run as programs: the JSON last line, metrics.json, and one-line errors for bad flags."""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_program(name, *args, check=True):
    return subprocess.run([sys.executable, str(ROOT / "experiments" / f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=180, check=check, cwd="/")


def last_json_line(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def test_worked_examples_prints_the_course_numbers(tmp_path):
    result = run_program("worked_examples", f"--workdir={tmp_path}", "--config.repeats=5")
    figures = last_json_line(result.stdout)
    assert figures == json.loads((tmp_path / "metrics.json").read_text())
    graph = figures["computation_graph"]
    assert (graph["J"], graph["dJ_da"], graph["dJ_db"], graph["dJ_dc"]) == (33.0, 3.0, 6.0, 9.0)
    table = figures["weight_table"]
    assert table["W=3"]["squared_error"] == [0.0, 1.0, 4.0]
    assert table["W=4"]["squared_error"] == [0.0, 4.0, 16.0]
    vector = figures["vectorization"]
    assert vector["value_loop"] == pytest.approx(vector["value_numpy"], rel=1e-9)
    assert vector["speedup_numpy"] > 5  # far slower; the exact ratio depends on the machine's load
    alphas = [figures["learning_rate_decay"]["alpha"][str(e)] for e in (1, 2, 3, 4)]
    assert alphas == pytest.approx([0.1, 0.2 / 3, 0.05, 0.04], rel=1e-6)
    assert "Learning-rate decay" in result.stdout and "dJ/db" in result.stdout


@pytest.mark.slow
def test_deep_mlp_default_run_reaches_095_dev_accuracy(tmp_path):
    result = run_program("deep_mlp", f"--workdir={tmp_path}")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["best_dev_metric"] >= 0.95
    assert summary["final_dev_metric"] >= 0.95
    assert summary["diverged"] is False and summary["epochs_run"] == 20
    assert set(summary["hparams"]) == {"learning_rate", "beta1", "beta2", "l2", "keep_prob"}
    assert "epoch 20/20" in result.stdout  # progress lines
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 20


def test_gradient_check_program_detects_the_planted_bug(tmp_path):
    result = run_program("gradient_check", f"--workdir={tmp_path}", "--config.plant_bug=True")
    summary = last_json_line(result.stdout)
    assert summary["bug_detected"] is True and summary["difference"] > 1e-3
    assert summary == json.loads((tmp_path / "metrics.json").read_text())


def test_bad_flag_value_exits_2_with_one_line(tmp_path):
    result = run_program("optimizers", f"--workdir={tmp_path}", "--config.optimizer=nesterov",
                         check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: optimizer must be one of ('gd', 'momentum', 'adam'), got 'nesterov'")
    assert not (tmp_path / "metrics.json").exists()


def test_deep_mlp_rerun_with_other_flags_in_the_same_workdir_is_refused(tmp_path):
    first = run_program("deep_mlp", f"--workdir={tmp_path}", "--config.epochs=2", "--config.hidden=8")
    summary = last_json_line(first.stdout)
    before = (tmp_path / "metrics.json").read_text()
    for flag, what in (("--config.seed=1", "seed: saved 0, now 1"),        # would resume the seed-0 run
                       ("--config.hidden=16", "hidden: saved 8, now 16")):  # would fail inside orbax
        hidden = [] if flag.startswith("--config.hidden") else ["--config.hidden=8"]
        result = run_program("deep_mlp", f"--workdir={tmp_path}", "--config.epochs=2", *hidden, flag,
                             check=False)
        assert result.returncode == 2, result.stderr
        err = result.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "holds a different run" in err[0], result.stderr
        assert what in err[0] and "another --workdir" in err[0]
        assert (tmp_path / "metrics.json").read_text() == before
    # The same flags again resume the finished run and report the same numbers.
    again = run_program("deep_mlp", f"--workdir={tmp_path}", "--config.epochs=2", "--config.hidden=8")
    resumed = last_json_line(again.stdout)
    assert {k: v for k, v in resumed.items() if k != "seconds"} == {k: v for k, v in summary.items() if k != "seconds"}
