"""One babysat trial: a Python loop over jitted epochs with logging, checkpoints and resumption.

:func:`run_single` executes exactly the epochs of :meth:`Trainable.train` (the same
``guarded_epoch``, one jitted program per epoch), so it ends with the same metrics; between epochs it
appends to ``<workdir>/metrics.jsonl``, checkpoints to ``<workdir>/checkpoints/`` and reports
progress through a callback. Rerun on the same workdir, it resumes from the newest checkpoint and
ends as the uninterrupted run would have: bitwise the same state, hence the same metrics.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.train import distributed, reporting
from dlcourse.train.checkpoint import TrainingCheckpoints
from dlcourse.train.trainable import Trainable, summarize

CHECKPOINT_DIR = "checkpoints"


class DifferentRunError(ValueError):
    """The workdir holds checkpoints of a run with other hyperparameters or another config."""


def _differences(saved: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``"key: saved X, now Y"`` for each key whose value differs (missing keys read as absent)."""
    absent = "(absent)"
    return [f"{k}: saved {saved.get(k, absent)!r}, now {now.get(k, absent)!r}"
            for k in sorted(set(saved) | set(now)) if saved.get(k, absent) != now.get(k, absent)]


def _complete_hparams(trainable: Trainable, hparams: Mapping[str, Any] | None) -> dict[str, jax.Array]:
    hparams = dict(hparams or {})
    unknown = sorted(set(hparams) - set(trainable.hparams))
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown}; this run takes {sorted(trainable.hparams)}")
    merged = {**trainable.hparams, **hparams}
    return {k: jnp.asarray(v, jnp.float32) for k, v in merged.items()}


def _as_json_numbers(hparams: Mapping[str, jax.Array]) -> dict[str, float]:
    return {k: float(v) for k, v in sorted(hparams.items())}


def run_single(
    trainable: Trainable,
    hparams: Mapping[str, Any] | None,
    key: jax.Array,
    workdir: str | os.PathLike | None = None,
    *,
    checkpoint_every: int = 1,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    max_epochs: int | None = None,
    config: Mapping[str, Any] | None = None,
    max_to_keep: int = 2,
) -> dict[str, jax.Array]:
    """Trains one trial epoch by epoch; returns the metrics :meth:`Trainable.train` returns.

    Args:
      trainable: the run's structure.
      hparams: numeric hyperparameters; missing ones take the trainable's defaults (None: all).
      key: the trial's PRNG key (as for ``trainable.train``).
      workdir: where ``metrics.jsonl``, ``checkpoints/`` and ``learning_curve.png`` go; None keeps
        nothing on disk (no resumption). Files other than checkpoints are written by process 0.
      checkpoint_every: checkpoint after every N-th epoch (and always after the last one run,
        and after the epoch that diverged).
      on_epoch: called as ``on_epoch(epoch, row)`` after each epoch (1-based, ``row`` of Python
        floats), e.g. to print :func:`dlcourse.train.format_progress`. An exception from it
        stops the run; what was checkpointed stays.
      max_epochs: stop after this epoch (counted from the start of training, not of this call),
        e.g. to split a run over several jobs; the result then covers the epochs run.
      config: the experiment's config (JSON-serialisable), recorded in each checkpoint.
      max_to_keep: checkpoints kept.

    Once the trial diverges the loop stops; the remaining epochs are reported as NaN, as
    ``train`` reports them. Resuming checks, before restoring any array, that the checkpoint was
    made with the same hyperparameters and (when ``config`` is given) the same config, and
    rewrites ``metrics.jsonl`` to the restored epoch.

    Only process 0 creates ``workdir`` and writes files into it; in a multi-process run every
    process takes part in each checkpoint save (orbax's multi-process protocol), into the same
    ``workdir``.

    Raises:
      DifferentRunError: (a ``ValueError``) the workdir's checkpoints belong to a run with other
        hyperparameters or another config; the message says what differs.
    """
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive int, got {checkpoint_every!r}")
    if max_epochs is not None and (not isinstance(max_epochs, int) or max_epochs < 1):
        raise ValueError(f"max_epochs must be a positive int or None, got {max_epochs!r}")
    hp = _complete_hparams(trainable, hparams)
    stop = trainable.epochs if max_epochs is None else min(max_epochs, trainable.epochs)
    writes_files = workdir is not None and distributed.is_main_process()
    if workdir is not None:
        workdir = os.fspath(workdir)
    if writes_files:
        os.makedirs(workdir, exist_ok=True)
    metrics_path = None if workdir is None else os.path.join(workdir, reporting.METRICS_FILE)

    state = jax.jit(trainable.init)(hp, key)
    diverged = jnp.asarray(False)
    rows: list[dict[str, float]] = []
    epoch_fn = jax.jit(trainable.guarded_epoch)
    checkpoints = None if workdir is None else TrainingCheckpoints(
        os.path.join(workdir, CHECKPOINT_DIR), max_to_keep=max_to_keep)
    record = {"hparams": _as_json_numbers(hp),
              "config": reporting.to_json_value(dict(config or {}))}
    try:
        if checkpoints is not None and checkpoints.latest_epoch() is not None:
            done = checkpoints.latest_epoch()
            saved = checkpoints.read_record(done)
            differences = _differences(saved.get("hparams") or {}, record["hparams"])
            if config is not None:
                differences += _differences(saved.get("config") or {}, record["config"])
            if differences:
                raise DifferentRunError(
                    f"{workdir} holds a different run ({'; '.join(differences)}); delete it or pass "
                    f"another --workdir")
            state, was_diverged, saved = checkpoints.restore(done, state)
            diverged = jnp.asarray(was_diverged)
            rows = [{k: float("nan") if v is None else float(v) for k, v in row.items()}
                    for row in saved["rows"]][:done]
            if writes_files:
                reporting.write_metrics(metrics_path, rows)
        elif writes_files and os.path.exists(metrics_path):
            os.remove(metrics_path)  # a fresh run: no rows from an earlier, uncheckpointed one

        for epoch in range(len(rows) + 1, stop + 1):
            if bool(diverged):
                break
            state, diverged, row_arrays = epoch_fn(state, diverged, hp)
            row = {k: float(v) for k, v in row_arrays.items()}
            rows.append(row)
            if writes_files:
                reporting.append_metrics(metrics_path, epoch, row)
            if checkpoints is not None and (epoch % checkpoint_every == 0 or epoch == stop
                                            or bool(diverged)):
                checkpoints.save(epoch, state, diverged, dict(record, rows=rows))
            if on_epoch is not None:
                on_epoch(epoch, row)
    finally:
        if checkpoints is not None:
            checkpoints.close()

    if writes_files and rows:
        reporting.plot_learning_curve(rows, os.path.join(workdir, reporting.LEARNING_CURVE_FILE))
    names = list(rows[0]) if rows else ["train_loss", "train_metric", "dev_metric"]
    padded = rows + [{k: float("nan") for k in names}] * (stop - len(rows))
    curves = {k: np.array([row[k] for row in padded], np.float32) for k in names}
    return jax.jit(summarize, static_argnames="goal")(curves, diverged, goal=trainable.goal)
