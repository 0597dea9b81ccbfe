"""What a person sees at the end of a sweep: leaderboard, axis plots, learning curves, best command.

Plots are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global state).
"""

from __future__ import annotations

import math
import shlex
from typing import Any, Mapping, Sequence

from dlcourse.sweep.search import is_finite_number, top_trials
from dlcourse.sweep.spaces import Space

__all__ = ["ranked", "leaderboard", "axis_plots", "learning_curves", "reproduce_command"]


def ranked(records: Sequence[Mapping], goal: str) -> list[Mapping]:
    """All non-diverged records with a finite best dev metric, best first (ties: lower id)."""
    return top_trials(records, goal, fraction=1.0)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def leaderboard(records: Sequence[Mapping], goal: str, top: int = 10, metric: str = "dev metric",
                extra_columns: Mapping[int, Mapping[str, Any]] | None = None) -> str:
    """A text table of the ``top`` best trials: rank, id, best/final dev, final train, hyperparameters.

    ``extra_columns`` maps a trial id to more ``{column: value}`` (e.g. avoidable bias).
    """
    best = ranked(records, goal)[:top]
    hparam_keys = list(records[0]["hparams"]) if records else []
    extra_keys: list[str] = []
    for columns in (extra_columns or {}).values():
        extra_keys += [k for k in columns if k not in extra_keys]
    header = ["rank", "id", f"best {metric}", f"final {metric}", "final train"] + extra_keys + hparam_keys
    rows = [header]
    for rank, r in enumerate(best, start=1):
        m = r["metrics"]
        extra = (extra_columns or {}).get(r["id"], {})
        rows.append([str(rank), str(r["id"]), _cell(m["best_dev_metric"]), _cell(m["final_dev_metric"]),
                     _cell(m["final_train_metric"])] + [_cell(extra.get(k)) for k in extra_keys]
                    + [_cell(r["hparams"][k]) for k in hparam_keys])
    widths = [max(len(row[j]) for row in rows) for j in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    diverged = sum(r["status"] == "diverged" for r in records)
    lines.append(f"{len(records)} trials, {diverged} diverged")
    return "\n".join(lines)


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def axis_plots(records: Sequence[Mapping], spaces: Mapping[str, Space], path: str,
               metric: str = "dev metric") -> None:
    """One panel per swept hyperparameter: best dev metric (y) against its value (x), one point per
    trial; log x-axis for log-scale spaces (1 − β on the x-axis for ``1-log``); diverged trials
    as red crosses on the bottom edge. Writes a PNG to ``path``."""
    from dlcourse.sweep.spaces import OneMinusLogUniform
    keys = list(spaces)
    if not keys:
        raise ValueError("axis plots need at least one swept hyperparameter")
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure = _figure(4.2 * columns, 3.4 * rows)
    ok = [r for r in records if r["status"] == "ok" and is_finite_number(r["metrics"]["best_dev_metric"])]
    bad = [r for r in records if r not in ok]
    values = [r["metrics"]["best_dev_metric"] for r in ok]
    floor = min(values) if values else 0.0
    for index, key in enumerate(keys):
        axes = figure.add_subplot(rows, columns, index + 1)
        space = spaces[key]
        one_minus = isinstance(space, OneMinusLogUniform)
        x_of = (lambda v: 1.0 - v) if one_minus else (lambda v: v)  # noqa: E731
        categorical = not space.numeric
        if categorical:
            options = list(getattr(space, "options", []))
            position = {o: i for i, o in enumerate(options)}
            x_of = lambda v: position.get(v, len(options))  # noqa: E731
            axes.set_xticks(range(len(options)), [str(o) for o in options])
        if space.log_scale:
            from matplotlib.ticker import NullFormatter
            axes.set_xscale("log")
            axes.xaxis.set_minor_formatter(NullFormatter())
            # The whole searched range (bounds of 1 - β for 1-log).
            axes.set_xlim(space.low / 1.25, space.high * 1.25)
            axes.set_autoscalex_on(False)
        elif hasattr(space, "low"):
            margin = 0.05 * (space.high - space.low) + (0.5 if space.integer else 0.0)
            axes.set_xlim(space.low - margin, space.high + margin)
            axes.set_autoscalex_on(False)
        elif categorical:
            axes.set_xlim(-0.5, len(options) - 0.5)
            axes.set_autoscalex_on(False)
        axes.scatter([x_of(r["hparams"][key]) for r in ok], values, s=18, color="tab:blue",
                     label="ok")
        if bad:
            axes.scatter([x_of(r["hparams"][key]) for r in bad], [floor] * len(bad), marker="x",
                         color="red", s=30, label="diverged")
        axes.set_xlabel(f"1 - {key}" if one_minus else key)
        axes.set_ylabel(f"best dev {metric}")
        axes.grid(alpha=0.3)
        if index == 0 and bad:
            axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def learning_curves(records: Sequence[Mapping], goal: str, path: str, top: int = 5,
                    metric: str = "dev metric") -> None:
    """Training loss and dev metric per epoch of the ``top`` best trials; writes a PNG."""
    best = ranked(records, goal)[:top]
    figure = _figure(10, 3.8)
    loss_axes = figure.add_subplot(1, 2, 1)
    dev_axes = figure.add_subplot(1, 2, 2)
    for r in best:
        m = r["metrics"]
        nan = float("nan")
        loss = [nan if v is None else v for v in m.get("train_loss", [])]
        dev = [nan if v is None else v for v in m.get("dev_metric", [])]
        label = f"trial {r['id']}"
        loss_axes.plot(range(1, len(loss) + 1), loss, label=label)
        dev_axes.plot(range(1, len(dev) + 1), dev, label=label)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("training cost")
    loss_axes.set_yscale("log")
    dev_axes.set_xlabel("epoch")
    dev_axes.set_ylabel(f"dev {metric}")
    for axes in (loss_axes, dev_axes):
        axes.grid(alpha=0.3)
    if best:
        dev_axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def reproduce_command(record: Mapping, experiment: str, seed: int,
                      config_overrides: Mapping[str, Any] | None = None,
                      program: str = "python launch.py") -> str:
    """The single-trial (panda) launch command that retrains ``record`` alone: the sweep's config
    overrides plus the trial's values as ``--config`` flags, with its seed and trial id (hence
    the same PRNG key)."""
    values = dict(config_overrides or {})
    values.update(record["hparams"])
    parts = [program, f"--experiment={experiment}", "--sweep=none", "--trials=1",
             f"--seed={seed}", f"--trial_id={record['id']}"]
    parts += [f"--config.{k}={v!r}" if isinstance(v, float) else f"--config.{k}={v}"
              for k, v in values.items()]
    return " ".join(shlex.quote(p) if i >= 1 else p for i, p in enumerate(parts))
