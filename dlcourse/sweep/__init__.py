"""Hyperparameter sweeps: search spaces, search methods, populations, the store and reports.

The course's tuning lesson as a library: sample on the right scale (:class:`LogUniform` for α,
:class:`OneMinusLogUniform` for β), try random or quasi-random points rather than a grid, zoom in
coarse to fine, and train many models at once as one compiled, sharded program
(:class:`Population`). :func:`run_sweep` drives an experiment through the contract described in
:mod:`dlcourse.sweep.runner`; :func:`run_halving` shares the epoch budget by successive halving or
Hyperband brackets (:mod:`.halving`, over a population trained in :class:`Segments`) and
:func:`run_pbt` by population-based training (:mod:`.pbt`); :func:`export_sweep` writes a sweep
for TensorBoard; :class:`Store` keeps results that survive a crash and decides what
may be resumed; :mod:`.report` draws the leaderboard and plots; :func:`error_analysis` retrains a
recorded trial alone and tables its dev-set errors per class.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["Bracket", "RungProgress", "hyperband_brackets", "run_halving", "select_survivors",
                     "survivors"], "halving"),
    **dict.fromkeys(["IntervalProgress", "check_pbt_spaces", "plot_lineage", "run_pbt"], "pbt"),
    **dict.fromkeys(["Carry", "Segments"], "segments"),
    "export_sweep": "tensorboard",
    **dict.fromkeys(["MEMORY_FRACTION", "Population", "device_memory_bytes", "plan_chunks", "stack_hparams",
                     "trial_key", "trial_keys"], "population"),
    "report": "report",
    **dict.fromkeys(["AUTO_CHUNK_ABOVE", "ChunkPlan", "Progress", "broadcast_json", "classify_keys", "make_record",
                     "run_sweep", "structural_config"], "runner"),
    **dict.fromkeys(["SEARCH_METHODS", "Trial", "grid_shape", "sample_round", "shrink_spaces", "top_trials",
                     "unit_points", "objective_key"], "search"),
    **dict.fromkeys(["Choice", "IntRange", "LogUniform", "OneMinusLogUniform", "Space", "Uniform"], "spaces"),
    **dict.fromkeys(["NO_SWEEP", "format_spec", "load_sweep", "parse_spec"], "spec"),
    **dict.fromkeys(["IDENTITY_KEYS", "DamagedRecordWarning", "Objective", "Store"], "store"),
    **dict.fromkeys(["RetrainedTrial", "TrialErrorAnalysis", "error_analysis", "format_trial_error_analysis",
                     "reproduction_gap", "retrain"], "trial_analysis"),
})
