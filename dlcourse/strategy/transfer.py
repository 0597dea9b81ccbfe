"""Transfer learning on Flax params trees: freeze early layers, replace the output head.

The course's recipe by amount of new data: little → freeze every layer and train a new output
layer only; more → freeze the early layers and train the later ones; a lot → use the pretrained
weights as initialisation and train everything.

A "layer" is a top-level key of a params tree (``variables['params']``), e.g. ``Dense_0`` …
``Dense_3``. Layer order defaults to the dict's insertion order, which for a tree straight from
``Module.init`` is the order the layers were created. Trees rebuilt by ``jax.tree.map`` (or an
optimizer update) have *sorted* keys (``Dense_10`` before ``Dense_2``), so pass ``layer_names``
in network order for those.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import numpy as np

__all__ = [
    "TRAINABLE",
    "FROZEN",
    "layer_labels",
    "freeze_all_but_last",
    "freeze_all_but_head",
    "frozen_layers_optimizer",
    "replace_head",
]

TRAINABLE = "trainable"
FROZEN = "frozen"


def _check_params(params) -> None:
    if not isinstance(params, Mapping) or not params:
        raise ValueError(f"params must be a non-empty mapping of layer name to parameters, got {type(params)}")
    if set(params) == {"params"}:
        raise ValueError("got a variables dict {'params': ...}: pass variables['params'] instead")


def layer_labels(params, trainable_layers: Sequence[str]):
    """A labels tree for ``partition``: every leaf of a layer in ``trainable_layers`` is
    ``TRAINABLE``, every other leaf ``FROZEN``. Same structure as ``params``."""
    _check_params(params)
    unknown = sorted(set(trainable_layers) - set(params))
    if unknown:
        raise ValueError(f"layers {unknown} are not in params (layers: {list(params)})")
    trainable_layers = set(trainable_layers)

    def label_layer(name, subtree):
        label = TRAINABLE if name in trainable_layers else FROZEN
        return jax.tree.map(lambda _: label, subtree)

    return {name: label_layer(name, subtree) for name, subtree in params.items()}


def freeze_all_but_last(params, num_trainable: int, layer_names: Sequence[str] | None = None):
    """Labels freezing every layer but the last ``num_trainable`` (the head counts as one).

    ``num_trainable=1`` trains the output layer only (little new data); larger values unfreeze
    later layers too; the number of layers trains everything. ``layer_names``: all layers in
    network order (default: the insertion order of ``params``).
    """
    _check_params(params)
    if layer_names is None:
        layer_names = list(params)
    elif sorted(layer_names) != sorted(params):
        raise ValueError(f"layer_names {list(layer_names)} must list exactly the layers {sorted(params)}")
    if not 0 <= num_trainable <= len(layer_names):
        raise ValueError(f"num_trainable must be in [0, {len(layer_names)}], got {num_trainable}")
    trainable = list(layer_names)[len(layer_names) - num_trainable :]
    return layer_labels(params, trainable)


def freeze_all_but_head(params, head_name: str | None = None):
    """Labels training only the head: ``head_name``, or the last layer in insertion order."""
    _check_params(params)
    return layer_labels(params, [list(params)[-1] if head_name is None else head_name])


def frozen_layers_optimizer(optimizer, labels):
    """``optimizer`` on the ``TRAINABLE`` leaves, zero updates on the ``FROZEN`` ones.

    partition({TRAINABLE: optimizer, FROZEN: set_to_zero()}, labels), from ``dlcourse.optim``.
    Frozen leaves keep no optimizer state, and their updates are exactly 0.
    """
    from dlcourse.optim import partition, set_to_zero  # pylint: disable=import-outside-toplevel

    return partition({TRAINABLE: optimizer, FROZEN: set_to_zero()}, labels)


def replace_head(pretrained_params, fresh_params, head_name: str | None = None):
    """Pretrained body, fresh head: ``fresh_params`` with every layer but the head copied from
    ``pretrained_params``.

    ``fresh_params`` come from ``init`` of the new model (same body, new output layer, e.g.
    5 classes instead of 10), so its head is freshly initialised. ``head_name`` defaults to the
    last layer of ``fresh_params`` in insertion order. Body layers must match in tree structure
    and leaf shapes.
    """
    _check_params(pretrained_params)
    _check_params(fresh_params)
    if head_name is None:
        head_name = list(fresh_params)[-1]
    if head_name not in fresh_params:
        raise ValueError(f"head {head_name!r} is not a layer of fresh_params {list(fresh_params)}")
    body_pretrained = {name: value for name, value in pretrained_params.items() if name != head_name}
    body_fresh = {name: value for name, value in fresh_params.items() if name != head_name}
    if set(body_pretrained) != set(body_fresh):
        raise ValueError(
            f"body layers differ: pretrained {sorted(body_pretrained)} vs fresh {sorted(body_fresh)}"
        )
    for name in body_fresh:
        pretrained_structure = jax.tree.structure(body_pretrained[name])
        fresh_structure = jax.tree.structure(body_fresh[name])
        if pretrained_structure != fresh_structure:
            raise ValueError(f"layer {name!r} differs in structure: {pretrained_structure} vs {fresh_structure}")
        pretrained_shapes = [np.shape(leaf) for leaf in jax.tree.leaves(body_pretrained[name])]
        fresh_shapes = [np.shape(leaf) for leaf in jax.tree.leaves(body_fresh[name])]
        if pretrained_shapes != fresh_shapes:
            raise ValueError(f"layer {name!r} differs in shapes: {pretrained_shapes} vs {fresh_shapes}")
    return {
        name: (value if name == head_name else pretrained_params[name])
        for name, value in fresh_params.items()
    }


def per_class_mask(key, labels, per_class):
    """A float mask ``[m]`` choosing ``per_class`` random examples of each class (all of a class
    with fewer): the small target training sets of a transfer-learning study. ``per_class`` may be
    traced; one ``key`` gives nested subsets as it grows (the 1-per-class subset lies inside the
    2-per-class one)."""
    import jax.numpy as jnp  # pylint: disable=import-outside-toplevel

    score = jax.random.uniform(key, labels.shape)
    same_class = labels[:, None] == labels[None, :]
    rank = jnp.sum(same_class & (score[None, :] < score[:, None]), axis=1)  # rank within its class
    return (rank < per_class).astype(jnp.float32)


def check_sizes_per_class(sizes, labels, num_classes: int, task: str = "the target task") -> tuple[int, ...]:
    """``sizes`` (examples per class of a transfer study) as a tuple, or ``ValueError`` naming the
    first bad value: each a positive integer, none above the smallest class of ``labels``."""
    sizes = tuple(sizes)
    if not sizes or any(not isinstance(n, int) or n < 1 for n in sizes):
        raise ValueError(f"sizes must be positive integers (examples per class), got {sizes}")
    available = int(np.bincount(np.asarray(labels), minlength=num_classes).min())
    if max(sizes) > available:
        raise ValueError(f"sizes {sizes}: the smallest class of {task} has only {available} training examples")
    return sizes
