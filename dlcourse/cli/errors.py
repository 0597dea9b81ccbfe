"""How a program fails: one line on stderr, an exit status, never a traceback.

The only part of dlcourse that prints and exits is :mod:`dlcourse.cli`; the rest raises. Bad input
— an unknown flag or config key, a value outside its domain, a workdir that is a file or belongs to
another run — is a :class:`UsageError` or a ``ValueError`` and exits with status 2. Faults of the
machine (a full disk, a folder that cannot be written) exit with status 1. An exception raised by
an experiment's own code (its ``get_config`` or ``build``) is reported with its type, message and
the file and line that raised it, status 1. Ctrl-C prints how to resume and exits with 130, the
shell's convention for SIGINT. :func:`guarded` wraps a program's body in all of that; set the
environment variable ``DLCOURSE_TRACEBACK=1`` to see the full traceback instead (for debugging).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import traceback
from typing import Callable

__all__ = ["UsageError", "ExperimentError", "guarded", "where_raised", "EXIT_USAGE", "EXIT_FAULT",
           "EXIT_INTERRUPTED"]

EXIT_USAGE = 2
EXIT_FAULT = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input: reported in one line, exit status 2."""


class ExperimentError(Exception):
    """An experiment's own code raised: reported in one line, exit status 1."""


def where_raised(error: BaseException) -> str:
    """``file:line`` of the innermost frame of ``error``'s traceback ('' if it has none)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f"{os.path.relpath(frame.filename) if os.path.isabs(frame.filename) else frame.filename}:{frame.lineno}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _raise_sigint_later() -> None:
    time.sleep(0.05)
    signal.raise_signal(signal.SIGINT)


def _on_sigint(signum, frame) -> None:
    """Raises ``KeyboardInterrupt``, unless the signal landed inside a garbage-collector callback (JAX
    registers one), where Python would print the exception as "ignored" and carry on: then the signal
    is raised again shortly, from a helper thread, outside the collection."""
    callbacks = {getattr(callback, "__code__", None) for callback in gc.callbacks}
    while frame is not None:
        if frame.f_code in callbacks:
            threading.Thread(target=_raise_sigint_later, daemon=True).start()
            return
        frame = frame.f_back
    raise KeyboardInterrupt


@contextlib.contextmanager
def _ctrl_c_outside_garbage_collection():
    """:func:`_on_sigint` as the SIGINT handler while the program runs, where Python's default one is
    in place (not where SIGINT is ignored, or handled by someone else)."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def guarded(program: str, body: Callable[[], int | None], interrupted: Callable[[], str] | None = None) -> int:
    """Runs ``body()`` and returns its exit status; every failure becomes one line on stderr.

    Args:
      program: the name that starts each error line (``launch.py: error: …``).
      body: the program; returns an exit status (None means 0).
      interrupted: returns the text printed on Ctrl-C (e.g. how to resume).
    """
    if os.environ.get("DLCOURSE_TRACEBACK"):
        with _ctrl_c_outside_garbage_collection():
            status = body()
        return 0 if status is None else int(status)
    try:
        with _ctrl_c_outside_garbage_collection():
            status = body()
        return 0 if status is None else int(status)
    except KeyboardInterrupt:
        sys.stdout.flush()
        message = interrupted() if interrupted is not None else "interrupted"
        print(f"{program}: {_one_line(message)}", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (UsageError, ValueError) as error:
        print(f"{program}: error: {_one_line(error)}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except ExperimentError as error:
        print(f"{program}: error: {_one_line(error)}", file=sys.stderr, flush=True)
        return EXIT_FAULT
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        reason = error.strerror or str(error)
        print(f"{program}: error: {_one_line(where + reason)}", file=sys.stderr, flush=True)
        return EXIT_FAULT
