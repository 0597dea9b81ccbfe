"""launch.py as a program: bad input, a full sweep with resume, a killed sweep, two processes."""

import importlib.util
import json
import os
import socket
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = os.path.join(REPO, "launch.py")
TOY = os.path.join(REPO, "tests", "sweep", "toy_experiment.py")


@pytest.fixture(scope="module")
def launch():
    spec = importlib.util.spec_from_file_location("launch_under_test", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env(devices=4, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLCOURSE_")}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    env.update(extra)
    return env


def _run(args, env, timeout=240):
    return subprocess.run([sys.executable, LAUNCH, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _records(workdir):
    with open(os.path.join(workdir, "trials.jsonl")) as f:
        records = [json.loads(line) for line in f]
    for r in records:
        r.pop("seconds")
    return sorted(records, key=lambda r: r["id"])


@pytest.mark.parametrize("args, message", [
    (["--experiment=no_such_experiment"], "unknown experiment 'no_such_experiment'"),
    (["--sweep=learning_rate=log(0,1)"], "log-scale bounds must be > 0"),
    (["--sweep=learning_rate=log(1,1e-4)"], "inverted range"),
    (["--sweep=l2=uniform(0.1,0.1)"], "empty range"),
    (["--sweep=learning_rate=log(1e-4,1"], "unbalanced"),
    (["--sweep=learning_rate=log(1e-4,1),"], "expected KEY=RANGE"),
    (["--sweep="], "empty sweep spec"),
    (["--sweep=hidden=int(50,100)"], "unknown hyperparameter 'hidden'"),
    (["--sweep=epochs=uniform(1,5)"], "epochs is an integer"),
    (["--sweep=features=log(1e-3,1)"], "features is a string"),
    (["--sweep=l2=uniform(-1,1)"], "outside l2's domain [0, inf)"),
    (["--sweep=beta1=uniform(0.5,1)"], "outside beta1's domain [0, 1)"),
    (["--trials=0"], "--trials must be >= 1"),
    (["--trials=1", "--num_processes=2"], "runs in one process"),
    (["--rounds=0"], "--rounds must be >= 1"),
    (["--chunk=0"], "--chunk must be >= 1"),
    (["--search=bayesian"], "--search must be one of"),
    (["--trials=many"], "trials"),
    (["--no_such_flag=1"], "no_such_flag"),
    (["--config.no_such_key=1"], "unknown config key"),
    (["--config.epochs=three"], "expected a value of type int"),
    (["--config.learning_rate=0.1"], "both swept"),
    (["--config.features=cubic", "--sweep=none"], "features must be"),
    (["--human_error=2"], "--human_error"),
    (["--seed=-1"], "--seed must be in [0, 2**32), got -1"),
    ([f"--seed={2 ** 32}"], "--seed must be in [0, 2**32)"),
    (["--trial_id=-3"], "--trial_id must be >= 0, got -3"),
    ([f"--trial_id={2 ** 32 - 10}", "--trials=6", "--rounds=2"], "exceeds 2**32"),
    (["--sweep=features=choice(linear,cubic)"], "--sweep: features=cubic (choice(linear,cubic)) cannot be built: "
                                                "features must be 'linear' or 'square'"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(launch, tmp_path, capsys, args, message):
    workdir = tmp_path / "run"
    experiment = [] if any(a.startswith("--experiment") for a in args) else [f"--experiment={TOY}"]
    status = launch.main(["launch.py", *experiment, f"--workdir={workdir}", *args])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("launch.py: error: ") and message in err, err
    assert not workdir.exists()


@pytest.mark.parametrize("sweep, message", [
    ("optimizer=choice(adam,foo)", "--sweep: optimizer=foo (choice(adam,foo)) cannot be built: optimizer must be one of"),
    ("batch_size=int(-5,3)", "--sweep: batch_size=-5 (int(-5,3)) cannot be built: batch_size must be a positive int"),
])
def test_a_structural_value_that_cannot_be_built_is_refused_before_writing(launch, tmp_path, capsys, sweep,
                                                                           message):
    workdir = tmp_path / "run"
    status = launch.main(["launch.py", f"--sweep={sweep}", "--trials=2", "--config.epochs=1",
                          f"--workdir={workdir}"])          # the default experiment, deep_mlp
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("launch.py: error: ") and message in err, err
    assert not workdir.exists()


def test_a_file_as_workdir_or_a_broken_experiment_is_one_line_exit_2(launch, tmp_path, capsys):
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me\n")
    for workdir, message in ((a_file, "is a file, not a directory"),
                             (a_file / "run", f"is inside {a_file}, which is a file")):
        assert launch.main(["launch.py", f"--experiment={TOY}", f"--workdir={workdir}"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("launch.py: error: --workdir=") and message in err, err
        assert a_file.read_text() == "keep me\n"
    broken = tmp_path / "broken.py"
    broken.write_text("def get_config(:\n    pass\n")
    workdir = tmp_path / "run"
    assert launch.main(["launch.py", f"--experiment={broken}", f"--workdir={workdir}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("launch.py: error: experiment "), err
    assert f"experiment {str(broken)!r} cannot be loaded: {broken}:1: invalid syntax" in err, err
    assert not workdir.exists()


def test_bad_input_as_a_process(tmp_path):
    workdir = tmp_path / "run"
    result = _run([f"--experiment={TOY}", "--sweep=hidden=int(50,100)", f"--workdir={workdir}"],
                  _env(), timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "unknown hyperparameter 'hidden'" in result.stderr and "Traceback" not in result.stderr
    assert not workdir.exists()


def test_sweep_rounds_report_resume_and_refusal(launch, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    args = ["launch.py", f"--experiment={TOY}", "--search=quasirandom", "--trials=6", "--rounds=2",
            "--chunk=4", "--seed=3", "--config.epochs=3", f"--workdir={workdir}", "--human_error=0.05"]
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    meta = json.load(open(os.path.join(workdir, "sweep.json")))
    assert meta["spec"] == launch.DEFAULT_SWEEP.replace("1e-4", "0.0001").replace("1e-3", "0.001").replace("1e-1", "0.1")
    assert (meta["search"], meta["seed"], meta["trials"], meta["rounds"]) == ("quasirandom", 3, 6, 2)
    assert meta["config_overrides"] == {"epochs": 3} and meta["code_version"]
    records = _records(workdir)
    assert [r["id"] for r in records] == list(range(12))
    assert [r["round"] for r in records] == [0] * 6 + [1] * 6
    assert all(len(r["metrics"]["dev_metric"]) == 3 and r["status"] in ("ok", "diverged") for r in records)
    # Round 2 samples a learning-rate range of 2 decades (half of 4) holding the best of round 1.
    best = max((r for r in records[:6] if r["status"] == "ok"), key=lambda r: r["metrics"]["best_dev_metric"])
    second = [r["hparams"]["learning_rate"] for r in records[6:]]
    import math
    assert math.log10(max(second) / min(second)) <= 2.0 + 1e-9
    assert min(second) <= best["hparams"]["learning_rate"] * 100 and max(second) >= best["hparams"]["learning_rate"] / 100
    for name in ("axis_plots.png", "learning_curves.png", "leaderboard.txt"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0
    assert "trials 12/12" in out and "best accuracy" in out and "avoidable bias" in out
    assert "focus:" in out and "--sweep=none --trials=1 --seed=3 --trial_id=" in out
    # The same command again resumes: nothing is recomputed.
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    assert "resuming with 12 finished" in out and "chunk " not in out.replace("resumed", "")
    assert _records(workdir) == records
    # A different spec in the same workdir is refused, and nothing changes.
    before = open(os.path.join(workdir, "trials.jsonl")).read()
    assert launch.main(args[:-1] + ["--sweep=learning_rate=log(1e-3,1)"]) == 2
    err = capsys.readouterr().err
    assert "different sweep" in err and "--workdir" in err and "delete" in err
    assert open(os.path.join(workdir, "trials.jsonl")).read() == before


def test_panda_mode_reproduces_a_trial(launch, tmp_path, capsys):
    workdir = str(tmp_path / "sweep")
    assert launch.main(["launch.py", f"--experiment={TOY}", "--trials=4", "--config.epochs=3",
                        f"--workdir={workdir}"]) == 0
    out = capsys.readouterr().out
    command = out.split("best trial, alone:\n")[1].strip().split()
    best = {r["id"]: r for r in _records(workdir)}[int([a for a in command if a.startswith("--trial_id=")][0].split("=")[1])]
    single = str(tmp_path / "single")
    assert launch.main(["launch.py", *command[2:], f"--workdir={single}"]) == 0
    out = capsys.readouterr().out
    assert "epoch 3/3" in out
    (alone,) = _records(single)
    assert alone["id"] == best["id"]
    for key in ("best_dev_metric", "final_dev_metric", "final_train_loss"):
        assert alone["metrics"][key] == pytest.approx(best["metrics"][key], abs=1e-5)


BASE_ARGS = [f"--experiment={TOY}", "--trials=12", "--chunk=4", "--seed=5",
             "--sweep=learning_rate=log(1e-3,10),beta1=1-log(1e-2,1)"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("uninterrupted") / "run")
    result = _run([*BASE_ARGS, f"--workdir={workdir}"], _env())
    assert result.returncode == 0, result.stderr
    return _records(workdir)


@pytest.mark.slow
def test_killed_sweep_resumes_to_the_same_results(uninterrupted, tmp_path):
    workdir = str(tmp_path / "run")
    crashed = _run([*BASE_ARGS, f"--workdir={workdir}"], _env(DLCOURSE_SWEEP_CRASH_AFTER_CHUNKS="1"))
    assert crashed.returncode == 17, crashed.stderr
    partial = _records(workdir)
    assert 0 < len(partial) < len(uninterrupted)
    with open(os.path.join(workdir, "trials.jsonl"), "a") as f:
        f.write('{"id": 11, "round": 0, "hparams": {"learning_')      # killed mid-write
    resumed = _run([*BASE_ARGS, f"--workdir={workdir}"], _env())
    assert resumed.returncode == 0, resumed.stderr
    assert "damaged last line" in resumed.stderr
    assert f"resuming with {len(partial)} finished" in resumed.stdout
    final = _records(workdir)
    assert [r["id"] for r in final] == list(range(12))
    assert final == uninterrupted                 # trial for trial, bitwise (JSON floats round-trip)
    assert any(r["status"] == "diverged" for r in final) and any(r["status"] == "ok" for r in final)


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_run_one_sweep(uninterrupted, tmp_path):
    port = _free_port()
    workdirs = [str(tmp_path / "p0"), str(tmp_path / "p1")]
    zero = subprocess.Popen(
        [sys.executable, LAUNCH, *BASE_ARGS, f"--workdir={workdirs[0]}",
         f"--coordinator_address=localhost:{port}", "--num_processes=2", "--process_id=0"],
        cwd=REPO, env=_env(devices=2), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    one = subprocess.Popen(
        [sys.executable, LAUNCH, *BASE_ARGS, f"--workdir={workdirs[1]}"], cwd=REPO,
        env=_env(devices=2, DLCOURSE_COORDINATOR=f"localhost:{port}", DLCOURSE_NUM_PROCESSES="2",
                 DLCOURSE_PROCESS_ID="1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out0, err0 = zero.communicate(timeout=240)
        out1, err1 = one.communicate(timeout=60)
    finally:
        for process in (zero, one):
            if process.poll() is None:
                process.kill()
    assert zero.returncode == 0, err0
    assert one.returncode == 0, err1
    assert "4 device(s)" in out0 and "trials 12/12" in out0
    # Only process 0 prints and writes (gloo's own connection lines aside).
    assert [line for line in out1.splitlines() if not line.startswith("[Gloo]")] == []
    assert not os.path.exists(workdirs[1])
    records = _records(workdirs[0])
    assert [r["id"] for r in records] == [r["id"] for r in uninterrupted]
    for mine, reference in zip(records, uninterrupted):
        assert mine["hparams"] == reference["hparams"] and mine["status"] == reference["status"]
        for key, value in reference["metrics"].items():
            assert mine["metrics"][key] == pytest.approx(value, abs=1e-6, nan_ok=True), (mine["id"], key)


def test_error_analysis_tables_the_best_trial_retrained_alone(launch, tmp_path, capsys):
    import jax
    import numpy as np
    from dlcourse.strategy import format_per_class_error_table, per_class_error_table
    from dlcourse.sweep import trial_keys
    from tests.sweep import toy_experiment as toy

    workdir = str(tmp_path / "run")
    assert launch.main(["launch.py", f"--experiment={TOY}", "--trials=4", "--seed=2", "--config.epochs=3",
                        "--error_analysis", "--human_error=0.05", f"--workdir={workdir}"]) == 0
    captured = capsys.readouterr()
    table = open(os.path.join(workdir, "error_analysis.txt")).read()
    assert table.strip() in captured.out and "focus:" in captured.out   # with --human_error's diagnosis
    assert "differs" not in captured.err                                 # reproduced to 1e-5
    records = _records(workdir)
    best = max((r for r in records if r["status"] == "ok"),
               key=lambda r: (r["metrics"]["best_dev_metric"], -r["id"]))
    # The same trial trained here, its dev predictions computed by hand from its parameters.
    config = toy.get_config()
    config.epochs = 3
    trainable = toy.build(config)
    hparams = {k: np.float32(best["hparams"].get(k, v)) for k, v in trainable.hparams.items()}
    (params, _, _), metrics = jax.jit(trainable.train_with_state)(hparams, trial_keys(2, [best["id"]])[0])
    assert float(metrics["final_dev_metric"]) == pytest.approx(best["metrics"]["final_dev_metric"], abs=1e-5)
    _, (x_dev, y_dev) = toy._data(config)
    z = np.asarray(x_dev, np.float64) @ np.asarray(params["w"], np.float64) + float(params["b"])
    labels, predictions = np.asarray(y_dev).astype(int), (z > 0).astype(int)
    errors = int(np.sum(labels != predictions))
    heading = (f"error analysis of trial {best['id']} (retrained alone; final state on the dev set): "
               f"dev error {100 * errors / len(labels):.2f}% ({errors} of {len(labels)})")
    assert table == heading + "\n" + format_per_class_error_table(per_class_error_table(labels, predictions)) + "\n"


def test_error_analysis_without_predict_is_one_line_exit_2(launch, tmp_path, capsys):
    experiment = tmp_path / "no_predict.py"
    experiment.write_text("from tests.sweep.toy_experiment import get_config, build as build_toy\n\n\n"
                          "def build(config):\n    return build_toy(config)._replace(predict=None)\n")
    workdir = tmp_path / "run"
    status = launch.main(["launch.py", f"--experiment={experiment}", "--error_analysis", f"--workdir={workdir}"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "--error_analysis: experiment 'no_predict' gives no predictions" in err, err
    assert not workdir.exists()



@pytest.mark.slow
def test_the_main_job_reaches_the_promised_dev_accuracy(launch, tmp_path, capsys):
    """``python launch.py`` with no flags: 32 Adam trials on deep_mlp, best dev accuracy >= 0.97."""
    workdir = str(tmp_path / "default")
    assert launch.main(["launch.py", f"--workdir={workdir}"]) == 0
    records = _records(workdir)
    assert len(records) == 32 and {r["id"] for r in records} == set(range(32))
    assert max(r["metrics"]["best_dev_metric"] or 0.0 for r in records) >= 0.97
    assert "best trial, alone:" in capsys.readouterr().out
