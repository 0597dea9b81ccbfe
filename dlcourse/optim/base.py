"""The shape every optimizer has: a pair of pure functions, ``init`` and ``update``.

A :class:`GradientTransformation` turns gradients ``dW`` into *updates* (what is added to ``W``)::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = apply_updates(params, updates)            # W := W + updates

It is a NamedTuple of two functions with exactly optax's field names and signatures, so our
transformations go into ``optax.chain``/``optax.apply_updates`` and optax's go into ours. Every
state is a NamedTuple (or a tuple of them); a step count, where one is kept, is a scalar int32.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, NamedTuple, Protocol, Union

import jax
import jax.numpy as jnp
import numpy as np

Params = Any
Updates = Any
OptState = Any
Schedule = Callable[[jax.Array], jax.Array]
ScalarOrSchedule = Union[float, jax.Array, Schedule]


class InitFn(Protocol):
    def __call__(self, params: Params) -> OptState: ...


class UpdateFn(Protocol):
    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """``init(params) -> state`` and ``update(updates, state, params=None) -> (updates, state)``.

    Both are pure and jittable. ``update`` receives the incoming updates (the gradients, for the
    first transformation of a chain) and returns the transformed updates and the new state.
    """

    init: InitFn
    update: UpdateFn


class EmptyState(NamedTuple):
    """The state of a stateless transformation."""


def identity() -> GradientTransformation:
    """Updates pass through unchanged: ``u := u``."""

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None):
        del params
        return updates, state

    return GradientTransformation(init, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` in order; the state is the tuple of their states.

    ``chain(a, b).update(u, (sa, sb), W)`` computes ``u₁, sa' = a.update(u, sa, W)`` and then
    ``u₂, sb' = b.update(u₁, sb, W)``. Accepts any object with ``init``/``update`` (optax's too).
    """
    inits = tuple(t.init for t in transforms)
    updates_fns = tuple(t.update for t in transforms)

    def init(params):
        return tuple(fn(params) for fn in inits)

    def update(updates, state, params=None):
        if len(state) != len(updates_fns):
            raise ValueError(
                f"chain of {len(updates_fns)} transformations got a state of length {len(state)}"
            )
        new_state = []
        for fn, s in zip(updates_fns, state):
            updates, s = fn(updates, s, params)
            new_state.append(s)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)


def apply_updates(params: Params, updates: Updates) -> Params:
    """``W := W + updates`` leaf by leaf, keeping each parameter's dtype.

    A ``None`` update leaves its parameter (also ``None``) alone, as in optax.
    """
    return jax.tree.map(
        lambda p, u: None if p is None else jnp.asarray(p + u).astype(jnp.asarray(p).dtype),
        params,
        updates,
        is_leaf=lambda x: x is None,
    )


# --- helpers shared by the transformations (not exported) -------------------------------------


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1`` that saturates at the dtype's maximum instead of wrapping around."""
    count = jnp.asarray(count)
    top = jnp.iinfo(count.dtype).max
    return jnp.where(count < top, count + 1, top).astype(count.dtype)


def zero_count() -> jax.Array:
    return jnp.zeros([], jnp.int32)


def map_leaves(fn: Callable[..., tuple], tree: Any, *rest: Any, n_out: int) -> tuple:
    """Apply ``fn`` to matching leaves of ``tree`` and ``rest``; return ``n_out`` trees.

    One pass builds every output of a per-leaf computation (e.g. Adam's update and both moments),
    so XLA sees each leaf's arithmetic as one expression it can fuse into a single loop.
    """
    leaves, treedef = jax.tree.flatten(tree)
    others = [treedef.flatten_up_to(r) for r in rest]
    outs = [fn(*xs) for xs in zip(leaves, *others)]
    return tuple(treedef.unflatten([o[i] for o in outs]) for i in range(n_out))


def check_in_range(name: str, value: Any, low: float, high: float | None = None,
                   *, low_inclusive: bool = True, high_inclusive: bool = False) -> None:
    """Raise ``ValueError`` naming ``value`` if a concrete number lies outside the range.

    Arrays are checked elementwise (every entry must lie in the range). Traced values (inside
    ``jit``/``vmap``, e.g. from :func:`inject_hyperparams`) are not checked.
    """
    if isinstance(value, jax.core.Tracer):
        return
    if not isinstance(value, (numbers.Number, np.ndarray, np.generic, jax.Array)):
        return
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError,
            jax.errors.TracerArrayConversionError):
        return
    with np.errstate(invalid="ignore"):
        ok_low = v >= low if low_inclusive else v > low
        ok_high = True if high is None else (v <= high if high_inclusive else v < high)
        ok = np.all(ok_low & ok_high & ~np.isnan(v))
    if not ok:
        lo = "[" if low_inclusive else "("
        hi = "]" if high_inclusive else ")"
        rng = f"{lo}{low}, {'inf' if high is None else high}{hi}"
        what = "must lie" if v.ndim == 0 else "must lie (every entry)"
        raise ValueError(f"{name} {what} in {rng}, got {value!r}")
