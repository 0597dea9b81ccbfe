"""Training core: the experiment contract, the jitted epoch loop, devices, checkpoints, logging.

- :class:`Trainable` / :func:`summarize` — a run as pure functions of numeric hyperparameters.
- :func:`classifier` — the Trainable of supervised classification from a model, data and optimizer.
- :mod:`.parallel` — data parallelism over a mesh axis ``'data'`` (:func:`data_mesh`).
- :mod:`.distributed` — multi-process start-up (:func:`initialize`).
- :func:`run_single` — one trial epoch by epoch with ``metrics.jsonl``, checkpoints, resumption and a
  learning-curve PNG; :func:`format_progress` for the caller's progress line.
"""

from dlcourse.train.checkpoint import TrainingCheckpoints
from dlcourse.train.classification import ClassifierState, classifier
from dlcourse.train.distributed import initialize, is_main_process
from dlcourse.train.parallel import DATA_AXIS, data_mesh
from dlcourse.train.reporting import format_progress, plot_learning_curve, read_metrics
from dlcourse.train.single import DifferentRunError, run_single
from dlcourse.train.trainable import KNOWN_DOMAINS, Interval, Trainable, summarize

__all__ = [
    "Trainable",
    "summarize",
    "Interval",
    "KNOWN_DOMAINS",
    "classifier",
    "ClassifierState",
    "DATA_AXIS",
    "data_mesh",
    "initialize",
    "is_main_process",
    "run_single",
    "DifferentRunError",
    "TrainingCheckpoints",
    "format_progress",
    "plot_learning_curve",
    "read_metrics",
]
