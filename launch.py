"""Hyperparameter sweeps of any experiment: many trials as one compiled program on all devices.

    python launch.py                                   # Adam on deep_mlp, 32 random trials
    python launch.py --config=experiments/deep_mlp.py --config.epochs=30 \\
        --sweep='learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1),hidden=int(50,100)' \\
        --search=quasirandom --trials=64 --rounds=2
    python launch.py --experiment=optimizers --sweep='learning_rate=log(1e-4,1)'   # a lesson by name
    python launch.py --trials=1 --sweep=none --config.learning_rate=0.003     # babysit one model
    python launch.py --trials=8 --error_analysis       # + per-class dev errors of the best trial

``--config`` is an experiment file (``get_config()`` and ``build(config)``, see
``dlcourse/train/trainable.py``) anywhere on disk; ``--experiment=NAME`` is short for
``--config=experiments/NAME.py``. ``--config.KEY=VALUE`` sets a config key that is not swept.
Re-running the same command resumes from ``--workdir``; ``--start_over`` discards it. Bad input:
one line on stderr, exit status 2, nothing written. The work is done by ``dlcourse.cli.launcher``.
"""

from __future__ import annotations

import os
import sys

from absl import flags
from ml_collections import config_flags

REPO = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = os.path.join(REPO, "experiments")
DEFAULT_CONFIG = os.path.join(EXPERIMENTS, "deep_mlp.py")
DEFAULT_SWEEP = "learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1)"


def define_flags(values: flags.FlagValues, argv: list[str]) -> None:
    """launch.py's flags, defined in ``values`` (a fresh FlagValues per call; ``argv`` feeds the
    ``--config.KEY=VALUE`` overrides)."""
    def string(name, default, help_text):
        flags.DEFINE_string(name, default, help_text, flag_values=values)

    def integer(name, default, help_text):
        flags.DEFINE_integer(name, default, help_text, flag_values=values)

    config_flags.DEFINE_config_file(
        "config", DEFAULT_CONFIG, "Experiment file: get_config() gives the defaults, build(config) the "
        "Trainable. Set keys with --config.KEY=VALUE.", flag_values=values, sys_argv=argv)
    string("experiment", None, "Shorthand for --config=experiments/NAME.py.")
    string("sweep", DEFAULT_SWEEP, "Spec 'key=log(a,b),key=1-log(a,b),key=uniform(a,b),key=int(a,b),"
           "key=choice(x,y)', 'none', or a .py file with get_sweep().")
    string("search", "random", "Search method: random, quasirandom or grid.")
    integer("trials", 32, "Trials per round (1: babysit one model with checkpoints).")
    integer("rounds", 1, "Coarse-to-fine rounds.")
    integer("seed", 0, "Seed of the samples and of every trial's PRNG key.")
    string("workdir", None, "Results; default runs/<experiment>-<search>-<seed>.")
    integer("chunk", None, "Most trials per compiled call. Default: automatic, from the device memory.")
    integer("trial_id", 0, "Id of the first trial (the reproduce command sets it, fixing the key).")
    flags.DEFINE_float("human_error", None, "Human-level error (a fraction): adds avoidable bias and "
                       "variance to the leaderboard.", flag_values=values)
    flags.DEFINE_bool("error_analysis", False, "Retrain the best trial alone and write its per-class dev "
                      "error table to <workdir>/error_analysis.txt.", flag_values=values)
    flags.DEFINE_bool("start_over", False, "Discard what the workdir holds (records, reports, babysat "
                      "trials) and run the sweep from the start.", flag_values=values)
    string("compilation_cache", None, "Folder of JAX's persistent compilation cache, or 'none'; default "
           "$DLCOURSE_COMPILATION_CACHE, else ~/.cache/dlcourse/jax.")
    string("coordinator_address", None, "host:port of process 0 (multi-process runs).")
    integer("num_processes", None, "Number of processes (multi-process runs).")
    integer("process_id", None, "This process's id (multi-process runs).")


def main(argv: list[str] | None = None) -> int:
    from dlcourse.cli import launcher

    return launcher.main(sys.argv if argv is None else argv, define_flags, experiments_folder=EXPERIMENTS,
                         default_config=DEFAULT_CONFIG, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
