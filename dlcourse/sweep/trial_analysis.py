"""One recorded trial, trained again alone: its final state, and the error analysis of its dev set.

A sweep keeps metrics, not models. To look at *what* the best trial gets wrong, :func:`retrain`
trains that trial again, alone, with ``jax.jit(trainable.train_with_state)``: the same structure
(its structural values set on the config), the same numeric hyperparameters and the same PRNG key
(:func:`dlcourse.sweep.trial_keys` of the sweep's seed and the trial's id), so the run is the one
the sweep recorded (:func:`reproduction_gap` measures how closely). :func:`error_analysis` then
asks the trainable's ``predict`` for the dev set's true and predicted classes of the final (last
finite) state and builds the per-class table of :func:`dlcourse.strategy.per_class_error_table`:
per class, examples, errors, error rate (errors / examples), share of all errors
(errors / Σ errors) and the most frequent wrong prediction; the overall dev error is
Σ errors / m_dev.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse.strategy.error_analysis import ClassRow, format_per_class_error_table, per_class_error_table
from dlcourse.sweep.population import stack_hparams, trial_keys
from dlcourse.sweep.runner import structural_config
from dlcourse.train.trainable import Trainable

__all__ = ["RetrainedTrial", "retrain", "reproduction_gap", "TrialErrorAnalysis", "error_analysis",
           "format_trial_error_analysis"]



class RetrainedTrial(NamedTuple):
    """A recorded trial trained again.

    Attributes:
      record: the trial's record (``trials.jsonl`` form).
      trainable: the experiment built for the trial's structure.
      hparams: the numeric hyperparameters used, float32 scalar arrays.
      state: the final (last finite) training state.
      metrics: the run's metrics (as :meth:`Trainable.train` returns them), NumPy arrays.
    """

    record: Mapping
    trainable: Trainable
    hparams: dict[str, jax.Array]
    state: Any
    metrics: dict[str, np.ndarray]


def retrain(build: Callable[[ml_collections.ConfigDict], Trainable], config: ml_collections.ConfigDict,
            record: Mapping, seed: int, trainable: Trainable | None = None) -> RetrainedTrial:
    """Trains the trial of ``record`` again, alone, from its hyperparameters and key.

    Args:
      build, config: the experiment and the sweep's config (overrides set), as for ``run_sweep``.
      record: a trial record; its ``hparams`` not in the trainable's numeric hyperparameters are
        structural config keys, set on a copy of ``config`` before ``build``.
      seed: the sweep's seed (the trial's key is ``fold_in(PRNGKey(seed), id)``).
      trainable: ``build(config)`` if the caller has it (saves a build when nothing is structural).
    """
    base = build(config) if trainable is None else trainable
    values = dict(record["hparams"])
    structure = {k: v for k, v in values.items() if k not in base.hparams}
    unknown = sorted(k for k in structure if k not in config)
    if unknown:
        raise ValueError(f"trial {record['id']} has hyperparameters {unknown} that are neither numeric "
                         f"hyperparameters nor config keys of this experiment")
    chosen = build(structural_config(config, structure)) if structure else base
    numeric = {k: v for k, v in values.items() if k in chosen.hparams}
    hparams = {k: jnp.asarray(v[0]) for k, v in stack_hparams(chosen, [numeric]).items()}
    key = trial_keys(seed, [int(record["id"])])[0]
    state, metrics = jax.block_until_ready(jax.jit(chosen.train_with_state)(hparams, key))
    return RetrainedTrial(record, chosen, hparams, state, {k: np.asarray(v) for k, v in metrics.items()})


def reproduction_gap(record: Mapping, metrics: Mapping[str, Any]) -> float:
    """Largest ``|retrained − recorded|`` over the recorded scalar figures (``final_*``, ``best_*``)
    that the retrained run also has (0 when both are NaN/None; ``inf`` when only one is)."""
    gap = 0.0
    for name, recorded in record["metrics"].items():
        if not name.startswith(("final_", "best_")) or name not in metrics or np.ndim(metrics[name]) != 0:
            continue
        recorded = math.nan if recorded is None else float(recorded)
        again = float(np.asarray(metrics[name]))
        if math.isnan(recorded) and math.isnan(again):
            continue
        if math.isnan(recorded) or math.isnan(again):
            return math.inf
        gap = max(gap, abs(again - recorded))
    return gap


class TrialErrorAnalysis(NamedTuple):
    """Where a trained trial's dev-set mistakes fall.

    Attributes:
      trial_id: the trial's id.
      rows: one :class:`dlcourse.strategy.ClassRow` per class.
      examples: dev-set size m_dev.
      errors: misclassified dev examples.
      dev_error: ``errors / examples``.
      reproduction_gap: :func:`reproduction_gap` of the retrained run against the record.
      labels, predictions: the dev set's true and predicted classes, int ``[m_dev]``.
    """

    trial_id: int
    rows: list[ClassRow]
    examples: int
    errors: int
    dev_error: float
    reproduction_gap: float
    labels: np.ndarray
    predictions: np.ndarray


def error_analysis(build: Callable[[ml_collections.ConfigDict], Trainable], config: ml_collections.ConfigDict,
                   record: Mapping, seed: int, trainable: Trainable | None = None,
                   class_names: Sequence[str] | None = None) -> TrialErrorAnalysis:
    """Retrains ``record``'s trial (:func:`retrain`) and tables the errors of its final state on
    the dev set (see the module docstring). ``class_names`` as in ``per_class_error_table``.

    Raises:
      ValueError: the experiment's Trainable has no ``predict``, or it returns labels and
        predictions that are not integer vectors of the same shape.
    """
    base = build(config) if trainable is None else trainable
    if base.predict is None:
        raise ValueError("the experiment's Trainable has no predict (dev-set classes); "
                         "error analysis needs one")
    trained = retrain(build, config, record, seed, base)
    labels, predictions = jax.jit(trained.trainable.predict)(trained.state, trained.hparams)
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    rows = per_class_error_table(labels, predictions, class_names)
    errors = int(np.sum(labels != predictions))
    return TrialErrorAnalysis(int(record["id"]), rows, int(labels.size), errors, errors / labels.size,
                              reproduction_gap(record, trained.metrics), labels, predictions)


def format_trial_error_analysis(analysis: TrialErrorAnalysis) -> str:
    """A heading with the overall dev error, then the per-class table."""
    heading = (f"error analysis of trial {analysis.trial_id} (retrained alone; final state on the dev "
               f"set): dev error {100 * analysis.dev_error:.2f}% ({analysis.errors} of {analysis.examples})")
    return heading + "\n" + format_per_class_error_table(analysis.rows)
