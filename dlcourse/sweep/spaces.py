"""Search spaces: each maps a number u ∈ [0, 1] to a hyperparameter value by its inverse CDF.

Every search method (random, quasi-random, grid) draws points in the unit cube and maps them
through the spaces, so a space only has to say how ``u`` becomes a value:

* :class:`LogUniform` ``(low, high)``: r = log₁₀ low + u (log₁₀ high − log₁₀ low), value 10ʳ.
  The course's learning rate α ∈ [1e-4, 1]: r ~ U(−4, 0), so each decade gets the same share.
* :class:`OneMinusLogUniform` ``(low, high)``: the bounds are on 1 − β; value β = 1 − 10ʳ with r as
  above. β ∈ [0.9, 0.999] ⇔ 1 − β ∈ [1e-3, 1e-1], r ∈ [−3, −1].
* :class:`Uniform` ``(low, high)``: value low + u (high − low).
* :class:`IntRange` ``(low, high)``: an integer, both ends included, each with probability
  1 / (high − low + 1): value low + ⌊u (high − low + 1)⌋ (u = 1 gives ``high``).
* :class:`Choice` ``(options)``: options[⌊u n⌋] (u = 1 gives the last).

Coarse to fine: :meth:`shrink` returns a narrower space around the best values found so far,
measured in the space's own scale (log₁₀ value, log₁₀(1 − value), value), always inside the
current bounds, so repeated shrinking never leaves the original range.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Sequence

import numpy as np

__all__ = ["Space", "LogUniform", "OneMinusLogUniform", "Uniform", "IntRange", "Choice"]


def _check_unit(u) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64)
    if np.any(~np.isfinite(u)) or np.any(u < 0) or np.any(u > 1):
        raise ValueError(f"unit-interval samples must lie in [0, 1], got {u}")
    return u


def _format_number(x: float) -> str:
    return repr(float(x)) if not float(x).is_integer() or abs(x) >= 1e16 else f"{x:g}"


class Space:
    """Base class: a one-dimensional search space. Subclasses are frozen dataclasses."""

    #: True when values are spread on a log scale (axis plots then use a log x-axis).
    log_scale: bool = False
    #: True when values are numbers that can be fed to a training function as an array.
    numeric: bool = True
    #: True when values are Python ints.
    integer: bool = False

    def from_unit(self, u):
        """Value(s) for u ∈ [0, 1] (scalar or array): the inverse CDF."""
        raise NotImplementedError

    def shrink(self, best_values: Sequence[Any], factor: float = 0.5) -> "Space":
        """A narrower space for the next coarse-to-fine round.

        Args:
          best_values: values of the best trials so far, best first (at least one).
          factor: the new width as a fraction of the current one, in the space's own scale,
            0 < factor ≤ 1.

        Continuous and integer spaces keep ``factor`` of their width, centred on the best value
        and shifted (not clipped) to stay inside the current bounds. :class:`Choice` keeps the
        options that appear among ``best_values``.
        """
        raise NotImplementedError

    def spec(self) -> str:
        """The spec-string form, e.g. ``log(0.0001,1)``; :func:`parse_spec` reads it back."""
        raise NotImplementedError

    def __str__(self):
        return self.spec()


def _check_shrink_args(best_values, factor):
    if not 0 < factor <= 1:
        raise ValueError(f"shrink factor must be in (0, 1], got {factor}")
    if len(best_values) == 0:
        raise ValueError("shrink needs at least one best value, got none")


def _zoom(low: float, high: float, center: float, factor: float) -> tuple[float, float]:
    """[low', high'] of width factor·(high − low) around ``center``, shifted inside [low, high]."""
    width = (high - low) * factor
    center = min(max(center, low), high)
    new_low = center - width / 2
    new_low = min(max(new_low, low), high - width)
    return new_low, min(new_low + width, high)


@dataclasses.dataclass(frozen=True)
class _Continuous(Space):
    low: float
    high: float

    def __post_init__(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{self._name}: {name} must be a finite number, got {value!r}")
        if self.low > self.high:
            raise ValueError(f"{self._name}({self.low:g},{self.high:g}): inverted range (low > high)")
        if self.low == self.high:
            raise ValueError(f"{self._name}({self.low:g},{self.high:g}): empty range (low == high)")
        self._check_bounds()

    _name = "uniform"

    def _check_bounds(self):
        pass

    # The space's own scale: value <-> coordinate t, with t uniform in [t(low), t(high)].
    def _to_scale(self, value):
        return value

    def _from_scale(self, t):
        return t

    def from_unit(self, u):
        u = _check_unit(u)
        t_low, t_high = self._to_scale(self.low), self._to_scale(self.high)
        value = self._from_scale(t_low + u * (t_high - t_low))
        return float(value) if np.ndim(value) == 0 else value

    def shrink(self, best_values, factor=0.5):
        _check_shrink_args(best_values, factor)
        t_low, t_high = self._to_scale(self.low), self._to_scale(self.high)
        center = float(self._to_scale(float(best_values[0])))
        new_low, new_high = _zoom(t_low, t_high, center, factor)
        low, high = float(self._from_scale(new_low)), float(self._from_scale(new_high))
        # Round-off in 10**log10(x) must not step outside the current range.
        low, high = max(low, self.low), min(high, self.high)
        return dataclasses.replace(self, low=low, high=high)

    def spec(self):
        return f"{self._name}({_format_number(self.low)},{_format_number(self.high)})"


@dataclasses.dataclass(frozen=True)
class Uniform(_Continuous):
    """Uniform on [low, high]."""

    _name = "uniform"


@dataclasses.dataclass(frozen=True)
class LogUniform(_Continuous):
    """10ʳ with r ~ U(log₁₀ low, log₁₀ high); 0 < low < high."""

    _name = "log"
    log_scale = True

    def _check_bounds(self):
        if self.low <= 0:
            raise ValueError(f"log({self.low:g},{self.high:g}): log-scale bounds must be > 0")

    def _to_scale(self, value):
        return np.log10(value)

    def _from_scale(self, t):
        return np.power(10.0, t)


@dataclasses.dataclass(frozen=True)
class OneMinusLogUniform(_Continuous):
    """β = 1 − 10ʳ with r ~ U(log₁₀ low, log₁₀ high); ``low``/``high`` bound 1 − β, 0 < low < high ≤ 1.

    Sensitive near β → 1: 1/(1 − β) is the averaging window, so 0.999 → 0.9995 matters (≈1000 →
    2000 values) while 0.9 → 0.9005 does not.
    """

    _name = "1-log"
    log_scale = True

    def _check_bounds(self):
        if self.low <= 0 or self.high > 1:
            raise ValueError(
                f"1-log({self.low:g},{self.high:g}): bounds on 1-beta must satisfy 0 < low < high <= 1")

    def _to_scale(self, value):
        return np.log10(value)

    def _from_scale(self, t):
        return np.power(10.0, t)

    def from_unit(self, u):
        one_minus = super().from_unit(u)
        return 1.0 - one_minus if np.ndim(one_minus) == 0 else 1.0 - np.asarray(one_minus)

    def shrink(self, best_values, factor=0.5):
        _check_shrink_args(best_values, factor)
        return super().shrink([1.0 - float(best_values[0])], factor)


@dataclasses.dataclass(frozen=True)
class IntRange(Space):
    """An integer in {low, …, high}, both ends included, equally likely."""

    low: int
    high: int
    integer = True

    def __post_init__(self):
        for name in ("low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"int: {name} must be an integer, got {value!r}")
        if self.low > self.high:
            raise ValueError(f"int({self.low},{self.high}): inverted range (low > high)")
        if self.low == self.high:
            raise ValueError(f"int({self.low},{self.high}): empty range (low == high)")

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def from_unit(self, u):
        u = _check_unit(u)
        index = np.minimum(np.floor(u * self.size).astype(np.int64), self.size - 1)
        value = self.low + index
        return int(value) if np.ndim(value) == 0 else value

    def shrink(self, best_values, factor=0.5):
        _check_shrink_args(best_values, factor)
        # Integers are shrunk as the real interval [low - 1/2, high + 1/2] they cover.
        low, high = _zoom(self.low - 0.5, self.high + 0.5, float(best_values[0]), factor)
        new_low = max(self.low, int(math.ceil(low - 0.5 + 1e-9)))
        new_high = min(self.high, int(math.floor(high + 0.5 - 1e-9)))
        if new_high <= new_low:  # Too narrow to hold two integers: keep the best and a neighbour.
            best = int(best_values[0])
            new_low, new_high = (best, best + 1) if best < self.high else (best - 1, best)
        return IntRange(new_low, new_high)

    def spec(self):
        return f"int({self.low},{self.high})"


@dataclasses.dataclass(frozen=True)
class Choice(Space):
    """One of ``options`` (numbers or strings), equally likely."""

    options: tuple

    def __post_init__(self):
        options = tuple(self.options)
        object.__setattr__(self, "options", options)
        if not options:
            raise ValueError("choice(): needs at least one option")
        if len(set(options)) != len(options):
            raise ValueError(f"choice{options}: options must be distinct")
        for option in options:
            if isinstance(option, bool) or not isinstance(option, (int, float, str)):
                raise ValueError(f"choice: options must be numbers or strings, got {option!r}")

    @property
    def numeric(self) -> bool:  # type: ignore[override]
        return all(not isinstance(o, str) for o in self.options)

    @property
    def integer(self) -> bool:  # type: ignore[override]
        return all(isinstance(o, int) for o in self.options)

    @property
    def size(self) -> int:
        return len(self.options)

    def from_unit(self, u):
        u = _check_unit(u)
        index = np.minimum(np.floor(u * self.size).astype(np.int64), self.size - 1)
        if np.ndim(index) == 0:
            return self.options[int(index)]
        return [self.options[int(i)] for i in np.ravel(index)]

    def shrink(self, best_values, factor=0.5):
        _check_shrink_args(best_values, factor)
        kept = set(best_values)
        unknown = kept - set(self.options)
        if unknown:
            raise ValueError(f"best values {sorted(map(str, unknown))} are not options of {self.spec()}")
        return Choice(tuple(o for o in self.options if o in kept))

    def spec(self):
        return "choice(" + ",".join(o if isinstance(o, str) else _format_number(o)
                                    for o in self.options) + ")"
