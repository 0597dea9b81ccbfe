"""Hyperparameter sweeps of any experiment: many trials as one compiled program on all devices.

    python launch.py                                   # Adam on deep_mlp, 32 random trials
    python launch.py --sweep='learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1),hidden=int(50,100)' \\
        --search=quasirandom --trials=64 --rounds=2 --config.epochs=30
    python launch.py --trials=1 --sweep=none --config.learning_rate=0.003   # panda: one model
    python launch.py --trials=8 --error_analysis       # + per-class dev errors of the best trial

``--experiment`` is a name in ``experiments/`` or a path to a ``.py`` file with ``get_config()`` and
``build(config)`` (the contract in ``dlcourse/sweep/runner.py``). ``--config.KEY=VALUE`` sets a
config key that is not swept; launch.py reads these itself, after the experiment is known, and
converts VALUE to the type of the key's default (bool: true/false). Re-running the same command
resumes from ``--workdir``. Bad input: one line on stderr, exit status 2, nothing written.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
import time
import warnings

from absl import flags

from dlcourse.sweep.search import SEARCH_METHODS
from dlcourse.sweep.spec import format_spec, load_sweep

REPO = os.path.dirname(os.path.abspath(__file__))
DEFAULT_EXPERIMENT = "deep_mlp"
DEFAULT_SWEEP = "learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1)"
#: Test hook: exit abruptly (as if killed) after this many newly recorded chunks.
CRASH_ENV = "DLCOURSE_SWEEP_CRASH_AFTER_CHUNKS"

# launch.py's flags live in their own FlagValues, so an experiment module that defines absl flags
# of the same names (--workdir, --seed) can still be imported.
FLAGS = flags.FlagValues()
flags.DEFINE_string("experiment", DEFAULT_EXPERIMENT,
                    "Experiment: a module name in experiments/, or a path to a .py file.", flag_values=FLAGS)
flags.DEFINE_string("sweep", DEFAULT_SWEEP,
                    "Spec 'key=log(a,b),key=1-log(a,b),key=uniform(a,b),key=int(a,b),key=choice(x,y)', "
                    "'none', or a .py file with get_sweep().", flag_values=FLAGS)
flags.DEFINE_string("search", "random", f"Search method: one of {', '.join(SEARCH_METHODS)}.", flag_values=FLAGS)
flags.DEFINE_integer("trials", 32, "Trials per round (1: babysit one model).", flag_values=FLAGS)
flags.DEFINE_integer("rounds", 1, "Coarse-to-fine rounds.", flag_values=FLAGS)
flags.DEFINE_integer("seed", 0, "Seed of the samples and of every trial's PRNG key.", flag_values=FLAGS)
flags.DEFINE_string("workdir", None, "Results; default runs/<experiment>-<search>-<seed>.", flag_values=FLAGS)
flags.DEFINE_integer("chunk", None, "Most trials per compiled call. Default: automatic, from the device memory "
                     "(a large structural group measures its memory per trial and runs in the fewest chunks "
                     "that fit a fixed share of each device's memory; see dlcourse.sweep.runner).",
                     flag_values=FLAGS)
flags.DEFINE_integer("trial_id", 0, "Id of the first trial (the reproduce command sets it, fixing the key).",
                     flag_values=FLAGS)
flags.DEFINE_float("human_error", None, "Human-level error (a fraction): adds bias/variance to the report.",
                   flag_values=FLAGS)
flags.DEFINE_bool("error_analysis", False, "Retrain the best trial alone and write its per-class dev error table "
                  "to <workdir>/error_analysis.txt (the experiment's Trainable needs predict).",
                  flag_values=FLAGS)
flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (multi-process runs).", flag_values=FLAGS)
flags.DEFINE_integer("num_processes", None, "Number of processes (multi-process runs).", flag_values=FLAGS)
flags.DEFINE_integer("process_id", None, "This process's id (multi-process runs).", flag_values=FLAGS)


class UsageError(Exception):
    """Bad input: reported in one line, exit status 2."""


# ----- flags and config overrides ------------------------------------------------------------------

def parse_argv(argv: list[str]) -> dict[str, str]:
    """Parses launch.py's flags into ``FLAGS``; returns the ``--config.KEY=VALUE`` overrides."""
    rest, overrides = [argv[0]], {}
    for arg in argv[1:]:
        match = re.match(r"^--?config\.([^=]*)(=(.*))?$", arg, re.DOTALL)
        if match:
            key, has_value, value = match.groups()
            if not has_value:
                raise UsageError(f"{arg}: write config overrides as --config.KEY=VALUE")
            if key in overrides:
                raise UsageError(f"--config.{key} is given twice")
            overrides[key] = value
        else:
            rest.append(arg)
    try:
        FLAGS.unparse_flags()
        extra = FLAGS(rest)
    except flags.Error as error:
        raise UsageError(str(error).splitlines()[0]) from None
    if len(extra) > 1:
        raise UsageError(f"unexpected argument {extra[1]!r}")
    return overrides


def _convert(key: str, text: str, default):
    try:
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError
            return lowered in ("true", "1")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, str) or default is None:
            return text
        value = ast.literal_eval(text)
        if type(value) is not type(default):
            raise ValueError
        return value
    except (ValueError, SyntaxError):
        raise UsageError(f"--config.{key}={text}: expected a value of type {type(default).__name__}") from None


def apply_overrides(config, overrides: dict[str, str]) -> dict:
    """Sets each override on ``config`` (in place), typed like its default; returns them typed."""
    typed = {}
    for key, text in overrides.items():
        if key not in config:
            raise UsageError(f"--config.{key}: unknown config key; the experiment has {', '.join(sorted(config))}")
        typed[key] = _convert(key, text, config[key])
        config[key] = typed[key]
    return typed


# ----- experiment ----------------------------------------------------------------------------------

def load_experiment(name: str):
    """The experiment module for a name in experiments/ or a path to a .py file."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)  # experiments import one another as `experiments.*`
    if name.endswith(".py"):
        path = os.path.abspath(name)
        if not os.path.isfile(path):
            raise UsageError(f"unknown experiment {name!r}: no such file")
        module_name = "_dlcourse_experiment_" + re.sub(r"\W", "_", path)
        if module_name not in sys.modules:
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except SyntaxError as error:
                del sys.modules[module_name]
                raise UsageError(_syntax_error_line(name, error)) from None
            except BaseException:
                del sys.modules[module_name]
                raise
        module = sys.modules[module_name]
    else:
        folder = os.path.join(REPO, "experiments")
        available = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_")) \
            if os.path.isdir(folder) else []
        if not re.match(r"^[A-Za-z_]\w*$", name) or not os.path.isfile(os.path.join(folder, name + ".py")):
            raise UsageError(f"unknown experiment {name!r}; available: {', '.join(available) or 'none'}")
        try:
            module = importlib.import_module(f"experiments.{name}")
        except SyntaxError as error:
            raise UsageError(_syntax_error_line(name, error)) from None
    for attribute in ("get_config", "build"):
        if not callable(getattr(module, attribute, None)):
            raise UsageError(f"experiment {name!r} has no {attribute}(); it cannot be swept")
    return module


def _syntax_error_line(name: str, error: SyntaxError) -> str:
    where = error.filename or name
    if error.lineno:
        where += f":{error.lineno}"
    return f"experiment {name!r} cannot be loaded: {where}: {error.msg}"


def experiment_label(name: str) -> str:
    return os.path.splitext(os.path.basename(name))[0]


# ----- printing --------------------------------------------------------------------------------------

def _say(*parts):
    print(*parts, flush=True)


def _progress_printer(label: str, rounds: int, crash_after: int | None):
    recorded = [0]

    def on_chunk(p):
        best = p.best
        best_text = (f"best {best['metrics']['best_dev_metric']:.4f} (trial {best['id']})" if best else "best -")
        structure = " ".join(f"{k}={v}" for k, v in p.structure.items())
        what = "resumed: already done" if p.skipped else f"chunk {p.seconds:.1f}s"
        _say(f"[{label} round {p.round + 1}/{rounds}] trials {p.done}/{p.total}  {best_text}  "
             f"{what}  elapsed {p.elapsed:.1f}s" + (f"  [{structure}]" if structure else ""))
        if not p.skipped:
            recorded[0] += 1
            if crash_after is not None and recorded[0] >= crash_after:
                sys.stdout.flush()
                os._exit(17)

    return on_chunk


def _epoch_printer(epochs: int):
    from dlcourse.train import format_progress
    start = time.perf_counter()

    def on_epoch(epoch, row):
        _say(format_progress(int(epoch), epochs, row, time.perf_counter() - start))

    return on_epoch


def _strategy_columns(records, ranked_records, goal, human_error):
    """Avoidable bias / variance per top trial and the diagnosis of the best, via dlcourse.strategy."""
    from dlcourse.strategy import diagnose, format_diagnosis
    columns, text = {}, None
    for r in ranked_records:
        m = r["metrics"]
        train, dev = m["final_train_metric"], m["final_dev_metric"]
        if train is None or dev is None:
            continue
        train_error, dev_error = (1 - train, 1 - dev) if goal == "max" else (train, dev)
        if not (0 <= train_error <= 1 and 0 <= dev_error <= 1):
            return {}, "bias/variance needs a metric that is an accuracy or an error in [0, 1]"
        diagnosis = diagnose(human_error, train_error, dev_error)
        columns[r["id"]] = {"avoidable bias": diagnosis.avoidable_bias, "variance": diagnosis.variance}
        if text is None:
            text = f"best trial {r['id']}:\n" + format_diagnosis(diagnosis)
    return columns, text


def report(records, spaces, trainable, workdir, experiment, seed, overrides, human_error):
    from dlcourse.sweep import report as sweep_report
    metric = trainable.metric
    ranked = sweep_report.ranked(records, trainable.goal)
    extra, diagnosis = ({}, None)
    if human_error is not None:
        extra, diagnosis = _strategy_columns(records, ranked[:10], trainable.goal, human_error)
    table = sweep_report.leaderboard(records, trainable.goal, metric=metric, extra_columns=extra)
    with open(os.path.join(workdir, "leaderboard.txt"), "w") as f:
        f.write(table + "\n")
    _say("\n" + table)
    if diagnosis:
        _say("\n" + diagnosis)
    if spaces:
        sweep_report.axis_plots(records, spaces, os.path.join(workdir, "axis_plots.png"), metric=metric)
    sweep_report.learning_curves(records, trainable.goal, os.path.join(workdir, "learning_curves.png"),
                                 metric=metric)
    _say(f"\nplots: {workdir}/axis_plots.png, {workdir}/learning_curves.png" if spaces
         else f"\nplot: {workdir}/learning_curves.png")
    if ranked:
        _say("best trial, alone:\n  " + sweep_report.reproduce_command(ranked[0], experiment, seed, overrides))
    else:
        _say("no trial finished without diverging; try smaller learning rates")


def error_analysis_report(records, module, config, trainable, workdir, seed):
    """Retrains the best trial alone; prints and writes its per-class dev error table."""
    from dlcourse.sweep import error_analysis, format_trial_error_analysis
    from dlcourse.sweep import report as sweep_report
    from dlcourse.train.reporting import write_text_atomically
    ranked = sweep_report.ranked(records, trainable.goal)
    if not ranked:
        _say("\nerror analysis: no trial finished without diverging; nothing to analyze")
        return
    analysis = error_analysis(module.build, config, ranked[0], seed, trainable)
    text = format_trial_error_analysis(analysis)
    path = os.path.join(workdir, "error_analysis.txt")
    write_text_atomically(path, text + "\n")
    _say("\n" + text + f"\n(table: {path})")
    if not analysis.reproduction_gap <= 1e-5:
        print(f"launch.py: warning: the retrained trial {analysis.trial_id} differs from its sweep "
              f"record by {analysis.reproduction_gap:.3g}", file=sys.stderr, flush=True)


# ----- main ------------------------------------------------------------------------------------------

def structural_values(space) -> list:
    """The values of a structural space that a sweep may build: every option of a choice, both
    ends of an integer range (builders check bounds, so the ends stand for the values between)."""
    from dlcourse.sweep import Choice, IntRange
    if isinstance(space, Choice):
        return list(space.options)
    if isinstance(space, IntRange):
        return [space.low, space.high]
    return []


def check_structural_values(build, config, structural_spaces) -> None:
    """Builds the experiment with each structural value of the spec (other keys at their config
    values), so a value the builder rejects is a usage error before anything is written."""
    from dlcourse.sweep import structural_config
    for key, space in structural_spaces.items():
        for value in structural_values(space):
            if value == config[key]:
                continue  # the config's own value was built already
            try:
                build(structural_config(config, {key: value}))
            except ValueError as error:
                raise UsageError(f"--sweep: {key}={value} ({space.spec()}) cannot be built: {error}") from None


def check_workdir(workdir: str) -> None:
    """The workdir is a folder or can be made one: no regular file on its path."""
    path = os.path.abspath(workdir)
    while True:
        if os.path.exists(path):
            if not os.path.isdir(path):
                what = "is" if path == os.path.abspath(workdir) else f"is inside {path}, which is"
                raise UsageError(f"--workdir={workdir} {what} a file, not a directory")
            return
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent


def prepare(argv):
    """Everything that can reject the input, before anything is written."""
    overrides = parse_argv(argv)
    if FLAGS.trials < 1:
        raise UsageError(f"--trials must be >= 1, got {FLAGS.trials}")
    if FLAGS.rounds < 1:
        raise UsageError(f"--rounds must be >= 1, got {FLAGS.rounds}")
    if FLAGS.trials == 1 and (FLAGS.num_processes or 1) > 1:
        raise UsageError("--trials=1 (one babysat model with checkpoints) runs in one process; "
                         "drop --num_processes or sweep more trials")
    if FLAGS.chunk is not None and FLAGS.chunk < 1:
        raise UsageError(f"--chunk must be >= 1, got {FLAGS.chunk}")
    if not 0 <= FLAGS.seed < 2 ** 32:
        raise UsageError(f"--seed must be in [0, 2**32), got {FLAGS.seed}")
    if FLAGS.trial_id < 0:
        raise UsageError(f"--trial_id must be >= 0, got {FLAGS.trial_id}")
    if FLAGS.trial_id + FLAGS.trials * FLAGS.rounds > 2 ** 32:
        raise UsageError(f"--trial_id={FLAGS.trial_id} + --trials x --rounds ({FLAGS.trials * FLAGS.rounds}) "
                         f"exceeds 2**32: trial ids must fit in 32 bits")
    if FLAGS.search not in SEARCH_METHODS:
        raise UsageError(f"--search must be one of {', '.join(SEARCH_METHODS)}, got {FLAGS.search!r}")
    if FLAGS.human_error is not None and not 0 <= FLAGS.human_error <= 1:
        raise UsageError(f"--human_error must be a fraction in [0, 1], got {FLAGS.human_error}")
    try:
        spaces = load_sweep(FLAGS.sweep)
    except ValueError as error:
        raise UsageError(str(error)) from None
    both = sorted(set(spaces) & set(overrides))
    if both:
        raise UsageError(f"{both[0]} is both swept (--sweep) and set (--config.{both[0]}); choose one")
    workdir = FLAGS.workdir or os.path.join(
        "runs", f"{experiment_label(FLAGS.experiment)}-{FLAGS.search}-{FLAGS.seed}")
    check_workdir(workdir)

    from dlcourse.train import distributed
    try:
        distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    except ValueError as error:
        raise UsageError(str(error)) from None

    module = load_experiment(FLAGS.experiment)
    config = module.get_config()
    typed_overrides = apply_overrides(config, overrides)
    from dlcourse.sweep import classify_keys
    try:
        trainable = module.build(config)
        _, structural = classify_keys(spaces, trainable, config)
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_structural_values(module.build, config, {key: spaces[key] for key in structural})
    if FLAGS.error_analysis and trainable.predict is None:
        raise UsageError(f"--error_analysis: experiment {experiment_label(FLAGS.experiment)!r} gives no predictions "
                         f"(its Trainable has no predict)")
    return module, config, spaces, trainable, typed_overrides, workdir


def main(argv: list[str]) -> int:
    try:
        module, config, spaces, trainable, overrides, workdir = prepare(argv)
    except UsageError as error:
        print(f"launch.py: error: {error}", file=sys.stderr)
        return 2

    import jax
    from dlcourse.sweep import Store, broadcast_json, code_version, run_sweep
    main_process = jax.process_index() == 0
    label = experiment_label(FLAGS.experiment)
    # Every process uses process 0's workdir: checkpoints (panda mode) are saved by all processes
    # together into one directory, and only process 0 writes anything else.
    workdir = broadcast_json(workdir)
    store = Store(workdir)
    meta = {"experiment": FLAGS.experiment, "spec": format_spec(spaces), "search": FLAGS.search,
            "seed": FLAGS.seed, "trials": FLAGS.trials, "rounds": FLAGS.rounds,
            "config_overrides": overrides, "first_trial_id": FLAGS.trial_id, "chunk": FLAGS.chunk,
            "device_count": jax.device_count(), "process_count": jax.process_count(),
            "code_version": code_version()}
    shared = {"error": None, "finished": []}
    if main_process:
        try:
            resuming = store.check_resumable(meta)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                shared["finished"] = store.records() if resuming else []
            for w in caught:
                print(f"launch.py: warning: {w.message}", file=sys.stderr)
        except ValueError as error:
            shared["error"] = str(error)
    shared = broadcast_json(shared)
    if shared["error"]:
        if main_process:
            print(f"launch.py: error: {shared['error']}", file=sys.stderr)
        return 2
    finished = shared["finished"]

    if main_process:
        store.create(meta)
        store.repair()
        _say(f"sweep {label}: {format_spec(spaces)}; {FLAGS.search} search, {FLAGS.trials} trials x "
             f"{FLAGS.rounds} round(s), seed {FLAGS.seed}, {jax.device_count()} device(s) -> {workdir}"
             + (f"; resuming with {len(finished)} finished" if finished else ""))
    crash_after = int(os.environ[CRASH_ENV]) if os.environ.get(CRASH_ENV) else None
    panda = FLAGS.trials == 1
    records = run_sweep(
        module.build, config, spaces, search=FLAGS.search, trials=FLAGS.trials, rounds=FLAGS.rounds,
        seed=FLAGS.seed, chunk=FLAGS.chunk, first_id=FLAGS.trial_id, finished=finished,
        trainable=trainable,
        record=store.append if main_process else None,
        on_chunk=_progress_printer(label, FLAGS.rounds, crash_after) if main_process else None,
        on_plan=(lambda plan: _say(f"[{label} round {plan.round + 1}/{FLAGS.rounds}] {plan.describe()}"))
        if main_process else None,
        panda_workdir=workdir if panda else None,
        on_epoch=_epoch_printer(trainable.epochs) if panda and main_process else None)
    if main_process:
        report(records, spaces, trainable, workdir, FLAGS.experiment, FLAGS.seed, overrides, FLAGS.human_error)
        if FLAGS.error_analysis:
            error_analysis_report(records, module, config, trainable, workdir, FLAGS.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
