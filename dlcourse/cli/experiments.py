"""Experiments as files: loading one by path or by name, and calling its contract safely.

An experiment is any Python file defining ``get_config() -> ml_collections.ConfigDict`` and
``build(config) -> dlcourse.train.Trainable`` (see :mod:`dlcourse.train.trainable`). It imports
only ``dlcourse`` (and whatever else it likes), so a copy anywhere on disk runs and sweeps:
:func:`load_experiment` loads it from its path, under a module name of its own, without touching
``sys.path``. A bare name (``deep_mlp``) is looked up as ``<folder>/<name>.py`` in the folders a
program passes (``launch.py`` passes the repository's ``experiments/``). The experiment's
fingerprint (:func:`dlcourse.provenance.source_fingerprint`) goes into a sweep's identity.

:func:`call_get_config` and :func:`call_build` turn what the experiment's own code raises into
one-line errors: a ``ValueError`` is bad input (exit 2), anything else an
:class:`~dlcourse.cli.errors.ExperimentError` naming the exception and where it was raised.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Any, NamedTuple, Sequence

from dlcourse.cli.errors import ExperimentError, UsageError, where_raised

__all__ = ["Experiment", "load_experiment", "resolve_experiment_path", "call_get_config", "call_build",
           "available_experiments"]


class Experiment(NamedTuple):
    """A loaded experiment: ``name`` (the file's stem), ``path`` (absolute), ``module``."""

    name: str
    path: str
    module: Any

    @property
    def get_config(self):
        return self.module.get_config

    @property
    def build(self):
        return self.module.build


def available_experiments(folders: Sequence[str]) -> list[str]:
    """Names of the experiment files in ``folders``: ``*.py`` files defining ``get_config`` and
    ``build`` (read as text, not imported)."""
    names = []
    for folder in folders:
        if not os.path.isdir(folder):
            continue
        for file in sorted(os.listdir(folder)):
            if not file.endswith(".py") or file.startswith("_"):
                continue
            with open(os.path.join(folder, file), encoding="utf-8", errors="replace") as f:
                text = f.read()
            if re.search(r"^def get_config\(", text, re.M) and re.search(r"^def build\(", text, re.M):
                names.append(file[:-3])
    return names


def resolve_experiment_path(name_or_path: str, folders: Sequence[str] = ()) -> str:
    """The absolute path of an experiment given as a ``.py`` path or a bare name in ``folders``.

    Raises:
      UsageError: no such file; for a name, the message lists the experiments there are.
    """
    if name_or_path.endswith(".py") or os.sep in name_or_path:
        path = os.path.abspath(name_or_path)
        if not os.path.isfile(path):
            raise UsageError(f"experiment {name_or_path!r}: no such file")
        return path
    if re.match(r"^[A-Za-z_]\w*$", name_or_path):
        for folder in folders:
            path = os.path.join(folder, name_or_path + ".py")
            if os.path.isfile(path):
                return os.path.abspath(path)
    known = available_experiments(folders)
    raise UsageError(f"unknown experiment {name_or_path!r}; available: {', '.join(known) or 'none'}")


def load_experiment(name_or_path: str, folders: Sequence[str] = ()) -> Experiment:
    """Loads an experiment module (see the module docstring); it must define ``get_config`` and
    ``build``.

    Raises:
      UsageError: no such experiment, a syntax error in it, or a missing function.
      ExperimentError: importing it raised (the message names the exception and where).
    """
    path = resolve_experiment_path(name_or_path, folders)
    name = os.path.splitext(os.path.basename(path))[0]
    module_name = "dlcourse_experiment_" + re.sub(r"\W", "_", path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module   # loaded afresh: the file may have changed since an earlier load
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        _restore(module_name, previous)
        raise UsageError(f"experiment {name!r} cannot be loaded: {error.filename or path}:{error.lineno}: "
                         f"{error.msg}") from None
    except Exception as error:  # the experiment's own import-time code failed
        _restore(module_name, previous)
        raise ExperimentError(f"experiment {name!r} cannot be loaded: {type(error).__name__}: {error} "
                              f"(at {where_raised(error)})") from None
    for function in ("get_config", "build"):
        if not callable(getattr(module, function, None)):
            raise UsageError(f"experiment {name!r} ({path}) has no {function}(); an experiment defines "
                             f"get_config() and build(config)")
    return Experiment(name, path, module)


def _restore(module_name: str, previous) -> None:
    if previous is None:
        sys.modules.pop(module_name, None)
    else:
        sys.modules[module_name] = previous


def _call(experiment_name: str, what: str, function, *args):
    try:
        return function(*args)
    except (UsageError, ExperimentError):
        raise
    except ValueError as error:
        raise UsageError(str(error)) from None
    except Exception as error:
        raise ExperimentError(f"experiment {experiment_name!r}: {what} raised {type(error).__name__}: {error} "
                              f"(at {where_raised(error)})") from None


def call_get_config(experiment_name: str, get_config):
    """``get_config()``, its failures as one-line errors (see the module docstring)."""
    return _call(experiment_name, "get_config()", get_config)


def call_build(experiment_name: str, build, config):
    """``build(config)``, its failures as one-line errors (see the module docstring)."""
    return _call(experiment_name, "build(config)", build, config)
