"""Checkpoints of a training run with orbax-checkpoint: state pytree + a JSON record.

A checkpoint is taken after an epoch and named by it. It holds two items:

- ``state``: the Trainable's state pytree — for a classifier the params, batch-norm statistics,
  optimizer state (its int32 step count included), the PRNG key and the step counter. Typed PRNG
  keys are stored as their raw ``key_data`` and re-wrapped on restore.
- ``record``: JSON — the epoch and what the caller puts in it (for :func:`dlcourse.train.babysit`:
  the divergence guard, the hyperparameters, the experiment config, the code's identity and the
  per-epoch metric rows so far).

Saving is asynchronous (the next epoch computes while the previous one is written); every write is
atomic (orbax commits a finished temporary directory), so a killed run leaves only whole
checkpoints. :meth:`TrainingCheckpoints.close` waits for pending writes. A Ctrl-C that arrives
while a save is being handed to orbax or while ``close`` waits is held back until that call has
finished (then raised as usual): an interrupted run still ends with its pending checkpoint written
and orbax's writer threads stopped, rather than with a writer failing at interpreter exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Any

import jax
import jax.numpy as jnp


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _storable(tree: Any) -> Any:
    """Typed PRNG keys replaced by their uint32 ``key_data``."""
    return jax.tree.map(lambda leaf: jax.random.key_data(leaf) if _is_key(leaf) else leaf, tree)


def _rewrap_keys(restored: Any, like: Any) -> Any:
    def rewrap(value, template):
        if _is_key(template):
            return jax.random.wrap_key_data(value, impl=jax.random.key_impl(template))
        return value

    return jax.tree.map(rewrap, restored, like)


@contextlib.contextmanager
def _interrupts_held():
    """Runs the block with SIGINT recorded instead of raised; re-delivers it afterwards to the
    handler that was installed. Outside the main thread (where handlers cannot change) a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, received[0])


class TrainingCheckpoints:
    """The checkpoints of one run in ``directory``, keeping the newest ``max_to_keep``.

    Use as a context manager (or call :meth:`close`) so pending asynchronous saves finish.
    In a multi-process run every process must make the same calls.
    """

    def __init__(self, directory: str | os.PathLike, max_to_keep: int = 2):
        if max_to_keep < 1:
            raise ValueError(f"max_to_keep must be at least 1, got {max_to_keep}")
        import orbax.checkpoint as ocp  # imported here: it is slow to import and only babysat runs need it

        self._ocp = ocp
        self.directory = os.path.abspath(os.fspath(directory))
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                               enable_async_checkpointing=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options,
                                              item_names=("state", "record"))

    def latest_epoch(self) -> int | None:
        """The epoch of the newest complete checkpoint, or None if there is none."""
        return self._manager.latest_step()

    def save(self, epoch: int, state: Any, record: dict) -> None:
        """Starts saving ``state`` and the JSON ``record`` as epoch ``epoch``."""
        ocp = self._ocp
        record = dict(record, epoch=int(epoch))
        with _interrupts_held():
            self._manager.save(epoch, args=ocp.args.Composite(
                state=ocp.args.StandardSave(_storable(state)), record=ocp.args.JsonSave(record)),
                force=True)

    def restore(self, epoch: int, like_state: Any) -> tuple[Any, dict]:
        """Restores epoch ``epoch`` as ``(state, record)``.

        ``like_state`` is a state of the same structure (e.g. a fresh ``init``); its shapes, dtypes,
        shardings and key types shape the restored arrays.
        """
        ocp = self._ocp
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, _storable(like_state))
        restored = self._manager.restore(epoch, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(target), record=ocp.args.JsonRestore()))
        return _rewrap_keys(restored["state"], like_state), dict(restored["record"])

    def read_record(self, epoch: int) -> dict:
        """The JSON record of epoch ``epoch`` alone (no arrays are read): e.g. to check that a
        checkpoint belongs to this run before restoring a state whose shapes may differ."""
        ocp = self._ocp
        restored = self._manager.restore(epoch, args=ocp.args.Composite(record=ocp.args.JsonRestore()))
        return dict(restored["record"])

    def wait(self) -> None:
        """Blocks until every pending save is on disk."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves and releases the manager."""
        with _interrupts_held():
            self._manager.wait_until_finished()
            self._manager.close()

    def __enter__(self) -> "TrainingCheckpoints":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
