"""Hyperparameters as data: keep an optimizer's numbers in its state, as arrays.

``inject_hyperparams(adam)(learning_rate=1e-3)`` behaves like ``adam(1e-3)`` but stores
``{'learning_rate': 1e-3, 'b1': 0.9, 'b2': 0.999, 'eps': 1e-8}`` as float32 arrays in
``state.hyperparams``. They are arguments of the compiled step rather than constants baked into it,
so a new value never recompiles, they can be logged, and a population of trials that differ only
in these values is one ``jax.vmap`` (one compile). Same semantics as ``optax.inject_hyperparams``,
except: numbers are stored as ``hyperparam_dtype`` (float32) by default, integers and typed JAX
arrays included, where optax keeps those as they are and casts floats to the params' widest float
dtype; and the state has no ``hyperparams_states`` field.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.optim.base import GradientTransformation, OptState, safe_increment, zero_count


class InjectHyperparamsState(NamedTuple):
    """``count``: updates applied (int32; the argument of hyperparameter schedules);
    ``hyperparams``: name → array, the values the *last* update used (initial values after
    ``init``); ``inner_state``: the wrapped optimizer's state."""

    count: jax.Array
    hyperparams: dict[str, jax.Array]
    inner_state: OptState


# Arguments that are structure even when callable (a function of params giving a pytree of bools),
# never a schedule of the step count.
ALWAYS_STATIC = frozenset({"mask"})


def _as_hyperparam(value: Any, dtype) -> Any:
    """Real numbers (Python, NumPy, JAX; integers included) become arrays of ``dtype``.

    An integer must not stay int32: :func:`set_hyperparams` casts new values to the stored dtype,
    so ``learning_rate=1`` stored as int32 would turn a later 0.5 into 0.
    """
    current = value.dtype if hasattr(value, "dtype") else type(value)
    if jax.dtypes.issubdtype(current, jnp.floating) or (
        jax.dtypes.issubdtype(current, jnp.integer) and not jax.dtypes.issubdtype(current, jnp.bool_)
    ):
        return jnp.asarray(value, dtype=dtype)
    return jnp.asarray(value)


def inject_hyperparams(
    optimizer: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype=jnp.float32,
) -> Callable[..., GradientTransformation]:
    """Wrap an optimizer factory so its numeric arguments live in the state.

    ``inject_hyperparams(factory)(*args, **kwargs)`` sorts each argument of ``factory``:

    - numbers and arrays (not bools) → ``state.hyperparams[name]``, stored as ``hyperparam_dtype``
      (float32) arrays, integers included (``learning_rate=1`` is stored as 1.0); an update reads
      them from the state, so set them between steps with :func:`set_hyperparams` (or by
      assigning into the dict, keeping dtype and shape);
    - callables → schedules of the step count, evaluated at ``state.count`` (0 first) on each update
      and written to ``state.hyperparams`` for logging (setting them has no effect);
    - bools, ``None``, names in ``static_args``, anything else → fixed structure, passed as is.
      ``mask`` is always structure (:data:`ALWAYS_STATIC`): a callable ``mask`` (as taken by
      :func:`adamw`) is a function of params, not a schedule, so it is passed through unchanged.

    ``static_args`` is one name (a ``str``: ``static_args="b1"`` is the argument ``b1``, not the
    names ``"b"`` and ``"1"``) or an iterable of names. A name ``optimizer`` does not take raises
    ``ValueError`` here, when wrapping, before any call — as optax does (a factory with
    ``**kwargs`` accepts any name).

    On each update the factory is called again with the state's values (traced arrays) and its
    ``update`` is applied to ``state.inner_state``; the factory must therefore use its numeric
    arguments only in arithmetic. All of :mod:`dlcourse.optim`'s factories do.
    """
    signature = inspect.signature(optimizer)
    static_args = frozenset([static_args] if isinstance(static_args, str) else static_args)
    takes_any_keyword = any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
    )
    unknown = sorted(map(repr, static_args - set(signature.parameters)))
    if unknown and not takes_any_keyword:
        name = getattr(optimizer, "__name__", repr(optimizer))
        raise ValueError(
            f"static_args names {', '.join(unknown)}, which {name} does not take; "
            f"its arguments are {', '.join(signature.parameters)}"
        )
    static_args = static_args | ALWAYS_STATIC

    def wrapped(*args, **kwargs) -> GradientTransformation:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        schedules, numeric, other = {}, {}, {}
        for name, value in bound.arguments.items():
            if name in static_args or isinstance(value, bool) or value is None:
                other[name] = value
            elif callable(value):
                schedules[name] = value
            elif isinstance(value, (int, float, np.ndarray, np.generic, jax.Array)):
                numeric[name] = value
            else:
                other[name] = value

        def scheduled(count):
            return {k: _as_hyperparam(f(count), hyperparam_dtype) for k, f in schedules.items()}

        def init(params):
            count = zero_count()
            hyperparams = {k: _as_hyperparam(v, hyperparam_dtype) for k, v in numeric.items()}
            hyperparams.update(scheduled(count))
            inner_state = optimizer(**other, **hyperparams).init(params)
            return InjectHyperparamsState(count, hyperparams, inner_state)

        def update(updates, state, params=None):
            hyperparams = dict(state.hyperparams)
            hyperparams.update(scheduled(state.count))
            updates, inner_state = optimizer(**other, **hyperparams).update(
                updates, state.inner_state, params
            )
            return updates, InjectHyperparamsState(
                safe_increment(state.count), hyperparams, inner_state
            )

        return GradientTransformation(init, update)

    return wrapped


def set_hyperparams(state: InjectHyperparamsState, **values: Any) -> InjectHyperparamsState:
    """Return ``state`` with new hyperparameter values, cast to the stored dtypes.

    Keeping dtype (and weak-type-ness) fixed is what keeps the compiled step from retracing.
    A name not in ``state.hyperparams`` raises ``ValueError``.
    """
    unknown = set(values) - set(state.hyperparams)
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {sorted(unknown)}; this state has {sorted(state.hyperparams)}"
        )
    hyperparams = dict(state.hyperparams)
    for name, value in values.items():
        old = jnp.asarray(state.hyperparams[name])
        hyperparams[name] = jnp.broadcast_to(jnp.asarray(value, old.dtype), old.shape)
    return state._replace(hyperparams=hyperparams)
