"""Programs: the one part of dlcourse that reads flags, prints and exits.

- :func:`run_experiment` — an experiment file as a program (:mod:`.lesson`): one trial from
  flags, or the experiment's own ``main``; one line of JSON last.
- :mod:`.launcher` — what ``launch.py`` does: a resumable, honest sweep from flags.
- :func:`load_experiment` — an experiment file by path or name (:mod:`.experiments`).
- :mod:`.errors` — one-line failures and exit statuses; :mod:`.compilation_cache` — JAX's
  persistent compilation cache, on by default.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "run_experiment": "lesson", "print_table": "lesson", "say": "lesson", "comparison_table": "lesson",
    "load_experiment": "experiments", "Experiment": "experiments",
    "UsageError": "errors", "ExperimentError": "errors",
})
