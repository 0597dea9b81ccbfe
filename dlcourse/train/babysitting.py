"""Babysitting one model: a Python loop over jitted epochs with logging, checkpoints and resumption.

The course contrasts babysitting one model (watching it epoch by epoch, nudging it) with training
many in parallel. :func:`babysit` executes exactly the epochs of :meth:`Trainable.train` (the same
``guarded_epoch``, one compiled program per epoch), so it ends with the same metrics; between
epochs it appends to ``<workdir>/metrics.jsonl``, checkpoints to ``<workdir>/checkpoints/`` and
reports progress through a callback. The programs are compiled before the first epoch and their
compile time is reported apart (``on_compiled``), so the per-epoch time and the estimate of the
time left measure training alone. Rerun on the same workdir, it resumes from the newest
checkpoint and ends as the uninterrupted run would have: bitwise the same state, hence the same
metrics — provided it is the same run: the hyperparameters, the config and the code's identity
recorded in the checkpoint must equal the present ones (:class:`DifferentRunError` otherwise).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.train import distributed, reporting
from dlcourse.train.checkpoint import TrainingCheckpoints
from dlcourse.train.compilation import compile_lowered
from dlcourse.train.trainable import Guard, Trainable, summarize

CHECKPOINT_DIR = "checkpoints"


class DifferentRunError(ValueError):
    """The workdir holds checkpoints of a run with other hyperparameters, config or code."""


def differences(saved: Mapping[str, Any], now: Mapping[str, Any], prefix: str = "") -> list[str]:
    """``"key: saved X, now Y"`` for each key whose value differs (missing keys read as absent)."""
    absent = "(absent)"
    return [f"{prefix}{k}: saved {saved.get(k, absent)!r}, now {now.get(k, absent)!r}"
            for k in sorted(set(saved) | set(now)) if saved.get(k, absent) != now.get(k, absent)]


def complete_hparams(trainable: Trainable, hparams: Mapping[str, Any] | None) -> dict[str, jax.Array]:
    """``hparams`` over the trainable's defaults, as float32 scalars; unknown names are refused."""
    hparams = dict(hparams or {})
    trainable.check_hparams(hparams)
    merged = {**trainable.hparams, **hparams}
    return {k: jnp.asarray(v, jnp.float32) for k, v in merged.items()}


def _guard_record(guard: Guard) -> dict:
    return {"diverged": bool(guard.diverged), "exploded": bool(guard.exploded),
            "reference_loss": reporting.to_json_value(float(guard.reference_loss))}


def _guard_from(record: Mapping) -> Guard:
    reference = record.get("reference_loss")
    return Guard(jnp.asarray(bool(record["diverged"])), jnp.asarray(bool(record.get("exploded", False))),
                 jnp.asarray(np.nan if reference is None else reference, jnp.float32))


def babysit(
    trainable: Trainable,
    hparams: Mapping[str, Any] | None,
    key: jax.Array,
    workdir: str | os.PathLike | None = None,
    *,
    checkpoint_every: int = 1,
    on_epoch: Callable[[int, dict[str, float], float], None] | None = None,
    on_compiled: Callable[[float], None] | None = None,
    max_epochs: int | None = None,
    config: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
    max_to_keep: int = 2,
) -> tuple[Any, dict[str, jax.Array]]:
    """Trains one trial epoch by epoch; returns ``(final state, metrics)`` as
    :meth:`Trainable.train_with_state` does.

    Args:
      trainable: the run's structure.
      hparams: numeric hyperparameters; missing ones take the trainable's defaults (None: all).
      key: the trial's PRNG key (as for ``trainable.train``).
      workdir: where ``metrics.jsonl``, ``checkpoints/`` and ``learning_curve.png`` go; None keeps
        nothing on disk (no resumption). Files other than checkpoints are written by process 0.
      checkpoint_every: checkpoint after every N-th epoch (and always after the last one run,
        and after the epoch that diverged). A Ctrl-C (``KeyboardInterrupt``) between checkpoints
        also saves the last whole epoch before it propagates (single-process runs: in a
        multi-process run the processes would have to save together), so it loses at most the
        epoch it interrupted; a killed process resumes from the last regular checkpoint.
      on_epoch: called as ``on_epoch(epoch, row, seconds_per_epoch)`` after each epoch (1-based,
        ``row`` of Python floats, the mean wall time of the epochs run so far in this call,
        compilation excluded), e.g. to print :func:`dlcourse.train.format_progress`. An exception
        from it stops the run; what was checkpointed stays.
      on_compiled: called with the seconds spent compiling, before the first epoch runs.
      max_epochs: stop after this epoch (counted from the start of training, not of this call),
        e.g. to split a run over several jobs; the result then covers the epochs run.
      config: the experiment's config (JSON-serialisable), recorded in each checkpoint.
      identity: what else makes this run this run (e.g. the code's fingerprint), recorded and
        compared on resumption like ``config``.
      max_to_keep: checkpoints kept.

    Once the trial diverges the loop stops; the remaining epochs are reported as NaN, as
    ``train`` reports them. Resuming checks, before restoring any array, that the checkpoint was
    made with the same hyperparameters, config and identity, and rewrites ``metrics.jsonl`` to the
    restored epoch.

    Raises:
      DifferentRunError: (a ``ValueError``) the workdir's checkpoints belong to another run; the
        message says what differs.
    """
    if not isinstance(checkpoint_every, int) or checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive int, got {checkpoint_every!r}")
    if max_epochs is not None and (not isinstance(max_epochs, int) or max_epochs < 1):
        raise ValueError(f"max_epochs must be a positive int or None, got {max_epochs!r}")
    values = complete_hparams(trainable, hparams)
    stop = trainable.epochs if max_epochs is None else min(max_epochs, trainable.epochs)
    writes_files = workdir is not None and distributed.is_main_process()
    if workdir is not None:
        workdir = os.fspath(workdir)
    if writes_files:
        os.makedirs(workdir, exist_ok=True)
    metrics_path = None if workdir is None else os.path.join(workdir, reporting.METRICS_FILE)

    compile_start = time.perf_counter()
    start = compile_lowered(jax.jit(trainable.start).lower(values, key))
    state, guard = start(values, key)
    epoch_fn = compile_lowered(jax.jit(trainable.guarded_epoch).lower(state, guard, values))
    if on_compiled is not None:
        on_compiled(time.perf_counter() - compile_start)
    rows: list[dict[str, float]] = []
    checkpoints = None if workdir is None else TrainingCheckpoints(
        os.path.join(workdir, CHECKPOINT_DIR), max_to_keep=max_to_keep)
    record = {"hparams": {k: float(v) for k, v in sorted(values.items())},
              "config": reporting.to_json_value(dict(config or {})),
              "identity": reporting.to_json_value(dict(identity or {}))}
    saved_epoch, last = 0, None          # last: (epoch, state, guard) of the last whole epoch run
    try:
        if checkpoints is not None and checkpoints.latest_epoch() is not None:
            done = checkpoints.latest_epoch()
            saved = checkpoints.read_record(done)
            found = differences(saved.get("hparams") or {}, record["hparams"])
            if config is not None:
                found += differences(saved.get("config") or {}, record["config"])
            if identity is not None:
                found += differences(saved.get("identity") or {}, record["identity"])
            if found:
                raise DifferentRunError(f"{workdir} holds a different run ({'; '.join(found)}); delete it or "
                                        f"pass another --workdir")
            state, saved = checkpoints.restore(done, state)
            guard, saved_epoch = _guard_from(saved), done
            rows = [{k: float("nan") if v is None else float(v) for k, v in row.items()}
                    for row in saved["rows"]][:done]
            if writes_files:
                reporting.write_metrics(metrics_path, rows)
        elif writes_files and os.path.exists(metrics_path):
            os.remove(metrics_path)  # a fresh run: no rows from an earlier, uncheckpointed one

        run_start, run_epochs = time.perf_counter(), 0
        for epoch in range(len(rows) + 1, stop + 1):
            if bool(guard.diverged):
                break
            state, guard, row_arrays = epoch_fn(state, guard, values)
            row = {k: float(v) for k, v in row_arrays.items()}
            rows.append(row)
            run_epochs += 1
            if writes_files:
                reporting.append_metrics(metrics_path, epoch, row)
            if checkpoints is not None and (epoch % checkpoint_every == 0 or epoch == stop
                                            or bool(guard.diverged)):
                saved_epoch = epoch         # first: an interrupt inside save must not save an older epoch after it
                checkpoints.save(epoch, state, dict(record, rows=rows, **_guard_record(guard)))
            last = (epoch, state, guard)
            if on_epoch is not None:
                on_epoch(epoch, row, (time.perf_counter() - run_start) / run_epochs)
    except KeyboardInterrupt:
        if checkpoints is not None and last is not None and last[0] > saved_epoch and jax.process_count() == 1:
            epoch, state, guard = last
            checkpoints.save(epoch, state, dict(record, rows=rows[:epoch], **_guard_record(guard)))
        raise
    finally:
        if checkpoints is not None:
            checkpoints.close()

    if writes_files and rows:
        reporting.plot_learning_curve(rows, os.path.join(workdir, reporting.LEARNING_CURVE_FILE))
    names = list(rows[0]) if rows else ["train_loss", f"dev_{trainable.objective.name}"]
    padded = rows + [{k: float("nan") for k in names}] * (stop - len(rows))
    curves = {k: np.array([row[k] for row in padded], np.float32) for k in names}
    summary = jax.jit(summarize, static_argnames="objective")(curves, guard, objective=trainable.objective)
    return state, jax.tree.map(np.asarray, summary)
