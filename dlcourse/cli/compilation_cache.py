"""JAX's persistent compilation cache, on by default for every program.

A sweep or a lesson compiles the same programs every time it runs with the same structure.
:func:`enable` points JAX's persistent cache at a folder so the second run of any experiment or
sweep loads its compiled programs from disk instead of compiling them again (XLA's compile is
most of a small sweep's time). Every program is cached, however short its compile
(``jax_persistent_cache_min_compile_time_secs = 0``). A small sweep's programs take a few
megabytes; the folder is not pruned, and deleting it is always safe.

Where: the flag ``--compilation_cache=PATH`` of each program; else the environment variable
``DLCOURSE_COMPILATION_CACHE``; else ``$XDG_CACHE_HOME/dlcourse/jax`` or ``~/.cache/dlcourse/jax``.
The value ``none`` (or ``off``) disables it. The cache is keyed by the program, the JAX version
and the device, so a stale entry is never used for a different program.
"""

from __future__ import annotations

import os

__all__ = ["ENVIRONMENT_VARIABLE", "default_directory", "resolve", "enable"]

ENVIRONMENT_VARIABLE = "DLCOURSE_COMPILATION_CACHE"
_DISABLED = ("none", "off", "false", "0", "")


def default_directory() -> str:
    """``$XDG_CACHE_HOME/dlcourse/jax``, or ``~/.cache/dlcourse/jax``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dlcourse", "jax")


def resolve(setting: str | None) -> str | None:
    """The cache folder for a flag value (None: not given), or None when the cache is disabled."""
    if setting is None:
        setting = os.environ.get(ENVIRONMENT_VARIABLE)
    if setting is None:
        return default_directory()
    if setting.strip().lower() in _DISABLED:
        return None
    return os.path.abspath(os.path.expanduser(setting))


def enable(setting: str | None = None) -> str | None:
    """Turns the persistent cache on (see the module docstring); returns its folder or None.

    A folder that cannot be created leaves the cache off (a warning would be noise: the run is
    only slower, never wrong).
    """
    directory = resolve(setting)
    if directory is None:
        return None
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory
