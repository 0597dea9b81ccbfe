"""Hyperparameter sweeps: search spaces, search methods, populations, the store and reports.

The course's tuning lesson as a library: sample on the right scale (:class:`LogUniform` for α,
:class:`OneMinusLogUniform` for β), try random or quasi-random points rather than a grid, zoom in
coarse to fine, and train many models at once as one compiled, sharded program
(:class:`Population`). :func:`run_sweep` drives an experiment through the contract described in
:mod:`dlcourse.sweep.runner`; :class:`Store` keeps results that survive a crash;
:func:`error_analysis` retrains a recorded trial alone and tables its dev-set errors per class.
"""

from dlcourse.sweep.population import (MEMORY_FRACTION, Population, device_memory_bytes, plan_chunks,
                                       stack_hparams, trial_keys)
from dlcourse.sweep.report import axis_plots, leaderboard, learning_curves, ranked, reproduce_command
from dlcourse.sweep.runner import (AUTO_CHUNK_ABOVE, ChunkPlan, Progress, broadcast_json, classify_keys,
                                   make_record, run_sweep, structural_config)
from dlcourse.sweep.search import (SEARCH_METHODS, Trial, grid_shape, sample_round, shrink_spaces,
                                   top_trials, unit_points)
from dlcourse.sweep.spaces import Choice, IntRange, LogUniform, OneMinusLogUniform, Space, Uniform
from dlcourse.sweep.spec import NO_SWEEP, format_spec, load_sweep, parse_spec
from dlcourse.sweep.store import IDENTITY_KEYS, DamagedRecordWarning, Store, code_version, to_json_value
from dlcourse.sweep.trial_analysis import (RetrainedTrial, TrialErrorAnalysis, error_analysis,
                                           format_trial_error_analysis, reproduction_gap, retrain)

__all__ = [
    "Space", "LogUniform", "OneMinusLogUniform", "Uniform", "IntRange", "Choice",
    "parse_spec", "format_spec", "load_sweep", "NO_SWEEP",
    "SEARCH_METHODS", "Trial", "unit_points", "grid_shape", "sample_round", "shrink_spaces", "top_trials",
    "Population", "trial_keys", "plan_chunks", "stack_hparams", "device_memory_bytes", "MEMORY_FRACTION",
    "classify_keys", "structural_config", "make_record", "Progress", "ChunkPlan", "AUTO_CHUNK_ABOVE",
    "run_sweep", "broadcast_json",
    "Store", "IDENTITY_KEYS", "DamagedRecordWarning", "code_version", "to_json_value",
    "ranked", "leaderboard", "axis_plots", "learning_curves", "reproduce_command",
    "RetrainedTrial", "retrain", "reproduction_gap", "TrialErrorAnalysis", "error_analysis",
    "format_trial_error_analysis",
]
