"""What a run leaves for people: ``metrics.jsonl``, a learning-curve PNG, progress lines.

``metrics.jsonl`` holds one JSON object per epoch, ``{"epoch": e, "train_loss": …, …}``, each line
written whole and flushed; non-finite values (a diverged epoch) are written as ``null`` so every
line is strict JSON. Nothing here prints: :func:`format_progress` returns the line for the caller.

Whole files (``metrics.json``, ``sweep.json``, reports) are written with :func:`write_text_atomically`
/ :func:`write_json_atomically`: a temporary file in the same folder, fsync, then a rename, so a
reader sees the old file or the new one, never half of one. :func:`to_json_value` turns arrays and
NumPy scalars into plain JSON values.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any, Mapping, Sequence

METRICS_FILE = "metrics.jsonl"
LEARNING_CURVE_FILE = "learning_curve.png"
ROW_ORDER = ("train_loss", "train_metric", "dev_metric", "dev_loss")


def to_json_value(value: Any) -> Any:
    """Plain JSON: arrays and NumPy/JAX scalars as Python numbers/lists, mappings as dicts with
    string keys, tuples as lists, NaN and ±inf as ``None``."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # e.g. a bfloat16 scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Replaces ``path`` with ``text``: written to a temporary file in the same folder, flushed
    to disk, then renamed over ``path``. The folder must exist; on failure ``path`` is untouched."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + "-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_json_atomically(path: str | os.PathLike, payload: Any, *, sort_keys: bool = False) -> None:
    """Replaces ``path`` with ``payload`` (through :func:`to_json_value`) as indented strict JSON,
    atomically (:func:`write_text_atomically`)."""
    text = json.dumps(to_json_value(payload), indent=2, sort_keys=sort_keys, allow_nan=False) + "\n"
    write_text_atomically(path, text)


def _ordered(row: Mapping[str, float]) -> list[str]:
    return [k for k in ROW_ORDER if k in row] + sorted(k for k in row if k not in ROW_ORDER)


def _json_number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def metrics_line(epoch: int, row: Mapping[str, float]) -> str:
    """One epoch as a line of strict JSON (no trailing newline)."""
    record = {"epoch": int(epoch)}
    record.update({k: _json_number(row[k]) for k in _ordered(row)})
    return json.dumps(record, allow_nan=False)


def append_metrics(path: str | os.PathLike, epoch: int, row: Mapping[str, float]) -> None:
    """Appends epoch ``epoch``'s row to the JSON-lines file at ``path`` and flushes it."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(metrics_line(epoch, row) + "\n")
        f.flush()


def write_metrics(path: str | os.PathLike, rows: Sequence[Mapping[str, float]]) -> None:
    """Replaces ``path`` with rows for epochs 1 … len(rows), atomically (write, then rename)."""
    write_text_atomically(path, "".join(metrics_line(epoch, row) + "\n"
                                        for epoch, row in enumerate(rows, start=1)))


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """The records of a ``metrics.jsonl`` file (``null`` read back as NaN)."""
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number} is not a JSON line: {error}") from None
            records.append({k: (math.nan if v is None else v) for k, v in record.items()})
    return records


def plot_learning_curve(rows: Sequence[Mapping[str, float]], path: str | os.PathLike,
                        title: str | None = None) -> None:
    """Saves a PNG of the cost against the epoch: ``train_loss`` (and ``dev_loss`` if present).

    Uses matplotlib's Agg canvas directly (no pyplot, no global figure state).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = list(range(1, len(rows) + 1))
    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for key, label in (("train_loss", "train cost"), ("dev_loss", "dev cost")):
        if rows and key in rows[0]:
            axes.plot(epochs, [float(r[key]) for r in rows], marker="." if len(rows) < 50 else None,
                      label=label)
    axes.set_xlabel("epoch")
    axes.set_ylabel("cost J")
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(os.fspath(path), format="png")


def format_progress(epoch: int, epochs: int, row: Mapping[str, float], seconds: float) -> str:
    """A one-line progress report, e.g.
    ``epoch  3/10  train_loss 0.4123  train_metric 0.9120  dev_metric 0.9000  2.1s, ~4.9s left``.

    ``seconds`` is the time since the run (or its resumption) started; the estimate of the time
    left assumes the remaining epochs take as long as the average epoch so far.
    """
    width = len(str(epochs))
    parts = [f"epoch {epoch:>{width}}/{epochs}"]
    parts += [f"{k} {float(row[k]):.4f}" for k in _ordered(row)]
    timing = f"{seconds:.1f}s"
    if 0 < epoch < epochs:
        timing += f", ~{seconds / epoch * (epochs - epoch):.1f}s left"
    parts.append(timing)
    return "  ".join(parts)
