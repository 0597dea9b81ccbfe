"""One writer per workdir: a lock that a second run into the same folder cannot take.

Two launches into one workdir would each append every record (a sweep) or interleave two runs'
checkpoints (a babysat run). :class:`WorkdirLock` takes an exclusive ``flock`` on the workdir
itself (a directory can be locked like a file, so no lock file is left behind) without waiting.
The operating system releases the lock when the owner exits, however it exits (SIGKILL
included), so a killed run never leaves a stale lock. A second run is refused with the owner's
process id where the system says it (``/proc/locks`` on Linux). Nothing here imports JAX.
"""

from __future__ import annotations

import errno
import fcntl
import os

__all__ = ["WorkdirBusyError", "WorkdirLock"]


class WorkdirBusyError(ValueError):
    """Another process holds the workdir's lock (a usage error: pick another workdir, or wait)."""


def _owner(fd: int) -> str:
    """``process N`` holding a flock on the file of ``fd``, from /proc/locks; else a vague phrase."""
    stat = os.fstat(fd)
    suffix = f":{stat.st_ino}"
    try:
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].endswith(suffix) \
                        and int(fields[4]) != os.getpid():
                    return f"process {fields[4]}"
    except (OSError, ValueError):
        pass
    return "another process"


class WorkdirLock:
    """An exclusive, non-blocking lock on a workdir (created if missing); a context manager.

    Raises:
      WorkdirBusyError: from :meth:`acquire`, when another process holds it (the message names
        the folder and, where known, the owner's process id).
    """

    def __init__(self, workdir: str | os.PathLike):
        self.workdir = os.fspath(workdir)
        self._fd: int | None = None

    def acquire(self) -> "WorkdirLock":
        os.makedirs(self.workdir, exist_ok=True)
        fd = os.open(self.workdir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            owner = _owner(fd)
            os.close(fd)
            raise WorkdirBusyError(f"{self.workdir} is in use by {owner}; wait for it to finish or choose "
                                   f"another --workdir") from None
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
