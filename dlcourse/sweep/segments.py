"""A population trained in segments: run some epochs, stop, keep every trial's state, continue.

Schedules that decide between epochs which trials go on (successive halving,
:mod:`dlcourse.sweep.halving`) need what :meth:`Population.run` keeps inside its program: each
trial's *carry* after some epochs — the Trainable's state (parameters, optimizer state, PRNG key,
step count …) and its divergence :class:`~dlcourse.train.trainable.Guard`. Two programs give it::

    begin:    (hparams, seed, trial id)  ->  carry after e epochs, rows [e]
    advance:  (carry, hparams)           ->  carry after e more epochs, rows [e]

``begin`` starts a trial as :meth:`Trainable.train` does (``Trainable.start`` with
``fold_in(PRNGKey(seed), id)``); both run ``Trainable.guarded_epoch`` ``e`` times in a
``lax.scan``. Each is ``jit(vmap(·))`` with the trial axis sharded over the population's mesh
(:class:`Population`: padded to a multiple of the devices by repeating the last trial), compiled
once per (padded size, e). A trial trained in segments e₁, e₂, … runs the same epochs with the
same keys and optimizer state as one trained e₁ + e₂ + … epochs at once, so the two agree up to
the floating-point differences between compiled programs.

A carry comes back to the host as NumPy: a :class:`Carry`, the flat leaves of ``(state, guard)``
stacked over trials (typed PRNG keys as their ``key_data``, re-wrapped on the way in). The host
may select and re-pack rows (:meth:`Carry.take`), save them (:meth:`Carry.arrays`) and load them
(:meth:`Carry.from_arrays`): continuing from a saved carry is bitwise the same computation as
continuing from the one in memory.
"""

from __future__ import annotations

import time
from typing import Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.sweep.population import Population, trial_key
from dlcourse.train.compilation import compile_lowered
from dlcourse.train.trainable import Guard

__all__ = ["Carry", "Segments"]


def _is_key(leaf) -> bool:
    return jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


class Carry(NamedTuple):
    """The leaves of ``(state, guard)`` of ``n`` trials on the host: ``leaves[j]`` is
    ``[n, ...]``. Its tree structure is its :class:`Segments`'."""

    leaves: tuple[np.ndarray, ...]

    @property
    def size(self) -> int:
        return int(self.leaves[0].shape[0])

    def take(self, rows: Sequence[int]) -> "Carry":
        """The trials at ``rows`` (in that order)."""
        index = np.asarray(list(rows), np.int64)
        return Carry(tuple(leaf[index] for leaf in self.leaves))

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """``{f"{prefix}{j}": leaf}``, e.g. for ``np.savez``."""
        return {f"{prefix}{j}": leaf for j, leaf in enumerate(self.leaves)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> "Carry":
        """Inverse of :meth:`arrays`."""
        count = sum(1 for name in arrays if name.startswith(prefix) and name[len(prefix):].isdigit())
        return cls(tuple(np.asarray(arrays[f"{prefix}{j}"]) for j in range(count)))

    @classmethod
    def concatenate(cls, carries: Sequence["Carry"]) -> "Carry":
        return cls(tuple(np.concatenate(parts) for parts in zip(*(c.leaves for c in carries))))


class Segments:
    """The segment programs of one :class:`Population` (its trainable, mesh and swept names).

    Args:
      population: the population whose trainable, devices and swept hyperparameters are used.
    """

    def __init__(self, population: Population):
        self.population = population
        trainable = population.trainable
        self._key_impls: dict[int, object] = {}

        def storable_start(hparams, key):
            leaves, treedef = jax.tree.flatten(trainable.start(hparams, key))
            for j, leaf in enumerate(leaves):
                if _is_key(leaf):
                    self._key_impls[j] = jax.random.key_impl(leaf)
            return jax.tree.unflatten(treedef, [jax.random.key_data(x) if _is_key(x) else x for x in leaves])

        template = jax.eval_shape(storable_start, trainable.default_hparams(), jax.random.PRNGKey(0))
        self.leaf_shapes, self.treedef = jax.tree.flatten(template)
        swept = population.swept
        hparam_axes = {name: 0 if name in swept else None for name in trainable.hparams}

        def run_epochs(carry, hparams, epochs):
            def body(carry, _):
                state, guard = carry
                state, guard, row = trainable.guarded_epoch(state, guard, hparams)
                return (state, guard), row

            carry, rows = jax.lax.scan(body, carry, None, length=epochs)
            leaves = jax.tree.leaves(carry)
            return [jax.random.key_data(x) if _is_key(x) else x for x in leaves], rows

        def begin(hparams, seed, trial_id, epochs):
            state, guard = trainable.start(hparams, trial_key(seed, trial_id))
            return run_epochs((state, guard), hparams, epochs)

        def advance(leaves, hparams, epochs):
            leaves = [jax.random.wrap_key_data(x, impl=self._key_impls[j]) if j in self._key_impls else x
                      for j, x in enumerate(leaves)]
            return run_epochs(jax.tree.unflatten(self.treedef, leaves), hparams, epochs)

        replicated = population.replicated
        self._begin = lambda epochs: jax.jit(jax.vmap(lambda h, s, i: begin(h, s, i, epochs),
                                                      in_axes=(hparam_axes, None, 0)), out_shardings=replicated)
        self._advance = lambda epochs: jax.jit(jax.vmap(lambda c, h: advance(c, h, epochs),
                                                        in_axes=(0, hparam_axes)), out_shardings=replicated)
        self._compiled: dict[tuple, object] = {}
        #: Seconds spent compiling, per ``(kind, padded size, epochs)``.
        self.compile_seconds: dict[tuple, float] = {}

    def guard(self, carry: Carry) -> Guard:
        """The divergence guards ``[n]`` of a carry (NumPy)."""
        return jax.tree.unflatten(self.treedef, list(carry.leaves))[1]

    def _shapes(self, kind: str, size: int):
        population = self.population
        shaped = lambda shape, dtype, sharding: jax.ShapeDtypeStruct(shape, dtype, sharding=sharding)  # noqa: E731
        hparams = {name: shaped((size,), np.float32, population.trial_sharding) if name in population.swept
                   else shaped((), np.float32, population.replicated) for name in population.trainable.hparams}
        if kind == "begin":
            return (hparams, shaped((), np.uint32, population.replicated),
                    shaped((size,), np.uint32, population.trial_sharding))
        leaves = [shaped((size,) + tuple(leaf.shape), leaf.dtype, population.trial_sharding)
                  for leaf in self.leaf_shapes]
        return leaves, hparams

    def is_compiled(self, kind: str, size: int, epochs: int) -> bool:
        """True when the ``kind`` (``"begin"`` or ``"advance"``) program is compiled already."""
        return (kind, size, epochs) in self._compiled

    def compile(self, kind: str, size: int, epochs: int):
        """Compiles the ``kind`` program for ``size`` trials and ``epochs`` epochs (once; timed)."""
        if kind not in ("begin", "advance"):
            raise ValueError(f"kind must be 'begin' or 'advance', got {kind!r}")
        if epochs < 1:
            raise ValueError(f"a segment runs at least one epoch, got {epochs}")
        signature = (kind, size, epochs)
        if signature not in self._compiled:
            start = time.perf_counter()
            program = (self._begin if kind == "begin" else self._advance)(epochs)
            self._compiled[signature] = compile_lowered(program.lower(*self._shapes(kind, size)),
                                                        self.population.devices[0].platform)
            self.compile_seconds[signature] = time.perf_counter() - start
        return self._compiled[signature]

    def _hparams(self, hparams: Mapping[str, np.ndarray], n: int, pad) -> dict:
        population = self.population
        missing = sorted(set(population.trainable.hparams) - set(hparams))
        if missing:
            raise ValueError(f"hparams lack {missing}")
        stacked = {}
        for name in population.trainable.hparams:
            values = np.asarray(hparams[name], np.float32)
            if values.shape != (n,):
                raise ValueError(f"hparams[{name!r}] has shape {values.shape}; expected ({n},)")
            if name in population.swept:
                stacked[name] = population._place(pad(values), population.trial_sharding)
            elif np.all(values == values[0]):
                stacked[name] = population._place(np.asarray(values[0], np.float32), population.replicated)
            else:
                raise ValueError(f"{name} is not swept but its values differ between trials: {values}")
        return stacked

    def _size(self, n: int, size: int | None) -> int:
        if n < 1:
            raise ValueError("a population needs at least one trial")
        size = self.population.padded_size(n) if size is None else size
        if size < n or size % self.population.device_count:
            raise ValueError(f"size must be a multiple of {self.population.device_count} and >= {n}, got {size}")
        return size

    @staticmethod
    def _host(out, n: int) -> tuple[Carry, dict[str, np.ndarray]]:
        leaves, rows = out
        return Carry(tuple(np.asarray(x)[:n] for x in leaves)), {k: np.asarray(v)[:n] for k, v in rows.items()}

    def begin(self, hparams: Mapping[str, np.ndarray], seed: int, trial_ids: Sequence[int], epochs: int,
              size: int | None = None) -> tuple[Carry, dict[str, np.ndarray]]:
        """Starts the trials ``trial_ids`` (keys from ``seed``) and trains ``epochs`` epochs.

        Returns the carry and the rows ``{name: [n, epochs]}`` (NaN from a trial's divergence on).
        ``hparams`` is ``{name: [n]}`` over every numeric hyperparameter (:func:`stack_hparams`);
        ``size`` pads the call (see :meth:`Population.run`).
        """
        ids = np.asarray(list(trial_ids), np.uint32)
        n = ids.shape[0]
        size = self._size(n, size)
        pad = lambda a: np.concatenate([a, np.repeat(a[-1:], size - n, axis=0)])  # noqa: E731
        population = self.population
        out = self.compile("begin", size, epochs)(
            self._hparams(hparams, n, pad), population._place(np.asarray(seed, np.uint32), population.replicated),
            population._place(pad(ids), population.trial_sharding))
        return self._host(out, n)

    def advance(self, carry: Carry, hparams: Mapping[str, np.ndarray], epochs: int,
                size: int | None = None) -> tuple[Carry, dict[str, np.ndarray]]:
        """Trains the trials of ``carry`` ``epochs`` more epochs; returns their carry and rows."""
        n = carry.size
        if len(carry.leaves) != len(self.leaf_shapes):
            raise ValueError(f"the carry has {len(carry.leaves)} leaves; this trainable's has "
                             f"{len(self.leaf_shapes)}")
        size = self._size(n, size)
        pad = lambda a: np.concatenate([a, np.repeat(a[-1:], size - n, axis=0)])  # noqa: E731
        population = self.population
        leaves = [population._place(pad(np.asarray(x, shape.dtype)), population.trial_sharding)
                  for x, shape in zip(carry.leaves, self.leaf_shapes)]
        out = self.compile("advance", size, epochs)(leaves, self._hparams(hparams, n, pad))
        return self._host(out, n)
