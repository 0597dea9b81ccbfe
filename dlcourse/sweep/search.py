"""Search methods: points in the unit cube, mapped through the spaces; coarse-to-fine rounds.

* ``random``: u ~ U[0, 1)ᵈ from a generator seeded by ``(seed, trial id)``, so any trial's sample
  is reproducible alone.
* ``quasirandom``: a scrambled Halton sequence. Dimension j uses the j-th prime p as its base;
  index n = (trial id − first id of its round) has digits aₖ in base p, and
  u = Σₖ πⱼₖ(aₖ) p^−(k+1) with πⱼₖ a random permutation of {0, …, p−1} per dimension and digit
  position (drawn from ``(seed, round)``), summed over enough digits for double precision.
  Scrambling removes the correlation between dimensions of the plain sequence in high dimension
  and keeps its low discrepancy.
* ``grid``: kⱼ evenly spaced points per dimension at unit midpoints (i + ½)/kⱼ, with ∏ kⱼ ≤ trials
  (discrete dimensions take at most as many points as they have values); the product, in
  row-major order over the spec's keys.

Trial ids run on across rounds: round r holds the ids after those of rounds 0 … r − 1.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from dlcourse.sweep.spaces import Choice, IntRange, Space

__all__ = ["SEARCH_METHODS", "Trial", "unit_points", "grid_shape", "sample_round", "shrink_spaces",
           "top_trials", "objective_key", "is_finite_number"]

SEARCH_METHODS = ("random", "quasirandom", "grid")


class Trial(NamedTuple):
    """One point of a sweep: ``id`` (unique across rounds), ``round`` and its swept ``hparams``."""

    id: int
    round: int
    hparams: dict[str, Any]


def _primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


def _scrambled_halton(indices: np.ndarray, dims: int, seed: int, round_index: int) -> np.ndarray:
    rng = np.random.default_rng([seed, round_index, 0x4A170])
    out = np.zeros((len(indices), dims))
    for j, base in enumerate(_primes(dims)):
        digits = math.ceil(53 * math.log(2) / math.log(base))
        permutations = np.stack([rng.permutation(base) for _ in range(digits)])
        remaining = indices.astype(np.int64).copy()
        scale = 1.0
        for k in range(digits):
            scale /= base
            out[:, j] += permutations[k][remaining % base] * scale
            remaining //= base
    return np.minimum(out, 1.0)


def grid_shape(spaces: Mapping[str, Space], trials: int) -> tuple[int, ...]:
    """Points per dimension for a grid of at most ``trials`` points.

    Starting from one point per dimension, repeatedly adds a point to the dimension with the fewest
    (first in spec order on ties) while the product stays ≤ ``trials``; a discrete dimension
    stops at its number of values.
    """
    caps = [space.size if isinstance(space, (Choice, IntRange)) else math.inf for space in spaces.values()]
    shape = [1] * len(caps)
    while True:
        open_dims = [j for j in range(len(shape)) if shape[j] < caps[j]]
        grown = False
        for j in sorted(open_dims, key=lambda j: (shape[j], j)):
            product = math.prod(shape) // shape[j] * (shape[j] + 1)
            if product <= trials:
                shape[j] += 1
                grown = True
                break
        if not grown:
            return tuple(shape)


def unit_points(method: str, spaces: Mapping[str, Space], seed: int, round_index: int,
                first_id: int, trials: int) -> np.ndarray:
    """The round's points in [0, 1]ᵈ, shape ``[count, d]``; ``count == trials`` except for grid."""
    dims = len(spaces)
    if method not in SEARCH_METHODS:
        raise ValueError(f"search method must be one of {SEARCH_METHODS}, got {method!r}")
    if dims == 0:  # Nothing swept: the trials differ only in their PRNG keys.
        return np.zeros((trials, 0))
    if method == "random":
        return np.stack([np.random.default_rng([seed, first_id + i]).random(dims)
                         for i in range(trials)]).reshape(trials, dims)
    if method == "quasirandom":
        return _scrambled_halton(np.arange(trials), dims, seed, round_index)
    if method == "grid":
        shape = grid_shape(spaces, trials)
        axes = [(np.arange(k) + 0.5) / k for k in shape]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1).reshape(-1, dims)
    raise ValueError(f"search method must be one of {SEARCH_METHODS}, got {method!r}")


def _plain(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def sample_round(spaces: Mapping[str, Space], method: str, seed: int, round_index: int,
                 first_id: int, trials: int) -> list[Trial]:
    """The trials of one round: ids ``first_id, first_id + 1, …`` and their sampled values."""
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    points = unit_points(method, spaces, seed, round_index, first_id, trials)
    keys = list(spaces)
    return [Trial(first_id + i, round_index,
                  {key: _plain(spaces[key].from_unit(point[j])) for j, key in enumerate(keys)})
            for i, point in enumerate(points)]


def objective_key(objective) -> str:
    """The record metric a sweep ranks by: ``best_dev_<objective name>``."""
    return f"best_dev_{objective.name}"


def top_trials(records: Sequence[Mapping], objective, fraction: float = 0.25) -> list[Mapping]:
    """The best ⌈fraction · n⌉ finished, non-diverged records (at least one), best first, by
    ``best_dev_<objective>`` and the objective's goal (a :class:`dlcourse.metrics.Metric`).

    Ties are broken by trial id, so the order is a function of the records alone. A diverged
    trial (non-finite, or exploded) is never among them.
    """
    if objective.goal not in ("max", "min"):
        raise ValueError(f"goal must be 'max' or 'min', got {objective.goal!r}")
    key = objective_key(objective)
    ok = [r for r in records if r["status"] == "ok" and is_finite_number(r["metrics"].get(key))]
    sign = -1.0 if objective.goal == "max" else 1.0
    ok.sort(key=lambda r: (sign * r["metrics"][key], r["id"]))
    if not ok:
        return []
    return ok[:max(1, math.ceil(fraction * len(ok)))]


def is_finite_number(x) -> bool:
    """True for a finite int or float (not a bool, not None, not NaN or ±inf)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def shrink_spaces(spaces: Mapping[str, Space], records: Sequence[Mapping], objective,
                  factor: float = 0.5, fraction: float = 0.25) -> dict[str, Space]:
    """Spaces for the next coarse-to-fine round.

    Each space is shrunk (:meth:`Space.shrink`, ``factor`` of its width in its own scale) around
    the best trial so far; a :class:`Choice` keeps the options of the top ``fraction`` of trials.
    With no successful trial the spaces are returned unchanged.
    """
    best = top_trials(records, objective, fraction)
    if not best:
        return dict(spaces)
    return {key: space.shrink([r["hparams"][key] for r in best], factor) for key, space in spaces.items()}
