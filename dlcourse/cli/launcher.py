"""launch.py's work: a sweep of any experiment, from flags to reports, resumable and honest.

``launch.py`` defines its flags and calls :func:`main`; everything else happens here:

1. **Input** (the checks are in :mod:`dlcourse.cli.sweep_input`). ``--experiment=NAME`` is short
   for ``--config=<experiments folder>/NAME.py``; the config file is an experiment (``get_config``
   and ``build``) loaded from its path (:mod:`dlcourse.cli.experiments`). Flags and
   ``--config.KEY=VALUE`` overrides are parsed with one-line errors (:mod:`dlcourse.cli.arguments`),
   the sweep spec is parsed, the experiment is built, every config value is checked against its
   hyperparameter's domain, structural values of the spec are built once each, an override or sweep
   of a hyperparameter the structure does not read is refused, and a sweep whose records would not
   fit in memory is refused — all before anything is written.
2. **Resume protocol** (:class:`dlcourse.sweep.Store`). The workdir is locked (one writer); its
   identity — settings, experiment source, config defaults, dlcourse's code — must match the
   stored one, or the run is refused naming what differs, unless ``--start_over`` discards it.
   Finished trials are skipped; a damaged last record is dropped with a warning. A sweep whose
   trials are all recorded is only reported again, without building or compiling anything.
3. **Run** (:func:`dlcourse.sweep.run_sweep`), printing when a program compiles and a line per chunk;
   under ``--schedule=halving`` or ``pbt``, successive halving / Hyperband or population-based
   training instead, a line per rung or interval (:mod:`dlcourse.cli.schedules`).
4. **Reports**: the leaderboard (with avoidable bias and variance under ``--human_error``), axis
   plots, learning curves, the command that retrains the best trial alone, and the error analysis
   of the best trial under ``--error_analysis``; the schedule's plot (``rungs.png``,
   ``lineage.png``); TensorBoard event files under ``--tensorboard``.

Ctrl-C stops with a line saying how to resume (exit 130); see :mod:`dlcourse.cli.errors`.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from contextlib import nullcontext
from typing import Callable, Sequence

from dlcourse.cli import arguments
from dlcourse.cli.errors import UsageError, guarded
from dlcourse.cli.experiments import Experiment, call_build, call_get_config, load_experiment
from dlcourse.cli.lesson import check_unread_overrides, say
from dlcourse.cli.schedules import (
    check_schedule,
    check_schedule_flags,
    describe_schedule,
    draw_schedule_plots,
    export_tensorboard,
    planned_schedule_trials,
    run_schedule,
    schedule_identity,
    schedule_plots,
)
from dlcourse.cli.sweep_input import (
    check_flags,
    check_record_memory,
    check_structural_values,
    check_workdir,
    planned_trials,
)

__all__ = ["main", "CRASH_ENV"]

#: Test hook: exit abruptly (as if killed) after this many newly recorded chunks.
CRASH_ENV = "DLCOURSE_SWEEP_CRASH_AFTER_CHUNKS"


def _normalize_argv(argv: Sequence[str], experiments_folder: str, default_config: str) -> tuple[list[str], str]:
    """``--experiment=NAME`` → ``--config=PATH``; ``--config PATH`` → ``--config=PATH``.
    Returns the new argv and the config file's path."""
    from dlcourse.cli.experiments import resolve_experiment_path

    out, config, experiment = [argv[0]], None, None
    items = list(argv[1:])
    while items:
        arg = items.pop(0)
        if re.match(r"^--?config$", arg) and items:
            arg = f"--config={items.pop(0)}"
        if re.match(r"^--?experiment$", arg) and items:
            arg = f"--experiment={items.pop(0)}"
        match = re.match(r"^--?(config|experiment)=(.*)$", arg, re.DOTALL)
        if match and match.group(1) == "experiment":
            experiment = match.group(2)
            continue
        if match:
            config = match.group(2)
        out.append(arg)
    if experiment is not None and config is not None:
        raise UsageError("give --config=FILE or --experiment=NAME, not both")
    if experiment is not None:
        config = resolve_experiment_path(experiment, [experiments_folder])
        out.insert(1, f"--config={config}")
    if config is None:
        config = default_config
    return out, config


def _identity(experiment: Experiment, defaults, values, spaces, overrides) -> dict:
    from dlcourse import provenance
    from dlcourse.sweep.spec import format_spec

    return {"experiment": experiment.name,
            "experiment_source": provenance.source_fingerprint(experiment.path),
            "library": provenance.library_fingerprint(),
            "config_defaults": defaults.to_dict(),
            "spec": format_spec(spaces), "search": values.search, "seed": values.seed, "trials": values.trials,
            "rounds": values.rounds, "config_overrides": overrides, "first_trial_id": values.trial_id,
            "chunk": values.chunk, **schedule_identity(values)}


def _progress_printer(label: str, rounds: int, objective, state: dict):
    crash_after = int(os.environ[CRASH_ENV]) if os.environ.get(CRASH_ENV) else None

    def on_chunk(p):
        best = p.best
        best_text = (f"best dev {objective.name} {best['metrics'][f'best_dev_{objective.name}']:.4f} "
                     f"(trial {best['id']})" if best else "best -")
        structure = " ".join(f"{k}={v}" for k, v in p.structure.items())
        what = "resumed: already done" if p.skipped else f"chunk {p.seconds:.1f}s"
        state["done"] = p.done
        say(f"[{label} round {p.round + 1}/{rounds}] trials {p.done}/{p.total}  {best_text}  "
            f"{what}  elapsed {p.elapsed:.1f}s" + (f"  [{structure}]" if structure else ""))
        if not p.skipped:
            state["new_chunks"] += 1
            if crash_after is not None and state["new_chunks"] >= crash_after:
                sys.stdout.flush()
                os._exit(17)

    return on_chunk


def _report(records, spaces, objective, values, workdir: str, config_path: str, overrides,
            divergence_factor: float, plots: bool = True) -> None:
    from dlcourse.sweep import report
    from dlcourse.train.reporting import write_text_atomically

    extra, diagnosis = {}, None
    if values.human_error is not None:
        extra, diagnosis = report.bias_variance_columns(records, objective, values.human_error)
    table = report.leaderboard(records, objective, extra_columns=extra)
    write_text_atomically(os.path.join(workdir, "leaderboard.txt"), table + "\n")
    say("\n" + table)
    if diagnosis:
        say("\n" + diagnosis)
    names = (["axis_plots.png"] if spaces else []) + ["learning_curves.png"] + schedule_plots(values.schedule)
    if plots:
        if spaces:
            report.axis_plots(records, spaces, os.path.join(workdir, "axis_plots.png"), objective, divergence_factor)
        report.learning_curves(records, objective, os.path.join(workdir, "learning_curves.png"))
        draw_schedule_plots(values.schedule, records, spaces, objective, workdir)
    say(f"\nplots: {', '.join(os.path.join(workdir, n) for n in names)}")
    if values.tensorboard:
        export_tensorboard(records, spaces, objective, workdir)
    ranked = report.ranked(records, objective)
    if ranked and values.schedule == "pbt":
        say("best trial: its hyperparameters changed as it trained (see lineage.png); it cannot be retrained alone")
        return
    if ranked and values.trials * values.rounds == 1:
        return  # the sweep was that one trial, babysat: its command is the one just run
    if ranked:
        relative = os.path.relpath(config_path)
        shown = config_path if relative.startswith("..") else relative
        say("best trial, alone:\n  " + report.reproduce_command(ranked[0], shown, values.seed, workdir, overrides))
    else:
        say("no trial finished without diverging; try smaller learning rates")


def _plots_current(workdir: str, spaces, schedule: str) -> bool:
    trials = os.path.join(workdir, "trials.jsonl")
    names = (["axis_plots.png"] if spaces else []) + ["learning_curves.png"] + schedule_plots(schedule)
    paths = [os.path.join(workdir, n) for n in names]
    return all(os.path.exists(p) and os.path.getmtime(p) >= os.path.getmtime(trials) for p in paths)


def _report_finished(store, identity, values, spaces, workdir, config_path, overrides, label) -> bool:
    """Reports a sweep whose every trial is recorded, without building or compiling anything
    (and without redrawing plots that are newer than the records). False if there is work to do."""
    from dlcourse.sweep.store import EXECUTION_KEYS, Objective, _differences

    if values.error_analysis or not os.path.isdir(workdir):
        return False
    stored = store.read_meta()
    if stored is None or "objective" not in stored:
        return False
    if [d for d in _differences(stored, identity) if not d.startswith(EXECUTION_KEYS)]:
        return False  # a different sweep: the full path says so
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        records = store.records()
    if values.schedule == "none":
        planned = planned_trials(spaces, values.search, values.trials, values.rounds)
    else:
        planned = planned_schedule_trials(values, spaces, values.config.get("epochs"))
    if planned is None or len(records) < planned:
        return False
    objective = Objective.from_record(stored["objective"])
    say(f"sweep {label}: all {len(records)} trials are recorded in {workdir}; reporting them")
    _report(records, spaces, objective, values, workdir, config_path, overrides,
            stored.get("divergence_factor", 100.0), plots=not _plots_current(workdir, spaces, values.schedule))
    return True


def _error_analysis(records, experiment, config, trainable, workdir, seed) -> None:
    from dlcourse.sweep import error_analysis, format_trial_error_analysis, report
    from dlcourse.train.reporting import write_text_atomically

    ranked = report.ranked(records, trainable.objective)
    if not ranked:
        say("\nerror analysis: no trial finished without diverging; nothing to analyze")
        return
    analysis = error_analysis(experiment.build, config, ranked[0], seed, trainable)
    text = format_trial_error_analysis(analysis)
    path = os.path.join(workdir, "error_analysis.txt")
    write_text_atomically(path, text + "\n")
    say("\n" + text + f"\n(table: {path})")
    if not analysis.reproduction_gap <= 1e-5:
        print(f"launch.py: warning: the retrained trial {analysis.trial_id} differs from its sweep record by "
              f"{analysis.reproduction_gap:.3g}", file=sys.stderr, flush=True)


def main(argv: Sequence[str], define_flags: Callable, *, experiments_folder: str, default_config: str,
         doc: str = "") -> int:
    """Runs ``launch.py`` (see the module docstring); returns the exit status."""
    state = {"workdir": None, "done": 0, "new_chunks": 0}

    def body() -> int:
        args, config_path = _normalize_argv(list(argv), experiments_folder, default_config)
        if not any(a in arguments.HELP_FLAGS for a in args[1:]):
            experiment = load_experiment(config_path)
            defaults = call_get_config(experiment.name, experiment.get_config)
            arguments.check_override_keys(args, defaults)
        values = arguments.parse(args, define_flags, doc)
        if values is None:
            return 0
        check_flags(values)
        check_schedule_flags(values)
        from dlcourse.sweep.spec import format_spec, load_sweep

        spaces = load_sweep(values.sweep)
        overrides = dict(values["config"].override_values)
        both = sorted(set(spaces) & set(overrides))
        if both:
            raise UsageError(f"{both[0]} is both swept (--sweep) and set (--config.{both[0]}); choose one")
        label = experiment.name
        workdir = values.workdir or os.path.join("runs", f"{label}-{values.search}-{values.seed}")
        check_workdir(workdir)
        state["workdir"] = workdir
        from dlcourse.sweep.store import Objective, Store
        from dlcourse.workdir import WorkdirLock

        store = Store(workdir)
        identity = _identity(experiment, defaults, values, spaces, overrides)
        multiprocess = bool(values.coordinator_address or os.environ.get("DLCOURSE_COORDINATOR"))
        if not values.start_over and not multiprocess:
            with WorkdirLock(workdir) if os.path.isdir(workdir) else nullcontext():
                if _report_finished(store, identity, values, spaces, workdir, config_path, overrides, label):
                    return 0

        from dlcourse.cli import compilation_cache, host_devices
        from dlcourse.train import distributed

        compilation_cache.enable(values.compilation_cache)
        host_devices.use_every_core()
        distributed.initialize(values.coordinator_address, values.num_processes, values.process_id)
        import jax

        from dlcourse.provenance import code_version
        from dlcourse.sweep import broadcast_json, classify_keys, run_sweep

        config = values.config
        trainable = call_build(label, experiment.build, config)
        check_unread_overrides(trainable, overrides)
        trainable.check_hparams()
        _, structural = classify_keys(spaces, trainable, config)
        check_structural_values(experiment, config, {key: spaces[key] for key in structural})
        check_schedule(values, trainable, spaces)
        if values.error_analysis and trainable.predict is None:
            raise UsageError(f"--error_analysis: experiment {label!r} gives no predictions (its Trainable has "
                             f"no predict)")
        objective = trainable.objective
        if values.human_error is not None and objective.fraction is None:
            raise UsageError(f"--human_error needs an objective that is an error rate in [0, 1] (accuracy or "
                             f"error); {label}'s is {objective.name}")
        planned = (planned_trials(spaces, values.search, values.trials, values.rounds) if values.schedule == "none"
                   else planned_schedule_trials(values, spaces, trainable.epochs))
        check_record_memory(planned, trainable)

        main_process = jax.process_index() == 0
        workdir = broadcast_json(workdir)
        meta = dict(identity, device_count=jax.device_count(), process_count=jax.process_count(),
                    objective=Objective.of(objective).record(), divergence_factor=trainable.divergence_factor,
                    code_version=code_version())
        shared = {"error": None, "finished": []}
        lock = None
        if main_process:
            try:
                lock = WorkdirLock(workdir).acquire()
                if values.start_over:
                    store.start_over()
                resuming = store.check_resumable(meta)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    shared["finished"] = store.records() if resuming else []
                for w in caught:
                    print(f"launch.py: warning: {w.message}", file=sys.stderr, flush=True)
            except (ValueError, RuntimeError) as error:
                shared["error"] = str(error)
        shared = broadcast_json(shared)
        if shared["error"]:
            if lock is not None:
                lock.release()
            raise UsageError(shared["error"])
        finished = shared["finished"]
        try:
            if main_process:
                store.create(meta)
                store.repair()
                size = (f"{values.trials} trials x {values.rounds} round(s)" if values.schedule == "none" else
                        describe_schedule(values, trainable.epochs))
                say(f"sweep {label}: {format_spec(spaces)}; {values.search} search, {size}, seed {values.seed}, "
                    f"{jax.device_count()} device(s) -> {workdir}"
                    + (f"; resuming with {len(finished)} finished" if finished else ""))
            state["done"] = len(finished)
            babysit = values.trials == 1 and values.schedule == "none"
            records = run_schedule(values, experiment, config, spaces, trainable, store, finished, workdir, label,
                                   state) if values.schedule != "none" else run_sweep(
                experiment.build, config, spaces, search=values.search, trials=values.trials, rounds=values.rounds,
                seed=values.seed, chunk=values.chunk, first_id=values.trial_id, finished=finished,
                trainable=trainable, record=store.append if main_process else None,
                on_chunk=_progress_printer(label, values.rounds, objective, state) if main_process else None,
                on_plan=(lambda plan: say(f"[{label} round {plan.round + 1}/{values.rounds}] {plan.describe()}"))
                if main_process else None,
                on_status=(lambda text: say(f"[{label}] {text}")) if main_process else None,
                babysit_workdir=workdir if babysit else None,
                on_epoch=_epoch_printer(trainable.epochs) if babysit and main_process else None,
                identity={k: identity[k] for k in ("experiment_source", "library")})
            if main_process:
                _report(records, spaces, objective, values, workdir, config_path, overrides,
                        trainable.divergence_factor)
                if values.error_analysis:
                    _error_analysis(records, experiment, config, trainable, workdir, values.seed)
        finally:
            if lock is not None:
                lock.release()
        return 0

    def interrupted() -> str:
        where = state["workdir"] or "the workdir"
        if state.get("saved"):      # population-based training: nothing is recorded before the end
            return f"interrupted; {state['saved']} in {where}; run the same command again to resume from it"
        return (f"interrupted; {state['done']} trials are recorded in {where}; run the same command again to "
                f"resume")

    return guarded("launch.py", body, interrupted)


def _epoch_printer(epochs: int):
    from dlcourse.train import format_progress

    def on_epoch(epoch, row, seconds_per_epoch):
        say(format_progress(int(epoch), epochs, row, seconds_per_epoch))

    return on_epoch
