"""Learning-rate schedules: pure functions ``t ↦ α_t`` of the step count.

Convention (optax's): a schedule handed to an optimizer is evaluated at ``t`` = the number of
updates already applied, so the first update uses ``α_0``. Writing ``p = t / transition_steps``
(floored when ``staircase=True``), ``transition_steps`` = mini-batches per epoch makes ``p`` the
epoch count. The course numbers epochs from 1 (its first epoch already uses ``epoch_num = 1``); here
the first epoch has ``p = 0``. To follow the course's numbering exactly, shift by one epoch:
``lambda t: schedule(t + transition_steps)``. All schedules work on traced ``t`` (jit, vmap, scan).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.optim.base import Schedule, check_in_range


def _check_transition_steps(transition_steps) -> None:
    if not isinstance(transition_steps, (int, np.integer)) or transition_steps <= 0:
        raise ValueError(f"transition_steps must be a positive integer, got {transition_steps!r}")


def _progress(count, transition_steps: int, staircase: bool) -> jax.Array:
    p = jnp.asarray(count, jnp.float32) / transition_steps
    return jnp.floor(p) if staircase else p


def constant_schedule(value: float) -> Schedule:
    """``α_t = value`` for every t."""

    def schedule(count):
        return jnp.full(jnp.shape(count), value, jnp.float32)

    return schedule


def inverse_time_decay(
    init_value: float,
    decay_rate: float,
    transition_steps: int = 1,
    staircase: bool = False,
) -> Schedule:
    """``α = α₀ / (1 + decay_rate · p)``, ``p = t / transition_steps`` (floored with staircase).

    The course's "1 / (1 + decay_rate · epoch_num) · α₀". With α₀ = 0.2, decay_rate = 1 the values
    at p = 1, 2, 3, 4 are 0.1, 0.0667, 0.05, 0.04 (the course's table); p = 0 gives α₀. Same as
    TF's ``InverseTimeDecay``.
    """
    check_in_range("decay_rate", decay_rate, 0.0)
    _check_transition_steps(transition_steps)

    def schedule(count):
        return init_value / (1.0 + decay_rate * _progress(count, transition_steps, staircase))

    return schedule


def exponential_decay(
    init_value: float,
    decay_rate: float,
    transition_steps: int = 1,
    staircase: bool = False,
) -> Schedule:
    """``α = α₀ · decay_rateᵖ``, ``p = t / transition_steps`` (floored with staircase).

    The course's ``0.95^epoch_num · α₀`` is ``decay_rate = 0.95`` with ``transition_steps`` = steps
    per epoch. Equal to ``optax.exponential_decay`` with ``transition_begin = 0`` and no
    ``end_value``.
    """
    check_in_range("decay_rate", decay_rate, 0.0, low_inclusive=False)
    _check_transition_steps(transition_steps)

    def schedule(count):
        p = _progress(count, transition_steps, staircase)
        return init_value * jnp.asarray(decay_rate, jnp.float32) ** p

    return schedule


def inverse_sqrt_decay(
    init_value: float,
    scale: float = 1.0,
    transition_steps: int = 1,
    staircase: bool = False,
) -> Schedule:
    """``α = k / √max(p, 1) · α₀`` (k = ``scale``), ``p = t / transition_steps`` (floored with staircase).

    The course's ``k / √epoch_num · α₀``. At ``p = 0`` — the first epoch under this module's
    count-from-0 convention — the formula would divide by zero; the root is taken of ``max(p, 1)``
    instead, so every ``p ≤ 1`` gets ``k · α₀`` (finite, and equal to the course's value at its
    first epoch), and from ``p = 1`` on it is exactly ``k · α₀ / √p``.
    """
    check_in_range("scale", scale, 0.0)
    _check_transition_steps(transition_steps)

    def schedule(count):
        p = _progress(count, transition_steps, staircase)
        return scale * init_value / jnp.sqrt(jnp.maximum(p, 1.0))

    return schedule


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """A discrete staircase: ``α_t = values[i]`` where i = number of boundaries ≤ t.

    So ``values[0]`` for ``t < boundaries[0]``, ``values[1]`` for
    ``boundaries[0] ≤ t < boundaries[1]``, …, ``values[-1]`` from ``boundaries[-1]`` on; needs
    ``len(values) == len(boundaries) + 1`` and strictly increasing boundaries. The value changes *at*
    the boundary, as in ``optax.piecewise_constant_schedule``; TF's ``PiecewiseConstantDecay``
    changes one step later (``t > boundary``).
    """
    boundaries = list(boundaries)
    values = list(values)
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            f"piecewise_constant needs len(values) == len(boundaries) + 1, got "
            f"{len(values)} values for {len(boundaries)} boundaries"
        )
    if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries!r}")
    boundaries_arr = np.asarray(boundaries, np.int32).reshape(-1)
    values_arr = np.asarray(values, np.float32)

    def schedule(count):
        count = jnp.asarray(count)
        index = jnp.sum(count[..., None] >= boundaries_arr, axis=-1)
        return jnp.asarray(values_arr)[index]

    return schedule
