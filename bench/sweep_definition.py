"""The sweep that ``bench/sweep.py`` measures, defined once for every program that trains it.

By default it is ``python launch.py``'s sweep: the experiment ``launch.DEFAULT_CONFIG``
(``experiments/deep_mlp.py``) with its ``get_config()`` defaults, the spec ``launch.DEFAULT_SWEEP``
(α on a log scale, β₁ as 1 − log scale), launch.py's default search method, trial count and seed
(read from ``launch.define_flags``). The trials are drawn with ``dlcourse.sweep.sample_round``
exactly as ``run_sweep`` draws round 0, and the splits are the ones ``deep_mlp.build`` trains on,
``dlcourse.data.load_digits(seed=config.seed)``.

Nothing here imports JAX: the peers' subprocesses (``bench/peers.py``) load the same sweep without
paying for an import a scikit-learn or PyTorch user would not make.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any, Mapping, NamedTuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import launch  # noqa: E402
from dlcourse.cli import load_experiment  # noqa: E402
from dlcourse.sweep.search import Trial, sample_round  # noqa: E402
from dlcourse.sweep.spec import load_sweep  # noqa: E402

#: Adam's ε: dlcourse.optim.adam's default, which deep_mlp uses; the baselines pass it explicitly.
ADAM_EPSILON = 1e-8


def launch_defaults() -> dict[str, Any]:
    """launch.py's defaults of the flags a sweep depends on: ``trials``, ``seed``, ``search``, ``sweep``."""
    from absl import flags

    values = flags.FlagValues()
    launch.define_flags(values, ["launch.py"])
    return {name: values[name].default for name in ("trials", "seed", "search", "sweep")}


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that pick the sweep (launch.py's defaults), shared by the benchmark programs."""
    defaults = launch_defaults()
    parser.add_argument("--trials", type=int, default=defaults["trials"], help="trials in the sweep")
    parser.add_argument("--seed", type=int, default=defaults["seed"], help="sweep seed")
    parser.add_argument("--sweep", default=defaults["sweep"], help="sweep spec (launch.py --sweep)")
    parser.add_argument("--search", default=defaults["search"], help="search method (launch.py --search)")
    parser.add_argument("--experiment-config", action="append", default=[], metavar="KEY=VALUE",
                        help="set a key of deep_mlp's config that is not swept (repeatable); "
                             "launch.py's --config.KEY=VALUE")


def parse_config_values(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    """``['KEY=VALUE', ...]`` as ``{KEY: VALUE}`` (strings); a malformed item is a usage error."""
    values = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            parser.error(f"--experiment-config {item!r}: write KEY=VALUE")
        values[key] = value
    return values


def typed_like(default: Any, key: str, value: Any) -> Any:
    """``value`` converted to the type of the config's ``default`` (``ValueError`` if it cannot be).

    Booleans read ``true``/``false`` (any case), ``1``/``0``; integers must be whole numbers.
    """
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(f"{key}={value!r}: expected true or false")
    if isinstance(default, int):
        number = float(value)
        if not number.is_integer():
            raise ValueError(f"{key}={value!r}: expected an integer")
        return int(number)
    if isinstance(default, float):
        return float(value)
    return type(default)(value) if default is not None else value


def set_config_values(config, values: Mapping[str, Any]):
    """A copy of ``config`` with ``values`` set, each converted to the type of the key's default.

    Raises:
      ValueError: a key the config does not have, or a value of the wrong type.
    """
    import ml_collections

    config = ml_collections.ConfigDict(config.to_dict())
    for key, value in values.items():
        if key not in config:
            raise ValueError(f"unknown config key {key!r}; deep_mlp has {', '.join(sorted(config.keys()))}")
        config[key] = typed_like(config[key], key, value)
    return config


def check_config(config) -> None:
    """Exits 2 unless the config is one the baselines reproduce (Adam, no dropout)."""
    problems = []
    if config.optimizer != "adam":
        problems.append(f"optimizer={config.optimizer!r} (the baselines implement Adam)")
    if float(config.keep_prob) != 1.0:
        problems.append(f"keep_prob={config.keep_prob} (the baselines do not implement dropout)")
    if problems:
        print("bench: cannot compare on this config: " + "; ".join(problems), file=sys.stderr)
        raise SystemExit(2)


class SweepDefinition(NamedTuple):
    """The sweep every method trains.

    Attributes:
      experiment: the loaded experiment (``dlcourse.cli.Experiment``: ``get_config``, ``build``).
      config: its config with the overrides set (the swept keys keep their defaults).
      spaces: the spec, ``{key: Space}``.
      search, trials, seed: search method, trial count and seed.
      samples: the sampled trials (``dlcourse.sweep.Trial``: id, round, swept values).
      splits: ``dlcourse.data.load_digits(seed=config.seed)`` (NumPy arrays).
    """

    experiment: Any
    config: Any
    spaces: Mapping[str, Any]
    search: str
    trials: int
    seed: int
    samples: list[Trial]
    splits: Any

    def trial_config(self, trial: Trial):
        """The config of one trial: its swept values on top of the base config (as ``run_sweep``
        builds a structural group: ``structural_config(config, values)``)."""
        return set_config_values(self.config, trial.hparams)

    def with_config(self, values: Mapping[str, Any], trials: int | None = None) -> "SweepDefinition":
        """The same sweep with config keys set (and, optionally, fewer trials): e.g. the warm-up."""
        return define_sweep(self.experiment, set_config_values(self.config, values), self.spaces,
                            self.search, self.trials if trials is None else trials, self.seed)


def define_sweep(experiment, config, spaces, search: str, trials: int, seed: int) -> SweepDefinition:
    from dlcourse import data

    samples = sample_round(spaces, search, seed, 0, 0, trials)
    splits = data.load_digits(seed=config.seed)
    return SweepDefinition(experiment, config, dict(spaces), search, trials, seed, samples, splits)


def load_definition(program: str, sweep: str, search: str, trials: int, seed: int,
                    config_values: Mapping[str, str]) -> SweepDefinition:
    """The sweep from the command line's values; bad input prints one line and exits 2."""
    try:
        experiment = load_experiment(launch.DEFAULT_CONFIG)
        config = set_config_values(experiment.get_config(), config_values)
        spaces = load_sweep(sweep)
        if trials < 1:
            raise ValueError(f"trials must be >= 1, got {trials}")
        both = sorted(set(spaces) & set(config_values))
        if both:
            raise ValueError(f"{both[0]} is both swept and set")
        definition = define_sweep(experiment, config, spaces, search, trials, seed)
    except ValueError as error:
        print(f"{program}: error: {error}", file=sys.stderr)
        raise SystemExit(2)
    check_config(config)
    return definition


def trial_seed(seed: int, trial_id: int) -> int:
    """The integer seed the baselines give trial ``trial_id`` of a sweep seeded ``seed``."""
    return seed * 1_000_003 + trial_id


def best_trial(results: Mapping[int, float]) -> tuple[float, int | None]:
    """(best accuracy, its trial id — lowest id on ties) over ``{trial id: accuracy}``; NaN
    (diverged) trials are skipped."""
    finite = [(value, -trial_id) for trial_id, value in results.items() if not math.isnan(value)]
    if not finite:
        return math.nan, None
    value, negative_id = max(finite)
    return value, -negative_id
