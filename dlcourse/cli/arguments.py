"""Command lines: absl flags with ml_collections config flags, parsed with one-line errors.

Every program (``launch.py``, each lesson in ``experiments/``) takes its experiment's config the
Flax examples' way: ``--config=experiments/deep_mlp.py`` (a file whose ``get_config()`` gives the
defaults) and ``--config.KEY=VALUE`` overrides, typed like the key's default. Flags are defined
in a fresh ``absl.flags.FlagValues`` on every call of :func:`parse` (so a program can be called
in-process, repeatedly, e.g. by tests). Bad input raises :class:`UsageError` with one line: an
unknown flag, an unknown config key (the message lists the keys there are), a value of the wrong
type, a positional argument. ``--help`` (``-h``, ``--helpfull``) prints the program's docstring and
its flags and returns None.
"""

from __future__ import annotations

import re
import sys
from typing import Callable, Mapping, Sequence

from absl import flags

from dlcourse.cli.errors import UsageError

__all__ = ["parse", "config_overrides", "check_override_keys", "HELP_FLAGS"]

HELP_FLAGS = ("--help", "-help", "-h", "--helpfull", "--helpshort", "-?")
_OVERRIDE = re.compile(r"^--?(no)?config\.([^=]*)(=(.*))?$", re.DOTALL)


def config_overrides(argv: Sequence[str]) -> dict[str, str | None]:
    """``{key: raw value}`` of every ``--config.KEY=VALUE`` in ``argv`` (``--config.flag`` and
    ``--noconfig.flag`` for booleans give ``"true"``/``"false"``)."""
    found = {}
    for arg in argv[1:]:
        match = _OVERRIDE.match(arg)
        if match:
            negated, key, has_value, value = match.groups()
            found[key] = value if has_value else ("false" if negated else "true")
    return found


def check_override_keys(argv: Sequence[str], config: Mapping) -> None:
    """``UsageError`` for an override of a key the config does not have (listing the keys it has)."""
    for key in config_overrides(argv):
        top = key.split(".")[0]
        if top not in config:
            raise UsageError(f"--config.{key}: unknown config key; the experiment has {', '.join(sorted(config))}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if "Error whilst parsing config file" in text and lines:
        return lines[-1].strip()
    first = lines[0] if lines else type(error).__name__
    return first[len("flag "):] if first.startswith("flag --") else first


def parse(argv: Sequence[str], define: Callable[[flags.FlagValues, list[str]], None],
          doc: str = "") -> flags.FlagValues | None:
    """Defines the program's flags (``define(values, argv)``) and parses ``argv`` into them.

    Returns the parsed ``FlagValues``, or None after printing help for ``--help``.

    Raises:
      UsageError: see the module docstring.
    """
    argv = list(argv)
    values = flags.FlagValues()
    try:
        define(values, argv)
    except UsageError:
        raise
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as error:
        raise UsageError(_first_line(error)) from None
    if any(arg in HELP_FLAGS for arg in argv[1:]):
        program = argv[0].rsplit("/", 1)[-1]
        print((doc.strip() + "\n\n" if doc else "") + f"flags of {program}:\n" + values.get_help(), file=sys.stdout)
        return None
    try:
        rest = values(argv)
    except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as error:
        raise UsageError(_first_line(error)) from None
    if len(rest) > 1:
        raise UsageError(f"unexpected argument {rest[1]!r}; flags are written --name=value")
    return values
