"""One writer per workdir: a lock that a second run into the same folder cannot take.

Two launches into one workdir would each append every record (a sweep) or interleave two runs'
checkpoints (a babysat run). :class:`WorkdirLock` takes an exclusive ``flock`` on
``<workdir>/.lock`` without waiting; the file holds the owner's process id, for the message a
second run prints. The operating system releases the lock when the owner exits, however it
exits (SIGKILL included), so a killed run never leaves a stale lock behind. Nothing here
imports JAX.
"""

from __future__ import annotations

import errno
import fcntl
import os

__all__ = ["LOCK_FILE", "WorkdirBusyError", "WorkdirLock"]

LOCK_FILE = ".lock"


class WorkdirBusyError(RuntimeError):
    """Another process holds the workdir's lock."""


class WorkdirLock:
    """An exclusive, non-blocking lock on a workdir (created if missing); a context manager.

    Raises:
      WorkdirBusyError: from :meth:`acquire`, when another process holds it (the message names
        its process id and the folder).
    """

    def __init__(self, workdir: str | os.PathLike):
        self.workdir = os.fspath(workdir)
        self.path = os.path.join(self.workdir, LOCK_FILE)
        self._fd: int | None = None

    def acquire(self) -> "WorkdirLock":
        os.makedirs(self.workdir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise WorkdirBusyError(f"{self.workdir} is in use by process {owner}; wait for it to finish or "
                                   f"choose another --workdir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WorkdirLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()
