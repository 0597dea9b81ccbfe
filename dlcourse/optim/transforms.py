"""Composable gradient transformations: the pieces the optimizers in :mod:`.alias` are built from.

Notation (the course's): ``dW`` the incoming update (the gradient, first in a chain), ``v_dW`` the
first moment, ``s_dW`` the second moment, ``t`` the step number. Every transformation here counts
``t`` from 1 for the first update (the state's ``count`` holds the number of updates already
applied, 0 after ``init``). Arithmetic on each leaf is written as one expression producing the new
update and the new moments together, so XLA fuses it into a single loop per leaf.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from dlcourse.optim.base import (
    EmptyState,
    GradientTransformation,
    ScalarOrSchedule,
    Updates,
    check_in_range,
    map_leaves,
    safe_increment,
    zero_count,
)


def _bias_correction(decay, count_inc: jax.Array) -> jax.Array:
    """``1 − decayᵗ`` for ``t = count_inc`` (≥ 1), computed in float32."""
    return 1 - jnp.asarray(decay, jnp.float32) ** count_inc.astype(jnp.float32)


def _zeros_like(tree: Any) -> Any:
    return jax.tree.map(jnp.zeros_like, tree)


def _squared_magnitude(g: jax.Array) -> jax.Array:
    """``|dW|²`` elementwise: ``dW · dW`` for real ``dW``, ``(conj(dW) · dW).real`` for complex."""
    if jnp.iscomplexobj(g):
        return (jnp.conj(g) * g).real
    return g * g


# --- momentum -------------------------------------------------------------------------------


class MomentumState(NamedTuple):
    """``count``: updates applied so far (int32); ``velocity``: ``v_dW``, shaped like params."""

    count: jax.Array
    velocity: Updates


def scale_by_momentum(
    beta: float | jax.Array = 0.9,
    *,
    exponential_average: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """Momentum: replace ``dW`` by a running average of past ``dW``.

    With ``exponential_average=True`` (the default, the course's main form)::

        v_dW = β v_dW + (1 − β) dW           output: v_dW

    With ``exponential_average=False`` (the form the course mentions beside it; PyTorch's
    ``SGD(momentum=β)`` with its default ``dampening=0``, and optax's ``trace``)::

        v_dW = β v_dW + dW                   output: v_dW

    The two differ only by the factor 1/(1 − β) in the effective learning rate: EMA momentum with
    rate α equals the summing form with rate α(1 − β). ``v_dW`` starts at 0. With
    ``bias_correction=True`` the output is ``v_dW / (1 − βᵗ)``, t = 1 for the first update
    (meaningful for the EMA form: it removes the pull towards the zero start). Keras'
    ``SGD(momentum=β)`` keeps ``v = β v − α dW`` instead, folding the rate into the velocity, which
    differs from both forms whenever α changes over time.
    """
    check_in_range("beta", beta, 0.0, 1.0)

    def init(params):
        return MomentumState(count=zero_count(), velocity=_zeros_like(params))

    def update(updates, state, params=None):
        del params
        count_inc = safe_increment(state.count)
        correction = _bias_correction(beta, count_inc) if bias_correction else None

        def leaf(g, v):
            new_v = beta * v + ((1 - beta) * g if exponential_average else g)
            out = new_v / correction if bias_correction else new_v
            return out.astype(g.dtype), new_v.astype(v.dtype)

        out, velocity = map_leaves(leaf, updates, state.velocity, n_out=2)
        return out, MomentumState(count=count_inc, velocity=velocity)

    return GradientTransformation(init, update)


# --- RMSprop --------------------------------------------------------------------------------


class RmsState(NamedTuple):
    """``s_dW``: the running average of ``dW²``, shaped like params."""

    nu: Updates


def scale_by_rms(
    decay: float | jax.Array = 0.9,
    eps: float | jax.Array = 1e-8,
    *,
    eps_in_sqrt: bool = False,
) -> GradientTransformation:
    """RMSprop's scaling: divide ``dW`` by the root of a running average of ``dW²``.

    ::

        s_dW = β s_dW + (1 − β) |dW|²        (β = ``decay``; s_dW starts at 0, no bias correction)
        output: dW / (√s_dW + ε)             ε outside the root (default, the course's form)
        output: dW / √(s_dW + ε)             with ``eps_in_sqrt=True``

    ``|dW|² = dW²`` for real parameters and ``conj(dW) · dW`` for complex ones (as in optax); s_dW
    then keeps the complex dtype of the params, with zero imaginary part.

    Conventions elsewhere: PyTorch ``RMSprop`` puts ε outside the root, with β (``alpha``) = 0.99,
    ε = 1e-8, α = 1e-2; TF/Keras ``RMSprop`` puts ε inside, with β (``rho``) = 0.9, ε = 1e-7,
    α = 1e-3; optax's ``rmsprop`` defaults to inside (``eps_in_sqrt=True``). Our default is
    outside, as in the course; ``eps_in_sqrt=True`` reproduces optax's and Keras' arithmetic.
    """
    check_in_range("decay", decay, 0.0, 1.0)
    check_in_range("eps", eps, 0.0)

    def init(params):
        return RmsState(nu=_zeros_like(params))

    def update(updates, state, params=None):
        del params

        def leaf(g, s):
            new_s = decay * s + (1 - decay) * _squared_magnitude(g)
            if eps_in_sqrt:
                out = g * jax.lax.rsqrt(new_s + eps)
            else:
                out = g / (jnp.sqrt(new_s) + eps)
            return out.astype(g.dtype), new_s.astype(s.dtype)

        out, nu = map_leaves(leaf, updates, state.nu, n_out=2)
        return out, RmsState(nu=nu)

    return GradientTransformation(init, update)


# --- Adam -----------------------------------------------------------------------------------


class AdamState(NamedTuple):
    """``count``: updates applied so far (int32); ``mu``: ``v_dW``; ``nu``: ``s_dW``."""

    count: jax.Array
    mu: Updates
    nu: Updates


def scale_by_adam(
    b1: float | jax.Array = 0.9,
    b2: float | jax.Array = 0.999,
    eps: float | jax.Array = 1e-8,
) -> GradientTransformation:
    """Adam's scaling: momentum and RMSprop together, both bias-corrected.

    ::

        v_dW = β₁ v_dW + (1 − β₁) dW          s_dW = β₂ s_dW + (1 − β₂) |dW|²
        v̂ = v_dW / (1 − β₁ᵗ)                  ŝ = s_dW / (1 − β₂ᵗ)
        output: v̂ / (√ŝ + ε)

    t = 1 for the first update; both moments start at 0. ε sits outside the root and is added
    after bias correction — as in the Adam paper's Algorithm 1, PyTorch ``Adam`` (ε = 1e-8) and
    optax. Keras ``Adam`` (ε = 1e-7) instead adds its ε to the uncorrected √s_dW
    ("epsilon hat": α√(1 − β₂ᵗ)/(1 − β₁ᵗ) · v_dW/(√s_dW + ε̂)); rewritten in the bias-corrected
    frame that is ``v̂ / (√ŝ + ε̂/√(1 − β₂ᵗ))``, so its effective ε is *larger* early in training
    (≈ 31.6 ε̂ at t = 1 with β₂ = 0.999) and tends to ε̂ as t grows.

    ``|dW|² = dW²`` for real parameters and ``conj(dW) · dW`` for complex ones, as in optax.

    Dtypes: each moment keeps the dtype it was initialised with (the params'), whatever the
    gradient's dtype; the output has the gradient's dtype. The same holds for momentum and RMSprop.
    For complex params s_dW is therefore complex too, with zero imaginary part (optax's layout).
    """
    check_in_range("b1", b1, 0.0, 1.0)
    check_in_range("b2", b2, 0.0, 1.0)
    check_in_range("eps", eps, 0.0)

    def init(params):
        return AdamState(count=zero_count(), mu=_zeros_like(params), nu=_zeros_like(params))

    def update(updates, state, params=None):
        del params
        count_inc = safe_increment(state.count)
        c1 = _bias_correction(b1, count_inc)
        c2 = _bias_correction(b2, count_inc)

        def leaf(g, v, s):
            new_v = b1 * v + (1 - b1) * g
            new_s = b2 * s + (1 - b2) * _squared_magnitude(g)
            out = (new_v / c1) / (jnp.sqrt(new_s / c2) + eps)
            return out.astype(g.dtype), new_v.astype(v.dtype), new_s.astype(s.dtype)

        out, mu, nu = map_leaves(leaf, updates, state.mu, state.nu, n_out=3)
        return out, AdamState(count=count_inc, mu=mu, nu=nu)

    return GradientTransformation(init, update)


# --- learning rate and weight decay ---------------------------------------------------------


class ScheduleState(NamedTuple):
    """``count``: updates applied so far (int32), the argument of the schedule."""

    count: jax.Array


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule, *, flip_sign: bool = True
) -> GradientTransformation:
    """Multiply by the learning rate and turn the step downhill: output ``−α · u``.

    ``learning_rate`` is a number (or scalar array) α, or a schedule ``t ↦ α_t``. A schedule is
    evaluated at the number of updates already applied — 0 for the first update — exactly as in
    optax, so optax's schedules and ours are interchangeable. ``flip_sign=False`` gives ``α · u``.
    """
    sign = -1.0 if flip_sign else 1.0

    if callable(learning_rate):

        def init(params):
            del params
            return ScheduleState(count=zero_count())

        def update(updates, state, params=None):
            del params
            step = sign * learning_rate(state.count)
            updates = jax.tree.map(lambda u: jnp.asarray(step, u.dtype) * u, updates)
            return updates, ScheduleState(count=safe_increment(state.count))

        return GradientTransformation(init, update)

    check_in_range("learning_rate", learning_rate, 0.0)

    def init_constant(params):
        del params
        return EmptyState()

    def update_constant(updates, state, params=None):
        del params
        step = sign * learning_rate
        return jax.tree.map(lambda u: jnp.asarray(step, u.dtype) * u, updates), state

    return GradientTransformation(init_constant, update_constant)


def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0, mask: Any = None
) -> GradientTransformation:
    """Add decoupled weight decay: output ``u + λ W`` (λ = ``weight_decay``).

    Placed before :func:`scale_by_learning_rate` (as in :func:`adamw`) it yields
    ``W := W − α (u + λ W)``. Needs ``params``. λ is a number, or a schedule ``t ↦ λ_t``
    evaluated at the number of updates already applied (0 first; the state then counts them),
    as in optax. ``mask`` (a pytree of bools shaped like params, or a function of params
    returning one) restricts the decay to the leaves marked True — e.g. to skip biases and
    batch-norm scales — with the semantics of :func:`masked`.
    """
    scheduled = callable(weight_decay)
    if not scheduled:
        check_in_range("weight_decay", weight_decay, 0.0)

    def init(params):
        del params
        return ScheduleState(count=zero_count()) if scheduled else EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("add_decayed_weights needs params: call update(updates, state, params)")
        if scheduled:
            current_weight_decay = weight_decay(state.count)
            state = ScheduleState(count=safe_increment(state.count))
        else:
            current_weight_decay = weight_decay
        updates = jax.tree.map(
            lambda u, p: None if u is None else (u + current_weight_decay * p).astype(u.dtype),
            updates,
            params,
            is_leaf=lambda x: x is None,
        )
        return updates, state

    tx = GradientTransformation(init, update)
    if mask is not None:
        from dlcourse.optim.masking import masked  # masking builds on base only

        return masked(tx, mask)
    return tx


# --- clipping -------------------------------------------------------------------------------


def clip_by_global_norm(max_norm: float | jax.Array) -> GradientTransformation:
    """Rescale all updates together so their global norm is at most ``max_norm``.

    ``‖u‖ = √(Σ_leaves Σ |u|²)`` (``|u|² = conj(u) · u`` for complex leaves); if
    ``‖u‖ < max_norm`` the updates pass unchanged, else each becomes ``u · max_norm / ‖u‖``. Same
    as optax's ``clip_by_global_norm`` and PyTorch's ``clip_grad_norm_`` (which adds 1e-6 to the
    norm).
    """
    check_in_range("max_norm", max_norm, 0.0, low_inclusive=False)

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None):
        del params
        leaves = jax.tree.leaves(updates)
        norm = jnp.sqrt(sum(jnp.sum(_squared_magnitude(x)) for x in leaves)) if leaves else 0.0
        factor = max_norm / jnp.maximum(norm, max_norm)
        updates = jax.tree.map(lambda u: u * jnp.asarray(factor).astype(u.dtype), updates)
        return updates, state

    return GradientTransformation(init, update)
