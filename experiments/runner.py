"""The shared part of every lesson experiment's ``main``: run one trial, report, write metrics.json.

An experiment module supplies ``get_config()`` and ``build(config) -> Trainable``; its ``main``
calls :func:`run_trial` (train with the config's default hyperparameters and ``train_seed``),
optionally adds its own figures, and hands the dict to :func:`report`, which prints it as the
**last line** of stdout (one line of JSON) and writes the same object to ``<workdir>/metrics.json``
(through a temporary file and a rename, so the file is never half-written). A run also leaves
``metrics.jsonl`` (per epoch) and ``learning_curve.png`` (cost vs epoch) in the workdir; a
comparison of several runs leaves ``comparison.png``.

A lesson that compares cases (``--config.compare=True``) lists them as ``[(label, overrides)]``,
trains them with :func:`compare` and prints and reports them with :func:`report_comparison`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.train.reporting import to_json_value, write_json_atomically
from dlcourse.train.trainable import SUMMARY_KEYS, Trainable


def run_trial(
    trainable: Trainable,
    train_seed: int,
    evaluate: Optional[Callable[[Any], Mapping[str, jax.Array]]] = None,
    hparams: Optional[Mapping[str, float]] = None,
    *,
    workdir: Optional[str] = None,
    babysit: bool = False,
    config: Optional[Mapping[str, Any]] = None,
) -> tuple[dict, dict]:
    """Trains one trial and summarizes it.

    Two paths execute the same epochs (``Trainable.guarded_epoch``):

    - default: the whole run as one jitted ``lax.scan`` (fastest for many short epochs); with a
      ``workdir``, ``metrics.jsonl`` and ``learning_curve.png`` are written afterwards with
      :mod:`dlcourse.train.reporting`.
    - ``babysit=True``: :func:`dlcourse.train.run_single`, a Python loop over jitted epochs that
      prints a progress line per epoch and, with a ``workdir``, appends to ``metrics.jsonl`` as it
      goes, checkpoints (a rerun resumes) and plots the learning curve. ``evaluate`` is not
      available there (the final state stays inside ``run_single``).

    Args:
      trainable: from the experiment's ``build``.
      train_seed: seed of the trial's PRNG key (initialization, shuffles, dropout).
      evaluate: optional ``state -> {name: scalar}``, e.g. test accuracy of the final state; jitted
        together with the training.
      hparams: numeric hyperparameters; default ``trainable.hparams``.
      workdir: where the per-epoch files go (None: nowhere).
      babysit: use :func:`run_single` (see above).
      config: the experiment's config, recorded in checkpoints when babysitting.

    Returns:
      ``(summary, curves)``: ``summary`` holds :data:`SUMMARY_KEYS`, the evaluation's figures,
      the hyperparameters used and ``seconds`` (wall time, compilation included) as Python values;
      ``curves`` maps each per-epoch row key to a list.
    """
    values = dict(trainable.hparams if hparams is None else hparams)
    unknown = sorted(set(values) - set(trainable.hparams))
    if unknown:
        raise ValueError(f"hyperparameters {unknown} are not among {sorted(trainable.hparams)}")
    stacked = {k: jnp.asarray(v, jnp.float32) for k, v in values.items()}
    key = jax.random.key(train_seed)
    start = time.perf_counter()
    if babysit:
        if evaluate is not None:
            raise ValueError("evaluate needs the final state; run without babysit")
        from dlcourse.train import format_progress, run_single

        def on_epoch(epoch, row):
            print(format_progress(epoch, trainable.epochs, row, time.perf_counter() - start),
                  flush=True)

        from dlcourse.train import DifferentRunError
        try:
            metrics = run_single(trainable, stacked, key, workdir,
                                 checkpoint_every=max(1, trainable.epochs // 4), on_epoch=on_epoch,
                                 config=None if config is None else to_json_value(dict(config)))
        except DifferentRunError as error:  # a rerun with other flags in the same --workdir
            fail(str(error))
        extra = {}
    else:
        @jax.jit
        def run(hp, key):
            state, metrics = trainable.train_with_state(hp, key)
            return metrics, ({} if evaluate is None else dict(evaluate(state)))

        metrics, extra = jax.block_until_ready(run(stacked, key))
    seconds = time.perf_counter() - start
    summary = {k: to_json_value(metrics[k]) for k in SUMMARY_KEYS}
    summary.update(to_json_value(extra))
    summary["hparams"] = {k: float(v) for k, v in values.items()}
    summary["seconds"] = round(seconds, 3)
    curves = {k: to_json_value(v) for k, v in metrics.items() if np.ndim(v) == 1}
    if workdir and not babysit:
        write_epoch_files(workdir, curves)
    return summary, curves


def write_epoch_files(workdir: str, curves: Mapping[str, list]) -> None:
    """``metrics.jsonl`` (one row per epoch) and ``learning_curve.png`` from per-epoch curves."""
    from dlcourse.train import reporting

    os.makedirs(workdir, exist_ok=True)
    epochs = len(curves["train_loss"])
    rows = [{k: (math.nan if v[i] is None else v[i]) for k, v in curves.items()} for i in range(epochs)]
    reporting.write_metrics(os.path.join(workdir, reporting.METRICS_FILE), rows)
    reporting.plot_learning_curve(rows, os.path.join(workdir, reporting.LEARNING_CURVE_FILE))


def plot_comparison(path: str, curves: Mapping[str, Mapping[str, list]], title: str) -> None:
    """Training cost vs epoch, one line per run (``{label: {'train_loss': [...], ...}}``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, run_curves in curves.items():
        loss = np.asarray([np.nan if v is None else v for v in run_curves["train_loss"]], float)
        axes.plot(np.arange(1, len(loss) + 1), loss, label=str(label))
    axes.set_xlabel("epoch")
    axes.set_ylabel("training cost J")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                         prefix=".comparison-", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, format="png")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def report(summary: Mapping, workdir: Optional[str], comparison: Optional[Mapping] = None,
           title: str = "") -> None:
    """Writes ``<workdir>/metrics.json`` (and ``comparison.png`` from ``comparison``, a mapping
    ``{label: curves}`` of several runs), then prints ``summary`` as one line of JSON, last on
    stdout."""
    payload = to_json_value(summary)
    line = json.dumps(payload, sort_keys=True, allow_nan=False)
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        if comparison:
            plot_comparison(os.path.join(workdir, "comparison.png"), comparison, title)
        write_json_atomically(os.path.join(workdir, "metrics.json"), payload, sort_keys=True)
    sys.stdout.flush()
    print(line, flush=True)


def print_table(header: tuple[str, ...], rows: list[tuple]) -> None:
    """A plain fixed-width table on stdout (floats with 4 decimals)."""
    def cell(value):
        if isinstance(value, float):
            return f"{value:.4f}"
        return str(value)

    text = [tuple(cell(v) for v in header)] + [tuple(cell(v) for v in row) for row in rows]
    widths = [max(len(row[i]) for row in text) for i in range(len(header))]
    for index, row in enumerate(text):
        print("  ".join(value.rjust(width) for value, width in zip(row, widths)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def compare(run: Callable[[Any], tuple[dict, dict]], config,
            cases: Sequence[tuple[Any, Mapping[str, Any]]]) -> tuple[dict, dict]:
    """``run`` on a copy of ``config`` with each case's overrides set, one case after another.

    Returns ``({label: summary}, {label: curves})`` in the order of ``cases``.
    """
    summaries, curves = {}, {}
    for label, overrides in cases:
        case = config.copy_and_resolve_references()
        case.update(overrides)
        summaries[label], curves[label] = run(case)
    return summaries, curves


#: A comparison table column: header and either a summary key or ``(summary, curves) -> value``.
Column = tuple[str, Union[str, Callable[[Mapping, Mapping], Any]]]


def report_comparison(experiment: str, summaries: Mapping[Any, Mapping], curves: Optional[Mapping[Any, Mapping]],
                      columns: Sequence[Column], workdir: Optional[str], title: str = "", *,
                      label_header: str = "case", cases_key: str = "cases", legend: str = "{}") -> None:
    """Prints the comparison as a table (one row per case: its label, then ``columns``), then
    :func:`report` of ``{"experiment": experiment, cases_key: summaries}`` plus ``seconds``, the sum
    of the cases' ``seconds`` when every case has one. ``curves`` (``{label: curves}``, or None)
    are drawn in ``comparison.png``, each line named ``legend.format(label)``.
    """
    def value(column, label, summary):
        source = column[1]
        return summary[source] if isinstance(source, str) else source(summary, (curves or {}).get(label))

    print_table((label_header, *(column[0] for column in columns)), [
        (label, *(value(column, label, summary) for column in columns))
        for label, summary in summaries.items()])
    summary = {"experiment": experiment, cases_key: summaries}
    if all("seconds" in s for s in summaries.values()):
        summary["seconds"] = round(sum(s["seconds"] for s in summaries.values()), 3)
    comparison = {legend.format(label): run_curves for label, run_curves in curves.items()} if curves else None
    report(summary, workdir, comparison=comparison, title=title)


def build_or_exit(build: Callable[[Any], Trainable], config) -> Trainable:
    """``build(config)``; a ``ValueError`` (a bad flag value) prints one line and exits with status 2."""
    try:
        return build(config)
    except ValueError as error:
        fail(str(error))


def fail(message: str) -> None:
    """One line on stderr naming what is wrong, exit status 2 (the convention for bad flags)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def define_flags(config) -> None:
    """``--config`` (the experiment's defaults, overridable as ``--config.KEY=VALUE``) and
    ``--workdir``. Called only when the experiment runs as a program, so importing several
    experiment modules in one process defines no flags twice."""
    from absl import flags
    from ml_collections import config_flags

    config_flags.DEFINE_config_dict("config", config)
    flags.DEFINE_string("workdir", None, "Directory for metrics.json, metrics.jsonl and plots "
                        "(created if missing; nothing is written without it).")


def test_accuracy(model, x, y) -> Callable[[Any], dict]:
    """``state -> {'test_metric': accuracy}`` of a classifier's final state on ``(x, y)``, with the
    model in inference mode (no dropout; batch norm on its running averages)."""
    from dlcourse import metrics

    x, y = jnp.asarray(x), jnp.asarray(y)

    def evaluate(state):
        variables = {"params": state.params}
        if state.batch_stats:
            variables["batch_stats"] = state.batch_stats
        return {"test_metric": metrics.accuracy(model.apply(variables, x, train=False), y)}

    return evaluate
