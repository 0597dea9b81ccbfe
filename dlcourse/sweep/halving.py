"""Successive halving and Hyperband brackets, each rung a smaller population continued from its state.

**Successive halving** (Jamieson & Talwalkar, 2016): train n trials for a few epochs, keep the best
1/η of them, train those η times longer, and so on until the budget E (the config's ``epochs``).
Each *rung* is one compiled, vmapped, trial-sharded program over the trials still alive
(:class:`~dlcourse.sweep.segments.Segments`); the survivors' carries — parameters, optimizer state,
PRNG keys, divergence guard — are re-packed into a smaller population, so compute really shrinks.
The price is one compile per rung (each has its own population size and length; programs are
cached per (size, epochs) within a run, and across runs by JAX's persistent compilation cache):
with a small model on a CPU, compiling can outweigh the epochs saved.

**Schedule** (Li et al., 2018, "Hyperband", Algorithm 1, with epochs as the resource and
``min_epochs`` as its unit): s_max is the largest s with ``min_epochs`` · η^s ≤ E. Bracket s has
rungs i = 0 … s ending at e_i = ⌊E / η^(s−i)⌋ epochs (e_s = E; e_0 ≥ ``min_epochs``; the e_i grow
strictly) and starts n_s = ⌈N · η^(s − s_max) · (s_max + 1) / (s + 1)⌉ trials, N = ``trials``.
With N = η^s_max these are Li et al.'s n = ⌈(s_max + 1) η^s / (s + 1)⌉ (their Table 1 for R = 81,
η = 3 is reproduced by E = 81, ``min_epochs`` = 1, N = 81). ``brackets`` = b runs the b most
exploratory brackets s = s_max, s_max − 1, …, s_max − b + 1 in that order (b = s_max + 1 is full
Hyperband; b = 1, the default, is plain successive halving of N trials). Bracket k (0-based, in
the order run) samples its trials as round k of the search method; trial ids run on across brackets.

**Selection** at rung i (not after the last): of the n_i trials that reached it, keep
k = max(1, ⌊n_i / η⌋) — Li et al.'s ⌊n_i/η⌋ (floor, so the rung sizes are theirs), but at least
one so a bracket reaches its budget — ranked by the best dev objective over the epochs run so far
(the value the leaderboard ranks by: ``best_dev_<objective>``), by the objective's goal, ties to the
lower trial id. A trial that has diverged or whose score is not a finite number is ranked last and
never promoted, so fewer than k may go on; a rung with none to promote ends its bracket.

**Records.** A trial's record is written when it stops — cut at a rung, or at the budget — with
its curves over every epoch it ran (so their length is where it stopped), ``round`` = its bracket's
order, ``bracket`` = that order too, and ``rungs``: one ``{"epochs", "score", "promoted"}`` per
selection it took part in (``score`` None when not finite).

**Resume.** With ``state_dir``, each rung ends by writing ``bracket-<k>-rung-<i>.npz`` atomically:
the records of the trials that stopped there, the ids it kept, and the kept trials' carries,
curves and rung histories; then those records are handed to ``record`` (the store), and the
bracket's previous rung file, no longer needed, is removed. A rerun resumes each bracket from its
last rung file (appending any of its records the store lacks: a crash between the two writes), so
it runs exactly the programs an uninterrupted run would have run from there, on the same inputs:
its records are equal to the uninterrupted run's, trial for trial. One process writes (the
launcher refuses multi-process halving).
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Callable, Collection, Mapping, NamedTuple, Sequence

import jax
import ml_collections
import numpy as np

from dlcourse.sweep.population import Population, plan_chunks, stack_hparams
from dlcourse.sweep.runner import classify_keys, make_record, structural_config
from dlcourse.sweep.search import Trial, grid_shape, is_finite_number, objective_key, sample_round, top_trials
from dlcourse.sweep.segments import Carry, Segments
from dlcourse.sweep.spaces import Space
from dlcourse.train.reporting import write_atomically
from dlcourse.train.trainable import Guard, Trainable, summarize

__all__ = ["Bracket", "RungProgress", "hyperband_brackets", "survivors", "select_survivors", "planned_trials",
           "run_halving", "rung_file"]


class Bracket(NamedTuple):
    """One successive-halving run of a schedule.

    Attributes:
      index: its order among the brackets run (0 first); its trials' ``round``.
      s: Li et al.'s bracket number (s_max for the most exploratory).
      trials: n_s, the trials it starts.
      rung_epochs: e_0 < e_1 < … < e_s = E, the epochs at the end of each rung.
    """

    index: int
    s: int
    trials: int
    rung_epochs: tuple[int, ...]


def hyperband_brackets(epochs: int, eta: int, min_epochs: int, brackets: int, trials: int) -> list[Bracket]:
    """The brackets run, in order (see the module docstring for the formulas).

    Raises:
      ValueError: ``eta`` < 2, ``min_epochs`` < 1, ``trials`` < 1, ``epochs`` < ``min_epochs`` · η
        (nothing to halve), or ``brackets`` outside 1 … s_max + 1.
    """
    for name, value, low in (("eta", eta, 2), ("min_epochs", min_epochs, 1), ("trials", trials, 1),
                             ("brackets", brackets, 1)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if epochs < min_epochs * eta:
        raise ValueError(f"epochs={epochs} leaves nothing to halve: it must be >= min_epochs x eta "
                         f"= {min_epochs} x {eta}")
    s_max = 0
    while min_epochs * eta ** (s_max + 1) <= epochs:
        s_max += 1
    if brackets > s_max + 1:
        raise ValueError(f"brackets={brackets}: epochs={epochs}, min_epochs={min_epochs} and eta={eta} allow at "
                         f"most {s_max + 1} (s_max = {s_max})")
    out = []
    for index in range(brackets):
        s = s_max - index
        # n_s = ceil(N · η^(s − s_max) · (s_max + 1) / (s + 1)), exactly, in integers.
        n = -(-trials * (s_max + 1) // (eta ** (s_max - s) * (s + 1)))
        out.append(Bracket(index, s, n, tuple(epochs // eta ** (s - i) for i in range(s + 1))))
    return out


def survivors(n: int, eta: int) -> int:
    """How many of ``n`` trials at a rung go on: max(1, ⌊n / η⌋)."""
    return max(1, n // eta)


def select_survivors(scores: Mapping[int, Any], goal: str, keep: int, diverged: Collection[int] = ()) -> list[int]:
    """The ids of the trials promoted from a rung, best first.

    Args:
      scores: ``{trial id: score}`` of the trials at the rung (``None``, NaN and ±inf allowed).
      goal: ``"max"`` or ``"min"``.
      keep: how many to keep at most (see :func:`survivors`).
      diverged: ids of trials that have diverged.

    The trials are ordered by score (goal first), ties to the lower id; trials that diverged or
    whose score is not a finite number are never promoted, so fewer than ``keep`` may be returned.
    """
    if goal not in ("max", "min"):
        raise ValueError(f"goal must be 'max' or 'min', got {goal!r}")
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    unknown = sorted(set(diverged) - set(scores))
    if unknown:
        raise ValueError(f"diverged ids {unknown} have no score")
    sign = -1.0 if goal == "max" else 1.0
    eligible = [i for i, v in scores.items() if i not in diverged and is_finite_number(v)]
    eligible.sort(key=lambda i: (sign * scores[i], i))
    return eligible[:keep]


def planned_trials(spaces: Mapping[str, Space], search: str, trials: int, epochs: int, eta: int,
                   min_epochs: int, brackets: int) -> int:
    """How many trials the schedule samples (a grid gives each bracket at most n_s points)."""
    total = 0
    for bracket in hyperband_brackets(epochs, eta, min_epochs, brackets, trials):
        total += math.prod(grid_shape(spaces, bracket.trials)) if search == "grid" and spaces else bracket.trials
    return total


def rung_file(state_dir: str, bracket: int, rung: int) -> str:
    """The path of a rung's saved state: ``<state_dir>/bracket-<k>-rung-<i>.npz``."""
    return os.path.join(state_dir, f"bracket-{bracket}-rung-{rung}.npz")


class RungProgress(NamedTuple):
    """Sent after each rung: what it did and where the schedule stands."""

    bracket: Bracket
    brackets: int             # brackets in the schedule
    rung: int                 # i
    epochs: int               # e_i
    trials: list              # ids that ran this rung
    kept: list                # ids promoted (empty after the last rung)
    cutoff: float | None      # the score of the last one promoted
    skipped: bool             # True if the rung was already saved (resume)
    done: int                 # trials with a record, all brackets
    total: int                # planned trials, all brackets
    best: dict | None         # best record so far (a trial still running: ``id`` and ``metrics`` only)
    seconds: float            # wall time of this rung (0 if skipped)
    elapsed: float            # since run_halving began


def _save_rung(path: str, meta: Mapping, carries: Mapping[int, tuple], curves: Mapping[int, Mapping]) -> None:
    arrays = {"meta": np.frombuffer(json.dumps(meta, allow_nan=False).encode(), np.uint8)}
    for trial_id in meta["kept"]:
        arrays.update({f"{trial_id}/carry/{j}": leaf for j, leaf in enumerate(carries[trial_id])})
        arrays.update({f"{trial_id}/curve/{name}": curve for name, curve in curves[trial_id].items()})
    write_atomically(path, lambda f: np.savez(f, **arrays), binary=True)


def _load_rung(path: str) -> tuple[dict, dict, dict]:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode())
            carries, curves = {}, {}
            for trial_id in meta["kept"]:
                carries[trial_id] = tuple(Carry.from_arrays(data, f"{trial_id}/carry/").leaves)
                prefix = f"{trial_id}/curve/"
                curves[trial_id] = {name[len(prefix):]: np.asarray(data[name]) for name in data.files
                                    if name.startswith(prefix)}
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is damaged ({error}); pass --start_over to start again") from None
    return meta, carries, curves


def _latest_rung(state_dir: str | None, bracket: int) -> int | None:
    if state_dir is None or not os.path.isdir(state_dir):
        return None
    prefix = f"bracket-{bracket}-rung-"
    rungs = [int(name[len(prefix):-4]) for name in os.listdir(state_dir)
             if name.startswith(prefix) and name.endswith(".npz") and name[len(prefix):-4].isdigit()]
    return max(rungs) if rungs else None


def _record(trial: Trial, metrics: Mapping[str, np.ndarray], history: Mapping, bracket: Bracket) -> dict:
    record = make_record(trial, metrics, history["seconds"])
    record["bracket"] = bracket.index
    record["rungs"] = list(history["rungs"])
    return record


def _stack(carries: Mapping[int, tuple], ids: Sequence[int]) -> Carry:
    return Carry(tuple(np.stack(parts) for parts in zip(*(carries[i] for i in ids))))


def _train_group(runner: Segments, trials: Sequence[Trial], numeric: Sequence[str], seed: int, kind: str,
                 segment: int, chunk: int | None, carries: dict, curves: dict, objective, say: Callable,
                 described: str) -> dict[int, dict[str, np.ndarray]]:
    """Trains one structural group of a rung ``segment`` epochs, chunk by chunk, updating each
    trial's carry and curves in place; returns each trial's metrics (:func:`summarize`) so far."""
    ids = [t.id for t in trials]
    by_id = {t.id: t for t in trials}
    chunks = plan_chunks(ids, chunk, runner.population.device_count)
    size = runner.population.padded_size(len(chunks[0]))
    if not runner.is_compiled(kind, size, segment):
        say(f"compiling {size} trials x {segment} epochs{' for ' + described if described else ''}")
        runner.compile(kind, size, segment)
        say(f"compiled in {runner.compile_seconds[(kind, size, segment)]:.1f}s")
    for chunk_ids in chunks:
        hparams = stack_hparams(runner.population.trainable,
                                [{k: by_id[i].hparams[k] for k in numeric} for i in chunk_ids])
        if kind == "begin":
            carry, rows = runner.begin(hparams, seed, chunk_ids, segment, size)
        else:
            carry, rows = runner.advance(_stack(carries, chunk_ids), hparams, segment, size)
        for row, i in enumerate(chunk_ids):
            carries[i] = tuple(leaf[row] for leaf in carry.leaves)
            curves[i] = {k: np.concatenate([curves[i][k], v[row]]) if i in curves else v[row]
                         for k, v in rows.items()}
    guard = runner.guard(_stack(carries, ids))
    summary = summarize({k: np.stack([curves[i][k] for i in ids]) for k in curves[ids[0]]},
                        Guard(*(np.asarray(g) for g in guard)), objective)
    return {i: {k: np.asarray(v[row]) for k, v in summary.items()} for row, i in enumerate(ids)}


def run_halving(build: Callable[[ml_collections.ConfigDict], Trainable],
                config: ml_collections.ConfigDict,
                spaces: Mapping[str, Space], *,
                search: str = "random", trials: int = 27, seed: int = 0, eta: int = 3, min_epochs: int = 1,
                brackets: int = 1, chunk: int | None = None, first_id: int = 0,
                devices: Sequence[jax.Device] | None = None,
                finished: Sequence[Mapping] = (),
                trainable: Trainable | None = None,
                state_dir: str | None = None,
                record: Callable[[list[dict]], None] | None = None,
                on_rung: Callable[[RungProgress], None] | None = None,
                on_status: Callable[[str], None] | None = None) -> list[dict]:
    """Runs (or resumes) successive halving / Hyperband; returns every trial record in id order.

    Args:
      build, config, spaces, search, seed, first_id, devices, trainable: as for
        :func:`~dlcourse.sweep.run_sweep`; the budget E is the built trainable's ``epochs``.
      trials, eta, min_epochs, brackets: N, η, the resource unit and the brackets run (see the
        module docstring).
      chunk: most trials per compiled call (None: a group of a rung is one call).
      finished: records already stored (their ids are not recorded again).
      state_dir: folder of the rung files (see the module docstring); None: nothing is saved.
      record: called with the records of the trials that stopped at each rung.
      on_rung: called with a :class:`RungProgress` after each rung.
      on_status: called with a line of text when a program starts compiling and when it is compiled.

    Raises:
      ValueError: a bad schedule (:func:`hyperband_brackets`), a swept ``epochs`` (it is the
        budget), or anything :func:`~dlcourse.sweep.classify_keys` refuses.
    """
    start = time.perf_counter()
    base = build(config) if trainable is None else trainable
    objective = base.objective
    numeric, structural = classify_keys(spaces, base, config)
    if "epochs" in structural:
        raise ValueError("epochs cannot be swept under successive halving: it is the budget every bracket "
                         "trains its survivors to")
    plan = hyperband_brackets(base.epochs, eta, min_epochs, brackets, trials)
    say = on_status or (lambda text: None)
    done = {int(r["id"]): dict(r) for r in finished}
    segments: dict[tuple, Segments] = {}
    total = planned_trials(spaces, search, trials, base.epochs, eta, min_epochs, brackets)
    key_name = objective_key(objective)
    planned_ids: list[int] = []
    next_id = first_id
    if state_dir is not None:
        os.makedirs(state_dir, exist_ok=True)

    def best_record(scores=None, diverged=()):
        """The best recorded trial, or a trial of the rung just run (a stand-in record of its
        score) when one of those is better."""
        running = [{"id": i, "status": "diverged" if i in diverged else "ok", "metrics": {key_name: v}}
                   for i, v in (scores or {}).items() if i not in done]
        top = top_trials(list(done.values()) + running, objective, fraction=0.0)
        return top[0] if top else None

    def store(records):
        new = [r for r in records if r["id"] not in done]
        if new and record is not None:
            record(new)
        for r in new:
            done[r["id"]] = r

    for bracket in plan:
        bracket_trials = sample_round(spaces, search, seed, bracket.index, next_id, bracket.trials)
        next_id += len(bracket_trials)
        planned_ids += [t.id for t in bracket_trials]
        by_id = {t.id: t for t in bracket_trials}
        rungs = len(bracket.rung_epochs)
        alive = [t.id for t in bracket_trials]
        carries: dict[int, tuple] = {}
        curves: dict[int, dict[str, np.ndarray]] = {}
        history = {i: {"rungs": [], "seconds": 0.0} for i in alive}
        first_rung = 0
        latest = _latest_rung(state_dir, bracket.index)
        if latest is not None:
            meta, carries, curves = _load_rung(rung_file(state_dir, bracket.index, latest))
            if meta.get("bracket") != bracket.index or not set(meta["trials"]) <= set(by_id):
                raise ValueError(f"{rung_file(state_dir, bracket.index, latest)} is not from this sweep; pass "
                                 "--start_over to start again")
            store(meta["records"])
            alive = list(meta["kept"])
            history = {int(k): v for k, v in meta["history"].items()}
            first_rung = latest + 1
            if on_rung is not None:      # the kept trials' scores at that rung count, as when it ran
                kept_scores = {i: history[i]["rungs"][-1]["score"] for i in alive
                               if history[i]["rungs"] and history[i]["rungs"][-1]["score"] is not None}
                on_rung(RungProgress(bracket, len(plan), latest, bracket.rung_epochs[latest], meta["trials"],
                                     alive, meta["cutoff"], True, len(done), total, best_record(kept_scores), 0.0,
                                     time.perf_counter() - start))
        for rung in range(first_rung, rungs if alive else 0):
            rung_start = time.perf_counter()
            epochs = bracket.rung_epochs[rung]
            segment = epochs - (bracket.rung_epochs[rung - 1] if rung else 0)
            kind = "advance" if rung else "begin"
            groups: dict[tuple, list[int]] = {}
            for i in alive:
                groups.setdefault(tuple(by_id[i].hparams[k] for k in structural), []).append(i)
            metrics: dict[int, dict[str, np.ndarray]] = {}
            for values, ids in groups.items():
                structure = dict(zip(structural, values))
                described = " ".join(f"{k}={v}" for k, v in structure.items())
                runner = segments.get(values)
                if runner is None:
                    trainable_here = build(structural_config(config, structure)) if structure else base
                    runner = segments[values] = Segments(Population(trainable_here, devices, swept=numeric))
                metrics.update(_train_group(runner, [by_id[i] for i in ids], numeric, seed, kind, segment, chunk,
                                            carries, curves, objective, say, described))
            seconds = time.perf_counter() - rung_start
            last = rung == rungs - 1
            scores = {i: float(metrics[i][key_name]) for i in alive}
            diverged = {i for i in alive if bool(metrics[i]["diverged"])}
            kept = [] if last else select_survivors(scores, objective.goal, survivors(len(alive), eta), diverged)
            cutoff = scores[kept[-1]] if kept else None
            for i in alive:
                history[i]["seconds"] += seconds / len(alive)
                if not last:
                    history[i]["rungs"].append({"epochs": epochs, "promoted": i in kept,
                                                "score": scores[i] if math.isfinite(scores[i]) else None})
            stopped = [_record(by_id[i], metrics[i], history[i], bracket) for i in alive if i not in kept]
            if state_dir is not None:
                meta = {"bracket": bracket.index, "s": bracket.s, "rung": rung, "epochs": epochs, "trials": alive,
                        "kept": kept, "cutoff": cutoff, "records": stopped,
                        "history": {str(i): history[i] for i in kept}}
                _save_rung(rung_file(state_dir, bracket.index, rung), meta, carries, curves)
                if rung:
                    previous = rung_file(state_dir, bracket.index, rung - 1)
                    if os.path.exists(previous):
                        os.remove(previous)
            store(stopped)
            if on_rung is not None:
                on_rung(RungProgress(bracket, len(plan), rung, epochs, list(alive), list(kept), cutoff, False,
                                     len(done), total, best_record(scores, diverged), seconds,
                                     time.perf_counter() - start))
            alive = kept
            carries = {i: carries[i] for i in kept}
            curves = {i: curves[i] for i in kept}
            if not alive:
                break
    return sorted((done[i] for i in planned_ids if i in done), key=lambda r: r["id"])
