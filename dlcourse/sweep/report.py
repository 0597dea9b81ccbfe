"""What a person sees at the end of a sweep: leaderboard, axis plots, learning curves, best command.

Every table and plot names the objective (e.g. ``best dev accuracy (max)``), never a generic
"metric". Diverged trials — a non-finite value, or a training loss above
``Trainable.divergence_factor`` × its initial value — are counted in the leaderboard, drawn as red
crosses in the axis plots, and never ranked. Functions here return text or write files; they
print nothing. Plots use :mod:`dlcourse.train.reporting`'s Agg figures, written atomically.
"""

from __future__ import annotations

import math
import shlex
from typing import Any, Mapping, Sequence

from dlcourse.sweep.search import is_finite_number, objective_key, top_trials
from dlcourse.sweep.spaces import Space

__all__ = ["ranked", "leaderboard", "bias_variance_columns", "axis_plots", "learning_curves",
           "reproduce_command", "diverged_label", "rung_plot", "rung_cutoffs"]



def diverged_label(divergence_factor: float) -> str:
    """The legend of diverged trials in the plots: the rule, in words."""
    return f"diverged (non-finite, or loss > {divergence_factor:g}× initial)"


def ranked(records: Sequence[Mapping], objective) -> list[Mapping]:
    """All non-diverged records with a finite best dev objective, best first (ties: lower id)."""
    return top_trials(records, objective, fraction=1.0)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def leaderboard(records: Sequence[Mapping], objective, top: int = 10,
                extra_columns: Mapping[int, Mapping[str, Any]] | None = None) -> str:
    """A text table of the ``top`` best trials: rank, id, best/final dev objective, final train
    objective, extra columns, hyperparameters; then the trial and divergence counts.

    ``extra_columns`` maps a trial id to more ``{column: value}`` (e.g. avoidable bias).
    """
    name = objective.name
    best = ranked(records, objective)[:top]
    hparam_keys = list(records[0]["hparams"]) if records else []
    extra_keys: list[str] = []
    for columns in (extra_columns or {}).values():
        extra_keys += [k for k in columns if k not in extra_keys]
    header = (["rank", "id", f"best dev {name}", f"final dev {name}", f"final train {name}"] + extra_keys
              + hparam_keys)
    rows = [header]
    for rank, r in enumerate(best, start=1):
        m = r["metrics"]
        extra = (extra_columns or {}).get(r["id"], {})
        rows.append([str(rank), str(r["id"]), _cell(m[objective_key(objective)]), _cell(m.get(f"final_dev_{name}")),
                     _cell(m.get(f"final_train_{name}"))] + [_cell(extra.get(k)) for k in extra_keys]
                    + [_cell(r["hparams"][k]) for k in hparam_keys])
    widths = [max(len(row[j]) for row in rows) for j in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    diverged = [r for r in records if r["status"] == "diverged"]
    exploded = sum(r.get("divergence") == "exploded" for r in diverged)
    goal = "higher" if objective.goal == "max" else "lower"
    lines.append(f"{len(records)} trials, {len(diverged)} diverged"
                 + (f" ({exploded} by an exploding loss)" if exploded else "")
                 + f"; ranked by best dev {name} ({goal} is better)")
    return "\n".join(lines)


def bias_variance_columns(records: Sequence[Mapping], objective, human_error: float,
                          top: int = 10) -> tuple[dict[int, dict[str, float]], str | None]:
    """Avoidable bias and variance of the ``top`` ranked trials against ``human_error`` (the
    course's human-level diagnosis, :func:`dlcourse.strategy.diagnose`), and the diagnosis of
    the best trial as text (None when no ranked trial has train and dev figures).

    Raises:
      ValueError: the objective is not an error rate nor an accuracy (``Metric.fraction`` is None:
        say F1 or perplexity), so there is no error to compare with human level.
    """
    from dlcourse.strategy import diagnose, format_diagnosis

    if objective.fraction not in ("correct", "wrong"):
        raise ValueError(f"--human_error needs an objective that is an error rate in [0, 1] (accuracy or "
                         f"error); this experiment's is {objective.name}")
    error_rate = (lambda value: 1.0 - value) if objective.fraction == "correct" else (lambda value: value)  # noqa: E731
    columns, text = {}, None
    for r in ranked(records, objective)[:top]:
        m = r["metrics"]
        train, dev = m.get(f"final_train_{objective.name}"), m.get(f"final_dev_{objective.name}")
        if not (is_finite_number(train) and is_finite_number(dev)):
            continue
        diagnosis = diagnose(human_error, error_rate(train), error_rate(dev))
        columns[r["id"]] = {"avoidable bias": diagnosis.avoidable_bias, "variance": diagnosis.variance}
        if text is None:
            text = f"best trial {r['id']}:\n" + format_diagnosis(diagnosis)
    return columns, text


def axis_plots(records: Sequence[Mapping], spaces: Mapping[str, Space], path: str, objective,
               divergence_factor: float = 100.0) -> None:
    """One panel per swept hyperparameter: best dev objective (y) against its value (x), one
    point per trial; log x-axis for log-scale spaces (1 − β on the x-axis for ``1-log``);
    diverged trials as red crosses on the worst edge. Writes a PNG to ``path``."""
    from dlcourse.sweep.spaces import OneMinusLogUniform
    from dlcourse.train.reporting import figure, log_axis, place_axes, save_figure

    keys = list(spaces)
    if not keys:
        raise ValueError("axis plots need at least one swept hyperparameter")
    key_name = objective_key(objective)
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    fig = figure(4.2 * columns, 3.4 * rows)
    ok = [r for r in records if r["status"] == "ok" and is_finite_number(r["metrics"].get(key_name))]
    bad = [r for r in records if r not in ok]
    values = [r["metrics"][key_name] for r in ok]
    worst = (min(values) if objective.goal == "max" else max(values)) if values else 0.0
    for index, key in enumerate(keys):
        axes = fig.add_subplot(rows, columns, index + 1)
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
            axes.set_xscale("log")
            log_axis(axes.xaxis)
            axes.set_xlim(space.low / 1.25, space.high * 1.25)  # the whole searched range
            axes.set_autoscalex_on(False)
        elif hasattr(space, "low"):
            margin = 0.05 * (space.high - space.low) + (0.5 if space.integer else 0.0)
            axes.set_xlim(space.low - margin, space.high + margin)
            axes.set_autoscalex_on(False)
        elif categorical:
            axes.set_xlim(-0.5, len(options) - 0.5)
            axes.set_autoscalex_on(False)
        axes.scatter([x_of(r["hparams"][key]) for r in ok], values, s=18, color="tab:blue", label="ok")
        if bad:
            axes.scatter([x_of(r["hparams"][key]) for r in bad], [worst] * len(bad), marker="x",
                         color="red", s=30, label=diverged_label(divergence_factor))
        axes.set_xlabel(f"1 - {key}" if one_minus else key)
        axes.set_ylabel(f"best dev {objective.name} ({objective.goal})")
        axes.grid(alpha=0.3)
        if index == 0 and bad:
            axes.legend(fontsize=7)
    place_axes(fig, wspace=0.35, hspace=0.45)
    save_figure(fig, path)


def learning_curves(records: Sequence[Mapping], objective, path: str, top: int = 5) -> None:
    """Training cost and dev objective per epoch of the ``top`` best trials; writes a PNG."""
    from dlcourse.train.reporting import figure, log_axis, place_axes, save_figure

    best = ranked(records, objective)[:top]
    fig = figure(10, 3.8)
    loss_axes = fig.add_subplot(1, 2, 1)
    dev_axes = fig.add_subplot(1, 2, 2)
    nan = float("nan")
    for r in best:
        m = r["metrics"]
        loss = [nan if v is None else v for v in m.get("train_loss", [])]
        dev = [nan if v is None else v for v in m.get(f"dev_{objective.name}", [])]
        label = f"trial {r['id']}"
        loss_axes.plot(range(1, len(loss) + 1), loss, label=label)
        dev_axes.plot(range(1, len(dev) + 1), dev, label=label)
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("training cost")
    loss_axes.set_yscale("log")
    log_axis(loss_axes.yaxis)
    dev_axes.set_xlabel("epoch")
    dev_axes.set_ylabel(f"dev {objective.name}")
    for axes in (loss_axes, dev_axes):
        axes.grid(alpha=0.3)
    if best:
        dev_axes.legend(fontsize=8)
    place_axes(fig, wspace=0.25)
    save_figure(fig, path)


def rung_cutoffs(records: Sequence[Mapping], objective) -> dict[int, list[tuple[int, float | None]]]:
    """``{bracket: [(epochs, cut-off), …]}`` of successive-halving records
    (:func:`dlcourse.sweep.halving.run_halving`): at each rung, the score of the worst trial
    promoted (the best of the objective's goal among them reversed), None when none was promoted."""
    scores: dict[int, dict[int, list]] = {}
    for r in records:
        for rung in r.get("rungs", []):
            kept = scores.setdefault(r["bracket"], {}).setdefault(rung["epochs"], [])
            if rung["promoted"]:
                kept.append(rung["score"])
    pick = min if objective.goal == "max" else max
    return {bracket: [(epochs, pick(kept) if kept else None) for epochs, kept in sorted(rungs.items())]
            for bracket, rungs in sorted(scores.items())}


def rung_plot(records: Sequence[Mapping], objective, path: str) -> None:
    """Successive halving, one panel per bracket: every trial's dev objective against epochs (grey
    if it was cut, coloured if it reached the budget, red if it diverged), a dashed line at each
    rung and a black bar at its cut-off (the worst promoted score: best dev objective so far).
    Writes a PNG to ``path``."""
    from dlcourse.train.reporting import figure, place_axes, save_figure

    brackets = sorted({r["bracket"] for r in records if "bracket" in r})
    if not brackets:
        raise ValueError("rung plots need successive-halving records (with 'bracket' and 'rungs')")
    cutoffs = rung_cutoffs(records, objective)
    columns = min(3, len(brackets))
    rows = math.ceil(len(brackets) / columns)
    fig = figure(5.0 * columns, 3.6 * rows)
    nan = float("nan")
    name = f"dev_{objective.name}"
    for index, bracket in enumerate(brackets):
        axes = fig.add_subplot(rows, columns, index + 1)
        members = sorted((r for r in records if r.get("bracket") == bracket), key=lambda r: r["id"])
        budget = max(len(r["metrics"].get(name, [])) for r in members)
        for r in members:
            curve = [nan if v is None else v for v in r["metrics"].get(name, [])]
            if r["status"] == "diverged":
                style = {"color": "red", "alpha": 0.5, "linewidth": 0.8}
            elif len(curve) < budget:
                style = {"color": "0.6", "alpha": 0.6, "linewidth": 0.8}
            else:
                style = {"linewidth": 1.6, "label": f"trial {r['id']}"}
            axes.plot(range(1, len(curve) + 1), curve, marker="." if len(curve) < 30 else None, **style)
        for epochs, cutoff in cutoffs.get(bracket, []):
            axes.axvline(epochs, color="0.3", linestyle="--", linewidth=0.8)
            if cutoff is not None:
                axes.plot([epochs - 0.3, epochs + 0.3], [cutoff, cutoff], color="black", linewidth=2.5)
        rung_epochs = [e for e, _ in cutoffs.get(bracket, [])] + [budget]
        axes.set_title(f"bracket {bracket + 1}: {len(members)} trials, rungs at {', '.join(map(str, rung_epochs))} "
                       f"epochs", fontsize=9)
        axes.set_xlabel("epoch")
        axes.set_ylabel(f"dev {objective.name} ({objective.goal})")
        axes.grid(alpha=0.3)
        if any(r["status"] == "ok" and len(r["metrics"].get(name, [])) == budget for r in members):
            axes.legend(fontsize=7, title="cut: grey; diverged: red; bar: cut-off", title_fontsize=7)
    place_axes(fig, wspace=0.3, hspace=0.5)
    save_figure(fig, path)


def reproduce_command(record: Mapping, config_path: str, seed: int, workdir: str,
                      config_overrides: Mapping[str, Any] | None = None,
                      program: str = "python launch.py") -> str:
    """The launch command that retrains ``record`` alone, babysitting it: the sweep's config
    overrides plus the trial's values as ``--config`` flags, its seed and trial id (hence the
    same PRNG key), and a workdir of its own (``<sweep workdir>/best-trial-<id>``) so pasting it
    never collides with the sweep."""
    values = dict(config_overrides or {})
    values.update(record["hparams"])
    parts = [program, f"--config={config_path}", "--sweep=none", "--trials=1",
             f"--seed={seed}", f"--trial_id={record['id']}"]
    parts += [f"--config.{k}={v!r}" if isinstance(v, float) else f"--config.{k}={v}"
              for k, v in values.items()]
    parts.append(f"--workdir={workdir.rstrip('/')}/best-trial-{record['id']}")
    return " ".join(shlex.quote(p) if i >= 1 else p for i, p in enumerate(parts))
