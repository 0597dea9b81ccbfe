"""Populations: many trials of one structure trained as one compiled, sharded program.

Trials that share their structural hyperparameters differ only in *numbers* (learning rate, β's,
λ, …) and PRNG keys, so ``jax.jit(jax.vmap(trainable.train))`` over stacked hyperparameters
``{name: [n]}`` and keys ``[n, 2]`` trains all of them at once. The leading (trial) axis is sharded
over a one-axis mesh ``('trial',)`` spanning the given devices (by default ``jax.devices()``: every
device of every host under ``jax.distributed``); the population is padded to a multiple of the
device count by repeating its last trial, and the results come back replicated on every process.

Each trial under ``vmap`` is independent: a diverged trial freezes its own state
(:meth:`Trainable.guarded_epoch`) and cannot touch its neighbours.

A population larger than memory runs in chunks (:func:`plan_chunks`). :meth:`Population.max_trials_per_call`
sizes them: it compiles the program for one trial per device, reads XLA's memory analysis of it
(arguments + outputs + temporaries per device) and fits as many trials per device as a memory
budget allows: by default :data:`MEMORY_FRACTION` of :func:`device_memory_bytes`, a function of
the machine (not of the memory free now), so a resumed sweep on the same machine plans the same chunks.
"""

from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dlcourse.train.trainable import Trainable

__all__ = ["Population", "trial_keys", "plan_chunks", "stack_hparams", "device_memory_bytes",
           "MEMORY_FRACTION"]

#: The share of a device's memory (:func:`device_memory_bytes`) that a population may plan to use.
MEMORY_FRACTION = 0.5


def trial_keys(seed: int, trial_ids: Sequence[int]) -> np.ndarray:
    """PRNG keys ``fold_in(PRNGKey(seed), id)`` for each trial id, as uint32 ``[n, 2]``."""
    base = jax.random.PRNGKey(seed)
    ids = np.asarray(list(trial_ids), dtype=np.uint32)
    if ids.size == 0:
        return np.zeros((0, 2), np.uint32)
    return np.asarray(jax.vmap(lambda i: jax.random.fold_in(base, i))(ids))


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
        self.devices = list(jax.devices() if devices is None else devices)
        self.swept = tuple(trainable.hparams if swept is None else swept)
        unknown = sorted(set(self.swept) - set(trainable.hparams))
        if unknown:
            raise ValueError(f"swept names {unknown} are not hyperparameters of the trainable "
                             f"({sorted(trainable.hparams)})")
        self.mesh = Mesh(np.array(self.devices), ("trial",))
        self.trial_sharding = NamedSharding(self.mesh, PartitionSpec("trial"))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        in_axes = ({name: 0 if name in self.swept else None for name in trainable.hparams}, 0)
        self._train = jax.jit(jax.vmap(trainable.train, in_axes=in_axes), out_shardings=self.replicated)

    @property
    def device_count(self) -> int:
        return len(self.devices)

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

    def memory_per_trial(self) -> int | None:
        """Bytes per device that one trial needs, or None where XLA gives no memory analysis.

        Compiles the program for one trial per device (once; cached) and reads its argument,
        output and temporary sizes per device, less outputs aliasing arguments. What the program
        needs whatever the trial count is charged to that one trial, so the estimate errs high.
        """
        if self._memory_per_trial is False:
            size = self.device_count
            shaped = lambda shape, dtype, sharding: jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)  # noqa: E731
            hparams = {name: shaped((size,), np.float32, self.trial_sharding) if name in self.swept
                       else shaped((), np.float32, self.replicated) for name in self.trainable.hparams}
            keys = shaped((size, 2), np.uint32, self.trial_sharding)
            try:
                stats = self._train.lower(hparams, keys).compile().memory_analysis()
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

    def _place(self, host: np.ndarray) -> jax.Array:
        return jax.make_array_from_callback(host.shape, self.trial_sharding, lambda index: host[index])

    def run(self, hparams: Mapping[str, np.ndarray], keys: np.ndarray,
            size: int | None = None) -> dict[str, np.ndarray]:
        """Trains the trials ``hparams[name][i]``, ``keys[i]``; returns ``{metric: array[n, ...]}``.

        Args:
          hparams: ``{name: [n]}`` for every name in ``trainable.hparams`` (see :func:`stack_hparams`).
          keys: uint32 ``[n, 2]`` PRNG keys, one per trial.
          size: pad to this many trials (a multiple of the device count, ≥ n); default the
            smallest such. Chunks of one group pass the same ``size`` to share one compile.
        """
        keys = np.asarray(keys)
        n = keys.shape[0]
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
                stacked[name] = self._place(pad(values))
            elif np.all(values == values.flat[0]):
                stacked[name] = jax.make_array_from_callback((), self.replicated, lambda _, v=values.flat[0]: v)
            else:
                raise ValueError(f"{name} is not swept but its values differ between trials: {values}")
        out = self._train(stacked, self._place(pad(keys)))
        return {name: np.asarray(value)[:n] for name, value in out.items()}
