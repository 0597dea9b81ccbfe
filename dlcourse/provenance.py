"""What produced a result: fingerprints of the code, so a resumed run never mixes two versions.

A sweep's workdir, or a babysat run's checkpoints, may be resumed only by the same code that
started them: the experiment file (its source, hence its builder and its config defaults) and the
``dlcourse`` library it trains with. :func:`source_fingerprint` hashes one file and
:func:`library_fingerprint` every ``.py`` file of the installed ``dlcourse`` package (paths and
contents, in sorted order); both are SHA-256 hex digests, cheap to compute (milliseconds) and equal
on any machine for the same sources. :func:`code_version` is for people: the git commit of the
checkout, or the package version. Nothing here imports JAX.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess

__all__ = ["source_fingerprint", "library_fingerprint", "code_version"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def source_fingerprint(path: str | os.PathLike) -> str:
    """SHA-256 of the bytes of the file at ``path``."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@functools.lru_cache(maxsize=1)
def library_fingerprint() -> str:
    """SHA-256 over the relative paths and contents of every ``.py`` file of ``dlcourse``."""
    digest = hashlib.sha256()
    files = []
    for folder, subfolders, names in os.walk(_PACKAGE):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        files += [os.path.join(folder, n) for n in names if n.endswith(".py")]
    for path in sorted(files):
        digest.update(os.path.relpath(path, _PACKAGE).encode() + b"\0")
        with open(path, "rb") as f:
            digest.update(f.read())
        digest.update(b"\0")
    return digest.hexdigest()


def code_version() -> str:
    """``"git <commit>"`` of the checkout holding dlcourse (``+dirty`` if modified), else
    ``"dlcourse <version>"``. For people to read; resumption compares fingerprints instead."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_PACKAGE, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=_PACKAGE,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        if commit:
            return f"git {commit}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
    from dlcourse import __version__
    return f"dlcourse {__version__}"
