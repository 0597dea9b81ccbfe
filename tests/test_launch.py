"""launch.py as a program: bad input, faults, a full sweep with resume, the resume protocol, the
one-writer lock, the reproduce command, the compilation cache, a killed sweep, two processes."""

import errno
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH = os.path.join(REPO, "launch.py")
TOY = os.path.join(REPO, "tests", "sweep", "toy_experiment.py")

#: An experiment (written to a temporary folder by tests) whose loss explodes at a large learning
#: rate while staying finite, and whose objective is not an error rate.
EXPLODING = textwrap.dedent('''
    """Linear regression by gradient descent; the objective is the mean squared error."""
    import flax.linen as nn
    import jax.numpy as jnp
    import ml_collections
    import numpy as np

    from dlcourse import metrics, train
    from dlcourse.data import Dataset, Examples

    SQUARED_ERROR = metrics.Metric(
        "squared_error", "min", 0.0, float("inf"),
        lambda out, target, w: {"s": jnp.sum(w * (out - target) ** 2), "n": jnp.sum(w)},
        lambda stats: stats["s"] / stats["n"])


    def get_config():
        config = ml_collections.ConfigDict()
        config.learning_rate = 0.1
        config.epochs = 6
        config.seed = 0
        return config


    def build(config):
        rng = np.random.default_rng(config.seed)
        x = rng.normal(size=(32, 2)).astype(np.float32)
        y = (x @ np.array([1.0, -1.0], np.float32))[:, None]
        data = Dataset(Examples(x, y), Examples(x, y))
        return train.supervised(nn.Dense(1), data, optimizer="sgd", hparams={"learning_rate": config.learning_rate},
                                epochs=config.epochs, batch_size=32, loss="squared_error",
                                metrics=(SQUARED_ERROR,))
''')


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
    env["DLCOURSE_COMPILATION_CACHE"] = os.environ["DLCOURSE_COMPILATION_CACHE"]  # the session's (conftest)
    env.update(extra)
    return env


def _run(args, env, timeout=240, cwd=REPO):
    return subprocess.run([sys.executable, LAUNCH, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _records(workdir):
    with open(os.path.join(workdir, "trials.jsonl")) as f:
        records = [json.loads(line) for line in f]
    for r in records:
        r.pop("seconds")
    return sorted(records, key=lambda r: r["id"])


def _one_line_error(capsys, status, expected_status=2):
    err = capsys.readouterr().err
    assert status == expected_status, err
    assert err.count("\n") == 1 and err.startswith("launch.py: error: ") and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("args, message", [
    (["--experiment=no_such_experiment"],
     "unknown experiment 'no_such_experiment'; available: batch_norm, char_lm, convnets, "),
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
    (["positional"], "unexpected argument 'positional'"),
    (["--config.no_such_key=1"], "--config.no_such_key: unknown config key; the experiment has batch_size, beta1"),
    (["--config.epochs=three"], "--config.epochs=three: invalid literal for int()"),
    (["--config.learning_rate=0.1"], "both swept"),
    (["--config.features=cubic", "--sweep=none"], "features must be"),
    (["--config.learning_rate=-1", "--sweep=none"], "learning_rate=-1.0 is outside learning_rate's domain (0, inf)"),
    (["--config.l2=-5"], "l2=-5.0 is outside l2's domain [0, inf)"),
    (["--config.beta1=nan", "--sweep=none"], "beta1=nan is not a finite number"),
    (["--human_error=2"], "--human_error"),
    (["--seed=-1"], "--seed must be in [0, 2**32), got -1"),
    ([f"--seed={2 ** 32}"], "--seed must be in [0, 2**32)"),
    (["--trial_id=-3"], "--trial_id must be >= 0, got -3"),
    ([f"--trial_id={2 ** 32 - 10}", "--trials=6", "--rounds=2"], "exceeds 2**32"),
    (["--trials=1000000000"], "1000000000 trials would keep about"),
    (["--sweep=features=choice(linear,cubic)"], "--sweep: features=cubic (choice(linear,cubic)) cannot be built: "
                                                "features must be 'linear' or 'square'"),
    (["--experiment=deep_mlp"], "give --config=FILE or --experiment=NAME, not both"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(launch, tmp_path, capsys, args, message):
    workdir = tmp_path / "run"
    config = [] if any(a.startswith("--experiment=no_such") for a in args) else [f"--config={TOY}"]
    status = launch.main(["launch.py", *config, f"--workdir={workdir}", *args])
    assert message in _one_line_error(capsys, status)
    assert not workdir.exists()


@pytest.mark.parametrize("args, message", [
    (["--sweep=optimizer=choice(adam,foo)"], "--sweep: optimizer=foo (choice(adam,foo)) cannot be built: "
                                             "unknown optimizer 'foo'"),
    (["--sweep=batch_size=int(-5,3)"], "--sweep: batch_size=-5 (int(-5,3)) cannot be built: batch_size must be a "
                                       "positive int"),
    (["--config.optimizer=sgd", "--sweep=learning_rate=log(1e-3,1),beta1=1-log(1e-3,1e-1)"],
     "beta1 cannot be swept: optimizer=sgd does not read it (it reads learning_rate); sweeping it would vary nothing"),
    (["--config.optimizer=sgd", "--config.beta1=0.5", "--sweep=none"],
     "--config.beta1: optimizer=sgd does not read it (it reads learning_rate); setting it would change nothing"),
    (["--config.keep_prob=0", "--sweep=none"], "keep_prob=0.0 is outside keep_prob's domain (0, 1]"),
])
def test_deep_mlp_refuses_values_that_cannot_build_or_would_vary_nothing(launch, tmp_path, capsys, args, message):
    workdir = tmp_path / "run"
    status = launch.main(["launch.py", "--trials=2", "--config.epochs=1", f"--workdir={workdir}", *args])
    assert message in _one_line_error(capsys, status)
    assert not workdir.exists()


def test_faults_of_the_experiment_or_the_workdir_are_one_line(launch, tmp_path, capsys):
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep me\n")
    for workdir, message in ((a_file, "is a file, not a directory"),
                             (a_file / "run", f"is inside {a_file}, which is a file")):
        err = _one_line_error(capsys, launch.main(["launch.py", f"--config={TOY}", f"--workdir={workdir}"]))
        assert f"--workdir={workdir}" in err and message in err
        assert a_file.read_text() == "keep me\n"
    experiments = {
        "broken.py": ("def get_config(:\n    pass\n", 2, "experiment 'broken' cannot be loaded: "),
        "config_raises.py": ("def get_config():\n    return {}['missing']\n\n\ndef build(config):\n    pass\n", 1,
                             "experiment 'config_raises': get_config() raised KeyError: 'missing' (at "),
        "build_raises.py": (open(TOY).read() + "\n\ndef build(config):\n    return 1 / 0\n", 1,
                            "experiment 'build_raises': build(config) raised ZeroDivisionError: division by zero"),
        "no_build.py": ("def get_config():\n    return None\n", 2, "has no build(); an experiment defines"),
        "imports_missing.py": ("import no_such_module_here\n", 1,
                               "cannot be loaded: ModuleNotFoundError: No module named 'no_such_module_here'"),
    }
    for name, (source, code, message) in experiments.items():
        path = tmp_path / name
        path.write_text(source)
        workdir = tmp_path / "run"
        status = launch.main(["launch.py", f"--config={path}", f"--workdir={workdir}"])
        err = _one_line_error(capsys, status, code)
        assert message in err, err
        assert not workdir.exists()
    # A workdir that cannot be made: one line, exit 1.
    status = launch.main(["launch.py", f"--config={TOY}", "--workdir=/proc/no/such/place", "--sweep=none",
                          "--trials=2", "--config.epochs=1"])
    assert "/proc/no" in _one_line_error(capsys, status, 1)


def test_help_lists_the_flags_without_importing_jax():
    code = ("import sys; sys.argv = ['launch.py', '--help']; import runpy\n"
            "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "except SystemExit as e:\n    print('exit', e.code)\n"
            "print('jax imported:', 'jax' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, text=True,
                            timeout=60)
    assert "exit 0" in result.stdout, result.stderr
    for flag in ("--sweep", "--trials", "--config", "--start_over", "--compilation_cache", "--human_error",
                 "--schedule", "--eta", "--min_epochs", "--brackets", "--ready_every", "--exploit", "--explore",
                 "--tensorboard"):
        assert flag in result.stdout
    assert "jax imported: False" in result.stdout


def test_sweep_rounds_report_resume_and_refusal(launch, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    args = ["launch.py", f"--config={TOY}", "--search=quasirandom", "--trials=6", "--rounds=2",
            "--chunk=4", "--seed=3", "--config.epochs=3", f"--workdir={workdir}", "--human_error=0.05"]
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    meta = json.load(open(os.path.join(workdir, "sweep.json")))
    assert meta["spec"] == "learning_rate=log(0.0001,1),beta1=1-log(0.001,0.1)"
    assert (meta["search"], meta["seed"], meta["trials"], meta["rounds"]) == ("quasirandom", 3, 6, 2)
    assert meta["config_overrides"] == {"epochs": 3} and meta["code_version"]
    assert meta["objective"] == {"name": "accuracy", "goal": "max", "low": 0.0, "high": 1.0, "fraction": "correct"}
    assert meta["experiment"] == "toy_experiment" and len(meta["experiment_source"]) == 64
    records = _records(workdir)
    assert [r["id"] for r in records] == list(range(12))
    assert [r["round"] for r in records] == [0] * 6 + [1] * 6
    assert all(len(r["metrics"]["dev_accuracy"]) == 3 and r["status"] in ("ok", "diverged") for r in records)
    # Round 2 samples a learning-rate range of 2 decades (half of 4) holding the best of round 1.
    best = max((r for r in records[:6] if r["status"] == "ok"), key=lambda r: r["metrics"]["best_dev_accuracy"])
    second = [r["hparams"]["learning_rate"] for r in records[6:]]
    import math
    assert math.log10(max(second) / min(second)) <= 2.0 + 1e-9
    best_rate = best["hparams"]["learning_rate"]
    assert min(second) <= best_rate * 100 and max(second) >= best_rate / 100
    for name in ("axis_plots.png", "learning_curves.png", "leaderboard.txt"):
        assert os.path.getsize(os.path.join(workdir, name)) > 0
    assert "compiling" in out and "compiled in" in out
    assert "trials 12/12" in out and "best dev accuracy" in out and "avoidable bias" in out
    assert "focus:" in out and "--sweep=none --trials=1 --seed=3 --trial_id=" in out
    # The same command again only reports: every trial is recorded, nothing is built or compiled.
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    assert "all 12 trials are recorded" in out and "compil" not in out and "avoidable bias" in out
    assert _records(workdir) == records
    # A different spec in the same workdir is refused, and nothing changes.
    before = open(os.path.join(workdir, "trials.jsonl")).read()
    assert launch.main(args[:-1] + ["--sweep=learning_rate=log(1e-3,1)"]) == 2
    err = capsys.readouterr().err
    assert "different sweep" in err and "--workdir" in err and "--start_over" in err
    assert open(os.path.join(workdir, "trials.jsonl")).read() == before


def test_resume_identity_covers_the_experiments_code_unless_asked_to_start_over(launch, tmp_path, capsys):
    experiment = tmp_path / "mine.py"
    experiment.write_text(open(TOY).read())
    workdir = str(tmp_path / "run")
    args = ["launch.py", f"--config={experiment}", "--trials=4", "--config.epochs=2", f"--workdir={workdir}"]
    assert launch.main(args) == 0
    first = _records(workdir)
    capsys.readouterr()
    # Its defaults change: refused, naming the key.
    experiment.write_text(open(TOY).read().replace("config.beta1 = 0.9", "config.beta1 = 0.8"))
    err = _one_line_error(capsys, launch.main(args))
    assert "the experiment's config defaults changed (beta1: stored 0.9, now 0.8)" in err and "--start_over" in err
    # Its code changes (same defaults): refused too.
    experiment.write_text(open(TOY).read().replace("0.01 * jax.random.normal", "0.02 * jax.random.normal"))
    assert "the experiment's source changed" in _one_line_error(capsys, launch.main(args))
    assert _records(workdir) == first
    # Asked to start over, it runs the new code from scratch.
    assert launch.main(args + ["--start_over"]) == 0
    again = _records(workdir)
    assert [r["id"] for r in again] == [0, 1, 2, 3] and again != first
    assert "resuming" not in capsys.readouterr().out


def test_a_second_launch_into_a_busy_workdir_is_refused(launch, tmp_path, capsys):
    from dlcourse.workdir import WorkdirLock

    workdir = tmp_path / "run"
    with WorkdirLock(workdir):
        status = launch.main(["launch.py", f"--config={TOY}", "--trials=2", "--config.epochs=1",
                              f"--workdir={workdir}"])
        assert f"{workdir} is in use by" in _one_line_error(capsys, status)
    assert list(workdir.iterdir()) == []


def test_ctrl_c_says_how_to_resume_and_the_rerun_finishes(launch, tmp_path, capsys, monkeypatch):
    from dlcourse.sweep import population

    workdir = str(tmp_path / "run")
    args = ["launch.py", f"--config={TOY}", "--trials=8", "--chunk=4", "--config.epochs=2", f"--workdir={workdir}"]
    real_run, calls = population.Population.run, []

    def interrupted_on_the_second_chunk(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_run(self, *a, **k)

    monkeypatch.setattr(population.Population, "run", interrupted_on_the_second_chunk)
    status = launch.main(args)
    err = capsys.readouterr().err
    assert status == 130 and err.count("\n") == 1
    assert f"launch.py: interrupted; 4 trials are recorded in {workdir}; run the same command again to resume" in err
    assert len(_records(workdir)) == 4
    monkeypatch.setattr(population.Population, "run", real_run)
    assert launch.main(args) == 0
    assert "resuming with 4 finished" in capsys.readouterr().out and len(_records(workdir)) == 8


def test_a_full_disk_is_one_line_and_leaves_whole_records(launch, tmp_path, capsys, monkeypatch):
    from dlcourse.sweep import store

    workdir = str(tmp_path / "run")
    real_write, writes = os.write, []

    def full_after_the_first_chunk(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("trials.jsonl"):
            writes.append(1)
            if len(writes) > 1:
                real_write(fd, bytes(data[:7]))
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(store.os, "write", full_after_the_first_chunk)
    status = launch.main(["launch.py", f"--config={TOY}", "--trials=8", "--chunk=4", "--config.epochs=2",
                          f"--workdir={workdir}"])
    assert "No space left on device" in _one_line_error(capsys, status, 1)
    assert len(_records(workdir)) == 4          # the first chunk, whole; the failed one cut off


def test_the_printed_best_trial_command_works_when_pasted(launch, tmp_path, capsys):
    workdir = str(tmp_path / "sweep")
    assert launch.main(["launch.py", f"--config={TOY}", "--trials=4", "--config.epochs=3", f"--workdir={workdir}"]) == 0
    out = capsys.readouterr().out
    command = out.split("best trial, alone:\n")[1].strip()
    assert f"--workdir={workdir}/best-trial-" in command
    config = command.split("--config=")[1].split()[0]
    assert os.path.abspath(config) == TOY                       # the path as seen from where launch.py ran
    result = subprocess.run(command.replace("python launch.py", f"{sys.executable} {LAUNCH}", 1), shell=True,
                            cwd=os.getcwd(), env=_env(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "epoch 3/3" in result.stdout and "compiled in" in result.stdout
    trial = int(command.split("--trial_id=")[1].split()[0])
    (alone,) = _records(f"{workdir}/best-trial-{trial}")
    best = {r["id"]: r for r in _records(workdir)}[trial]
    assert alone["id"] == best["id"]
    for key in ("best_dev_accuracy", "final_dev_accuracy", "final_train_loss"):
        assert alone["metrics"][key] == pytest.approx(best["metrics"][key], abs=1e-5)


def test_an_exploding_loss_is_divergence_never_the_best(launch, tmp_path, capsys):
    experiment = tmp_path / "regression.py"
    experiment.write_text(EXPLODING)
    workdir = str(tmp_path / "run")
    assert launch.main(["launch.py", f"--config={experiment}", "--sweep=learning_rate=choice(0.1,3.0)",
                        "--search=grid", "--trials=2", f"--workdir={workdir}"]) == 0
    out = capsys.readouterr().out
    calm, blown = _records(workdir)
    assert calm["status"] == "ok" and blown["status"] == "diverged" and blown["divergence"] == "exploded"
    assert blown["metrics"]["exploded"] is True and blown["metrics"]["epochs_run"] < 6
    assert blown["metrics"]["train_loss"][-1] is None    # the exploding epoch and later are not results
    assert "ranked by best dev squared_error (lower is better)" in out and "(1 by an exploding loss)" in out
    assert "--trial_id=0" in out.split("best trial, alone:")[1]
    status = launch.main(["launch.py", f"--config={experiment}", "--human_error=0.05", "--sweep=none",
                          f"--workdir={workdir}-h"])
    assert "needs an objective that is an error rate in [0, 1]" in _one_line_error(capsys, status)


def test_damaged_records_are_one_line(launch, tmp_path, capsys):
    workdir = str(tmp_path / "run")
    args = ["launch.py", f"--config={TOY}", "--trials=4", "--config.epochs=2", f"--workdir={workdir}"]
    assert launch.main(args) == 0
    capsys.readouterr()
    path = os.path.join(workdir, "trials.jsonl")
    lines = open(path).read().splitlines()
    open(path, "w").write("\n".join(lines[:1] + ['{"id": 1, "round": 0, "hparams": {}, "metrics": 3, '
                                                 '"status": "ok"}'] + lines[2:]) + "\n")
    err = _one_line_error(capsys, launch.main(args))
    assert "trials.jsonl: line 2 is damaged ('metrics' must be an object" in err


def test_error_analysis_tables_the_best_trial_retrained_alone(launch, tmp_path, capsys):
    import jax
    import numpy as np

    from dlcourse.strategy import format_per_class_error_table, per_class_error_table
    from dlcourse.sweep import trial_keys
    from tests.sweep import toy_experiment as toy

    workdir = str(tmp_path / "run")
    assert launch.main(["launch.py", f"--config={TOY}", "--trials=4", "--seed=2", "--config.epochs=3",
                        "--error_analysis", "--human_error=0.05", f"--workdir={workdir}"]) == 0
    captured = capsys.readouterr()
    table = open(os.path.join(workdir, "error_analysis.txt")).read()
    assert table.strip() in captured.out and "focus:" in captured.out   # with --human_error's diagnosis
    assert "differs" not in captured.err                                 # reproduced to 1e-5
    records = _records(workdir)
    best = max((r for r in records if r["status"] == "ok"),
               key=lambda r: (r["metrics"]["best_dev_accuracy"], -r["id"]))
    config = toy.get_config()
    config.epochs = 3
    trainable = toy.build(config)
    hparams = {k: np.float32(best["hparams"].get(k, v)) for k, v in trainable.hparams.items()}
    (params, _, _), metrics = jax.jit(trainable.train_with_state)(hparams, trial_keys(2, [best["id"]])[0])
    assert float(metrics["final_dev_accuracy"]) == pytest.approx(best["metrics"]["final_dev_accuracy"], abs=1e-5)
    _, (x_dev, y_dev) = toy._data(config)
    z = np.asarray(x_dev, np.float64) @ np.asarray(params["w"], np.float64) + float(params["b"])
    labels, predictions = np.asarray(y_dev).astype(int), (z > 0).astype(int)
    errors = int(np.sum(labels != predictions))
    heading = (f"error analysis of trial {best['id']} (retrained alone; final state on the dev set): "
               f"dev error {100 * errors / len(labels):.2f}% ({errors} of {len(labels)})")
    assert table == heading + "\n" + format_per_class_error_table(per_class_error_table(labels, predictions)) + "\n"


def test_error_analysis_without_predict_is_one_line_exit_2(launch, tmp_path, capsys):
    experiment = tmp_path / "no_predict.py"
    experiment.write_text(open(TOY).read() + "\n\n_build = build\n\n\ndef build(config):\n"
                          "    return _build(config)._replace(predict=None)\n")
    workdir = tmp_path / "run"
    status = launch.main(["launch.py", f"--config={experiment}", "--error_analysis", f"--workdir={workdir}"])
    assert "--error_analysis: experiment 'no_predict' gives no predictions" in _one_line_error(capsys, status)
    assert not workdir.exists()


def test_an_experiment_outside_the_repository_sweeps_and_runs_alone(tmp_path):
    """A user's own experiment: a copy of a lesson in a folder of its own, run from anywhere."""
    mine = tmp_path / "elsewhere" / "my_softmax.py"
    mine.parent.mkdir()
    shutil.copy(os.path.join(REPO, "experiments", "softmax.py"), mine)
    sweep = _run([f"--config={mine}", "--trials=2", "--sweep=learning_rate=log(1e-3,1e-1)", "--config.epochs=2",
                  f"--workdir={tmp_path / 'sweep'}"], _env(devices=1), cwd=str(tmp_path))
    assert sweep.returncode == 0, sweep.stderr
    assert "trials 2/2" in sweep.stdout and "best dev accuracy" in sweep.stdout
    alone = subprocess.run([sys.executable, str(mine), "--config.epochs=2", f"--workdir={tmp_path / 'alone'}"],
                           cwd=str(tmp_path), env=_env(devices=1), capture_output=True, text=True, timeout=120)
    assert alone.returncode == 0, alone.stderr
    summary = json.loads(alone.stdout.strip().splitlines()[-1])
    assert summary["experiment"] == "my_softmax" and summary["epochs_run"] == 2 and "test_accuracy" in summary


def test_the_second_run_loads_its_programs_from_the_compilation_cache(tmp_path):
    """Two processes, two workdirs, one cache folder: the second compiles nothing."""
    cache = tmp_path / "cache"
    probe = textwrap.dedent(f'''
        import sys, jax
        counts = {{"compiled": 0, "hits": 0}}
        def on_event(event, **kw):
            counts["compiled"] += event == "/jax/compilation_cache/cache_misses"
            counts["hits"] += event == "/jax/compilation_cache/cache_hits"
        jax.monitoring.register_event_listener(on_event)
        sys.path.insert(0, {REPO!r})
        import launch
        status = launch.main(["launch.py", "--config={TOY}", "--trials=4", "--config.epochs=2",
                              "--compilation_cache={cache}", "--workdir=" + sys.argv[1]])
        print("COUNTS", status, counts["compiled"], counts["hits"])
    ''')
    results = []
    for name in ("first", "second"):
        run = subprocess.run([sys.executable, "-c", probe, str(tmp_path / name)], env=_env(devices=1),
                             capture_output=True, text=True, timeout=240, cwd=REPO)
        line = [x for x in run.stdout.splitlines() if x.startswith("COUNTS")]
        assert line, run.stderr
        results.append([int(v) for v in line[0].split()[1:]])
    (status1, compiled1, _), (status2, compiled2, hits2) = results
    assert status1 == status2 == 0
    assert compiled1 >= 1 and compiled2 == 0 and hits2 >= 1
    assert any(cache.iterdir())


BASE_ARGS = [f"--config={TOY}", "--trials=12", "--chunk=4", "--seed=5",
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


@pytest.mark.slow
def test_the_main_job_reaches_the_promised_dev_accuracy(launch, tmp_path, capsys):
    """``python launch.py`` with no flags: 32 Adam trials on deep_mlp, best dev accuracy >= 0.97."""
    workdir = str(tmp_path / "default")
    assert launch.main(["launch.py", f"--workdir={workdir}"]) == 0
    records = _records(workdir)
    assert len(records) == 32 and {r["id"] for r in records} == set(range(32))
    assert max(r["metrics"]["best_dev_accuracy"] or 0.0 for r in records) >= 0.97
    assert "best trial, alone:" in capsys.readouterr().out
