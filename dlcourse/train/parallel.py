"""Data parallelism on a ``jax.sharding.Mesh`` with an axis named ``'data'``.

Each mini-batch of ``B`` rows is split into ``n`` equal slices, one per device along ``'data'``
(``B/n`` rows each). A device computes the loss and gradients of its slice; the partial results are
summed across devices with ``lax.psum``. Losses are written as *sums over the global batch divided
by the global count of real examples* (``Σ_i w_i L^(i) / Σ_i w_i``, ``w`` the padding mask), so the
summed partial gradients are exactly the gradient of the whole batch: the result equals
single-device training, whatever the padding. Batch-norm statistics are shared through the
model's ``axis_name`` (every device normalizes with the global batch's ``μ`` and ``σ²``).

The same code runs on one process or many (after :func:`dlcourse.train.distributed.initialize`):
the mesh is built from the global device list, the data are identical in every process, and the
mini-batch is sharded over the mesh, so each process computes only its devices' share of it.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh ``('data',)`` over ``devices`` (default: every device of every process)."""
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("data_mesh needs at least one device, got an empty list")
    return Mesh(np.array(devices), (DATA_AXIS,))


def data_axis_size(mesh: Mesh | None) -> int:
    """Number of devices ``n`` along ``'data'`` (1 without a mesh).

    Raises:
      ValueError: the mesh has no ``'data'`` axis.
    """
    if mesh is None:
        return 1
    if DATA_AXIS not in mesh.axis_names:
        raise ValueError(f"a data-parallel mesh needs an axis named {DATA_AXIS!r}; got axes {mesh.axis_names}")
    return int(mesh.shape[DATA_AXIS])


def check_batch_divisible(batch_size: int, mesh: Mesh | None) -> None:
    """Raises ``ValueError`` unless ``batch_size`` splits evenly over the ``'data'`` devices."""
    devices = data_axis_size(mesh)
    if batch_size % devices:
        raise ValueError(
            f"batch_size={batch_size} must be divisible by the {devices} devices of the "
            f"'{DATA_AXIS}' mesh axis")


def replicate(tree: Any, mesh: Mesh | None) -> Any:
    """Constrains every leaf to be replicated over the mesh (no-op without a mesh); jittable."""
    if mesh is None:
        return tree
    return jax.lax.with_sharding_constraint(tree, NamedSharding(mesh, PartitionSpec()))


def shard_rows(tree: Any, mesh: Mesh | None, axis: int = 0) -> Any:
    """Constrains every leaf to be split over ``'data'`` along ``axis`` (no-op without a mesh)."""
    if mesh is None:
        return tree
    spec = PartitionSpec(*([None] * axis), DATA_AXIS)
    return jax.lax.with_sharding_constraint(tree, NamedSharding(mesh, spec))


def device_index(mesh: Mesh | None) -> jax.Array | int:
    """This device's position along ``'data'`` inside :func:`sum_over_devices`; 0 without a mesh."""
    return 0 if mesh is None else jax.lax.axis_index(DATA_AXIS)


def sum_over_devices(fn: Callable[..., tuple[Any, Any]], mesh: Mesh | None,
                     batch_argnums: Sequence[int]) -> Callable[..., tuple[Any, Any]]:
    """Runs ``fn`` on each device's slice of the batch arguments and sums its first output.

    ``fn(*args) -> (summed, shared)``. Arguments at ``batch_argnums`` are split along their leading
    axis over ``'data'``; the others are replicated. ``summed`` (a pytree, e.g. a partial loss and
    its gradients) is ``lax.psum``-ed over the devices; ``shared`` must already be equal on every
    device (e.g. batch-norm statistics averaged through ``axis_name='data'``) and is returned as is.
    Without a mesh this is ``fn`` itself.
    """
    if mesh is None:
        return fn
    data_axis_size(mesh)
    batch_argnums = frozenset(batch_argnums)

    def per_device(*args):
        summed, shared = fn(*args)
        return jax.lax.psum(summed, DATA_AXIS), shared

    def run(*args):
        specs = tuple(PartitionSpec(DATA_AXIS) if i in batch_argnums else PartitionSpec()
                      for i in range(len(args)))
        # check_vma=False: replicated inputs are not implicitly marked varying, so gradients with
        # respect to them stay per-device and the explicit psum above is the only reduction.
        return jax.shard_map(per_device, mesh=mesh, in_specs=specs,
                             out_specs=(PartitionSpec(), PartitionSpec()), check_vma=False)(*args)

    return run
