"""What a run leaves for people: ``metrics.jsonl``, a learning-curve PNG, progress lines.

``metrics.jsonl`` holds one JSON object per epoch, ``{"epoch": e, "train_loss": …, …}``, each line
written whole and flushed; non-finite values (a diverged epoch) are written as ``null`` so every
line is strict JSON. Nothing here prints: :func:`format_progress` returns the line for the caller.

Whole files (``metrics.json``, ``sweep.json``, reports, plots) are written with
:func:`write_text_atomically` / :func:`write_json_atomically` / :func:`save_figure`: a temporary
file in the same folder, fsync, then a rename, so a reader sees the old file or the new one,
never half of one; the file gets the ordinary permissions of a new file (``0666`` less the
umask), not the ``0600`` of a temporary file. :func:`to_json_value` turns arrays and NumPy scalars
into plain JSON values. Plots use matplotlib's object API on an Agg canvas (no pyplot, no global
figure state), imported only when a plot is drawn.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any, Callable, Mapping, Sequence

METRICS_FILE = "metrics.jsonl"
LEARNING_CURVE_FILE = "learning_curve.png"
#: Row keys printed first, in this order; others follow sorted (train_<metric> before dev_<metric>).
ROW_ORDER = ("train_loss", "dev_loss")


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


def _new_file_mode() -> int:
    """``0666`` less the process's umask: the mode ``open(path, 'w')`` would give a new file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | os.PathLike, write: Callable[[Any], None], binary: bool = False) -> None:
    """Replaces ``path`` with what ``write(file)`` writes: a temporary file in the same folder,
    flushed to disk, given ordinary permissions, then renamed over ``path``. The folder must
    exist; on failure (a full disk, say) ``path`` is untouched and no temporary file is left."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + "-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, _new_file_mode())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Replaces ``path`` with ``text``, atomically (:func:`write_atomically`)."""
    write_atomically(path, lambda f: f.write(text))


def write_json_atomically(path: str | os.PathLike, payload: Any, *, sort_keys: bool = False) -> None:
    """Replaces ``path`` with ``payload`` (through :func:`to_json_value`) as indented strict JSON,
    atomically (:func:`write_text_atomically`)."""
    text = json.dumps(to_json_value(payload), indent=2, sort_keys=sort_keys, allow_nan=False) + "\n"
    write_text_atomically(path, text)


def _ordered(row: Mapping[str, float]) -> list[str]:
    rest = [k for k in row if k not in ROW_ORDER]
    return [k for k in ROW_ORDER if k in row] + sorted(rest, key=lambda k: (not k.startswith("train_"), k))


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


def figure(width: float, height: float):
    """A matplotlib ``Figure`` on an Agg canvas (matplotlib imported here, when first needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    result = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(result)
    return result


def place_axes(fig, *, left: float = 0.75, right: float = 0.2, bottom: float = 0.55, top: float = 0.35,
               wspace: float = 0.3, hspace: float = 0.5) -> None:
    """Fixed margins in inches (and gaps as fractions of an axes) instead of ``tight_layout``,
    which measures every tick label and took over half of a report's drawing time."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        wspace=wspace, hspace=hspace)


def log_axis(axis) -> None:
    """A log-scaled axis with major ticks only (minor ticks of a log axis are many and slow to draw)."""
    from matplotlib.ticker import NullLocator

    axis.set_minor_locator(NullLocator())


def save_figure(fig, path: str | os.PathLike) -> None:
    """Writes ``fig`` as a PNG at ``path``, atomically (:func:`write_atomically`)."""
    write_atomically(path, lambda f: fig.savefig(f, format="png"), binary=True)


def plot_learning_curve(rows: Sequence[Mapping[str, float]], path: str | os.PathLike,
                        title: str | None = None) -> None:
    """Saves a PNG of the cost against the epoch: ``train_loss`` (and ``dev_loss`` if present)."""
    epochs = list(range(1, len(rows) + 1))
    fig = figure(6, 4)
    axes = fig.add_subplot()
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
    place_axes(fig)
    save_figure(fig, path)


def plot_comparison(path: str | os.PathLike, curves: Mapping[str, Mapping[str, Sequence]], title: str = "") -> None:
    """Training cost vs epoch, one line per run (``{label: {'train_loss': [...], ...}}``); a PNG."""
    fig = figure(6, 4)
    axes = fig.add_subplot()
    for label, run_curves in curves.items():
        loss = [math.nan if v is None else float(v) for v in run_curves["train_loss"]]
        axes.plot(range(1, len(loss) + 1), loss, label=str(label))
    axes.set_xlabel("epoch")
    axes.set_ylabel("training cost J")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    place_axes(fig)
    save_figure(fig, path)


def format_progress(epoch: int, epochs: int, row: Mapping[str, float], seconds_per_epoch: float) -> str:
    """A one-line progress report, e.g.
    ``epoch  3/10  train_loss 0.4123  train_accuracy 0.9120  dev_accuracy 0.9000  0.21 s/epoch, ~1.5s left``.

    ``seconds_per_epoch`` is the mean time of the epochs run so far (compilation excluded); the
    estimate of the time left assumes the remaining epochs take as long.
    """
    width = len(str(epochs))
    parts = [f"epoch {epoch:>{width}}/{epochs}"]
    parts += [f"{k} {float(row[k]):.4f}" for k in _ordered(row)]
    timing = f"{seconds_per_epoch:.3g} s/epoch"
    if 0 < epoch < epochs:
        timing += f", ~{seconds_per_epoch * (epochs - epoch):.1f}s left"
    parts.append(timing)
    return "  ".join(parts)
