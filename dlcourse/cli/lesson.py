"""A lesson (or any experiment file) as a program: one trial from flags, one line of JSON.

Every file in ``experiments/`` ends with one of::

    if __name__ == "__main__":
        cli.run_experiment(get_config, build)                    # train one trial
        cli.run_experiment(get_config, build, compare=compare)   # or, with --config.compare=True, a comparison
        cli.run_experiment(get_config, main=main)                # a program that is not a training run

and so does a user's own experiment anywhere on disk — it needs nothing but ``dlcourse``. The
program takes ``--config.KEY=VALUE`` overrides of ``get_config()`` (typed like each default),
``--workdir`` (where files go; nothing is written without it) and ``--compilation_cache``
(:mod:`dlcourse.cli.compilation_cache`). It builds the experiment, checks every numeric
hyperparameter against its domain (``learning_rate=-1`` is refused) and refuses to set one that
this structure does not read (β₁ under plain SGD), then either trains one trial
(:func:`dlcourse.train.train_trial` with ``config.train_seed``: compile and train times apart,
progress per epoch when babysitting, test figures when the data has a test split), or — when
``compare`` is given and ``config.compare`` is true — calls ``compare(config, workdir)``, or calls
``main(config, workdir)``; those return their own summary (:func:`comparison_table` prints and
plots a comparison of :class:`~dlcourse.train.TrialResult` s). Last on stdout comes one line of JSON —
the summary — also written to ``<workdir>/metrics.json`` (atomically). A workdir has one writer at
a time (:class:`dlcourse.workdir.WorkdirLock`). Bad input is one line and exit status 2; see
:mod:`dlcourse.cli.errors` for the rest.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable, Mapping, Sequence

from dlcourse.cli import arguments
from dlcourse.cli.errors import UsageError, guarded
from dlcourse.cli.experiments import call_build, call_get_config

__all__ = ["run_experiment", "print_table", "say", "comparison_table"]


def say(text: str = "") -> None:
    """Prints a line of progress and flushes it."""
    print(text, flush=True)


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain fixed-width table on stdout (floats with 4 decimals)."""
    def cell(value):
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    text = [tuple(cell(v) for v in header)] + [tuple(cell(v) for v in row) for row in rows]
    widths = [max(len(row[i]) for row in text) for i in range(len(header))]
    for index, row in enumerate(text):
        say("  ".join(value.rjust(width) for value, width in zip(row, widths)))
        if index == 0:
            say("  ".join("-" * width for width in widths))


def comparison_table(results: Mapping[Any, Any], columns: Sequence[tuple[str, Any]], workdir: str | None, *,
                     title: str = "", label_header: str = "case", legend: str = "{}") -> dict:
    """Prints several trials side by side and draws their training costs; returns the summary.

    Args:
      results: ``{label: TrialResult}`` (e.g. from :func:`dlcourse.train.compare`).
      columns: ``(header, source)``: ``source`` a summary key, or ``(summary, curves) -> value``.
      workdir: where ``comparison.png`` goes (None: no plot).
      title, legend: the plot's title, and each line's label (``legend.format(label)``).

    Returns:
      ``{"cases": {str(label): summary}, "seconds": Σ seconds}``.
    """
    def value(source, result):
        return result.summary.get(source) if isinstance(source, str) else source(result.summary, result.curves)

    print_table((label_header, *(header for header, _ in columns)),
                [(label, *(value(source, result) for _, source in columns)) for label, result in results.items()])
    if workdir:
        from dlcourse.train.reporting import plot_comparison

        os.makedirs(workdir, exist_ok=True)
        plot_comparison(os.path.join(workdir, "comparison.png"),
                        {legend.format(label): result.curves for label, result in results.items()}, title)
    return {"cases": {str(label): result.summary for label, result in results.items()},
            "seconds": round(sum(result.summary["seconds"] for result in results.values()), 3)}


def _experiment_file(get_config: Callable) -> tuple[str, str | None]:
    module = sys.modules.get(get_config.__module__)
    path = getattr(module, "__file__", None)
    name = os.path.splitext(os.path.basename(path))[0] if path else get_config.__module__
    return name, path


def check_unread_overrides(trainable, overrides: Mapping[str, Any]) -> None:
    """``UsageError`` for an override of a numeric hyperparameter this structure does not read."""
    for key in overrides:
        reason = (trainable.unread or {}).get(key)
        if reason is not None:
            raise UsageError(f"--config.{key}: {reason}; setting it would change nothing")


def write_summary(summary: Mapping, workdir: str | None) -> None:
    """``<workdir>/metrics.json`` (atomically), then ``summary`` as one line of JSON, last on stdout."""
    from dlcourse.train.reporting import to_json_value, write_json_atomically

    payload = to_json_value(dict(summary))
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        write_json_atomically(os.path.join(workdir, "metrics.json"), payload, sort_keys=True)
    sys.stdout.flush()
    print(json.dumps(payload, sort_keys=True, allow_nan=False), flush=True)


def train_one(name: str, trainable, config, workdir: str | None, *, babysit: bool, source: str | None) -> dict:
    """Trains one trial of ``trainable`` with ``config.train_seed``, printing progress; returns the
    summary (``experiment``, the run's figures, ``config``)."""
    from dlcourse import provenance
    from dlcourse.train import format_progress, train_trial

    epochs = trainable.epochs
    say(f"{name}: compiling" + (" (babysitting, checkpoints in the workdir)" if babysit and workdir else ""))
    identity = {"library": provenance.library_fingerprint()}
    if source:
        identity["experiment_source"] = provenance.source_fingerprint(source)
    started = time.perf_counter()
    result = train_trial(
        trainable, seed=int(config.train_seed), workdir=workdir, babysit=babysit, config=config.to_dict(),
        identity=identity,
        on_compiled=lambda seconds: say(f"compiled in {seconds:.1f}s; training {epochs} epochs"),
        on_epoch=lambda epoch, row, per_epoch: say(format_progress(epoch, epochs, row, per_epoch)))
    if not babysit:
        say(f"trained in {time.perf_counter() - started - result.summary['compile_seconds']:.1f}s")
    return {"experiment": name, **result.summary, "config": config.to_dict()}


def _has_checkpoints(workdir: str) -> bool:
    """Whether a program babysat a run into ``workdir`` (e.g. from its own ``main``): a rerun resumes it."""
    from dlcourse.train.babysitting import CHECKPOINT_DIR

    folder = os.path.join(workdir, CHECKPOINT_DIR)
    return os.path.isdir(folder) and bool(os.listdir(folder))


def run_experiment(get_config: Callable[[], Any], build: Callable[[Any], Any] | None = None, *,
                   compare: Callable[[Any, str | None], Mapping] | None = None,
                   main: Callable[[Any, str | None], Mapping] | None = None, babysit: bool = False,
                   argv: Sequence[str] | None = None, exit: bool = True) -> int:
    """Runs an experiment file as a program (see the module docstring).

    Args:
      get_config: the experiment's ``get_config``.
      build: its ``build(config) -> Trainable``; one trial of it is trained (unless ``compare`` or
        ``main`` takes over); the config is built and checked first either way.
      compare: ``(config, workdir) -> summary``, run instead when ``config.compare`` is true.
      main: ``(config, workdir) -> summary`` for a program that is not a training run.
      babysit: train the one trial epoch by epoch with checkpoints (:func:`dlcourse.train.babysit`).
      argv: the command line (default ``sys.argv``).
      exit: end the process with the exit status (else return it).
    """
    argv = list(sys.argv if argv is None else argv)
    name, source = _experiment_file(get_config)
    program = os.path.basename(source) if source else name
    doc = getattr(sys.modules.get(get_config.__module__), "__doc__", "") or ""
    state = {"babysitting": False, "workdir": None}

    def define(values, argv):
        from absl import flags
        from ml_collections import config_flags

        config = call_get_config(name, get_config)
        arguments.check_override_keys(argv, config)
        config_flags.DEFINE_config_dict("config", config, "The experiment's config; set keys as "
                                        "--config.KEY=VALUE.", flag_values=values, sys_argv=argv)
        flags.DEFINE_string("workdir", None, "Folder for metrics.json, metrics.jsonl, plots (and checkpoints "
                            "when babysitting); nothing is written without it.", flag_values=values)
        flags.DEFINE_string("compilation_cache", None, "Folder of JAX's persistent compilation cache, or "
                            "'none'; default $DLCOURSE_COMPILATION_CACHE, else ~/.cache/dlcourse/jax.",
                            flag_values=values)

    def body():
        values = arguments.parse(argv, define, doc)
        if values is None:
            return 0
        from dlcourse.cli import compilation_cache
        from dlcourse.workdir import WorkdirLock

        compilation_cache.enable(values.compilation_cache)
        config, workdir = values.config, values.workdir
        state["workdir"] = workdir
        if workdir and os.path.exists(workdir) and not os.path.isdir(workdir):
            raise UsageError(f"--workdir={workdir} is a file, not a directory")
        trainable = None
        if build is not None:
            trainable = call_build(name, build, config)
            check_unread_overrides(trainable, values["config"].override_values)
            trainable.check_hparams()
        lock = WorkdirLock(workdir).acquire() if workdir else None
        try:
            program_main = main or (compare if compare is not None and config.get("compare") else None)
            if program_main is not None:
                summary = dict(program_main(config, workdir))
                summary.setdefault("experiment", name)
            else:
                if trainable is None:
                    raise UsageError("run_experiment needs build or main")
                state["babysitting"] = babysit
                summary = train_one(name, trainable, config, workdir, babysit=babysit, source=source)
            write_summary(summary, workdir)
        finally:
            if lock is not None:
                lock.release()
        return 0

    def interrupted():
        if state["workdir"] and (state["babysitting"] or _has_checkpoints(state["workdir"])):
            return ("interrupted; run the same command again to resume from the last checkpoint in "
                    f"{state['workdir']}")
        return "interrupted; nothing was recorded"

    status = guarded(program, body, interrupted)
    if exit:
        sys.exit(status)
    return status
