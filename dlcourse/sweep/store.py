"""The sweep's working directory: results that survive a crash.

``<workdir>/sweep.json`` — what the sweep is, written once (atomically) before the first trial::

    {"experiment": "deep_mlp", "spec": "learning_rate=log(0.0001,1),...", "search": "random",
     "seed": 0, "trials": 32, "rounds": 1, "config_overrides": {"epochs": 20},
     "first_trial_id": 0, "chunk": null, "device_count": 4, "process_count": 1, "code_version": "git 1e828ca…" | "dlcourse 0.1.0"}

``<workdir>/trials.jsonl`` — one JSON object per line per finished trial::

    {"id": 3, "round": 0, "hparams": {"learning_rate": 0.0012, ...},
     "metrics": {"final_dev_metric": 0.97, "best_dev_metric": 0.98, "final_train_metric": 0.99,
                 "final_train_loss": 0.03, "diverged": false, "epochs_run": 20,
                 "dev_metric": [...], "train_loss": [...], "train_metric": [...]},
     "status": "ok" | "diverged", "seconds": 0.41}

Non-finite numbers are written as ``null``. Lines are appended whole (one ``write``, then flush
and fsync); a damaged last line (a crash mid-write) is dropped with a warning and cut off before
the next append. A damaged line elsewhere is an error. The *identity* of a sweep (experiment,
spec, search, seed, trials, rounds, config overrides, first trial id, and chunk, device count and
process count, which fix the composition of each compiled chunk and so the results) decides whether
a workdir may be resumed.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from typing import Any, Iterable, Mapping

from dlcourse.train.reporting import to_json_value, write_json_atomically

__all__ = ["Store", "IDENTITY_KEYS", "DamagedRecordWarning", "code_version", "to_json_value"]

IDENTITY_KEYS = ("experiment", "spec", "search", "seed", "trials", "rounds", "config_overrides",
                 "first_trial_id", "chunk", "device_count", "process_count")
#: Identity keys that fix how trials are grouped into compiled chunks (hence their results), not
#: what is sampled: a resume must use the same values.
EXECUTION_KEYS = ("chunk", "device_count", "process_count")
SWEEP_FILE = "sweep.json"
TRIALS_FILE = "trials.jsonl"


class DamagedRecordWarning(UserWarning):
    """The last line of trials.jsonl was incomplete and is ignored."""


def code_version() -> str:
    """``"git <commit>"`` of the checkout holding dlcourse (``+dirty`` if modified), else the version."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        if commit:
            return f"git {commit}{'+dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
    import dlcourse
    return f"dlcourse {dlcourse.__version__}"


class Store:
    """Reads and appends the files of one sweep workdir. Creating the directory is deferred to
    :meth:`create`, so a sweep that fails validation writes nothing."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.sweep_path = os.path.join(workdir, SWEEP_FILE)
        self.trials_path = os.path.join(workdir, TRIALS_FILE)

    # ----- sweep.json -------------------------------------------------------------------------
    def read_meta(self) -> dict | None:
        """The stored sweep.json, or None if there is none."""
        if not os.path.exists(self.sweep_path):
            return None
        try:
            with open(self.sweep_path) as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"{self.sweep_path} is unreadable ({error}); delete the workdir or "
                             "choose another --workdir") from None

    def check_resumable(self, meta: Mapping[str, Any]) -> bool:
        """True if the workdir holds this same sweep (resume), False if it holds none (start).

        Raises:
          ValueError: the workdir holds a different sweep, or files without a sweep.json; the
            message names the differing fields and how to proceed.
        """
        stored = self.read_meta()
        if stored is None:
            if os.path.exists(self.trials_path):
                raise ValueError(f"{self.workdir} holds {TRIALS_FILE} but no {SWEEP_FILE}; "
                                 "delete it or choose another --workdir")
            return False
        differing = [k for k in IDENTITY_KEYS if to_json_value(meta.get(k)) != stored.get(k)]
        if differing:
            details = "; ".join(f"{k}: stored {stored.get(k)!r}, now {to_json_value(meta.get(k))!r}"
                                for k in differing)
            how = ""
            if any(k in EXECUTION_KEYS for k in differing):
                how = (" (chunk, device and process counts decide how trials are batched, hence their "
                       "results: resume with the stored --chunk on as many devices and processes)")
            raise ValueError(f"{self.workdir} holds a different sweep ({details}); pass a new "
                             f"--workdir, or delete {self.workdir} to start over{how}")
        return True

    def create(self, meta: Mapping[str, Any]) -> None:
        """Makes the workdir and writes sweep.json atomically if it is not there yet."""
        os.makedirs(self.workdir, exist_ok=True)
        if os.path.exists(self.sweep_path):
            return
        write_json_atomically(self.sweep_path, dict(meta))

    # ----- trials.jsonl -----------------------------------------------------------------------
    def _scan(self) -> tuple[list[dict], int]:
        """Records, and the byte length of the intact prefix of trials.jsonl."""
        if not os.path.exists(self.trials_path):
            return [], 0
        with open(self.trials_path, "rb") as f:
            data = f.read()
        records, offset = [], 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines, start=1):
            last = number == len(lines)
            if last and not line:
                break
            try:
                if last:  # Present but without its newline: the write did not finish.
                    raise ValueError("no trailing newline")
                record = json.loads(line)
                if not isinstance(record, dict) or "id" not in record:
                    raise ValueError("not a trial record")
            except ValueError as error:
                rest = lines[number:]
                if last or (len(rest) == 1 and not rest[0]):
                    warnings.warn(f"{self.trials_path}: ignoring damaged last line {number} "
                                  f"({error}); that trial will be run again", DamagedRecordWarning)
                    return records, offset
                raise ValueError(f"{self.trials_path}: line {number} is damaged ({error}); it is not "
                                 "the last line, so the file was edited; delete the workdir to start over") from None
            records.append(record)
            offset += len(line) + 1
        return records, offset

    def records(self) -> list[dict]:
        """The finished trials in file order (a damaged last line is dropped, with a warning)."""
        return self._scan()[0]

    def repair(self) -> None:
        """Cuts a damaged last line off trials.jsonl, so appends start on a fresh line."""
        if not os.path.exists(self.trials_path):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DamagedRecordWarning)
            _, offset = self._scan()
        if offset != os.path.getsize(self.trials_path):
            with open(self.trials_path, "r+b") as f:
                f.truncate(offset)
                f.flush()
                os.fsync(f.fileno())

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Appends records, one line each, in a single write followed by flush and fsync."""
        text = "".join(json.dumps(to_json_value(dict(r)), allow_nan=False) + "\n" for r in records)
        if not text:
            return
        with open(self.trials_path, "a") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
