"""Packages whose names are imported on first use, so a program pays only for what it touches.

``import dlcourse.train`` costs nothing until ``dlcourse.train.supervised`` is read; then the
submodule that defines it (and JAX, Flax) is imported. This keeps ``launch.py --help``, config
parsing and the report of a finished sweep free of JAX's import time, while
``from dlcourse.train import supervised`` and ``dlcourse.train.supervised`` work as usual
(PEP 562's module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package``.

    Args:
      package: the package's ``__name__``.
      exports: ``{name: submodule}``: each public name and the submodule (relative to the
        package) that defines it; a name equal to its submodule exports the submodule itself.

    A public name must not equal a submodule's name unless it exports that submodule: importing
    a submodule sets the package attribute of its name to the module, which would hide a function
    of that name (``tests/test_lazy_imports.py`` checks every package).
    """
    exports = dict(exports)

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{exports[name]}")
        value = module if exports[name] == name else getattr(module, name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
