"""What a unit sees (Zeiler & Fergus, 2013): the dataset patches that activate a hidden unit most.

A unit of a convolutional layer is one channel ``k``; at each position ``(i, j)`` of its map it
looks at one window of the input, its *receptive field*. For a stack of layers with filter size
``f_l``, stride ``s_l`` and padding ``p_l`` (convolutions and pools alike), from the input::

    r = 1 + Σ_l (f_l − 1) · J_{l−1}        (field size, pixels)
    J_l = Π_{m≤l} s_m,  J_0 = 1             (jump: input pixels between neighbouring positions)
    P = Σ_l p_l · J_{l−1}                   (total padding, in input pixels)

and position ``(i, j)`` sees input rows ``i·J − P … i·J − P + r − 1`` (likewise columns), parts of
which may lie in the padding. :func:`top_activations` picks, per unit, the ``k`` largest
activations over a dataset (by default from ``k`` different images, each at its strongest
position); :func:`crop_patches` cuts their fields out of the images (the padding filled with a
constant). The course shows nine per unit.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class ReceptiveField(NamedTuple):
    """``size`` r, ``jump`` J and total ``padding`` P of a unit's receptive field (see the module docstring)."""

    size: int
    jump: int
    padding: int


def receptive_field(layers: Sequence[tuple[int, int, int]]) -> ReceptiveField:
    """The receptive field after ``layers``: ``(f, s, p)`` per convolution or pool, from the input.

    E.g. LeNet-5's conv2 (``5×5`` conv, ``2×2/2`` pool, ``5×5`` conv): ``[(5, 1, 0), (2, 2, 0),
    (5, 1, 0)]`` → ``r = 1 + 4 + 1 + 4·2 = 14``, ``J = 2``, ``P = 0``.
    """
    size, jump, padding = 1, 1, 0
    for layer in layers:
        f, s, p = layer
        if f < 1 or s < 1 or p < 0:
            raise ValueError(f"a layer needs filter f >= 1, stride s >= 1, padding p >= 0; got (f, s, p) = {layer}")
        size += (f - 1) * jump
        padding += p * jump
        jump *= s
    return ReceptiveField(size, jump, padding)


def patch_boxes(rows: jax.Array, columns: jax.Array, field: ReceptiveField) -> jax.Array:
    """``[..., 4]`` boxes ``(top, left, bottom, right)`` (bottom, right exclusive) in input pixels of the
    fields at map positions ``(rows, columns)``; not clipped to the image."""
    top = jnp.asarray(rows) * field.jump - field.padding
    left = jnp.asarray(columns) * field.jump - field.padding
    return jnp.stack([top, left, top + field.size, left + field.size], axis=-1)


class TopActivations(NamedTuple):
    """Each unit's ``k`` largest activations, largest first; every field ``[units, k]``.

    Attributes:
      values: the activations.
      images: the example index of each.
      rows, columns: the position in the unit's map.
    """

    values: jax.Array
    images: jax.Array
    rows: jax.Array
    columns: jax.Array


def top_activations(activations: jax.Array, k: int = 9, *, distinct_images: bool = True) -> TopActivations:
    """The ``k`` largest activations of each unit over a dataset.

    Args:
      activations: ``[m, n_H, n_W, units]``: one layer's maps on ``m`` examples.
      k: how many per unit (nine in the course).
      distinct_images: ``True`` keeps one position per image (its largest) and ranks the images;
        ``False`` ranks all ``m · n_H · n_W`` positions (neighbouring positions of one image may then
        fill the list). Ties go to the lower flat index.
    """
    if jnp.ndim(activations) != 4:
        raise ValueError(f"activations must be [m, n_H, n_W, units]; got shape {jnp.shape(activations)}")
    m, n_H, n_W, units = activations.shape
    available = m if distinct_images else m * n_H * n_W
    if not 1 <= k <= available:
        raise ValueError(f"k must be in [1, {available}] for activations of shape {activations.shape}; got {k}")
    per_unit = jnp.moveaxis(activations, -1, 0).reshape(units, m, n_H * n_W)
    if distinct_images:
        best_position = jnp.argmax(per_unit, axis=-1)                            # [units, m]
        values, images = jax.lax.top_k(jnp.max(per_unit, axis=-1), k)
        positions = jnp.take_along_axis(best_position, images, axis=-1)
    else:
        values, flat = jax.lax.top_k(per_unit.reshape(units, m * n_H * n_W), k)
        images, positions = flat // (n_H * n_W), flat % (n_H * n_W)
    return TopActivations(values, images, positions // n_W, positions % n_W)


def crop_patches(images: jax.Array, top: TopActivations, field: ReceptiveField, fill: float = 0.0) -> jax.Array:
    """``[units, k, r, r, n_C]``: the receptive field of each of ``top``'s activations, cut from ``images``
    ``[m, H, W, n_C]``; pixels outside the image (padding) are ``fill``."""
    if jnp.ndim(images) != 4:
        raise ValueError(f"images must be [m, H, W, n_C]; got shape {jnp.shape(images)}")
    r = field.size
    padded = jnp.pad(images, ((0, 0), (r, r), (r, r), (0, 0)), constant_values=fill)
    boxes = patch_boxes(top.rows, top.columns, field)

    def crop(image_index, box):
        return jax.lax.dynamic_slice(padded[image_index], (box[0] + r, box[1] + r, 0), (r, r, images.shape[-1]))

    return jax.vmap(jax.vmap(crop))(top.images, boxes)


def layer_activations(model: nn.Module, variables, images: jax.Array, layer: str, *, batch_size: int = 256,
                      **apply_keywords) -> jax.Array:
    """The output of ``model``'s submodule named ``layer`` on ``images``, in mini-batches of ``batch_size``.

    Read with Flax's ``capture_intermediates``: the submodule's own output, e.g. a ``Conv`` before the
    activation that follows it (a ReLU keeps the order of positive values, so the top activations are
    the same). ``apply_keywords`` go to ``model.apply`` (e.g. ``train=False``). Jittable.
    """
    def capture(module, _):
        return module.name == layer

    def run(batch):
        _, state = model.apply(variables, batch, capture_intermediates=capture, mutable=["intermediates"],
                               **apply_keywords)
        found = [value for path, value in jax.tree_util.tree_flatten_with_path(state.get("intermediates", {}))[0]
                 if any(getattr(entry, "key", None) == layer for entry in path)]
        if not found:
            raise ValueError(f"{type(model).__name__} has no submodule named {layer!r}")
        return found[0]

    images = jnp.asarray(images)
    m = images.shape[0]
    batch_size = min(batch_size, m)
    batches = -(-m // batch_size)
    padded = jnp.pad(images, ((0, batches * batch_size - m),) + ((0, 0),) * (images.ndim - 1))
    outputs = jax.lax.map(run, padded.reshape(batches, batch_size, *images.shape[1:]))
    return outputs.reshape(batches * batch_size, *outputs.shape[2:])[:m]
