"""Training core: the experiment contract, the supervised builder, devices, babysitting, trials.

- :class:`Trainable` / :func:`summarize` / :class:`Guard` — a run as pure functions of numeric
  hyperparameters, with the divergence rule (:mod:`.trainable`).
- :func:`supervised` — the Trainable of supervised learning from a model, data, a loss, named
  metrics and an optimizer: pytrees of inputs and targets, masks per element, augmentation,
  evaluation in mini-batches, model state such as batch statistics, data parallelism
  (:mod:`.supervised_learning`, :mod:`.evaluation`).
- :mod:`.parallel` — data parallelism over a mesh axis ``'data'`` (:func:`data_mesh`).
- :mod:`.distributed` — multi-process start-up (:func:`initialize`).
- :func:`babysit` — one model epoch by epoch with ``metrics.jsonl``, checkpoints, resumption and a
  learning-curve PNG; :func:`format_progress` for the caller's progress line.
- :func:`train_trial`, :func:`compare`, :func:`train_together` — one trial (or a few) trained and
  summarized, test split included (:mod:`.trial`).

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Trainable": "trainable", "summarize": "trainable", "Guard": "trainable", "Interval": "trainable",
    "KNOWN_DOMAINS": "trainable", "DIVERGENCE_FACTOR": "trainable",
    "supervised": "supervised_learning", "TrainState": "supervised_learning",
    "evaluator": "evaluation",
    "DATA_AXIS": "parallel", "data_mesh": "parallel",
    "initialize": "distributed", "is_main_process": "distributed",
    "babysit": "babysitting", "DifferentRunError": "babysitting",
    "TrainingCheckpoints": "checkpoint",
    "format_progress": "reporting", "plot_learning_curve": "reporting", "plot_comparison": "reporting",
    "read_metrics": "reporting",
    "compile_lowered": "compilation", "compiler_options": "compilation",
    "train_trial": "trial", "TrialResult": "trial", "compare": "trial", "train_together": "trial",
})
