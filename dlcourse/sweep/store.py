"""The sweep's working directory: results that survive a crash, and the resume protocol.

``<workdir>/sweep.json`` — what the sweep is, written once (atomically) before the first trial::

    {"experiment": "deep_mlp", "experiment_source": "<sha256 of the experiment file>",
     "library": "<sha256 of dlcourse's sources>", "config_defaults": {...get_config()...},
     "spec": "learning_rate=log(0.0001,1),...", "search": "random", "seed": 0, "trials": 32,
     "rounds": 1, "config_overrides": {"epochs": 20}, "first_trial_id": 0, "chunk": null,
     "device_count": 4, "process_count": 1,
     "objective": {"name": "accuracy", "goal": "max", "low": 0.0, "high": 1.0},
     "divergence_factor": 100.0, "code_version": "git 1e828ca…"}

``<workdir>/trials.jsonl`` — one JSON object per line per finished trial::

    {"id": 3, "round": 0, "hparams": {"learning_rate": 0.0012, ...},
     "metrics": {"best_dev_accuracy": 0.98, "final_dev_accuracy": 0.97, "final_train_accuracy": 0.99,
                 "final_train_loss": 0.03, "diverged": false, "exploded": false, "epochs_run": 20,
                 "dev_accuracy": [...], "train_loss": [...], ...},
     "status": "ok" | "diverged", "divergence": "non-finite" | "exploded" (diverged only),
     "seconds": 0.41}

Non-finite numbers are written as ``null``. Lines are appended whole (one ``write``, then flush
and fsync; a failed append — a full disk — is cut back off); a damaged last line (a crash
mid-write) is dropped with a warning and cut off before the next append. A damaged line elsewhere,
or a line that is valid JSON but not a trial record, is an error naming the line.

**Resume protocol.** A workdir is resumed only by the same sweep of the same code: the *identity*
(:data:`IDENTITY_KEYS` — experiment and the fingerprints of its source and of dlcourse, its config
defaults, spec, search, seed, trials, rounds, config overrides, first trial id, and chunk, device
count and process count, which fix the composition of each compiled chunk and so the results;
and a schedule's settings — ``schedule``, ``eta``, ``min_epochs``, ``brackets`` or ``ready_every``,
``exploit``, ``explore`` — which a plain sweep's identity does not hold, so its sweep.json is
unchanged) must equal the stored one; otherwise :meth:`Store.check_resumable` refuses, naming what
differs. A schedule resumes from its own saved state as well (:data:`SCHEDULE_STATE`).
:meth:`Store.start_over` removes what a sweep wrote, for a user who asks to start again.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import warnings
from typing import Any, Iterable, Mapping, NamedTuple

from dlcourse.train.reporting import to_json_value, write_json_atomically

__all__ = ["Store", "Objective", "IDENTITY_KEYS", "EXECUTION_KEYS", "DamagedRecordWarning", "to_json_value",
           "SWEEP_FILE", "TRIALS_FILE", "REPORT_FILES"]

IDENTITY_KEYS = ("experiment", "experiment_source", "library", "config_defaults", "spec", "search", "seed",
                 "trials", "rounds", "config_overrides", "first_trial_id", "chunk", "device_count",
                 "process_count") + ("schedule", "eta", "min_epochs", "brackets", "ready_every", "exploit",
                                     "explore")
#: Identity keys that fix how trials are grouped into compiled chunks (hence their results), not
#: what is sampled: a resume must use the same values.
EXECUTION_KEYS = ("chunk", "device_count", "process_count")
#: Identity keys that describe the code.
CODE_KEYS = {"experiment_source": "the experiment's source changed",
             "library": "dlcourse's code changed",
             "config_defaults": "the experiment's config defaults changed"}
SWEEP_FILE = "sweep.json"
TRIALS_FILE = "trials.jsonl"
#: Files derived from the records (rewritten by every run).
REPORT_FILES = ("leaderboard.txt", "axis_plots.png", "learning_curves.png", "error_analysis.txt", "rungs.png",
                "lineage.png")
#: What a schedule saves to resume from: successive halving's rung files, PBT's population.
SCHEDULE_STATE = ("rungs", "pbt_state.npz")


class Objective(NamedTuple):
    """The metric a sweep ranks by, as sweep.json keeps it: the fields of
    :class:`dlcourse.metrics.Metric` that reports need, without its computation (so reports of a
    stored sweep need no JAX)."""

    name: str
    goal: str
    low: float = -math.inf
    high: float = math.inf
    fraction: str | None = None

    @classmethod
    def of(cls, metric) -> "Objective":
        """The objective of a :class:`~dlcourse.metrics.Metric` (or anything with its fields)."""
        return cls(metric.name, metric.goal, float(metric.low), float(metric.high), metric.fraction)

    def record(self) -> dict:
        """JSON form (infinite bounds as None)."""
        return to_json_value(self._asdict())

    @classmethod
    def from_record(cls, record: Mapping) -> "Objective":
        low, high = record.get("low"), record.get("high")
        return cls(str(record["name"]), str(record["goal"]), -math.inf if low is None else float(low),
                   math.inf if high is None else float(high), record.get("fraction"))


class DamagedRecordWarning(UserWarning):
    """The last line of trials.jsonl was incomplete and is ignored."""


def _check_record(record: Any) -> None:
    """``ValueError`` unless ``record`` has the shape of a trial record."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if not isinstance(record.get("id"), int) or isinstance(record.get("id"), bool) or record["id"] < 0:
        raise ValueError(f"'id' must be a non-negative integer, got {record.get('id')!r}")
    if not isinstance(record.get("round"), int) or isinstance(record.get("round"), bool):
        raise ValueError(f"'round' must be an integer, got {record.get('round')!r}")
    for key in ("hparams", "metrics"):
        if not isinstance(record.get(key), dict):
            raise ValueError(f"'{key}' must be an object, got {record.get(key)!r}")
    if record.get("status") not in ("ok", "diverged"):
        raise ValueError(f"'status' must be 'ok' or 'diverged', got {record.get('status')!r}")


def _differences(stored: Mapping, meta: Mapping) -> list[str]:
    details = []
    for key in IDENTITY_KEYS:
        now, before = to_json_value(meta.get(key)), stored.get(key)
        if now == before:
            continue
        if key == "config_defaults" and isinstance(now, dict) and isinstance(before, dict):
            changed = [f"{k}: stored {before.get(k)!r}, now {now.get(k)!r}"
                       for k in sorted(set(now) | set(before)) if now.get(k) != before.get(k)]
            details.append(f"{CODE_KEYS[key]} ({'; '.join(changed)})")
        elif key in CODE_KEYS:
            details.append(CODE_KEYS[key])
        else:
            details.append(f"{key}: stored {before!r}, now {now!r}")
    return details


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
                meta = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{self.sweep_path} is unreadable ({error}); pass --start_over to start again, "
                             "or choose another --workdir") from None
        if not isinstance(meta, dict) or not all(k in meta for k in ("experiment", "spec", "seed")):
            raise ValueError(f"{self.sweep_path} is not a sweep description; pass --start_over to start "
                             "again, or choose another --workdir")
        return meta

    def check_resumable(self, meta: Mapping[str, Any]) -> bool:
        """True if the workdir holds this same sweep (resume), False if it holds none (start).

        Raises:
          ValueError: the workdir holds a different sweep (other settings or other code), or
            records without a sweep.json; the message names what differs and how to proceed.
        """
        stored = self.read_meta()
        if stored is None:
            if os.path.exists(self.trials_path):
                raise ValueError(f"{self.workdir} holds {TRIALS_FILE} but no {SWEEP_FILE}; pass --start_over "
                                 "to start again, or choose another --workdir")
            return False
        differing = _differences(stored, meta)
        if differing:
            how = ""
            if any(k in EXECUTION_KEYS and to_json_value(meta.get(k)) != stored.get(k) for k in EXECUTION_KEYS):
                how = (" (chunk, device and process counts decide how trials are batched, hence their "
                       "results: resume with the stored --chunk on as many devices and processes)")
            raise ValueError(f"{self.workdir} holds a different sweep ({'; '.join(differing)}); pass "
                             f"--start_over to discard its results, or another --workdir{how}")
        return True

    def create(self, meta: Mapping[str, Any]) -> None:
        """Makes the workdir and writes sweep.json atomically if it is not there yet."""
        os.makedirs(self.workdir, exist_ok=True)
        if os.path.exists(self.sweep_path):
            return
        write_json_atomically(self.sweep_path, dict(meta))

    def start_over(self) -> None:
        """Removes what a sweep writes into the workdir — sweep.json, trials.jsonl, the reports,
        a schedule's saved state (:data:`SCHEDULE_STATE`), the babysat trials' ``trial-<id>/``
        folders — and nothing else."""
        for name in (SWEEP_FILE, TRIALS_FILE) + REPORT_FILES + SCHEDULE_STATE:
            path = os.path.join(self.workdir, name)
            if os.path.isfile(path):
                os.remove(path)
            elif os.path.isdir(path) and name in SCHEDULE_STATE:
                shutil.rmtree(path)
        if os.path.isdir(self.workdir):
            for name in os.listdir(self.workdir):
                path = os.path.join(self.workdir, name)
                if name.startswith("trial-") and name[6:].isdigit() and os.path.isdir(path):
                    shutil.rmtree(path)

    # ----- trials.jsonl -----------------------------------------------------------------------
    def _scan(self) -> tuple[list[dict], int]:
        """Records, and the byte length of the intact prefix of trials.jsonl."""
        if not os.path.exists(self.trials_path):
            return [], 0
        with open(self.trials_path, "rb") as f:
            data = f.read()
        records, offset, seen = [], 0, set()
        lines = data.split(b"\n")
        for number, line in enumerate(lines, start=1):
            last = number == len(lines)
            if last and not line:
                break
            try:
                if last:  # Present but without its newline: the write did not finish.
                    raise ValueError("no trailing newline")
                record = json.loads(line)
                _check_record(record)
            except (ValueError, UnicodeDecodeError) as error:
                rest = lines[number:]
                if last or (len(rest) == 1 and not rest[0]):
                    warnings.warn(f"{self.trials_path}: ignoring damaged last line {number} "
                                  f"({error}); that trial will be run again", DamagedRecordWarning)
                    return records, offset
                raise ValueError(f"{self.trials_path}: line {number} is damaged ({error}); it is not "
                                 "the last line, so the file was edited; pass --start_over to start again") from None
            if record["id"] in seen:
                raise ValueError(f"{self.trials_path}: line {number} repeats trial {record['id']}; the file was "
                                 "edited or written twice; pass --start_over to start again")
            seen.add(record["id"])
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
        """Appends records, one line each, in a single write followed by flush and fsync. If the
        write fails (e.g. the disk is full) the file is cut back to its previous length and the
        error is raised: no half record stays behind."""
        text = "".join(json.dumps(to_json_value(dict(r)), allow_nan=False) + "\n" for r in records)
        if not text:
            return
        data = memoryview(text.encode())
        fd = os.open(self.trials_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            try:
                while data:
                    data = data[os.write(fd, data):]
                os.fsync(fd)
            except OSError:
                os.ftruncate(fd, size)
                raise
        finally:
            os.close(fd)
