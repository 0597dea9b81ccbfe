"""Mini-batching for ``lax.scan``: shuffle with a key, cut into ``[steps, batch, ...]``.

One epoch visits the ``m`` training examples in the order of a random permutation of
``0 … m − 1`` and cuts it into ``steps`` mini-batches of ``batch_size`` rows. When ``batch_size``
does not divide ``m`` the last mini-batch is partial and handled explicitly:

- ``drop_remainder=True``: the last ``m mod batch_size`` examples of the permutation are left out
  of this epoch; ``steps = ⌊m / batch_size⌋``.
- ``drop_remainder=False`` (default): the last mini-batch is **padded** up to ``batch_size`` rows;
  ``steps = ⌈m / batch_size⌉``. Padding rows repeat examples from the start of the permutation
  (real inputs, so nothing downstream sees odd values) and carry ``mask = 0``.

Either way a ``mask`` ``[steps, batch_size]`` comes back: 1.0 for a real example, 0.0 for padding
(all ones when nothing is padded). Losses and metrics weighted by it count every example of the
epoch exactly once. ``x`` and ``y`` may be pytrees of arrays (pairs of images, token arrays and
their masks): every leaf is cut the same way.

Evaluation visits a split in order, in :func:`sequential_batches`: the same cut without a shuffle,
on the host (NumPy), so a dev set becomes constant mini-batches once, before anything is compiled.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Batches(NamedTuple):
    """An epoch's mini-batches, leading axes ``[steps, batch_size]``.

    Attributes:
      x: ``[steps, batch_size, ...]`` inputs (every leaf of a pytree).
      y: ``[steps, batch_size, ...]`` labels (every leaf of a pytree).
      mask: float32 ``[steps, batch_size]``; 1.0 for a real example, 0.0 for padding.
    """

    x: jax.Array
    y: jax.Array
    mask: jax.Array


def _check_sizes(m: int, batch_size: int, drop_remainder: bool) -> None:
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, (bool, np.bool_)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if m < 1:
        raise ValueError(f"need at least one example to batch, got m={m}")
    if drop_remainder and batch_size > m:
        raise ValueError(
            f"drop_remainder=True with batch_size={batch_size} > m={m} would leave no mini-batch")


def num_steps(m: int, batch_size: int, drop_remainder: bool = False) -> int:
    """Mini-batches per epoch: ``⌊m / batch_size⌋`` if dropping the remainder, else ``⌈m / batch_size⌉``.

    Raises:
      ValueError: ``batch_size < 1``, ``m < 1``, or ``drop_remainder`` with ``batch_size > m``.
    """
    _check_sizes(m, batch_size, drop_remainder)
    m, batch_size = int(m), int(batch_size)
    return m // batch_size if drop_remainder else -(-m // batch_size)


def _rows(tree) -> int:
    leaves = jax.tree.leaves(tree)
    if not leaves:
        raise ValueError("nothing to batch: the tree has no arrays")
    counts = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if len(counts) != 1 or None in counts:
        raise ValueError(f"every array must have the same number of rows, got {sorted(map(str, counts))}")
    return counts.pop()


def shuffled_batches(key: jax.Array, x, y, batch_size: int,
                     drop_remainder: bool = False) -> Batches:
    """Shuffles ``(x, y)`` with ``key`` and cuts them into ``[steps, batch_size, ...]`` mini-batches.

    Jittable: shapes depend only on ``m = x.shape[0]``, ``batch_size`` and ``drop_remainder``
    (static). See the module docstring for the last partial batch.

    Args:
      key: PRNG key for the permutation.
      x: ``[m, ...]`` inputs (an array or a pytree of arrays).
      y: ``[m, ...]`` labels (an array or a pytree of arrays).
      batch_size: rows per mini-batch (an integer: Python or NumPy, e.g. ``np.int64``).
      drop_remainder: drop the last partial mini-batch instead of padding it.

    Returns:
      :class:`Batches` ``(x, y, mask)``.
    """
    m, m_y = _rows(x), _rows(y)
    if m_y != m:
        raise ValueError(f"x and y must have the same number of rows, got {m} and {m_y}")
    steps = num_steps(m, batch_size, drop_remainder)
    batch_size = int(batch_size)
    total = steps * batch_size
    order = jax.random.permutation(key, m)
    positions = jnp.arange(total)
    # Padding (only when not dropping) wraps around to the start of the permutation.
    rows = order[positions % m]
    mask = (positions < m).astype(jnp.float32)

    def cut(a):
        return jnp.take(a, rows, axis=0).reshape((steps, batch_size) + a.shape[1:])

    return Batches(jax.tree.map(lambda a: cut(jnp.asarray(a)), x), jax.tree.map(lambda a: cut(jnp.asarray(a)), y),
                   mask.reshape(steps, batch_size))


def sequential_batches(tree, batch_size: int, multiple_of: int = 1) -> tuple[object, np.ndarray]:
    """A split in order, cut into ``[steps, B, ...]`` host arrays, and its mask ``[steps, B]``.

    ``B = min(batch_size, m)`` rounded up to a multiple of ``multiple_of`` (the devices a batch is
    split over); ``steps = ⌈m / B⌉``. The last batch is padded with copies of the first rows,
    masked 0. Every leaf of ``tree`` (``[m, ...]``) is cut the same way; NumPy, not traced.
    """
    m = _rows(tree)
    _check_sizes(m, batch_size, False)
    if multiple_of < 1:
        raise ValueError(f"multiple_of must be >= 1, got {multiple_of}")
    size = -(-min(int(batch_size), m) // multiple_of) * multiple_of
    steps = -(-m // size)
    rows = np.arange(steps * size) % m
    mask = (np.arange(steps * size) < m).astype(np.float32).reshape(steps, size)
    cut = lambda a: np.asarray(a)[rows].reshape((steps, size) + np.shape(a)[1:])  # noqa: E731
    return jax.tree.map(cut, tree), mask
