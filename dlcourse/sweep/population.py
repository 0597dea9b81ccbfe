"""Populations: many trials of one structure trained as one compiled, sharded program.

Trials that share their structural hyperparameters differ only in *numbers* (learning rate, β's,
λ, …) and PRNG keys, so ``jax.jit(jax.vmap(trainable.train))`` over stacked hyperparameters
``{name: [n]}`` and keys ``[n, 2]`` trains all of them at once. The leading (trial) axis is sharded
over a one-axis mesh ``('trial',)`` spanning the given devices (by default ``jax.devices()``: every
device of every host under ``jax.distributed``); the population is padded to a multiple of the
device count by repeating its last trial, and the results come back replicated on every process.

Each trial under ``vmap`` is independent: a diverged trial freezes its own state
(:meth:`Trainable.guarded_epoch`) and cannot touch its neighbours. Each trial's PRNG key,
``fold_in(PRNGKey(seed), trial id)`` (:func:`trial_key`), is derived inside the program from the
seed and the trial ids, so nothing but the population itself is compiled.

A Trainable built with a data-parallel mesh (``Trainable.mesh``) already spreads every trial's
batches over that mesh's devices; its population runs on the same mesh with the trial axis
unsharded (each device holds its share of every trial's batch).

:meth:`Population.compile` compiles ahead of the first call and reports the time it took, so a
progress line can say "compiling" and training times exclude compilation.

A population larger than memory runs in chunks (:func:`plan_chunks`). :meth:`Population.max_trials_per_call`
sizes them: it compiles the program for one trial per device, reads XLA's memory analysis of it
(arguments + outputs + temporaries per device) and fits as many trials per device as a memory
budget allows: by default :data:`MEMORY_FRACTION` of :func:`device_memory_bytes`, a function of
the machine (not of the memory free now), so a resumed sweep on the same machine plans the same chunks.
"""

from __future__ import annotations

import math
import os
import time
from typing import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dlcourse.train.compilation import compile_lowered
from dlcourse.train.trainable import Trainable

__all__ = ["Population", "trial_key", "trial_keys", "plan_chunks", "stack_hparams", "device_memory_bytes",
           "MEMORY_FRACTION"]

#: The share of a device's memory (:func:`device_memory_bytes`) that a population may plan to use.
MEMORY_FRACTION = 0.5


def trial_key(seed, trial_id) -> jax.Array:
    """The PRNG key of trial ``trial_id`` of a sweep seeded ``seed``: ``fold_in(PRNGKey(seed), id)``,
    uint32 ``[2]``; jittable (``seed`` and ``trial_id`` may be traced uint32 scalars)."""
    return jax.random.fold_in(jax.random.PRNGKey(seed), trial_id)


def trial_keys(seed: int, trial_ids: Sequence[int]) -> np.ndarray:
    """:func:`trial_key` of each trial id, as uint32 ``[n, 2]``."""
    ids = np.asarray(list(trial_ids), dtype=np.uint32)
    if ids.size == 0:
        return np.zeros((0, 2), np.uint32)
    return np.asarray(_vmapped_trial_keys(np.uint32(seed), ids))


# One traced function for every call (a lambda made per call would be traced again each time).
_vmapped_trial_keys = jax.jit(jax.vmap(trial_key, in_axes=(None, 0)))


def stack_hparams(trainable: Trainable, values: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
    """``{name: float32[n]}`` over ``trainable.hparams``: each trial's value, else the default.

    Raises:
      ValueError: a trial names a hyperparameter the trainable does not read.
    """
    for trial in values:
        unknown = sorted(set(trial) - set(trainable.hparams))
        if unknown:
            raise ValueError(f"{unknown} are not numeric hyperparameters of this experiment "
                             f"(it reads {sorted(trainable.hparams)})")
    return {name: np.asarray([float(trial.get(name, default)) for trial in values], np.float32)
            for name, default in trainable.hparams.items()}


def plan_chunks(trial_ids: Sequence[int], chunk_size: int | None, device_count: int) -> list[list[int]]:
    """Splits a group's trial ids (in id order) into equal chunks, a function of the ids alone.

    ``chunk_size`` (None: no limit) is first rounded down to a multiple of ``device_count`` (at
    least one per device). The group then takes the fewest chunks of at most that size, all of
    the same size ⌈n / chunks⌉ except a shorter last one; every chunk is padded to the same
    multiple of ``device_count`` (:meth:`Population.padded_size`), so one compile serves them all.
    """
    if device_count < 1:
        raise ValueError(f"device_count must be >= 1, got {device_count}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk size must be >= 1, got {chunk_size}")
    ids = sorted(trial_ids)
    if not ids:
        return []
    limit = len(ids) if chunk_size is None else max(device_count, chunk_size // device_count * device_count)
    count = math.ceil(len(ids) / limit)
    size = math.ceil(len(ids) / count)
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def device_memory_bytes(device: jax.Device) -> int:
    """The memory of one device, a function of the machine rather than of what is free now.

    An accelerator's ``memory_stats()["bytes_limit"]`` where it reports one; otherwise (CPU) the
    machine's physical memory shared equally among its local devices of that platform.
    """
    try:
        stats = device.memory_stats()
    except Exception:  # backends without memory statistics
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return physical // max(1, len(jax.local_devices(backend=device.platform)))


class Population:
    """The compiled population program for one :class:`Trainable`, re-used across chunks.

    Args:
      trainable: the experiment built for one structure.
      devices: devices of the ``trial`` mesh axis; default ``jax.devices()`` (all processes).
        Ignored for a Trainable with its own mesh (see the module docstring).
      swept: the numeric hyperparameters that differ between trials; default all of
        ``trainable.hparams``. Only these are vmapped: the others enter the program as shared
        scalars, so code that branches on them with ``lax.cond`` (e.g. dropout at
        ``keep_prob = 1``) keeps a real branch instead of computing both sides for every trial.
      memory_budget_bytes: memory per device that one call may use, for
        :meth:`max_trials_per_call`; default :data:`MEMORY_FRACTION` of the smallest
        :func:`device_memory_bytes` among this process's devices of the mesh.
    """

    def __init__(self, trainable: Trainable, devices: Sequence[jax.Device] | None = None,
                 swept: Sequence[str] | None = None, memory_budget_bytes: int | None = None):
        self.trainable = trainable
        self._memory_budget_bytes = memory_budget_bytes
        self._memory_per_trial: int | None | bool = False  # False: not probed yet
        self.swept = tuple(trainable.hparams if swept is None else swept)
        unknown = sorted(set(self.swept) - set(trainable.hparams))
        if unknown:
            raise ValueError(f"swept names {unknown} are not hyperparameters of the trainable "
                             f"({sorted(trainable.hparams)})")
        if trainable.mesh is not None:
            self.mesh = trainable.mesh
            self.devices = list(np.asarray(self.mesh.devices).flat)
            self.trial_sharding = NamedSharding(self.mesh, PartitionSpec())
            self.shards = 1
        else:
            self.devices = list(jax.devices() if devices is None else devices)
            self.mesh = Mesh(np.array(self.devices), ("trial",))
            self.trial_sharding = NamedSharding(self.mesh, PartitionSpec("trial"))
            self.shards = len(self.devices)
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        in_axes = ({name: 0 if name in self.swept else None for name in trainable.hparams}, None, 0)

        def train(hparams, seed, trial_id):
            return trainable.train(hparams, trial_key(seed, trial_id))

        self._train = jax.jit(jax.vmap(train, in_axes=in_axes), out_shardings=self.replicated)
        self._compiled: dict[int, object] = {}
        #: Seconds spent compiling, per padded size.
        self.compile_seconds: dict[int, float] = {}

    @property
    def device_count(self) -> int:
        """The number of devices the trial axis is split over (1 for a data-parallel Trainable)."""
        return self.shards

    def padded_size(self, n: int) -> int:
        """``n`` rounded up to a multiple of the device count."""
        return math.ceil(n / self.device_count) * self.device_count

    @property
    def memory_budget_bytes(self) -> int:
        """Memory per device that one call may use (see the constructor)."""
        if self._memory_budget_bytes is None:
            local = [d for d in self.devices if d.process_index == jax.process_index()] or jax.local_devices()[:1]
            self._memory_budget_bytes = int(MEMORY_FRACTION * min(device_memory_bytes(d) for d in local))
        return self._memory_budget_bytes

    def _shapes(self, size: int):
        shaped = lambda shape, dtype, sharding: jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)  # noqa: E731
        hparams = {name: shaped((size,), np.float32, self.trial_sharding) if name in self.swept
                   else shaped((), np.float32, self.replicated) for name in self.trainable.hparams}
        return hparams, shaped((), np.uint32, self.replicated), shaped((size,), np.uint32, self.trial_sharding)

    def is_compiled(self, size: int) -> bool:
        """True when the program for ``size`` trials is compiled already."""
        return size in self._compiled

    def compile(self, size: int):
        """Compiles the program for ``size`` trials (once; timed in :attr:`compile_seconds`)."""
        if size not in self._compiled:
            start = time.perf_counter()
            self._compiled[size] = compile_lowered(self._train.lower(*self._shapes(size)), self.devices[0].platform)
            self.compile_seconds[size] = time.perf_counter() - start
        return self._compiled[size]

    def memory_per_trial(self) -> int | None:
        """Bytes per device that one trial needs, or None where XLA gives no memory analysis.

        Compiles the program for one trial per device (once; cached) and reads its argument,
        output and temporary sizes per device, less outputs aliasing arguments. What the program
        needs whatever the trial count is charged to that one trial, so the estimate errs high.
        """
        if self._memory_per_trial is False:
            try:
                stats = self.compile(self.device_count).memory_analysis()
            except NotImplementedError:
                stats = None
            if stats is None:
                self._memory_per_trial = None
            else:
                total = (stats.argument_size_in_bytes + stats.output_size_in_bytes
                         + stats.temp_size_in_bytes - stats.alias_size_in_bytes)
                self._memory_per_trial = max(1, int(total))
        return self._memory_per_trial

    def max_trials_per_call(self) -> int | None:
        """The most trials one call fits in :attr:`memory_budget_bytes` per device (a multiple
        of the device count, at least one per device), or None where memory cannot be estimated.
        Costs one compile the first time (:meth:`memory_per_trial`)."""
        per_trial = self.memory_per_trial()
        if per_trial is None:
            return None
        return max(1, self.memory_budget_bytes // per_trial) * self.device_count

    def _place(self, host: np.ndarray, sharding) -> jax.Array:
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def run(self, hparams: Mapping[str, np.ndarray], seed: int, trial_ids: Sequence[int],
            size: int | None = None) -> dict[str, np.ndarray]:
        """Trains the trials ``hparams[name][i]`` with the keys of ``(seed, trial_ids[i])``;
        returns ``{metric: array[n, ...]}``.

        Args:
          hparams: ``{name: [n]}`` for every name in ``trainable.hparams`` (see :func:`stack_hparams`).
          seed: the sweep's seed (see :func:`trial_key`).
          trial_ids: the ``n`` trial ids.
          size: pad to this many trials (a multiple of the device count, ≥ n); default the
            smallest such. Chunks of one group pass the same ``size`` to share one compile.
        """
        ids = np.asarray(list(trial_ids), np.uint32)
        n = ids.shape[0]
        missing = sorted(set(self.trainable.hparams) - set(hparams))
        if missing:
            raise ValueError(f"hparams lack {missing}")
        if n < 1:
            raise ValueError("a population needs at least one trial")
        size = self.padded_size(n) if size is None else size
        if size < n or size % self.device_count:
            raise ValueError(f"size must be a multiple of {self.device_count} and >= {n}, got {size}")
        pad = lambda a: np.concatenate([a, np.repeat(a[-1:], size - n, axis=0)])  # noqa: E731
        stacked = {}
        for name in self.trainable.hparams:
            values = np.asarray(hparams[name], np.float32)
            if name in self.swept:
                stacked[name] = self._place(pad(values), self.trial_sharding)
            elif np.all(values == values.flat[0]):
                stacked[name] = self._place(np.asarray(values.flat[0], np.float32), self.replicated)
            else:
                raise ValueError(f"{name} is not swept but its values differ between trials: {values}")
        program = self.compile(size)
        out = program(stacked, self._place(np.asarray(seed, np.uint32), self.replicated),
                      self._place(pad(ids), self.trial_sharding))
        return {name: np.asarray(value)[:n] for name, value in out.items()}
