"""launch.py's ``--schedule`` (successive halving / Hyperband, PBT) and ``--tensorboard``.

:mod:`dlcourse.cli.launcher` handles input, the resume protocol and the reports of every sweep;
this module holds what a schedule changes:

* **Flags.** ``--schedule=none|halving|pbt``; ``--eta``, ``--min_epochs``, ``--brackets`` belong to
  ``halving`` and ``--ready_every``, ``--exploit``, ``--explore`` to ``pbt``: given with another
  schedule they would change nothing, so they are refused. Both schedules train one population
  in one process and share the epoch budget themselves: ``--rounds`` > 1, multi-process runs and
  (for PBT, which ranks the whole population in one program) ``--chunk`` are refused, as is
  ``--error_analysis`` under PBT (a PBT trial's hyperparameters change during training, so it
  cannot be retrained alone).
* **Identity.** A schedule adds its settings to the sweep's identity (``sweep.json``); ``none``
  adds nothing, so a plain sweep's workdir is what it always was.
* **Run.** ``halving``: :func:`dlcourse.sweep.halving.run_halving` with its rung files in
  ``<workdir>/rungs/``, a progress line per rung and the records appended to the store at each
  rung. ``pbt``: :func:`dlcourse.sweep.pbt.run_pbt` saving ``<workdir>/pbt_state.npz`` at every
  ready boundary, a line per interval, the records appended to the store at the end.
* **Reports.** ``rungs.png`` (dev objective against epochs with each rung's cut-off) or
  ``lineage.png``; with ``--tensorboard``, :func:`dlcourse.sweep.tensorboard.export_sweep` into
  the workdir.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Callable

from dlcourse.cli.errors import UsageError
from dlcourse.cli.lesson import say

__all__ = ["SCHEDULES", "HALVING_FLAGS", "PBT_FLAGS", "RUNG_CRASH_ENV", "STATE_FOLDER", "check_schedule_flags",
           "schedule_identity", "check_schedule", "planned_schedule_trials", "describe_schedule", "run_schedule",
           "schedule_plots", "export_tensorboard"]

SCHEDULES = ("none", "halving", "pbt")
HALVING_FLAGS = ("eta", "min_epochs", "brackets")
PBT_FLAGS = ("ready_every", "exploit", "explore")
#: Test hook: exit abruptly (as if killed) after this many newly run rungs of successive halving.
RUNG_CRASH_ENV = "DLCOURSE_SWEEP_CRASH_AFTER_RUNGS"
#: The workdir's folder of successive halving's rung files.
STATE_FOLDER = "rungs"


def check_schedule_flags(values) -> None:
    """The schedule flags alone (before anything is built): one-line :class:`UsageError`."""
    schedule = values.schedule
    if schedule not in SCHEDULES:
        raise UsageError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    for flags, owner in ((HALVING_FLAGS, "halving"), (PBT_FLAGS, "pbt")):
        for name in flags:
            if values[name].present and schedule != owner:
                raise UsageError(f"--{name} applies to --schedule={owner}; add it, or drop --{name}")
    checks = [
        (values.eta >= 2, f"--eta must be >= 2, got {values.eta}"),
        (values.min_epochs >= 1, f"--min_epochs must be >= 1, got {values.min_epochs}"),
        (values.brackets >= 1, f"--brackets must be >= 1, got {values.brackets}"),
        (values.ready_every is None or values.ready_every >= 1,
         f"--ready_every must be >= 1, got {values.ready_every}"),
    ]
    if schedule != "none":
        multiprocess = ((values.num_processes or 1) > 1 or bool(values.coordinator_address)
                        or bool(os.environ.get("DLCOURSE_COORDINATOR")))
        checks += [
            (values.rounds == 1, f"--rounds={values.rounds}: coarse-to-fine rounds apply to --schedule=none; "
                                 f"--schedule={schedule} shares the budget among its trials itself"),
            (not multiprocess, f"--schedule={schedule} runs in one process; drop --num_processes"),
        ]
    if schedule == "pbt":
        from dlcourse.sweep.pbt import EXPLOIT_METHODS, EXPLORE_METHODS

        checks += [
            (values.exploit in EXPLOIT_METHODS,
             f"--exploit must be one of {', '.join(EXPLOIT_METHODS)}, got {values.exploit!r}"),
            (values.explore in EXPLORE_METHODS,
             f"--explore must be one of {', '.join(EXPLORE_METHODS)}, got {values.explore!r}"),
            (values.chunk is None, "--chunk: population-based training ranks the whole population in one "
                                   "program; drop --chunk"),
            (not values.error_analysis, "--error_analysis retrains a trial alone; a PBT trial's hyperparameters "
                                        "change while it trains, so it cannot be"),
        ]
    if values.tensorboard and importlib.util.find_spec("tensorboardX") is None:
        checks.append((False, "--tensorboard needs tensorboardX: pip install 'dlcourse[tensorboard]'"))
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def _ready_every(values, epochs: int) -> int:
    return values.ready_every if values.ready_every is not None else max(1, epochs // 10)


def schedule_identity(values) -> dict:
    """The settings a schedule adds to the sweep's identity (nothing for ``none``)."""
    if values.schedule == "halving":
        return {"schedule": "halving", "eta": values.eta, "min_epochs": values.min_epochs,
                "brackets": values.brackets}
    if values.schedule == "pbt":
        return {"schedule": "pbt", "ready_every": values.ready_every, "exploit": values.exploit,
                "explore": values.explore}
    return {}


def check_schedule(values, trainable, spaces) -> None:
    """The schedule against the built experiment: the budget allows it; PBT sweeps numbers only."""
    if values.schedule == "halving":
        from dlcourse.sweep.halving import hyperband_brackets

        if "epochs" in spaces:
            raise UsageError("--sweep: epochs cannot be swept under --schedule=halving: it is the budget "
                             "(set it with --config.epochs)")
        try:
            hyperband_brackets(trainable.epochs, values.eta, values.min_epochs, values.brackets, values.trials)
        except ValueError as error:
            raise UsageError(f"--schedule=halving: {error}") from None
    elif values.schedule == "pbt":
        from dlcourse.sweep.pbt import check_pbt_spaces

        try:
            check_pbt_spaces(trainable, spaces)
        except ValueError as error:
            raise UsageError(f"--schedule=pbt: {error}") from None


def planned_schedule_trials(values, spaces, epochs: int | None) -> int | None:
    """Trials a halving schedule samples (None where the budget is unknown); ``--trials`` for PBT."""
    if values.schedule == "halving":
        from dlcourse.sweep.halving import planned_trials

        if not isinstance(epochs, int):
            return None
        try:
            return planned_trials(spaces, values.search, values.trials, epochs, values.eta, values.min_epochs,
                                  values.brackets)
        except ValueError:
            return None
    return values.trials


def describe_schedule(values, epochs: int) -> str:
    """The words the sweep's first line adds for a schedule."""
    if values.schedule == "halving":
        from dlcourse.sweep.halving import hyperband_brackets

        plan = hyperband_brackets(epochs, values.eta, values.min_epochs, values.brackets, values.trials)
        parts = [f"{b.trials} trials at {'/'.join(str(e) for e in b.rung_epochs)} epochs" for b in plan]
        return (f"successive halving, eta {values.eta}" + (f", {len(plan)} Hyperband brackets" if len(plan) > 1
                                                          else "") + ": " + "; ".join(parts))
    if values.schedule == "pbt":
        return (f"population-based training of {values.trials} trials, ready every {_ready_every(values, epochs)} "
                f"epochs, {values.exploit}/{values.explore}")
    return ""


def _rung_printer(label: str, objective, state: dict):
    crash_after = int(os.environ[RUNG_CRASH_ENV]) if os.environ.get(RUNG_CRASH_ENV) else None

    def on_rung(p):
        best = p.best
        best_text = (f"best dev {objective.name} {best['metrics'][f'best_dev_{objective.name}']:.4f} "
                     f"(trial {best['id']})" if best else "best -")
        if p.kept:
            outcome = f"kept {len(p.kept)} (cut-off dev {objective.name} {p.cutoff:.4f})"
        elif p.rung == len(p.bracket.rung_epochs) - 1:
            outcome = "budget reached"
        else:
            outcome = "none kept: every trial diverged"
        what = "resumed: already done" if p.skipped else f"rung {p.seconds:.1f}s"
        state["done"] = p.done
        say(f"[{label} bracket {p.bracket.index + 1}/{p.brackets} rung {p.rung + 1}/{len(p.bracket.rung_epochs)}] "
            f"{len(p.trials)} trials at {p.epochs} epochs: {outcome}  trials {p.done}/{p.total}  {best_text}  "
            f"{what}  elapsed {p.elapsed:.1f}s")
        if not p.skipped:
            state["new_rungs"] = state.get("new_rungs", 0) + 1
            if crash_after is not None and state["new_rungs"] >= crash_after:
                sys.stdout.flush()
                os._exit(17)

    return on_rung


def run_schedule(values, experiment, config, spaces, trainable, store, finished, workdir: str, label: str,
                 state: dict) -> list[dict]:
    """Runs (or resumes) the halving or PBT schedule; returns every record in id order."""
    objective = trainable.objective
    status: Callable[[str], None] = lambda text: say(f"[{label}] {text}")  # noqa: E731
    if values.schedule == "halving":
        from dlcourse.sweep.halving import run_halving

        return run_halving(experiment.build, config, spaces, search=values.search, trials=values.trials,
                           seed=values.seed, eta=values.eta, min_epochs=values.min_epochs, brackets=values.brackets,
                           chunk=values.chunk, first_id=values.trial_id, finished=finished, trainable=trainable,
                           state_dir=os.path.join(workdir, STATE_FOLDER), record=store.append,
                           on_rung=_rung_printer(label, objective, state), on_status=status)
    from dlcourse.sweep.pbt import run_pbt

    def on_interval(p):
        best = "-" if p.best is None else f"{p.best:.4f}"
        what = "resumed: already done" if p.restored else f"interval {p.seconds:.1f}s"
        state["saved"] = f"the population after epoch {p.epochs_done} is saved"
        say(f"[{label} pbt interval {p.interval + 1}/{p.intervals}] epochs {p.epochs_done}/{p.epochs}  "
            f"best dev {objective.name} now {best}  {what}")

    records = run_pbt(trainable, spaces, trials=values.trials, seed=values.seed,
                      ready_every=_ready_every(values, trainable.epochs), exploit=values.exploit,
                      explore=values.explore, first_id=values.trial_id, workdir=workdir, on_status=status,
                      search=values.search, on_interval=on_interval)
    recorded = {int(r["id"]) for r in finished}
    store.append([r for r in records if r["id"] not in recorded])
    state["done"] = len(records)
    return records


def schedule_plots(schedule: str) -> list[str]:
    """The file names of a schedule's own plots."""
    return {"halving": ["rungs.png"], "pbt": ["lineage.png"]}.get(schedule, [])


def draw_schedule_plots(schedule: str, records, spaces, objective, workdir: str) -> None:
    """Draws :func:`schedule_plots` into the workdir."""
    if schedule == "halving":
        from dlcourse.sweep.report import rung_plot

        rung_plot(records, objective, os.path.join(workdir, "rungs.png"))
    elif schedule == "pbt":
        from dlcourse.sweep.pbt import plot_lineage

        plot_lineage(records, os.path.join(workdir, "lineage.png"), spaces=spaces, objective_name=objective.name)


def export_tensorboard(records, spaces, objective, workdir: str) -> None:
    """``--tensorboard``: the sweep as TensorBoard event files in the workdir, and how to view them."""
    from dlcourse.sweep.tensorboard import export_sweep

    export_sweep(records, spaces, objective.name, logdir=workdir)
    say(f"tensorboard: tensorboard --logdir={workdir}")
