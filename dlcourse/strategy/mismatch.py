"""Training and dev/test from different distributions: the training-dev set and the mismatch diagnosis.

The training-dev set is carved out of the training distribution and not trained on, so
train → train-dev measures variance and train-dev → dev measures data mismatch.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from dlcourse.strategy.human_level import Diagnosis, diagnose

__all__ = ["train_dev_split", "diagnose_data_mismatch"]


def _split_size(size: int | float, num_examples: int) -> int:
    if isinstance(size, bool):
        raise ValueError(f"size must be a count or a fraction, got {size!r}")
    if isinstance(size, float):
        if not 0.0 < size < 1.0:
            raise ValueError(f"size as a fraction must be in (0, 1), got {size}")
        count = int(round(size * num_examples))
    else:
        count = int(size)
    if not 0 < count < num_examples:
        raise ValueError(
            f"size must leave at least one example on each side, got {size!r} of {num_examples} examples"
        )
    return count


def train_dev_split(x, y, size: int | float, seed: int = 0, *, axis: int = 0):
    """Carve a training-dev set out of the training set: same distribution, not trained on.

    ``size``: the number of training-dev examples (int) or their fraction (float in (0, 1)).
    Examples lie along ``axis`` of ``x`` and ``y`` (0: examples first; use ``axis=-1`` for the
    course's X of shape (n_x, m)). A random permutation from ``jax.random.key(seed)`` picks them,
    so the split is deterministic per seed. Returns (x_train, y_train, x_train_dev, y_train_dev).
    """
    x = jnp.asarray(x)
    y = jnp.asarray(y)
    num_examples = x.shape[axis]
    if y.shape[axis] != num_examples:
        raise ValueError(
            f"x and y must hold the same number of examples along axis {axis}, got "
            f"{num_examples} and {y.shape[axis]}"
        )
    count = _split_size(size, num_examples)
    order = jax.random.permutation(jax.random.key(seed), num_examples)
    train_index, train_dev_index = order[count:], order[:count]
    return (
        jnp.take(x, train_index, axis=axis),
        jnp.take(y, train_index, axis=axis),
        jnp.take(x, train_dev_index, axis=axis),
        jnp.take(y, train_dev_index, axis=axis),
    )


def diagnose_data_mismatch(
    human_error: float,
    train_error: float,
    train_dev_error: float,
    dev_error: float,
    test_error: float | None = None,
) -> Diagnosis:
    """The human-level diagnosis with a training-dev set: data mismatch = dev − train-dev.

    Same as :func:`dlcourse.strategy.diagnose` with the training-dev error required. The
    course's example: train 1%, train-dev 1.5%, dev 10% → data mismatch (8.5%) is the problem.
    """
    return diagnose(
        human_error=human_error,
        train_error=train_error,
        dev_error=dev_error,
        train_dev_error=train_dev_error,
        test_error=test_error,
    )
