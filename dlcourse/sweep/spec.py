"""Sweep specs: which hyperparameters to search, and on what scale.

A spec is an ordered ``dict[str, Space]``. It is written as one string (a flag)::

    learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1),hidden=int(50,100),optimizer=choice(adam,sgd),l2=uniform(0,0.1)

========================  ==============================================================
``log(a,b)``              :class:`LogUniform`: 10ʳ, r ~ U(log₁₀ a, log₁₀ b); 0 < a < b
``1-log(a,b)``            :class:`OneMinusLogUniform`: 1 − 10ʳ; bounds on 1 − β, 0 < a < b ≤ 1
``uniform(a,b)``          :class:`Uniform` on [a, b]; a < b
``int(a,b)``              :class:`IntRange`: integers a … b, both included; a < b
``choice(x,y,…)``         :class:`Choice`: numbers or bare words, distinct
``none``                  the whole spec: nothing swept (trials differ only in their PRNG key)
========================  ==============================================================

or by a Python file defining ``get_sweep()`` that returns such a string or a ``dict`` of spaces.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from typing import Mapping

from dlcourse.sweep.spaces import Choice, IntRange, LogUniform, OneMinusLogUniform, Space, Uniform

__all__ = ["parse_spec", "format_spec", "load_sweep", "NO_SWEEP"]

#: The spec string that sweeps nothing.
NO_SWEEP = "none"

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CALL = re.compile(r"^(1-log|log|uniform|int|choice)\((.*)\)$", re.DOTALL)
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _split_top_level(text: str) -> list[str]:
    """Splits on commas outside parentheses; raises on unbalanced parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"malformed sweep spec {text!r}: unbalanced ')' at position {i}")
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ValueError(f"malformed sweep spec {text!r}: unbalanced '('")
    parts.append(text[start:])
    return parts


def _number(text: str, where: str) -> float | int:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: {text!r} is not a finite number")
    return value


def _option(text: str, where: str):
    text = text.strip()
    if not text:
        raise ValueError(f"{where}: empty option")
    try:
        return _number(text, where)
    except ValueError:
        pass
    if not _WORD.match(text):
        raise ValueError(f"{where}: option {text!r} is neither a number nor a bare word")
    return text


def _parse_space(key: str, text: str) -> Space:
    where = f"sweep spec entry {key}={text}"
    match = _CALL.match(text.strip())
    if not match:
        raise ValueError(
            f"{where}: expected log(a,b), 1-log(a,b), uniform(a,b), int(a,b) or choice(x,...)")
    kind, inside = match.groups()
    args = [a.strip() for a in _split_top_level(inside)]
    try:
        if kind == "choice":
            if args == [""]:
                raise ValueError("choice() needs at least one option")
            return Choice(tuple(_option(a, where) for a in args))
        if len(args) != 2 or not all(args):
            raise ValueError(f"{kind}(a,b) takes exactly two bounds, got {len(args)}")
        low, high = (_number(a, where) for a in args)
        if kind == "int":
            if not (isinstance(low, int) and isinstance(high, int)):
                raise ValueError(f"int(a,b) needs integer bounds, got {args[0]}, {args[1]}")
            return IntRange(low, high)
        low, high = float(low), float(high)
        return {"log": LogUniform, "1-log": OneMinusLogUniform, "uniform": Uniform}[kind](low, high)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(where) else f"{where}: {message}") from None


def parse_spec(text: str) -> dict[str, Space]:
    """Parses a one-string spec (see the module docstring) into an ordered ``{key: Space}``.

    Raises:
      ValueError: naming the problem: empty or malformed text, a repeated key, an empty or
        inverted range, a non-positive bound of a log range, a non-integer bound of ``int``.
    """
    if not isinstance(text, str):
        raise ValueError(f"a sweep spec must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if stripped == NO_SWEEP:
        return {}
    if not stripped:
        raise ValueError(f"empty sweep spec; use --sweep={NO_SWEEP} to sweep nothing")
    spaces: dict[str, Space] = {}
    for entry in _split_top_level(stripped):
        if "=" not in entry:
            raise ValueError(f"malformed sweep spec entry {entry.strip()!r}: expected KEY=RANGE")
        key, value = entry.split("=", 1)
        key = key.strip()
        if not _KEY.match(key):
            raise ValueError(f"malformed sweep spec entry {entry.strip()!r}: {key!r} is not a valid name")
        if key in spaces:
            raise ValueError(f"sweep spec names {key!r} twice")
        spaces[key] = _parse_space(key, value)
    return spaces


def format_spec(spaces: Mapping[str, Space]) -> str:
    """The canonical one-string form of a spec; ``parse_spec(format_spec(s)) == s``."""
    if not spaces:
        return NO_SWEEP
    return ",".join(f"{key}={space.spec()}" for key, space in spaces.items())


def load_sweep(source: str) -> dict[str, Space]:
    """A spec from a string, or from a ``.py`` file whose ``get_sweep()`` returns a string or dict.

    Raises:
      ValueError: a missing file, a file without ``get_sweep``, or an invalid spec.
    """
    if source.strip().endswith(".py"):
        path = source.strip()
        if not os.path.isfile(path):
            raise ValueError(f"sweep file {path!r} does not exist")
        module_spec = importlib.util.spec_from_file_location("_dlcourse_sweep_file", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as error:  # A broken file is bad input, reported in one line.
            raise ValueError(f"sweep file {path!r} failed to load: {type(error).__name__}: {error}") from None
        if not callable(getattr(module, "get_sweep", None)):
            raise ValueError(f"sweep file {path!r} defines no get_sweep() function")
        sweep = module.get_sweep()
        if isinstance(sweep, str):
            return parse_spec(sweep)
        if not isinstance(sweep, Mapping):
            raise ValueError(f"get_sweep() in {path!r} must return a spec string or a dict of spaces")
        for key, space in sweep.items():
            if not isinstance(key, str) or not _KEY.match(key):
                raise ValueError(f"get_sweep() in {path!r}: {key!r} is not a valid name")
            if not isinstance(space, Space):
                raise ValueError(f"get_sweep() in {path!r}: {key} maps to {space!r}, not a search space")
        return dict(sweep)
    return parse_spec(source)
