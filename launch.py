"""Hyperparameter sweeps of any experiment: many trials as one compiled program on all devices.

    python launch.py                                   # Adam on deep_mlp, 32 random trials
    python launch.py --config=experiments/deep_mlp.py --config.epochs=30 \\
        --sweep='learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1),hidden=int(50,100)' \\
        --search=quasirandom --trials=64 --rounds=2
    python launch.py --experiment=optimizers --sweep='learning_rate=log(1e-4,1)'   # a lesson by name
    python launch.py --trials=1 --sweep=none --config.learning_rate=0.003     # babysit one model
    python launch.py --trials=8 --error_analysis       # + per-class dev errors of the best trial
    python launch.py --trials=27 --config.epochs=27 --schedule=halving --eta=3   # successive halving
    python launch.py --trials=27 --config.epochs=27 --schedule=halving --brackets=4   # Hyperband
    python launch.py --trials=16 --config.epochs=20 --schedule=pbt --ready_every=2    # PBT
    python launch.py --trials=8 --tensorboard          # + event files: tensorboard --logdir=<workdir>

``--config`` is an experiment file (``get_config()`` and ``build(config)``, see
``dlcourse/train/trainable.py``) anywhere on disk; ``--experiment=NAME`` is short for
``--config=experiments/NAME.py``. ``--config.KEY=VALUE`` sets a config key that is not swept.
Re-running the same command resumes from ``--workdir``; ``--start_over`` discards it. Bad input:
one line on stderr, exit status 2, nothing written. The work is done by ``dlcourse.cli.launcher``.

``--schedule`` decides how the trials share the epoch budget (``--config.epochs``): ``none`` (the
default) trains every trial for all of it; ``halving`` trains ``--trials`` trials for a few epochs
and continues only the best 1/``--eta`` of them from their state, rung after rung
(``--min_epochs``: the fewest epochs a rung may have; ``--brackets`` > 1: Hyperband's brackets;
``dlcourse/sweep/halving.py``); ``pbt`` trains one population in which, every ``--ready_every``
epochs, the worst trials copy the state and hyperparameters of the best and perturb them
(``--exploit``, ``--explore``; ``dlcourse/sweep/pbt.py``). ``--tensorboard`` also writes the sweep's
curves and HParams table as TensorBoard event files into the workdir.
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
    string("schedule", "none", "How trials share the epoch budget: none (each trains all epochs), halving "
           "(successive halving / Hyperband) or pbt (population-based training).")
    integer("eta", 3, "--schedule=halving: keep the best 1/eta of the trials at each rung.")
    integer("min_epochs", 1, "--schedule=halving: the fewest epochs a trial trains before it can be cut.")
    integer("brackets", 1, "--schedule=halving: Hyperband brackets (1: plain successive halving).")
    integer("ready_every", None, "--schedule=pbt: epochs between exploit/explore steps (default: a tenth of "
            "the epochs, at least 1).")
    string("exploit", "truncation", "--schedule=pbt: how the worst trials pick whom to copy (truncation).")
    string("explore", "perturb", "--schedule=pbt: how copied hyperparameters change (perturb or resample).")
    flags.DEFINE_bool("tensorboard", False, "Also write the sweep for TensorBoard (per-trial curves and the "
                      "HParams table) into the workdir.", flag_values=values)
    string("coordinator_address", None, "host:port of process 0 (multi-process runs).")
    integer("num_processes", None, "Number of processes (multi-process runs).")
    integer("process_id", None, "This process's id (multi-process runs).")


def main(argv: list[str] | None = None) -> int:
    from dlcourse.cli import launcher

    return launcher.main(sys.argv if argv is None else argv, define_flags, experiments_folder=EXPERIMENTS,
                         default_config=DEFAULT_CONFIG, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
