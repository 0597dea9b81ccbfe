"""Apply a transformation to part of the parameters: freezing layers for transfer learning.

``partition({'train': adam(1e-3), 'frozen': set_to_zero()}, labels)`` trains the leaves labelled
``'train'`` and leaves those labelled ``'frozen'`` exactly where they are. Semantics are optax's
(``optax.masked``, ``optax.set_to_zero``, ``optax.partition``), so results agree leaf for leaf.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping, NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.optim.base import EmptyState, GradientTransformation, OptState, Params

Mask = Union[Any, Callable[[Params], Any]]


class MaskedNode(NamedTuple):
    """Stands in for a masked-out leaf: an empty pytree node, invisible to ``jax.tree.map``."""


class MaskedState(NamedTuple):
    """The inner transformation's state, built on the masked-in leaves only."""

    inner_state: OptState


def _is_masked_node(x: Any) -> bool:
    return isinstance(x, MaskedNode)


def _keep_where(mask_tree: Any, tree: Any) -> Any:
    """Replace each leaf (or subtree) of ``tree`` whose mask is False by a :class:`MaskedNode`."""
    return jax.tree.map(
        lambda m, x: x if m else MaskedNode(), mask_tree, tree, is_leaf=_is_masked_node
    )


def _check_mask(mask_tree: Any) -> None:
    for m in jax.tree.leaves(mask_tree):
        if not isinstance(m, (bool, np.bool_)):
            raise ValueError(
                f"a mask's leaves must be Python or NumPy bools (structure is static), got {m!r}"
            )


def is_mask_function(tree_or_function: Any) -> bool:
    """Whether a mask (or label tree) is a function of the params rather than the tree itself.

    Optax's rule: it is a function when it has at least one pytree leaf and every leaf is
    callable. A plain function is its own single leaf, so it counts; an object that is both a
    registered pytree node and callable (a mapping with ``__call__``) has bool or label leaves,
    so it is a tree, never called.
    """
    leaves = jax.tree.leaves(jax.tree.map(callable, tree_or_function))
    return bool(leaves) and all(leaves)


def masked(inner: GradientTransformation, mask: Mask) -> GradientTransformation:
    """Apply ``inner`` where ``mask`` is True; elsewhere updates pass through unchanged.

    ``mask`` is a pytree of bools (Python or NumPy) with the structure of the params (or a prefix
    of it: one bool for a whole subtree), or a function ``tree -> mask``, called on the params in
    ``init`` and on the incoming updates in ``update`` (as in optax). A mask that is itself a
    callable pytree node is a tree, not a function (:func:`is_mask_function`). ``inner`` sees — and
    keeps state for — only the masked-in leaves; the others reach it as empty :class:`MaskedNode` s.
    Note that masked-out leaves are *not* frozen: their updates pass through as they came (to
    freeze, use :func:`partition` with :func:`set_to_zero`).
    """
    mask_is_function = is_mask_function(mask)

    def mask_for(tree):
        mask_tree = mask(tree) if mask_is_function else mask
        _check_mask(mask_tree)
        return mask_tree

    def init(params):
        mask_tree = mask_for(params)
        return MaskedState(inner_state=inner.init(_keep_where(mask_tree, params)))

    def update(updates, state, params=None):
        mask_tree = mask_for(updates)
        masked_params = None if params is None else _keep_where(mask_tree, params)
        new_inner, inner_state = inner.update(
            _keep_where(mask_tree, updates), state.inner_state, masked_params
        )
        updates = jax.tree.map(
            lambda m, new, old: new if m else old,
            mask_tree,
            new_inner,
            updates,
            is_leaf=_is_masked_node,
        )
        return updates, MaskedState(inner_state=inner_state)

    return GradientTransformation(init, update)


def set_to_zero() -> GradientTransformation:
    """Output ``0`` for every update: the parameters it is applied to do not move."""

    def init(params):
        del params
        return EmptyState()

    def update(updates, state, params=None):
        del params
        return jax.tree.map(jnp.zeros_like, updates), state

    return GradientTransformation(init, update)


class PartitionState(NamedTuple):
    """One :class:`MaskedState` per label."""

    inner_states: dict[Hashable, MaskedState]


def partition(
    transforms: Mapping[Hashable, GradientTransformation],
    param_labels: Any,
) -> GradientTransformation:
    """Apply ``transforms[label]`` to the leaves labelled ``label``.

    ``param_labels`` is a pytree with the params' structure (or a prefix of it) whose leaves are
    labels (keys of ``transforms``), or a function ``tree -> labels``, called on the params in
    ``init`` and on the incoming updates in ``update`` (as in optax). Each transformation sees and
    keeps state for its own leaves only (via :func:`masked`). Every label in use must have a
    transformation, else ``ValueError``. As in ``optax.partition``, any callable ``param_labels``
    is a function (a callable pytree node too) — unlike a mask, which :func:`masked` reads by
    :func:`is_mask_function`.
    """
    transforms = dict(transforms)
    labels_are_function = callable(param_labels)

    def labels_for(tree):
        labels = param_labels(tree) if labels_are_function else param_labels
        missing = set(jax.tree.leaves(labels)) - set(transforms)
        if missing:
            raise ValueError(
                f"labels {sorted(map(str, missing))} have no transformation; "
                f"transforms has {sorted(map(str, transforms))}"
            )
        return labels

    def mask_of(labels, key):
        return jax.tree.map(lambda label: label == key, labels)

    def init(params):
        labels = labels_for(params)
        return PartitionState(
            inner_states={
                k: masked(tx, mask_of(labels, k)).init(params) for k, tx in transforms.items()
            }
        )

    def update(updates, state, params=None):
        labels = labels_for(updates)
        inner_states = {}
        for k, tx in transforms.items():
            updates, inner_states[k] = masked(tx, mask_of(labels, k)).update(
                updates, state.inner_states[k], params
            )
        return updates, PartitionState(inner_states=inner_states)

    return GradientTransformation(init, update)
