"""Experiments run as programs: the JSON last line, metrics.json, babysitting and resuming, and
one-line errors for bad flags, bad values, a busy workdir and Ctrl-C."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _env():
    return dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")


def run_program(name, *args, check=True):
    return subprocess.run([sys.executable, str(ROOT / "experiments" / f"{name}.py"), *args],
                          capture_output=True, text=True, timeout=180, check=check, cwd="/", env=_env())


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
    assert summary["best_dev_accuracy"] >= 0.95
    assert summary["final_dev_accuracy"] >= 0.95
    assert summary["diverged"] is False and summary["epochs_run"] == 20
    assert set(summary["hparams"]) == {"learning_rate", "beta1", "beta2", "l2", "keep_prob"}
    assert summary["test_accuracy"] >= 0.9 and summary["compile_seconds"] > 0
    assert "compiled in" in result.stdout and "epoch 20/20" in result.stdout  # progress lines
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 20


def test_gradient_check_program_detects_the_planted_bug(tmp_path):
    result = run_program("gradient_check", f"--workdir={tmp_path}", "--config.plant_bug=True")
    summary = last_json_line(result.stdout)
    assert summary["bug_detected"] is True and summary["difference"] > 1e-3
    assert summary == json.loads((tmp_path / "metrics.json").read_text())


@pytest.mark.parametrize("program, args, message", [
    ("optimizers", ["--config.optimizer=nesterov"], "optimizers.py: error: unknown optimizer 'nesterov'"),
    ("deep_mlp", ["--config.nokey=1"], "deep_mlp.py: error: --config.nokey: unknown config key; the experiment has"),
    ("deep_mlp", ["--config.epochs=three"], "deep_mlp.py: error: --config.epochs=three: invalid literal"),
    ("deep_mlp", ["--config.learning_rate=-1"], "learning_rate=-1.0 is outside learning_rate's domain (0, inf)"),
    ("deep_mlp", ["--config.keep_prob=0"], "keep_prob=0.0 is outside keep_prob's domain (0, 1]"),
    ("deep_mlp", ["--config.optimizer=sgd", "--config.beta1=0.5"],
     "--config.beta1: optimizer=sgd does not read it (it reads learning_rate); setting it would change nothing"),
    ("softmax", ["extra"], "softmax.py: error: unexpected argument 'extra'"),
    ("gradient_check", ["--config.layer_dims=(4, 5, 2)"], "gradient_check.py: error: layer_dims must list"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, program, args, message):
    result = run_program(program, f"--workdir={tmp_path}", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "metrics.json").exists()


def test_help_lists_the_config_keys_and_flags():
    result = run_program("deep_mlp", "--help")
    assert "--config" in result.stdout and "--workdir" in result.stdout and "--compilation_cache" in result.stdout
    assert "An L-layer deep network" in result.stdout


def test_deep_mlp_rerun_with_other_flags_in_the_same_workdir_is_refused(tmp_path):
    first = run_program("deep_mlp", f"--workdir={tmp_path}", "--config.epochs=2", "--config.hidden=8")
    summary = last_json_line(first.stdout)
    before = (tmp_path / "metrics.json").read_text()
    for flag, what in (("--config.seed=1", "seed: saved 0, now 1"),        # would resume the seed-0 run
                       ("--config.hidden=16", "hidden: saved 8, now 16")):  # would fail inside orbax
        hidden = [] if flag.startswith("--config.hidden") else ["--config.hidden=8"]
        result = run_program("deep_mlp", f"--workdir={tmp_path}", "--config.epochs=2", *hidden, flag, check=False)
        assert result.returncode == 2, result.stderr
        err = result.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("deep_mlp.py: error: ") and "holds a different run" in err[0]
        assert what in err[0] and "another --workdir" in err[0]
        assert (tmp_path / "metrics.json").read_text() == before
    # The same flags again resume the finished run and report the same numbers.
    again = run_program("deep_mlp", f"--workdir={tmp_path}", "--config.epochs=2", "--config.hidden=8")
    resumed = last_json_line(again.stdout)
    timing = ("seconds", "compile_seconds")
    untimed = lambda figures: {k: v for k, v in figures.items() if k not in timing}  # noqa: E731
    assert untimed(resumed) == untimed(summary)


@pytest.mark.slow
def test_ctrl_c_while_babysitting_says_how_to_resume_and_the_rerun_continues(tmp_path):
    command = [sys.executable, str(ROOT / "experiments" / "deep_mlp.py"), f"--workdir={tmp_path}",
               "--config.epochs=400", "--config.hidden=8"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/", env=_env())
    for line in process.stdout:                 # wait for training to be under way
        if line.startswith("epoch   3/400"):
            break
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines() == [f"deep_mlp.py: interrupted; run the same command again to resume from the "
                                        f"last checkpoint in {tmp_path}"]
    done = len((tmp_path / "metrics.jsonl").read_text().splitlines())
    again = subprocess.run(command[:-2] + ["--config.epochs=400", "--config.hidden=8"], capture_output=True,
                           text=True, timeout=300, cwd="/", env=_env())
    assert again.returncode == 0, again.stderr
    first_epoch = int(again.stdout.split("\nepoch")[1].split("/")[0])
    assert 1 < first_epoch <= done + 1          # resumed from a checkpoint, not from scratch
    assert last_json_line(again.stdout)["epochs_run"] == 400


def test_a_busy_workdir_is_refused(tmp_path):
    from dlcourse.workdir import WorkdirLock

    with WorkdirLock(tmp_path):
        result = run_program("softmax", f"--workdir={tmp_path}", "--config.epochs=1", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"softmax.py: error: {tmp_path} is in use by process {os.getpid()}; wait for it "
                                     f"to finish or choose another --workdir")
