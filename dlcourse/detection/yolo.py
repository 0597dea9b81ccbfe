"""YOLO: the targets of a grid of anchor boxes, the loss, and decoding the network's output.

**Grid and anchors.** An image is cut into an ``S × S`` grid; cell ``(i, j)`` is row ``i`` (down,
``y``) and column ``j`` (across, ``x``). Each cell has ``A`` anchor boxes, given as ``anchors[a] =
(p_h, p_w)``: height and width as fractions of the image. Boxes come in the course's centre form
``(b_x, b_y, b_h, b_w)`` as fractions of the image (:mod:`dlcourse.detection.boxes`).

**Target** ``y`` of one image, shape ``(S, S, A, 5 + C)`` (the notes' ``3 × 3 × 2 × 8`` for
three classes and two anchors, ``19 × 19 × 5 × 85`` for 80 classes): each present object goes to
the cell holding its midpoint, ``i = ⌊S·b_y⌋``, ``j = ⌊S·b_x⌋``, and to that cell's anchor of the
highest IoU *of shape* (the object's box and each anchor compared centred on the same point:
``min(h, p_h)·min(w, p_w) / (h·w + p_h·p_w − min(h, p_h)·min(w, p_w))``; ties go to the lower
anchor index). Its slot holds ``[p_c, b_x, b_y, b_h, b_w, c_1 … c_C]`` with ``p_c = 1``, the
midpoint relative to the cell's top-left corner in cell units (``S·b_x − j ∈ [0, 1)``), the size
in cell units (``S·b_h``, ``S·b_w``; "could be > 1", as the notes say) and ``c`` one-hot. Every
other slot is all zeros. When two objects claim the same cell and anchor, the first (lower index
``k``) keeps it and the other is dropped — the case the notes say the algorithm does not handle.

**Network output** of the same shape ``(…, S, S, A, 5 + C)``, raw: ``(t_o, t_x, t_y, t_h, t_w,
z_1 … z_C)``. Decoding (YOLOv2's parameterization, Redmon & Farhadi 2017)::

    p_c = σ(t_o)      b_x = (j + σ(t_x)) / S      b_y = (i + σ(t_y)) / S
    b_h = p_h · e^{t_h}      b_w = p_w · e^{t_w}      P(class c | object) = softmax(z)_c

and the score of class ``c`` is ``p_c · P(c | object)``.

**Loss** (:func:`yolo_loss`): YOLOv1's sum of squared errors (Redmon et al. 2016, eq. 3) with
its weights ``λ_coord = 5`` and ``λ_noobj = 0.5``, over the anchors of every cell, with two
changes: sizes are compared in log space relative to the anchor, ``(t_h − log(b_h / p_h))²``,
instead of v1's ``(√b_h − √ĥ)²`` — sizes are predicted as ``p_h e^{t_h}``, so the log is the
network's own coordinate, and like the square root it weighs an error relative to the box's size;
and the class term is the softmax cross-entropy (what the network's softmax is trained with in
YOLOv2 onwards) instead of squared errors of probabilities. The objectness target is 1 where an
object is assigned (v1/v2 used the IoU of the predicted box; 1 is the course's ``p_c``).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from dlcourse.detection.boxes import centres_to_corners
from dlcourse.detection.suppression import IOU_THRESHOLD, SCORE_THRESHOLD, Detections, non_max_suppression

#: YOLOv1's weights of the coordinate terms and of the no-object confidence terms.
COORD_WEIGHT = 5.0
NO_OBJECT_WEIGHT = 0.5


def check_anchors(anchors: jax.Array) -> jax.Array:
    """``anchors`` as float32 ``[A, 2]`` of ``(p_h, p_w)``; ``ValueError`` otherwise."""
    shape = jnp.shape(anchors)
    if len(shape) != 2 or shape[1] != 2 or shape[0] < 1:
        raise ValueError(f"anchors must have shape [A, 2] of (height, width); got shape {shape}")
    return jnp.asarray(anchors, jnp.float32)


def shape_iou(sizes: jax.Array, anchors: jax.Array) -> jax.Array:
    """IoU of boxes compared centred: ``sizes [..., 2]`` and ``anchors [A, 2]`` (both ``(h, w)``)
    → ``[..., A]``."""
    sizes, anchors = sizes[..., None, :], check_anchors(anchors)
    intersection = jnp.prod(jnp.minimum(sizes, anchors), axis=-1)
    union = jnp.prod(sizes, axis=-1) + jnp.prod(anchors, axis=-1) - intersection
    return jnp.where(union > 0, intersection / jnp.where(union > 0, union, 1.0), 0.0)


def encode_targets(centres: jax.Array, classes: jax.Array, present: jax.Array, anchors: jax.Array, *,
                   grid_size: int, num_classes: int) -> jax.Array:
    """The target ``y`` of one image (see the module docstring), or of a batch.

    Args:
      centres: ``[K, 4]`` boxes ``(b_x, b_y, b_h, b_w)`` as fractions of the image (or ``[m, K, 4]``).
      classes: int ``[K]`` class ids in ``0 … C − 1`` (or ``[m, K]``); ignored where not present.
      present: bool ``[K]`` (or ``[m, K]``): which of the ``K`` slots hold an object.
      anchors: ``[A, 2]`` anchor shapes ``(p_h, p_w)`` as fractions of the image.
      grid_size: ``S``.
      num_classes: ``C``.

    Returns:
      float32 ``[S, S, A, 5 + C]`` (or ``[m, S, S, A, 5 + C]``). Jittable: ``K`` is fixed, absent
      objects are masked.
    """
    if not isinstance(grid_size, int) or grid_size < 1:
        raise ValueError(f"grid_size must be a positive int, got {grid_size!r}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    anchors = check_anchors(anchors)
    centres = jnp.asarray(centres, jnp.float32)
    if centres.ndim not in (2, 3) or centres.shape[-1] != 4:
        raise ValueError(f"centres must have shape [K, 4] or [m, K, 4]; got {centres.shape}")
    if jnp.shape(classes) != centres.shape[:-1] or jnp.shape(present) != centres.shape[:-1]:
        raise ValueError(f"classes and present must have shape {centres.shape[:-1]}; got {jnp.shape(classes)} "
                         f"and {jnp.shape(present)}")
    return _encode(centres, jnp.asarray(classes, jnp.int32), jnp.asarray(present, bool), anchors, grid_size,
                   num_classes)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _encode(centres, classes, present, anchors, grid_size: int, num_classes: int) -> jax.Array:
    if centres.ndim == 3:
        return jax.vmap(_encode, in_axes=(0, 0, 0, None, None, None))(centres, classes, present, anchors,
                                                                       grid_size, num_classes)
    count = centres.shape[0]
    S, A = grid_size, anchors.shape[0]
    b_x, b_y, b_h, b_w = centres[:, 0], centres[:, 1], centres[:, 2], centres[:, 3]
    column = jnp.clip(jnp.floor(b_x * S), 0, S - 1).astype(jnp.int32)
    row = jnp.clip(jnp.floor(b_y * S), 0, S - 1).astype(jnp.int32)
    anchor = jnp.argmax(shape_iou(centres[:, 2:4], anchors), axis=-1).astype(jnp.int32)
    slot = (row * S + column) * A + anchor
    earlier = jnp.tril(jnp.ones((count, count), bool), k=-1)          # [k, k'] = k' < k
    taken = jnp.any(earlier & present[None, :] & (slot[None, :] == slot[:, None]), axis=1)
    written = present & ~taken
    values = jnp.concatenate([
        jnp.ones((count, 1)),
        jnp.stack([b_x * S - column, b_y * S - row, b_h * S, b_w * S], axis=-1),
        jax.nn.one_hot(classes, num_classes),
    ], axis=-1)
    flat = jnp.zeros((S * S * A, 5 + num_classes), jnp.float32)
    flat = flat.at[jnp.where(written, slot, S * S * A)].set(values, mode="drop")
    return flat.reshape(S, S, A, 5 + num_classes)


def _check_grid(name: str, array: jax.Array, anchors: jax.Array) -> None:
    shape = jnp.shape(array)
    if len(shape) < 4 or shape[-4] != shape[-3] or shape[-2] != anchors.shape[0] or shape[-1] < 6:
        raise ValueError(f"{name} must have shape [..., S, S, A={anchors.shape[0]}, 5 + C] with C >= 1; "
                         f"got {shape}")


def yolo_loss(outputs: jax.Array, targets: jax.Array, anchors: jax.Array, *, coord_weight: float = COORD_WEIGHT,
              no_object_weight: float = NO_OBJECT_WEIGHT) -> jax.Array:
    """The YOLO loss of each example (see the module docstring for the form and its sources).

    With ``1^obj`` the slots holding an object (target ``p_c = 1``) and ``1^noobj = 1 − 1^obj``,
    summed over the ``S·S·A`` slots of one example::

        λ_coord Σ 1^obj [(σ(t_x) − b_x)² + (σ(t_y) − b_y)² + (t_h − log(b_h / (S p_h)))² + (t_w − log(b_w / (S p_w)))²]
        + Σ 1^obj (σ(t_o) − 1)² + λ_noobj Σ 1^noobj σ(t_o)² − Σ 1^obj Σ_c y_c log softmax(z)_c

    with the targets' ``b`` in cell units (:func:`encode_targets`).

    Args:
      outputs: raw network output ``[B, S, S, A, 5 + C]``.
      targets: ``y`` of the same shape (:func:`encode_targets`).
      anchors: ``[A, 2]`` ``(p_h, p_w)``, fractions of the image.
      coord_weight, no_object_weight: ``λ_coord``, ``λ_noobj``.

    Returns:
      float32 ``[B]``: one term per example, for :func:`dlcourse.train.supervised`.
    """
    anchors = check_anchors(anchors)
    _check_grid("outputs", outputs, anchors)
    if jnp.shape(targets) != jnp.shape(outputs):
        raise ValueError(f"targets must have the outputs' shape {jnp.shape(outputs)}; got {jnp.shape(targets)}")
    outputs, targets = jnp.asarray(outputs, jnp.float32), jnp.asarray(targets, jnp.float32)
    S = outputs.shape[-4]
    has_object = targets[..., 0] > 0.5
    objectness = jax.nn.sigmoid(outputs[..., 0])
    offsets = jax.nn.sigmoid(outputs[..., 1:3])
    anchor_cells = anchors * S                                             # (p_h, p_w) in cell units
    ratio = jnp.where(has_object[..., None], targets[..., 3:5], anchor_cells) / anchor_cells
    size_targets = jnp.log(jnp.where(ratio > 0, ratio, 1.0))
    coordinates = (jnp.sum((offsets - targets[..., 1:3]) ** 2, axis=-1)
                   + jnp.sum((outputs[..., 3:5] - size_targets) ** 2, axis=-1))
    class_terms = -jnp.sum(targets[..., 5:] * jax.nn.log_softmax(outputs[..., 5:], axis=-1), axis=-1)
    per_slot = jnp.where(has_object,
                         coord_weight * coordinates + (objectness - 1.0) ** 2 + class_terms,
                         no_object_weight * objectness ** 2)
    return jnp.sum(per_slot, axis=(-3, -2, -1))


def decode_outputs(outputs: jax.Array, anchors: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The boxes and probabilities a raw output stands for (module docstring's decoding).

    Args:
      outputs: ``[..., S, S, A, 5 + C]``.
      anchors: ``[A, 2]``.

    Returns:
      ``(corners, objectness, class_probabilities)``: corner boxes ``[..., S·S·A, 4]`` as fractions
      of the image, ``p_c`` ``[..., S·S·A]`` and ``P(c | object)`` ``[..., S·S·A, C]``, slots in the
      order ``(i, j, a)``.
    """
    anchors = check_anchors(anchors)
    _check_grid("outputs", outputs, anchors)
    outputs = jnp.asarray(outputs, jnp.float32)
    S, A = outputs.shape[-4], anchors.shape[0]
    rows = jnp.arange(S, dtype=jnp.float32)[:, None, None]
    columns = jnp.arange(S, dtype=jnp.float32)[None, :, None]
    b_x = (columns + jax.nn.sigmoid(outputs[..., 1])) / S
    b_y = (rows + jax.nn.sigmoid(outputs[..., 2])) / S
    b_h = anchors[:, 0] * jnp.exp(outputs[..., 3])
    b_w = anchors[:, 1] * jnp.exp(outputs[..., 4])
    corners = centres_to_corners(jnp.stack([b_x, b_y, b_h, b_w], axis=-1))
    lead = outputs.shape[:-4]
    return (corners.reshape(lead + (S * S * A, 4)), jax.nn.sigmoid(outputs[..., 0]).reshape(lead + (S * S * A,)),
            jax.nn.softmax(outputs[..., 5:], axis=-1).reshape(lead + (S * S * A, outputs.shape[-1] - 5)))


def targets_to_boxes(targets: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The objects a target ``y`` holds: ``(corners [..., S·S·A, 4], classes [..., S·S·A], present
    [..., S·S·A])``, corners as fractions of the image (the inverse of :func:`encode_targets` for
    the objects it kept)."""
    targets = jnp.asarray(targets, jnp.float32)
    S, A = targets.shape[-4], targets.shape[-2]
    rows = jnp.arange(S, dtype=jnp.float32)[:, None, None]
    columns = jnp.arange(S, dtype=jnp.float32)[None, :, None]
    centres = jnp.stack([(columns + targets[..., 1]) / S, (rows + targets[..., 2]) / S,
                         targets[..., 3] / S, targets[..., 4] / S], axis=-1)
    lead = targets.shape[:-4]
    present = targets[..., 0] > 0.5
    return (jnp.where(present[..., None], centres_to_corners(centres), 0.0).reshape(lead + (S * S * A, 4)),
            jnp.where(present, jnp.argmax(targets[..., 5:], axis=-1), -1).reshape(lead + (S * S * A,)),
            present.reshape(lead + (S * S * A,)))


def detect(outputs: jax.Array, anchors: jax.Array, *, max_outputs: int, score_threshold: float = SCORE_THRESHOLD,
           iou_threshold: float = IOU_THRESHOLD) -> Detections:
    """The notes' "Outputting the non-max suppressed outputs": decode every anchor of every cell,
    keep each slot's best class with score ``p_c · max_c P(c | object)``, discard scores
    ``≤ score_threshold``, then per-class non-max suppression
    (:func:`dlcourse.detection.non_max_suppression`).

    Args:
      outputs: raw output of one image ``[S, S, A, 5 + C]`` or of a batch ``[B, S, S, A, 5 + C]``.
      anchors: ``[A, 2]``.
      max_outputs, score_threshold, iou_threshold: as for non-max suppression.

    Returns:
      :class:`Detections` ``[M, ...]`` (or ``[B, M, ...]``), boxes as fractions of the image.
    """
    corners, objectness, probabilities = decode_outputs(outputs, anchors)
    scores = objectness * jnp.max(probabilities, axis=-1)
    classes = jnp.argmax(probabilities, axis=-1)

    def one(boxes, image_scores, image_classes):
        return non_max_suppression(boxes, image_scores, image_classes, max_outputs=max_outputs,
                                   score_threshold=score_threshold, iou_threshold=iou_threshold)

    for _ in range(corners.ndim - 2):
        one = jax.vmap(one)
    return one(corners, scores, classes)
