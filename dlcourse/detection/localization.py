"""Object localization and landmark detection: the course's target vector, its two losses, metrics.

One object (or none) per image. The network outputs one vector per image, and its target is

    y = [p_c, b_x, b_y, b_h, b_w, c_1, …, c_n, l_1x, l_1y, …, l_Lx, l_Ly]

- ``p_c`` ∈ {0, 1}: is there an object;
- ``(b_x, b_y, b_h, b_w)``: its box, midpoint then height and width, as fractions of the image side
  (:mod:`dlcourse.data.scenes`; the course's "between 0 and 1" convention);
- ``c_1 … c_n``: one-hot class;
- ``l_1x, l_1y, …``: optional landmarks (the course's landmark detection), ``L`` points ``(x, y)`` in
  the same units, in the order the data gives them.

When ``p_c = 0`` every other component is "don't care"; the targets hold 0 there. The target is a
vector of ``5 + n + 2L`` numbers, index :data:`PRESENCE` then :data:`BOX`, then the classes, then
the landmarks.

Losses, one term per example (``(outputs, targets) -> [B]``, usable as the builder's ``loss``):

- **squared** (the course's): ``L(ŷ, y) = Σ_i (ŷ_i − y_i)²`` over all components when ``y_1 = p_c = 1``,
  ``(ŷ_1 − y_1)²`` when ``p_c = 0``. The outputs are the predictions themselves; an object is
  predicted when ``ŷ_1 > 0.5``, its class is ``argmax ŷ_c``.
- **log** (the variant the course mentions): logistic-regression loss on ``p_c`` (``ŷ_1`` a logit),
  softmax cross-entropy on the classes (``ŷ_c`` logits), squared error on the box and landmarks;
  the last three only when ``p_c = 1``:
  ``L = −[p_c log σ(z) + (1 − p_c) log(1 − σ(z))] + p_c (Σ_box (ŷ − y)² + CE(ŷ_c, c) + Σ_l (ŷ − y)²)``.
  An object is predicted when ``z > 0``.

Neither form has a factor ½ (the notes write the plain sum of squares). Metrics
(:class:`dlcourse.metrics.Metric`, additive statistics so mini-batches add up) read a predicted box
``ŷ[1:5]`` as centres and compare corners with :func:`dlcourse.detection.boxes.iou`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.data.scenes import Scenes, SceneSplits, make_scenes
from dlcourse.detection.boxes import centres_to_corners, iou
from dlcourse.losses import sigmoid_binary_cross_entropy_terms, softmax_cross_entropy_terms
from dlcourse.metrics import Metric
from dlcourse.nn.masked_means import guarded_divide

PRESENCE = 0
BOX = slice(1, 5)
LOSS_KINDS = ("squared", "log")
#: An object is predicted when ŷ_1 exceeds this: a probability for "squared", a logit for "log".
PRESENCE_THRESHOLDS = {"squared": 0.5, "log": 0.0}
#: "Correct" localization needs IoU ≥ this (the notes' convention).
CORRECT_IOU = 0.5


def target_size(num_classes: int, num_landmarks: int = 0) -> int:
    """``5 + n + 2L``, the length of y."""
    return 5 + num_classes + 2 * num_landmarks


def _check_kind(kind: str) -> str:
    if kind not in LOSS_KINDS:
        raise ValueError(f"kind must be one of {LOSS_KINDS}, got {kind!r}")
    return kind


def _check_counts(num_classes, num_landmarks) -> None:
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
    if not isinstance(num_landmarks, (int, np.integer)) or isinstance(num_landmarks, bool) or num_landmarks < 0:
        raise ValueError(f"num_landmarks must be an int >= 0, got {num_landmarks!r}")


def _check_vectors(outputs, targets, size: int | None = None):
    outputs, targets = jnp.asarray(outputs), jnp.asarray(targets)
    if outputs.shape != targets.shape or outputs.ndim < 1:
        raise ValueError(f"outputs shape {outputs.shape} must equal targets shape {targets.shape} (…, 5 + n + 2L)")
    if size is not None and outputs.shape[-1] != size:
        raise ValueError(f"expected vectors of {size} = 5 + n + 2L numbers, got shape {outputs.shape}")
    return outputs, targets.astype(outputs.dtype)


def localization_targets(present, centres, classes, num_classes: int, landmarks=None) -> jax.Array:
    """The target y (module docstring) of each example.

    Args:
      present: ``[...]`` bool or 0/1, ``p_c``.
      centres: ``[..., 4]`` ``(b_x, b_y, b_h, b_w)``.
      classes: ``[...]`` int class ids in ``0 … n − 1`` (any value where absent).
      num_classes: ``n``.
      landmarks: optional ``[..., L, 2]`` points ``(x, y)``, flattened to ``l_1x, l_1y, l_2x, …``.

    Returns:
      float32 ``[..., 5 + n + 2L]``, 0 after ``p_c`` where ``p_c = 0``.
    """
    _check_counts(num_classes, 0)
    present = jnp.asarray(present).astype(jnp.float32)
    parts = [present[..., None], jnp.asarray(centres, jnp.float32),
             jax.nn.one_hot(jnp.asarray(classes), num_classes, dtype=jnp.float32)]
    if landmarks is not None:
        landmarks = jnp.asarray(landmarks, jnp.float32)
        parts.append(landmarks.reshape(landmarks.shape[:-2] + (-1,)))
    vector = jnp.concatenate(parts, axis=-1)
    return jnp.concatenate([vector[..., :1], vector[..., 1:] * present[..., None]], axis=-1)


def scene_localization_targets(scenes, *, landmarks: bool = False) -> np.ndarray:
    """y of the first object slot of each of :class:`dlcourse.data.Scenes` (``p_c = 0`` for an empty
    scene): float32 ``[m, 5 + n (+ 2L)]`` as a host array."""
    return np.asarray(localization_targets(
        scenes.present[:, 0], scenes.centres[:, 0], scenes.classes[:, 0], scenes.num_classes,
        scenes.landmarks[:, 0] if landmarks else None))


def make_localization_splits(train: int = 512, dev: int = 128, test: int = 128, *, empty_fraction: float = 0.2,
                             seed: int = 0, **scene_options) -> SceneSplits:
    """Single-object scenes (:func:`dlcourse.data.make_scenes` with one slot) of which
    ``round(empty_fraction · (train + dev + test))`` hold no object, shuffled, then split in this order.

    The scenes with an object are ``make_scenes(…, min_objects=1, max_objects=1, seed=seed)``; the empty
    ones are the empty scenes of ``make_scenes(…, min_objects=0, max_objects=1, seed=seed + 1)``, so both
    share the background and noise distribution. ``scene_options``: the other keywords of ``make_scenes``.

    Raises:
      ValueError: a split size is not an int ≥ 1, ``empty_fraction`` outside [0, 1), object counts in
        ``scene_options``, or from ``make_scenes``.
    """
    for argument, value in (("train", train), ("dev", dev), ("test", test)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{argument} must be an int >= 1, got {value!r}")
    if not 0 <= empty_fraction < 1:
        raise ValueError(f"empty_fraction must be in [0, 1), got {empty_fraction!r}")
    counts = sorted({"min_objects", "max_objects"} & set(scene_options))
    if counts:
        raise ValueError(f"localization scenes hold one object or none; do not pass {', '.join(counts)}")
    total = train + dev + test
    empty = int(round(empty_fraction * total))
    parts = [make_scenes(total - empty, min_objects=1, max_objects=1, seed=seed, **scene_options)]
    if empty:
        draw = make_scenes(3 * empty + 64, min_objects=0, max_objects=1, seed=seed + 1, **scene_options)
        chosen = np.flatnonzero(~draw.present[:, 0])[:empty]
        if len(chosen) < empty:  # about 1/2 of the draw is empty: this needs a 5-sigma shortfall
            raise ValueError(f"drew too few empty scenes ({len(chosen)} of {empty}); try another seed")
        parts.append(Scenes(*(field[chosen] for field in draw[:-1]), num_classes=draw.num_classes))
    order = np.random.default_rng(seed).permutation(total)
    scenes = Scenes(*(np.concatenate(fields)[order] for fields in zip(*(part[:-1] for part in parts))),
                    num_classes=parts[0].num_classes)

    def rows(start: int, stop: int) -> Scenes:
        return Scenes(*(field[start:stop] for field in scenes[:-1]), num_classes=scenes.num_classes)

    return SceneSplits(rows(0, train), rows(train, train + dev), rows(train + dev, total))


def squared_localization_terms(outputs: jax.Array, targets: jax.Array) -> jax.Array:
    """The course's loss per example: ``Σ_i (ŷ_i − y_i)²`` if ``y_1 = 1``, else ``(ŷ_1 − y_1)²``.

    ``outputs``, ``targets``: ``[..., 5 + n + 2L]`` → ``[...]``.
    """
    outputs, targets = _check_vectors(outputs, targets)
    squares = jnp.square(outputs - targets)
    present = targets[..., PRESENCE]
    return squares[..., PRESENCE] + present * jnp.sum(squares[..., 1:], axis=-1)


def log_localization_terms(outputs: jax.Array, targets: jax.Array, num_classes: int) -> jax.Array:
    """The log-loss variant per example (module docstring): ``ŷ_1`` and ``ŷ_c`` are logits.

    ``outputs``, ``targets``: ``[..., 5 + n + 2L]`` → ``[...]``.
    """
    _check_counts(num_classes, 0)
    outputs, targets = _check_vectors(outputs, targets)
    classes = slice(5, 5 + num_classes)
    if outputs.shape[-1] < 5 + num_classes or (outputs.shape[-1] - 5 - num_classes) % 2:
        raise ValueError(f"vectors of {outputs.shape[-1]} numbers do not hold 5 + {num_classes} + 2L")
    present = targets[..., PRESENCE]
    presence = sigmoid_binary_cross_entropy_terms(outputs[..., PRESENCE], present)
    # With p_c = 0 the class target is all zeros: its cross-entropy is 0 and is masked anyway.
    class_loss = softmax_cross_entropy_terms(outputs[..., classes], targets[..., classes])
    regression = jnp.sum(jnp.square(outputs[..., BOX] - targets[..., BOX]), axis=-1) + jnp.sum(
        jnp.square(outputs[..., 5 + num_classes:] - targets[..., 5 + num_classes:]), axis=-1)
    return presence + present * (class_loss + regression)


def landmark_squared_error_terms(predicted: jax.Array, targets: jax.Array) -> jax.Array:
    """Landmark regression loss per example, ``Σ_i (l̂_i − l_i)²`` over the coordinates
    ``l_1x, l_1y, …`` (last axis) → ``[...]``. Landmark detection without a box is y = [p_c, l_1x, …]
    trained with :func:`squared_localization_terms`."""
    predicted, targets = _check_vectors(predicted, targets)
    return jnp.sum(jnp.square(predicted - targets), axis=-1)


def localization_loss(kind: str, num_classes: int):
    """The builder's ``loss``: ``(outputs, targets) -> [B]`` of ``kind`` ∈ :data:`LOSS_KINDS`."""
    _check_kind(kind)
    _check_counts(num_classes, 0)
    if kind == "squared":
        return squared_localization_terms
    return lambda outputs, targets: log_localization_terms(outputs, targets, num_classes)


def predicted_presence(outputs: jax.Array, kind: str) -> jax.Array:
    """bool ``[...]``: ``ŷ_1 >`` :data:`PRESENCE_THRESHOLDS` ``[kind]``."""
    return jnp.asarray(outputs)[..., PRESENCE] > PRESENCE_THRESHOLDS[_check_kind(kind)]


def presence_probability(outputs: jax.Array, kind: str) -> jax.Array:
    """The predicted ``P(object)``: ``ŷ_1`` clipped to [0, 1] ("squared") or ``σ(ŷ_1)`` ("log")."""
    value = jnp.asarray(outputs)[..., PRESENCE]
    return jnp.clip(value, 0.0, 1.0) if _check_kind(kind) == "squared" else jax.nn.sigmoid(value)


def box_corners(vectors: jax.Array) -> jax.Array:
    """``[..., 4]`` corner boxes ``(x1, y1, x2, y2)`` of the centre boxes ``ŷ[1:5]`` of vectors y or ŷ."""
    return centres_to_corners(jnp.asarray(vectors)[..., BOX])


def landmark_points(vectors: jax.Array, num_classes: int, num_landmarks: int) -> jax.Array:
    """``[..., L, 2]`` landmark points ``(x, y)`` of vectors y or ŷ."""
    _check_counts(num_classes, num_landmarks)
    vectors = jnp.asarray(vectors)
    start = 5 + num_classes
    return vectors[..., start:start + 2 * num_landmarks].reshape(vectors.shape[:-1] + (num_landmarks, 2))


def _total(weights, values):
    return jnp.sum(jnp.where(weights != 0, weights * values, 0.0))


def _ratio(stats):
    return guarded_divide(stats["sum"], stats["count"])


def box_iou_metric() -> Metric:
    """``box_iou``: the mean IoU of the predicted box ŷ[1:5] and the true box over the examples that
    hold an object (``p_c = 1``), whether or not the object was detected."""

    def statistics(outputs, targets, weights):
        outputs, targets = _check_vectors(outputs, targets)
        objects = weights * targets[..., PRESENCE]
        return {"sum": _total(objects, iou(box_corners(outputs), box_corners(targets))),
                "count": jnp.sum(objects)}

    return Metric("box_iou", "max", 0.0, 1.0, statistics, _ratio)


def presence_accuracy_metric(kind: str) -> Metric:
    """``presence_accuracy``: the fraction of examples whose ``p_c`` is predicted right."""
    _check_kind(kind)

    def statistics(outputs, targets, weights):
        outputs, targets = _check_vectors(outputs, targets)
        right = predicted_presence(outputs, kind) == (targets[..., PRESENCE] > 0.5)
        return {"sum": _total(weights, right), "count": jnp.sum(weights)}

    return Metric("presence_accuracy", "max", 0.0, 1.0, statistics, _ratio, fraction="correct")


def class_accuracy_metric(num_classes: int) -> Metric:
    """``class_accuracy``: over the examples with an object, the fraction whose ``argmax ŷ_c`` is its class."""
    _check_counts(num_classes, 0)
    classes = slice(5, 5 + num_classes)

    def statistics(outputs, targets, weights):
        outputs, targets = _check_vectors(outputs, targets)
        objects = weights * targets[..., PRESENCE]
        right = jnp.argmax(outputs[..., classes], axis=-1) == jnp.argmax(targets[..., classes], axis=-1)
        return {"sum": _total(objects, right), "count": jnp.sum(objects)}

    return Metric("class_accuracy", "max", 0.0, 1.0, statistics, _ratio, fraction="correct")


def localization_accuracy_metric(num_classes: int, kind: str, iou_threshold: float = CORRECT_IOU) -> Metric:
    """``localization_accuracy``: the fraction of examples predicted right — no object predicted where
    there is none; where there is one, an object predicted, of the right class, with IoU ≥ ``iou_threshold``."""
    _check_counts(num_classes, 0)
    _check_kind(kind)
    classes = slice(5, 5 + num_classes)

    def statistics(outputs, targets, weights):
        outputs, targets = _check_vectors(outputs, targets)
        found = predicted_presence(outputs, kind)
        present = targets[..., PRESENCE] > 0.5
        located = (iou(box_corners(outputs), box_corners(targets)) >= iou_threshold) & (
            jnp.argmax(outputs[..., classes], axis=-1) == jnp.argmax(targets[..., classes], axis=-1))
        right = jnp.where(present, found & located, ~found)
        return {"sum": _total(weights, right), "count": jnp.sum(weights)}

    return Metric("localization_accuracy", "max", 0.0, 1.0, statistics, _ratio, fraction="correct")


def landmark_error_metric(num_classes: int, num_landmarks: int, image_size: float = 1.0) -> Metric:
    """``landmark_error``: the mean Euclidean distance ``‖(l̂_x, l̂_y) − (l_x, l_y)‖`` over the landmarks
    of the examples with an object, times ``image_size``: pixels of a square image of that side (1: fractions
    of the image side)."""
    _check_counts(num_classes, num_landmarks)
    if num_landmarks < 1 or not image_size > 0:
        raise ValueError(f"landmark_error needs num_landmarks >= 1 and image_size > 0, got {num_landmarks!r}, "
                         f"{image_size!r}")

    def statistics(outputs, targets, weights):
        outputs, targets = _check_vectors(outputs, targets, target_size(num_classes, num_landmarks))
        difference = landmark_points(outputs, num_classes, num_landmarks) - landmark_points(
            targets, num_classes, num_landmarks)
        distance = jnp.sqrt(jnp.sum(jnp.square(difference), axis=-1)).mean(axis=-1) * image_size
        objects = weights * targets[..., PRESENCE]
        return {"sum": _total(objects, distance), "count": jnp.sum(objects)}

    return Metric("landmark_error", "min", 0.0, math.inf, statistics, _ratio)
