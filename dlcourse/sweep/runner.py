"""Running a sweep: rounds, structural groups, chunks, resume.

The hook through which an experiment becomes sweepable is the experiment contract
(:mod:`dlcourse.train.trainable`)::

    get_config() -> ml_collections.ConfigDict     # flat keys, every hyperparameter with its default
    build(config) -> Trainable                    # fixes the structure from the config

A swept key is classified against them:

* **numeric** — it is in ``trainable.hparams`` (the config has the same key, whose value is the
  default). Its values are stacked into ``float32[n]`` and vmapped: any number of values, one
  compiled program.
* **structural** — any other key of the config (layer sizes, optimizer kind, epochs, batch size,
  data seed …). Trials are grouped by their structural values; each group sets them on a copy of
  the config, calls ``build`` again, and compiles once.
* anything else is an error.

To make a new experiment sweepable: read every number a trial may vary from ``hparams`` inside
``init``/``epoch`` (not from the config), list it with its config default in ``Trainable.hparams``,
and keep ``train`` pure so ``jax.vmap`` applies.

Execution order is a function of the spec, seed and trial ids alone: rounds in order; in a round,
groups in order of their first trial id; in a group, chunks from :func:`plan_chunks`. The chunk is
the unit of work, so a resumed sweep recomputes exactly the programs of an uninterrupted one and
its results are equal to them, trial for trial. Each structural group is built and compiled once
(nothing is compiled for a group whose trials are all finished); the keys of its trials are
derived inside its program.

Chunk size: ``chunk`` when given; otherwise automatic. A group of at most :data:`AUTO_CHUNK_ABOVE`
trials is one call, as it always was. A larger group first measures its memory per trial
(:meth:`Population.max_trials_per_call`, one extra compile) and is split into the fewest chunks
that fit the per-device memory budget, which is a function of the machine, not of the memory free
now: resumed on the same machine (as the store requires: same ``chunk``, device and process
counts), a sweep plans the same chunks. Every process follows process 0's plan.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import ml_collections
import numpy as np

from dlcourse.sweep.population import Population, plan_chunks, stack_hparams, trial_keys
from dlcourse.sweep.search import Trial, sample_round, shrink_spaces, top_trials
from dlcourse.sweep.spaces import Space
from dlcourse.train.reporting import to_json_value
from dlcourse.train.trainable import Trainable

__all__ = ["classify_keys", "structural_config", "make_record", "Progress", "ChunkPlan", "run_sweep",
           "broadcast_json", "AUTO_CHUNK_ABOVE"]

#: Without ``chunk``, groups of more trials than this measure their memory and may be chunked;
#: smaller groups run as one call without the extra compile.
AUTO_CHUNK_ABOVE = 256


def space_extremes(space: Space) -> list[float]:
    """The smallest and largest value a numeric space can give (every option of a choice)."""
    options = getattr(space, "options", None)
    if options is not None:
        return [float(v) for v in options]
    return [float(space.from_unit(0.0)), float(space.from_unit(1.0))]


def classify_keys(spaces: Mapping[str, Space], trainable: Trainable,
                  config: ml_collections.ConfigDict) -> tuple[list[str], list[str]]:
    """Splits swept keys into (numeric, structural), checking each space fits its key.

    Raises:
      ValueError: a key that is neither a numeric hyperparameter nor a config key, a numeric
        hyperparameter this structure does not read (``Trainable.unread``), a non-numeric space
        for a numeric key, a range leaving the key's domain, or values that do not fit a config
        key's type.
    """
    numeric, structural = [], []
    for key, space in spaces.items():
        reason = (trainable.unread or {}).get(key)
        if reason is not None:
            raise ValueError(f"{key} cannot be swept: {reason}; sweeping it would vary nothing")
        if key in trainable.hparams:
            if not space.numeric:
                raise ValueError(f"{key} is a numeric hyperparameter; {space.spec()} has non-numeric options")
            domain = (trainable.domains or {}).get(key)
            if domain is not None:
                outside = [v for v in space_extremes(space) if not domain.contains(v)]
                if outside:
                    raise ValueError(f"{key}={space.spec()} reaches {outside[0]:g}, outside {key}'s "
                                     f"domain {domain}")
            numeric.append(key)
        elif key in config:
            default = config[key]
            if isinstance(default, bool):
                raise ValueError(f"{key} is a boolean config key; sweeping it is not supported "
                                 f"(set it with --config.{key})")
            if isinstance(default, int) and not space.integer:
                raise ValueError(f"{key} is an integer; use int(a,b) or choice of integers, not {space.spec()}")
            if isinstance(default, float) and not space.numeric:
                raise ValueError(f"{key} is a number; {space.spec()} has non-numeric options")
            if isinstance(default, str) and space.numeric:
                raise ValueError(f"{key} is a string; use choice(...) of words, not {space.spec()}")
            if not isinstance(default, (int, float, str)):
                raise ValueError(f"{key} holds {type(default).__name__}; only numbers and strings can be swept")
            structural.append(key)
        else:
            known = sorted(set(trainable.hparams) | set(config.keys()))
            raise ValueError(f"unknown hyperparameter {key!r}; this experiment has {', '.join(known)}")
    return numeric, structural


def structural_config(config: ml_collections.ConfigDict, values: Mapping[str, Any]) -> ml_collections.ConfigDict:
    """A copy of ``config`` with the structural ``values`` set (converted to each key's type)."""
    config = ml_collections.ConfigDict(config.to_dict())
    for key, value in values.items():
        default = config[key]
        config[key] = type(default)(value) if isinstance(default, (int, float)) else value
    return config


def make_record(trial: Trial, metrics: Mapping[str, np.ndarray], seconds: float) -> dict:
    """The trials.jsonl record of one trial, as it will read back from JSON (NaN → None).

    ``metrics`` holds the run's scalars (final and best values, ``diverged``, ``exploded``,
    ``epochs_run``) and per-epoch curves; ``status`` is ``"diverged"`` for a trial that diverged
    (``divergence``: ``"non-finite"`` or ``"exploded"``), else ``"ok"``.
    """
    diverged = bool(np.asarray(metrics["diverged"]))
    record = {
        "id": trial.id, "round": trial.round, "hparams": dict(trial.hparams),
        "metrics": dict(metrics),
        "status": "diverged" if diverged else "ok",
        "seconds": round(float(seconds), 4),
    }
    if diverged:
        record["divergence"] = "exploded" if bool(np.asarray(metrics.get("exploded", False))) else "non-finite"
    return json.loads(json.dumps(to_json_value(record), allow_nan=False))


class Progress(NamedTuple):
    """Sent after each chunk: where the sweep stands."""

    round: int
    structure: dict           # the chunk's structural values
    chunk_ids: list           # trial ids in the chunk
    skipped: bool             # True if the chunk was already in the store (resume)
    done: int                 # finished trials, all rounds
    total: int                # planned trials, all rounds
    best: dict | None         # best record so far
    seconds: float            # wall time of this chunk (0 if skipped)
    elapsed: float            # since run_sweep began


class ChunkPlan(NamedTuple):
    """Sent when an automatic chunk size splits a group: how and why."""

    round: int
    structure: dict           # the group's structural values
    trials: int               # trials in the group
    chunks: int               # compiled calls it takes
    chunk_size: int           # trials in the largest chunk
    bytes_per_trial: int      # measured memory per trial, per device
    budget_bytes: int         # memory budget per device

    def describe(self) -> str:
        structure = " ".join(f"{k}={v}" for k, v in self.structure.items())
        return (f"group{' ' + structure if structure else ''}: {self.trials} trials in {self.chunks} "
                f"chunks of <= {self.chunk_size} (about {self.bytes_per_trial / 1e6:.3g} MB per trial, "
                f"budget {self.budget_bytes / 1e6:.0f} MB per device)")


def broadcast_json(value: Any) -> Any:
    """Process 0's ``value`` (JSON-serializable) on every process; identity with one process."""
    if jax.process_count() == 1:
        return value
    from jax.experimental import multihost_utils
    data = np.frombuffer(json.dumps(value).encode(), np.uint8)
    length = int(multihost_utils.broadcast_one_to_all(np.asarray(len(data), np.int32)))
    buffer = np.zeros(length, np.uint8)
    if jax.process_index() == 0:
        buffer[:] = data
    buffer = np.asarray(multihost_utils.broadcast_one_to_all(buffer))
    return json.loads(buffer.tobytes().decode())


def _babysit_trial(trainable, trial, hparams, key, workdir, on_epoch, on_compiled, config, identity):
    import os

    from dlcourse.train import babysit
    trial_dir = os.path.join(workdir, f"trial-{trial.id}")
    _, out = babysit(trainable, hparams, key, trial_dir, checkpoint_every=1, on_epoch=on_epoch,
                     on_compiled=on_compiled, config=config.to_dict(), identity=identity)
    return {k: np.asarray(v) for k, v in out.items()}


def run_sweep(build: Callable[[ml_collections.ConfigDict], Trainable],
              config: ml_collections.ConfigDict,
              spaces: Mapping[str, Space], *,
              search: str = "random", trials: int = 32, rounds: int = 1, seed: int = 0,
              chunk: int | None = None, first_id: int = 0,
              devices: Sequence[jax.Device] | None = None,
              finished: Sequence[Mapping] = (),
              trainable: Trainable | None = None,
              record: Callable[[list[dict]], None] | None = None,
              on_chunk: Callable[[Progress], None] | None = None,
              on_plan: Callable[[ChunkPlan], None] | None = None,
              on_status: Callable[[str], None] | None = None,
              memory_budget_bytes: int | None = None,
              babysit_workdir: str | None = None,
              on_epoch: Callable | None = None,
              identity: Mapping[str, Any] | None = None,
              shrink_factor: float = 0.5, top_fraction: float = 0.25) -> list[dict]:
    """Runs (or resumes) a sweep; returns every trial record in id order.

    Args:
      build, config: the experiment (see the module docstring); ``config`` holds the overrides.
      spaces: the spec (``{key: Space}``).
      search, trials, rounds, seed: search method, trials per round, coarse-to-fine rounds, seed.
        Round r > 0 samples from the spaces shrunk (``shrink_factor``) around the best
        ``top_fraction`` of all earlier trials.
      chunk: most trials per compiled call (None: automatic; see the module docstring).
      first_id: id of the first trial (later ones follow).
      devices: the ``trial`` mesh devices (default all).
      finished: records already stored; their chunks are skipped.
      trainable: ``build(config)`` if the caller already has it (saves a build).
      record: called with each new chunk's records (only on the process that writes the store).
      on_chunk: called with a :class:`Progress` after each chunk.
      on_plan: called with a :class:`ChunkPlan` when the automatic size splits a group.
      on_status: called with a line of text when a program starts compiling and when it is compiled.
      memory_budget_bytes: memory per device one call may use (default: see :class:`Population`).
      babysit_workdir: with ``trials == 1``, babysit each trial (``dlcourse.train.babysit``:
        checkpoints, metrics.jsonl) in ``<babysit_workdir>/trial-<id>``, calling ``on_epoch``
        after every epoch; ``identity`` is recorded in its checkpoints.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    start = time.perf_counter()
    base = build(config) if trainable is None else trainable
    objective = base.objective
    numeric, structural = classify_keys(spaces, base, config)
    done_by_id = {int(r["id"]): dict(r) for r in finished}
    populations: dict[tuple, Population] = {}
    records: list[dict] = []
    spaces = dict(spaces)
    next_id = first_id
    total_planned = None
    best = None
    say = on_status or (lambda text: None)

    for round_index in range(rounds):
        if round_index > 0:
            spaces = shrink_spaces(spaces, records, objective, shrink_factor, top_fraction)
        round_trials = sample_round(spaces, search, seed, round_index, next_id, trials)
        next_id += len(round_trials)
        if total_planned is None:
            total_planned = len(round_trials) * rounds
        groups: dict[tuple, list[Trial]] = {}
        for trial in round_trials:
            groups.setdefault(tuple(trial.hparams[k] for k in structural), []).append(trial)

        for structure_values, group in groups.items():
            structure = dict(zip(structural, structure_values))
            described = " ".join(f"{k}={v}" for k, v in structure.items())
            by_id = {t.id: t for t in group}
            if all(i in done_by_id for i in by_id):
                population = None  # a resumed group: nothing to build or compile
            else:
                population = populations.get(structure_values)
                if population is None:
                    trainable = build(structural_config(config, structure)) if structure else base
                    population = Population(trainable, devices, swept=numeric,
                                            memory_budget_bytes=memory_budget_bytes)
                    populations[structure_values] = population
            limit = chunk
            if population is not None and chunk is None and len(by_id) > AUTO_CHUNK_ABOVE:
                say(f"measuring memory per trial{' for ' + described if described else ''}")
                limit = broadcast_json(population.max_trials_per_call())
            shards = population.device_count if population is not None else 1
            chunks = plan_chunks(list(by_id), limit, shards)
            if population is not None and chunk is None and len(chunks) > 1 and on_plan is not None:
                on_plan(ChunkPlan(round_index, structure, len(by_id), len(chunks), len(chunks[0]),
                                  population.memory_per_trial(), population.memory_budget_bytes))
            size = population.padded_size(len(chunks[0])) if population is not None else None
            for chunk_ids in chunks:
                chunk_start = time.perf_counter()
                todo = [i for i in chunk_ids if i not in done_by_id]
                if todo:
                    chunk_trials = [by_id[i] for i in chunk_ids]
                    numeric_values = [{k: t.hparams[k] for k in numeric} for t in chunk_trials]
                    hparams = stack_hparams(population.trainable, numeric_values)
                    if babysit_workdir is not None and trials == 1:
                        one = {k: v[0] for k, v in hparams.items()}
                        group_config = structural_config(config, structure)
                        say(f"compiling{' ' + described if described else ''}")
                        outputs = [_babysit_trial(
                            population.trainable, chunk_trials[0], one, trial_keys(seed, chunk_ids)[0],
                            babysit_workdir, on_epoch, lambda seconds: say(f"compiled in {seconds:.1f}s"),
                            group_config, identity)]
                        metrics = {k: np.asarray([o[k] for o in outputs]) for k in outputs[0]}
                    else:
                        if not population.is_compiled(size):
                            say(f"compiling {size} trials{' for ' + described if described else ''}")
                            population.compile(size)
                            say(f"compiled in {population.compile_seconds[size]:.1f}s")
                        metrics = population.run(hparams, seed, chunk_ids, size)
                    seconds = (time.perf_counter() - chunk_start) / len(chunk_ids)
                    new = [make_record(t, {k: v[i] for k, v in metrics.items()}, seconds)
                           for i, t in enumerate(chunk_trials) if t.id in todo]
                    if record is not None:
                        record(new)
                    for r in new:
                        done_by_id[r["id"]] = r
                for i in chunk_ids:
                    r = done_by_id[i]
                    records.append(r)
                    if r["status"] == "ok" and top_trials([r] + ([best] if best else []), objective)[0] is r:
                        best = r
                if on_chunk is not None:
                    on_chunk(Progress(round_index, structure, list(chunk_ids), not todo,
                                      len(records), max(total_planned, len(records)), best,
                                      time.perf_counter() - chunk_start if todo else 0.0,
                                      time.perf_counter() - start))
        total_planned = len(records) + len(round_trials) * (rounds - round_index - 1)
    records.sort(key=lambda r: r["id"])
    return records
