"""One trial trained and summarized — what a lesson program, a comparison or a notebook runs.

:func:`train_trial` trains a :class:`Trainable` once with given hyperparameters and seed, by one of
two paths that execute the same epochs (``Trainable.guarded_epoch``):

- the whole run as one jitted ``lax.scan`` (fastest for many short epochs); with a ``workdir``,
  ``metrics.jsonl`` and ``learning_curve.png`` are written afterwards;
- ``babysit=True``: :func:`dlcourse.train.babysit`, a Python loop over jitted epochs with progress,
  ``metrics.jsonl`` as it goes, checkpoints (a rerun resumes) and the learning curve.

Either way the program is compiled first and its compile time reported apart, and when the data
have a test split the final state is evaluated on it (``test_loss``, ``test_<metric>``) — the
trial itself never sees the test split while training. :func:`compare` runs several configurations
one after another; :func:`train_together` trains cases that differ only in numeric hyperparameters
as one vmapped program.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.train import reporting
from dlcourse.train.babysitting import babysit as babysit_run
from dlcourse.train.babysitting import complete_hparams
from dlcourse.train.compilation import compile_lowered
from dlcourse.train.trainable import Trainable


class TrialResult(NamedTuple):
    """A trained trial.

    Attributes:
      summary: plain JSON values: every scalar the run reports (``final_<row key>``,
        ``best_dev_<objective>``, ``diverged``, ``exploded``, ``epochs_run``), the test figures
        when there is a test split, ``hparams``, ``seconds`` (wall time, compilation included)
        and ``compile_seconds``.
      curves: ``{row key: [value per epoch]}`` (``None`` for a diverged epoch).
    """

    summary: dict
    curves: dict


def _result(metrics: Mapping[str, Any], test: Mapping[str, Any], hparams: Mapping[str, jax.Array],
            seconds: float, compile_seconds: float) -> TrialResult:
    summary = {k: reporting.to_json_value(np.asarray(v)) for k, v in metrics.items() if np.ndim(v) == 0}
    summary.update({k: reporting.to_json_value(np.asarray(v)) for k, v in test.items()})
    summary["hparams"] = {k: float(v) for k, v in hparams.items()}
    summary["seconds"] = round(seconds, 3)
    summary["compile_seconds"] = round(compile_seconds, 3)
    curves = {k: reporting.to_json_value(np.asarray(v)) for k, v in metrics.items() if np.ndim(v) == 1}
    return TrialResult(summary, curves)


def write_epoch_files(workdir: str, curves: Mapping[str, Sequence]) -> None:
    """``metrics.jsonl`` (one row per epoch) and ``learning_curve.png`` from per-epoch curves."""
    import os

    os.makedirs(workdir, exist_ok=True)
    epochs = len(curves["train_loss"])
    rows = [{k: (np.nan if v[i] is None else v[i]) for k, v in curves.items()} for i in range(epochs)]
    reporting.write_metrics(os.path.join(workdir, reporting.METRICS_FILE), rows)
    reporting.plot_learning_curve(rows, os.path.join(workdir, reporting.LEARNING_CURVE_FILE))


def train_trial(
    trainable: Trainable,
    *,
    seed: int,
    hparams: Mapping[str, float] | None = None,
    workdir: str | None = None,
    babysit: bool = False,
    config: Mapping[str, Any] | None = None,
    identity: Mapping[str, Any] | None = None,
    on_epoch: Callable[[int, dict, float], None] | None = None,
    on_compiled: Callable[[float], None] | None = None,
) -> TrialResult:
    """Trains one trial and summarizes it (see the module docstring).

    Args:
      trainable: from the experiment's ``build``.
      seed: seed of the trial's PRNG key (initialization, shuffles, dropout, augmentation).
      hparams: numeric hyperparameters; default ``trainable.hparams`` (checked against their
        domains either way).
      workdir: where the per-epoch files (and, babysitting, checkpoints) go; None: nowhere.
      babysit: train epoch by epoch with :func:`dlcourse.train.babysit`.
      config, identity: recorded in checkpoints when babysitting (a rerun of another run in the
        same workdir is refused).
      on_epoch: babysitting only: ``(epoch, row, seconds_per_epoch)`` after each epoch.
      on_compiled: called with the compile time before training starts.
    """
    values = complete_hparams(trainable, hparams)
    key = jax.random.key(seed)
    start = time.perf_counter()
    if babysit:
        compile_seconds = [0.0]

        def compiled(seconds):
            compile_seconds[0] = seconds
            if on_compiled is not None:
                on_compiled(seconds)

        state, metrics = babysit_run(trainable, values, key, workdir,
                                     checkpoint_every=max(1, trainable.epochs // 4), on_epoch=on_epoch,
                                     on_compiled=compiled, config=config, identity=identity)
        compile_test = time.perf_counter()
        test = {} if trainable.test is None else compile_lowered(jax.jit(trainable.test).lower(state, values))(
            state, values)
        compile_seconds = compile_seconds[0] + (time.perf_counter() - compile_test if trainable.test else 0.0)
    else:
        def run(values, key):
            state, metrics = trainable.train_with_state(values, key)
            return metrics, ({} if trainable.test is None else trainable.test(state, values))

        program = compile_lowered(jax.jit(run).lower(values, key))
        compile_seconds = time.perf_counter() - start
        if on_compiled is not None:
            on_compiled(compile_seconds)
        metrics, test = jax.block_until_ready(program(values, key))
    result = _result(metrics, test, values, time.perf_counter() - start, compile_seconds)
    if workdir and not babysit:
        write_epoch_files(workdir, result.curves)
    return result


def compare(build: Callable[[Any], Trainable], config, cases: Sequence[tuple[Any, Mapping[str, Any]]],
            **trial_options) -> dict[Any, TrialResult]:
    """Each case's ``overrides`` set on a copy of ``config``, built and trained one after another
    (:func:`train_trial` with ``seed=config.train_seed``). Returns ``{label: TrialResult}`` in order."""
    results = {}
    for label, overrides in cases:
        case = config.copy_and_resolve_references()
        case.update(overrides)
        results[label] = train_trial(build(case), seed=case.train_seed, **trial_options)
    return results


def train_together(trainable: Trainable, cases: Sequence[Mapping[str, float]], *, seed: int) -> list[TrialResult]:
    """Cases that differ only in numeric hyperparameters, trained as **one** vmapped program with
    the same key (so only the numbers differ). Each result's ``seconds`` is the whole program's."""
    if not cases:
        raise ValueError("train_together needs at least one case")
    filled = [complete_hparams(trainable, case) for case in cases]
    stacked = {k: jnp.stack([case[k] for case in filled]) for k in trainable.hparams}

    def one(values, key):
        state, metrics = trainable.train_with_state(values, key)
        return metrics, ({} if trainable.test is None else trainable.test(state, values))

    start = time.perf_counter()
    key = jax.random.key(seed)
    program = compile_lowered(jax.jit(jax.vmap(one, in_axes=(0, None))).lower(stacked, key))
    compile_seconds = time.perf_counter() - start
    metrics, test = jax.block_until_ready(program(stacked, key))
    seconds = time.perf_counter() - start
    return [_result({k: np.asarray(v)[i] for k, v in metrics.items()}, {k: np.asarray(v)[i] for k, v in test.items()},
                    filled[i], seconds, compile_seconds) for i in range(len(cases))]
