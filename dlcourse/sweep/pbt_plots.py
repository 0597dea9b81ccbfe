"""The picture of a population-based training run: who copied whom, when, and each trial's
hyperparameter schedule (records of :func:`dlcourse.sweep.pbt.run_pbt`).

Top panel: one row per trial slot, coloured by slot, over epochs; an arrow from trial a's row to
trial b's at epoch e says that after epoch e trial b took a's state and hyperparameters. Slots
that ended diverged are drawn dashed in grey. Below, one panel per hyperparameter: each slot's
value in force over the epochs, as steps (log scale for a log-scale space — of 1 − β for a
:class:`OneMinusLogUniform` — or, without spaces, for positive values spanning over a decade).
"""

from __future__ import annotations

import os
from typing import Mapping, Sequence

from dlcourse.sweep.spaces import OneMinusLogUniform, Space

__all__ = ["draw_lineage"]


def _steps(schedule: Sequence[Mapping], name: str) -> tuple[list[float], list[float]]:
    epochs, values = [], []
    for interval in schedule:
        value = interval["hparams"][name]
        epochs += [interval["from_epoch"], interval["to_epoch"]]
        values += [value, value]
    return epochs, values


def _log_scale(name: str, records: Sequence[Mapping], spaces: Mapping[str, Space] | None) -> bool:
    if spaces is not None and name in spaces:
        return bool(spaces[name].log_scale)
    values = [s["hparams"][name] for r in records for s in r.get("hparam_schedule", [])]
    return bool(values) and min(values) > 0 and max(values) > 10 * min(values)


def draw_lineage(records: Sequence[Mapping], path: str | os.PathLike, spaces: Mapping[str, Space] | None = None,
                 objective_name: str | None = None) -> None:
    """Writes the PNG described in the module docstring to ``path``.

    Args:
      records: PBT records (``lineage``, ``hparam_schedule``, ``status``), any order.
      spaces: the swept spaces, for each panel's scale (default: guessed from the values).
      objective_name: labels each slot's row with its best dev objective (e.g. ``accuracy``).

    Raises:
      ValueError: no records, or a record without ``lineage``/``hparam_schedule``.
    """
    from dlcourse.train.reporting import figure, log_axis, place_axes, save_figure

    if not records:
        raise ValueError("plot_lineage needs at least one record")
    for r in records:
        if "lineage" not in r or "hparam_schedule" not in r:
            raise ValueError(f"record {r.get('id')} is not from population-based training "
                             "(it has no lineage or hparam_schedule)")
    records = sorted(records, key=lambda r: r["id"])
    names = list(records[0]["hparam_schedule"][0]["hparams"]) if records[0]["hparam_schedule"] else []
    row_of = {r["id"]: row for row, r in enumerate(records)}
    epochs = max((s["to_epoch"] for r in records for s in r["hparam_schedule"]), default=1)
    panels = 1 + len(names)
    fig = figure(9, 1.2 + 0.28 * len(records) + 2.2 * len(names))
    heights = [max(1.5, 0.28 * len(records))] + [2.0] * len(names)
    grid = fig.add_gridspec(panels, 1, height_ratios=heights)
    from matplotlib import colormaps

    palette = colormaps["tab10" if len(records) <= 10 else "turbo"]
    colour = {r["id"]: palette(i % 10 if len(records) <= 10 else i / max(1, len(records) - 1))
              for i, r in enumerate(records)}

    lineage_axes = fig.add_subplot(grid[0])
    for r in records:
        row = row_of[r["id"]]
        diverged = r.get("status") == "diverged"
        lineage_axes.plot([0, epochs], [row, row], color="0.6" if diverged else colour[r["id"]],
                          linestyle="--" if diverged else "-", linewidth=2)
    copies_at: dict[int, int] = {}
    for r in records:
        for event in r["lineage"]:
            source = row_of.get(event["copied_from"])
            if source is None:
                continue
            # Copies at the same boundary side by side, so their arrows do not overlap.
            offset = 0.012 * epochs * copies_at.get(event["epoch"], 0)
            copies_at[event["epoch"]] = copies_at.get(event["epoch"], 0) + 1
            x = event["epoch"] + offset
            lineage_axes.annotate("", xy=(x, row_of[r["id"]]), xytext=(x, source),
                                  arrowprops=dict(arrowstyle="->", color=colour[event["copied_from"]], lw=1.2))
    labels = []
    for r in records:
        best = r["metrics"].get(f"best_dev_{objective_name}") if objective_name else None
        labels.append(f"trial {r['id']}" + (f" ({best:.3g})" if isinstance(best, float) else ""))
    lineage_axes.set_yticks(range(len(records)), labels, fontsize=8)
    lineage_axes.set_ylim(len(records) - 0.5, -0.5)
    lineage_axes.set_xlim(0, epochs)
    lineage_axes.set_title("lineage: arrow = copied state and hyperparameters after that epoch", fontsize=9)
    lineage_axes.grid(axis="x", alpha=0.3)

    for p, name in enumerate(names, start=1):
        axes = fig.add_subplot(grid[p], sharex=lineage_axes)
        one_minus = spaces is not None and isinstance(spaces.get(name), OneMinusLogUniform)
        for r in records:
            x, y = _steps(r["hparam_schedule"], name)
            axes.plot(x, [1 - v for v in y] if one_minus else y, color=colour[r["id"]], linewidth=1.2,
                      linestyle="--" if r.get("status") == "diverged" else "-")
        if _log_scale(name, records, spaces):
            axes.set_yscale("log")
            log_axis(axes.yaxis)
        axes.set_ylabel(f"1 − {name}" if one_minus else name)
        axes.grid(alpha=0.3)
    fig.axes[-1].set_xlabel("epoch")
    place_axes(fig, left=1.4, hspace=0.35)
    save_figure(fig, path)
