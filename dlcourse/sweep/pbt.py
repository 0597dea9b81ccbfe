"""Population-based training (PBT) as one compiled, sharded program per ready interval.

n trials of one structure — they differ only in numeric hyperparameters and PRNG keys — start
from the points a search method samples (:func:`dlcourse.sweep.search.sample_round`, round 0),
each initialized by ``Trainable.init`` under ``vmap``. Then, interval after interval, one jitted
program

1. trains every trial K = ``ready_every`` epochs (``Trainable.guarded_epoch`` under ``vmap``,
   chained by ``lax.scan``), reading each trial's *current* hyperparameters, ``{name: [n]}``;
2. ranks the trials by their dev objective at the interval's last epoch (diverged trials last),
   and lets the bottom quantile copy the state, divergence guard and hyperparameters of the top
   quantile and explore the copied hyperparameters (:mod:`dlcourse.sweep.pbt_exploit`).

The copy is a gather along the trial axis, which (as in :class:`dlcourse.sweep.Population`) is
sharded over a one-axis mesh ``('trial',)`` of the given devices, the population padded to a
multiple of the device count by repeating its last trial; the padding never takes part in the
ranking, so results do not depend on the device count. Training needs no communication between
devices; the ranking and the copy gather across them once per interval. Epoch budget
E = ``Trainable.epochs``: the run has ⌈E / K⌉ intervals, the last one possibly shorter and
followed by no exploit. Every interval runs the same compiled program (the epochs to run and
whether to exploit are traced arguments), so a run compiles two programs: the initialization and
the interval.

**Keys.** Trial i's training key is ``fold_in(PRNGKey(seed), first_id + i)``, as in a sweep; the
exploit/explore draws after interval j use ``fold_in(fold_in(PRNGKey(seed), 2³² − 1), j)`` (an id
no trial reaches). A copy inherits the state's key with the rest of the state, so it shares its
source's stream of mini-batch orders; its explored hyperparameters make it differ.

**Records** are :func:`dlcourse.sweep.runner.make_record`'s (``id``, ``round`` 0, ``hparams`` —
the final ones —, ``metrics``, ``status``, ``seconds``) plus ``lineage``, a list of
``{"epoch": e, "copied_from": id}`` (after epoch e the trial took trial ``id``'s state), and
``hparam_schedule``, one ``{"from_epoch": s, "to_epoch": e, "hparams": {…}}`` per interval (in
force for epochs s + 1 … e). The metrics are those of the trial *slot*: its curves run over all E
epochs through every copy; ``final_<k>`` is the value at the last finite epoch, ``best_dev_<m>``
the best finite one, ``diverged``/``exploded`` the final guard's, ``epochs_run`` the finite epochs.

**Resume.** With ``workdir``, after every interval the population — state, guards, current
hyperparameters, curves, lineage, schedule and the index of the next interval (the only RNG
state: every key derives from the seed) — is written atomically to ``<workdir>/pbt_state.npz``; a
rerun with the same settings restores it and continues, giving the records of an uninterrupted
run (except ``seconds``). A file from other settings or another model structure is refused. The
trial axis is saved unpadded, so a run may resume on another device count.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dlcourse.sweep.pbt_exploit import exploit_and_explore, exploit_count, ranking_scores
from dlcourse.sweep.population import trial_key
from dlcourse.sweep.runner import make_record
from dlcourse.sweep.search import SEARCH_METHODS, Trial, sample_round
from dlcourse.sweep.spaces import Choice, Space
from dlcourse.train.compilation import compile_lowered
from dlcourse.train.reporting import write_atomically
from dlcourse.train.trainable import Guard, Trainable

__all__ = ["run_pbt", "plot_lineage", "check_pbt_spaces", "IntervalProgress", "CHECKPOINT_FILE",
           "EXPLOIT_METHODS", "EXPLORE_METHODS", "EXPLORE_STREAM"]

#: The population's file in the workdir.
CHECKPOINT_FILE = "pbt_state.npz"
EXPLOIT_METHODS = ("truncation",)
#: ``perturb``: resample with ``resample_probability``, else perturb; ``resample``: always resample.
EXPLORE_METHODS = ("perturb", "resample")
#: The id folded into the seed's key for the exploit/explore stream (see the module docstring).
EXPLORE_STREAM = 2**32 - 1


class IntervalProgress(NamedTuple):
    """Sent after each interval (and once for each interval restored from the workdir)."""

    interval: int        # the interval just finished, from 0
    intervals: int       # ⌈E / K⌉
    epochs_done: int
    epochs: int          # E
    best: float | None   # the best dev objective at the interval's end among non-diverged trials
    seconds: float       # wall time of this interval, compiling excluded (0 when restored)
    restored: bool


def _extremes(space: Space) -> list[float]:
    if isinstance(space, Choice):
        return [float(o) for o in space.options]
    return [float(space.from_unit(0.0)), float(space.from_unit(1.0))]


def check_pbt_spaces(trainable: Trainable, spaces: Mapping[str, Space]) -> None:
    """Raises ``ValueError`` unless every key is a numeric hyperparameter the trainable reads,
    with a numeric space inside the hyperparameter's domain: trials copy each other's state, so
    they must share one structure."""
    for key, space in spaces.items():
        reason = (trainable.unread or {}).get(key)
        if reason is not None:
            raise ValueError(f"{key} cannot be swept: {reason}; sweeping it would vary nothing")
        if key not in trainable.hparams:
            raise ValueError(f"{key} is not a numeric hyperparameter of this experiment (it has "
                             f"{', '.join(sorted(trainable.hparams))}); population-based training copies "
                             f"state between trials, so structural keys cannot be swept")
        if not space.numeric:
            raise ValueError(f"{key} is a numeric hyperparameter; {space.spec()} has non-numeric options")
        for value in _extremes(space):
            trainable.check_hparams({key: value})


def _plain(space: Space, value) -> float | int:
    value = float(value)
    return int(round(value)) if space.integer else value


def _key_data(leaf):
    return jax.random.key_data(leaf) if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key) else leaf


def _storable(leaf):
    """A leaf as a host array (typed PRNG keys as their ``key_data``)."""
    leaf = _key_data(leaf)
    if not leaf.is_fully_addressable:
        from jax.experimental import multihost_utils
        leaf = multihost_utils.process_allgather(leaf, tiled=True)
    return np.asarray(leaf)


def _slot_metrics(curves: Mapping[str, np.ndarray], diverged: bool, exploded: bool, objective) -> dict:
    """:func:`dlcourse.train.trainable.summarize` of one slot whose NaN epochs may lie anywhere."""
    finite = np.isfinite(curves["train_loss"])
    run = np.flatnonzero(finite)
    out = {k: v for k, v in curves.items()}
    out.update({f"final_{k}": (v[run[-1]] if run.size else np.nan) for k, v in curves.items()})
    dev = curves[f"dev_{objective.name}"][run]
    best = (np.max(dev) if objective.goal == "max" else np.min(dev)) if run.size else np.nan
    out[f"best_dev_{objective.name}"] = best
    out.update(diverged=np.bool_(diverged), exploded=np.bool_(exploded), epochs_run=np.int32(run.size))
    return out


class _Programs:
    """The jitted initialization and interval of one population (see the module docstring)."""

    def __init__(self, trainable, spaces, trials, devices, ready_every, count, resample_probability):
        self.trainable, self.trials, self.ready_every = trainable, trials, ready_every
        if trainable.mesh is not None:
            self.mesh = trainable.mesh
            self.devices = list(np.asarray(self.mesh.devices).flat)
            self.trial_sharding, shards = NamedSharding(self.mesh, PartitionSpec()), 1
        else:
            self.devices = list(jax.devices() if devices is None else devices)
            self.mesh = Mesh(np.array(self.devices), ("trial",))
            self.trial_sharding, shards = NamedSharding(self.mesh, PartitionSpec("trial")), len(self.devices)
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.size = math.ceil(trials / shards) * shards
        objective, n, size = trainable.objective, trials, self.size

        def init(swept, shared, seed, ids):
            start = lambda h, i: trainable.start({**shared, **h}, trial_key(seed, i))  # noqa: E731
            return jax.vmap(start)(swept, ids)

        def interval(state, guard, swept, shared, seed, index, epochs_to_run, exploit_now):
            epoch = jax.vmap(lambda s, g, h: trainable.guarded_epoch(s, g, {**shared, **h}))
            row_shapes = jax.eval_shape(epoch, state, guard, swept)[2]

            def body(carry, e):
                def run(carry):
                    state, guard, row = epoch(*carry, swept)
                    return (state, guard), row

                def skip(carry):
                    return carry, {k: jnp.full(v.shape, jnp.nan, v.dtype) for k, v in row_shapes.items()}

                return jax.lax.cond(e < epochs_to_run, run, skip, carry)

            (state, guard), rows = jax.lax.scan(body, (state, guard), jnp.arange(ready_every))
            dev = rows[f"dev_{objective.name}"][epochs_to_run - 1, :n]
            scores = ranking_scores(dev, guard.diverged[:n], objective.goal)
            key = jax.random.fold_in(trial_key(seed, jnp.uint32(EXPLORE_STREAM)), index)
            sources, explored = exploit_and_explore(key, scores, {k: v[:n] for k, v in swept.items()},
                                                    spaces, count, resample_probability)
            sources = jnp.concatenate([jnp.where(exploit_now, sources, jnp.arange(n)), jnp.arange(n, size)])
            swept = {k: jnp.where(exploit_now, jnp.concatenate([explored[k], v[n:]]), v) for k, v in swept.items()}
            take = lambda x: jnp.take(x, sources, axis=0)  # noqa: E731
            return jax.tree.map(take, state), jax.tree.map(take, guard), swept, rows, sources

        trial, replicated = self.trial_sharding, self.replicated
        self._init = jax.jit(init, out_shardings=trial)
        self._interval = jax.jit(interval, out_shardings=(trial, trial, trial, replicated, replicated),
                                 donate_argnums=(0, 1))
        self._compiled_interval = None
        self.compile_seconds = 0.0

    def place(self, host, trial_axis: bool = True) -> jax.Array:
        """A host array on the mesh; with ``trial_axis``, padded to :attr:`size` and sharded."""
        host = np.asarray(host)
        if trial_axis:
            host = np.concatenate([host, np.repeat(host[-1:], self.size - host.shape[0], axis=0)])
        sharding = self.trial_sharding if trial_axis else self.replicated
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def state_shapes(self, swept, shared, seed, ids):
        return jax.eval_shape(self._init, swept, shared, seed, ids)

    def init(self, swept, shared, seed, ids):
        program = compile_lowered(self._init.lower(swept, shared, seed, ids), self.devices[0].platform)
        return program(swept, shared, seed, ids)

    @property
    def is_compiled(self) -> bool:
        return self._compiled_interval is not None

    def interval(self, *args):
        if self._compiled_interval is None:
            start = time.perf_counter()
            self._compiled_interval = compile_lowered(self._interval.lower(*args), self.devices[0].platform)
            self.compile_seconds = time.perf_counter() - start
        return self._compiled_interval(*args)


def _fingerprint(trainable, spaces, **settings) -> dict:
    return dict(settings, epochs=trainable.epochs, spaces={k: s.spec() for k, s in spaces.items()},
                defaults={k: float(v) for k, v in trainable.hparams.items()})


class _Run(NamedTuple):
    """What a run has done: enough to continue it (saved at each ready boundary) or to record it."""

    next_interval: int
    state: Any                          # on the mesh, padded
    guard: Guard                        # on the mesh, padded
    hparams: dict[str, np.ndarray]      # the swept values now in force, [n]
    curves: dict[str, np.ndarray]       # [n, epochs done]
    sources: list[np.ndarray]           # per finished interval: whose state each trial took, [n]
    schedule: list[np.ndarray]          # per finished interval: the values in force, [n, d]
    seconds: float                      # training time so far, compiling excluded


def run_pbt(trainable: Trainable, spaces: Mapping[str, Space], *, trials: int, seed: int, ready_every: int,
            exploit: str = "truncation", explore: str = "perturb", fraction: float = 0.25,
            resample_probability: float = 0.25, devices: Sequence[jax.Device] | None = None,
            first_id: int = 0, workdir: str | os.PathLike | None = None,
            on_status: Callable[[str], None] | None = None, search: str = "random",
            on_interval: Callable[[IntervalProgress], None] | None = None) -> list[dict]:
    """Trains a population with PBT (see the module docstring); returns its records in id order.

    The whole population is one program (it is not split into chunks as :func:`dlcourse.sweep.run_sweep` may
    split a large group), so it must fit in the devices' memory.

    Args:
      trainable: one structure; ``trainable.epochs`` is the epoch budget E.
      spaces: ``{name: Space}``; numeric hyperparameters only (:func:`check_pbt_spaces`).
      trials, seed, first_id: population size, the sweep's seed, the first trial's id.
      ready_every: K, epochs between exploit/explore steps.
      exploit: ``"truncation"``; explore: ``"perturb"`` or ``"resample"`` (:data:`EXPLORE_METHODS`).
      fraction: the top and bottom quantile, in (0, 0.5].
      resample_probability: per copied hyperparameter, under ``explore="perturb"``.
      devices: the ``trial`` mesh (default ``jax.devices()``).
      workdir: where the population is saved after each interval and resumed from.
      on_status: called with a line when the interval program compiles and when it is compiled.
      search: how the initial points are sampled (:data:`dlcourse.sweep.search.SEARCH_METHODS`).
      on_interval: called with an :class:`IntervalProgress` after each interval.
    """
    if trials < 1:
        raise ValueError(f"trials must be >= 1, got {trials}")
    if ready_every < 1:
        raise ValueError(f"ready_every must be >= 1, got {ready_every}")
    if exploit not in EXPLOIT_METHODS:
        raise ValueError(f"exploit must be one of {EXPLOIT_METHODS}, got {exploit!r}")
    if explore not in EXPLORE_METHODS:
        raise ValueError(f"explore must be one of {EXPLORE_METHODS}, got {explore!r}")
    if not 0 <= resample_probability <= 1:
        raise ValueError(f"resample_probability must be in [0, 1], got {resample_probability}")
    if search not in SEARCH_METHODS:
        raise ValueError(f"search must be one of {SEARCH_METHODS}, got {search!r}")
    check_pbt_spaces(trainable, spaces)
    spaces = dict(spaces)
    say = on_status or (lambda text: None)
    population = sample_round(spaces, search, seed, 0, first_id, trials)
    n, epochs, names = len(population), trainable.epochs, list(spaces)
    intervals = math.ceil(epochs / ready_every)
    programs = _Programs(trainable, spaces, n, devices, ready_every, exploit_count(n, fraction),
                         1.0 if explore == "resample" else resample_probability)
    shared = {k: programs.place(np.float32(v), False) for k, v in trainable.hparams.items() if k not in spaces}
    ids = np.asarray([t.id for t in population], np.uint32)
    seed_array, ids_array = programs.place(np.uint32(seed), False), programs.place(ids)
    hparams = {k: np.asarray([t.hparams[k] for t in population], np.float32) for k in names}
    path = None if workdir is None else os.path.join(os.fspath(workdir), CHECKPOINT_FILE)
    fingerprint = _fingerprint(trainable, spaces, trials=trials, seed=seed, first_id=first_id,
                               ready_every=ready_every, exploit=exploit, explore=explore, fraction=fraction,
                               resample_probability=resample_probability, search=search)
    swept = {k: programs.place(v) for k, v in hparams.items()}
    if path is not None and os.path.exists(path):
        shapes = programs.state_shapes(swept, shared, seed_array, ids_array)[0]
        run = _load(path, fingerprint, shapes, programs)
        swept = {k: programs.place(v) for k, v in run.hparams.items()}
    else:
        state, guard = programs.init(swept, shared, seed_array, ids_array)
        run = _Run(0, state, guard, hparams, {}, [], [], 0.0)
    for j in range(run.next_interval):
        _report(on_interval, j, intervals, ready_every, epochs, run.curves, trainable, 0.0, True)

    for j in range(run.next_interval, intervals):
        interval_start = time.perf_counter()
        length = min(ready_every, epochs - j * ready_every)
        fresh = not programs.is_compiled
        if fresh:
            say(f"compiling {programs.size} trials for population-based training")
        state, guard, swept, rows, sources = programs.interval(
            run.state, run.guard, swept, shared, seed_array, programs.place(np.int32(j), False),
            programs.place(np.int32(length), False), programs.place(np.bool_(j < intervals - 1), False))
        if fresh:
            say(f"compiled in {programs.compile_seconds:.1f}s")
        rows = {k: np.asarray(v)[:length, :n].T for k, v in rows.items()}
        in_force = np.stack([run.hparams[k] for k in names], axis=-1) if names else np.zeros((n, 0), np.float32)
        run = _Run(j + 1, state, guard, {k: _storable(v)[:n] for k, v in swept.items()},
                   {k: np.concatenate([run.curves[k], v], axis=1) if k in run.curves else v for k, v in rows.items()},
                   run.sources + [np.asarray(sources)[:n]], run.schedule + [in_force], run.seconds)
        seconds = time.perf_counter() - interval_start - (programs.compile_seconds if fresh else 0.0)
        run = run._replace(seconds=run.seconds + seconds)
        if path is not None:
            _save(path, fingerprint, run, n)
        _report(on_interval, j, intervals, ready_every, epochs, run.curves, trainable, seconds, False)
    return _records(run, population, spaces, trainable, ready_every)


def _records(run: _Run, population: Sequence[Trial], spaces, trainable, ready_every) -> list[dict]:
    n, names, epochs = len(population), list(spaces), trainable.epochs
    diverged, exploded = _storable(run.guard.diverged)[:n], _storable(run.guard.exploded)[:n]
    records = []
    for i, trial in enumerate(population):
        metrics = _slot_metrics({k: v[i] for k, v in run.curves.items()}, diverged[i], exploded[i],
                                trainable.objective)
        final = {k: _plain(spaces[k], run.hparams[k][i]) for k in names}
        record = make_record(Trial(trial.id, 0, final), metrics, run.seconds / n)
        record["lineage"] = [{"epoch": (j + 1) * ready_every, "copied_from": population[s[i]].id}
                             for j, s in enumerate(run.sources) if s[i] != i]
        record["hparam_schedule"] = [
            {"from_epoch": j * ready_every, "to_epoch": min((j + 1) * ready_every, epochs),
             "hparams": {k: _plain(spaces[k], values[i, c]) for c, k in enumerate(names)}}
            for j, values in enumerate(run.schedule)]
        records.append(record)
    return sorted(records, key=lambda r: r["id"])


def _report(on_interval, j, intervals, ready_every, epochs, curves, trainable, seconds, restored):
    if on_interval is None:
        return
    done = min((j + 1) * ready_every, epochs)
    dev = curves[f"dev_{trainable.objective.name}"][:, done - 1]
    finite = dev[np.isfinite(dev)]
    best = None if not finite.size else float(finite.max() if trainable.objective.goal == "max" else finite.min())
    on_interval(IntervalProgress(j, intervals, done, epochs, best, seconds, restored))


def _save(path, fingerprint, run: _Run, n: int) -> None:
    arrays = {"fingerprint": np.asarray(json.dumps(fingerprint, sort_keys=True)),
              "next_interval": np.int32(run.next_interval), "seconds": np.float64(run.seconds),
              "sources": np.stack(run.sources), "schedule": np.stack(run.schedule)}
    for i, leaf in enumerate(jax.tree.leaves(run.state)):
        arrays[f"state_{i}"] = _storable(leaf)[:n]
    for name in Guard._fields:
        arrays[f"guard_{name}"] = _storable(getattr(run.guard, name))[:n]
    arrays.update({f"hparam_{k}": v for k, v in run.hparams.items()})
    arrays.update({f"curve_{k}": v for k, v in run.curves.items()})
    if jax.process_index() == 0:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, lambda f: np.savez(f, **arrays), binary=True)


def _load(path, fingerprint, shapes, programs) -> _Run:
    with np.load(path, allow_pickle=False) as saved:
        stored = json.loads(str(saved["fingerprint"]))
        wanted = json.loads(json.dumps(fingerprint, sort_keys=True))
        differing = [k for k in sorted(set(stored) | set(wanted)) if stored.get(k) != wanted.get(k)]
        if differing:
            k = differing[0]
            raise ValueError(f"{path} holds another population-based training run ({k}: stored "
                             f"{stored.get(k)!r}, now {wanted.get(k)!r}); delete it or use another workdir")
        leaves, treedef = jax.tree.flatten(shapes)
        wanted = [(s.shape[1:], s.dtype) for s in jax.eval_shape(lambda t: [_key_data(x) for x in t], leaves)]
        stored = [(saved[k].shape[1:], saved[k].dtype) for k in (f"state_{i}" for i in range(len(leaves)))
                  if k in saved.files]
        if stored != wanted or f"state_{len(leaves)}" in saved.files:
            raise ValueError(f"{path} holds the state of another model structure; delete it or use another workdir")

        def restore(i, shape):
            value = programs.place(saved[f"state_{i}"])
            if jnp.issubdtype(shape.dtype, jax.dtypes.prng_key):
                value = jax.random.wrap_key_data(value, impl=shape.dtype._impl)
            return value

        return _Run(
            next_interval=int(saved["next_interval"]),
            state=jax.tree.unflatten(treedef, [restore(i, s) for i, s in enumerate(leaves)]),
            guard=Guard(*(programs.place(saved[f"guard_{name}"]) for name in Guard._fields)),
            hparams={k[len("hparam_"):]: saved[k] for k in saved.files if k.startswith("hparam_")},
            curves={k[len("curve_"):]: saved[k] for k in saved.files if k.startswith("curve_")},
            sources=list(saved["sources"]), schedule=list(saved["schedule"]), seconds=float(saved["seconds"]))


def plot_lineage(records: Sequence[Mapping], path: str | os.PathLike, spaces: Mapping[str, Space] | None = None,
                 objective_name: str | None = None) -> None:
    """Draws each trial's lineage and hyperparameter schedule as a PNG (:mod:`.pbt_plots`)."""
    from dlcourse.sweep.pbt_plots import draw_lineage
    draw_lineage(records, path, spaces=spaces, objective_name=objective_name)
