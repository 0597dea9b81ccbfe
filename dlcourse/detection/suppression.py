"""Score thresholding and per-class non-max suppression with a fixed-size output.

The notes' algorithm ("Non-max suppression algorithm"), per class:

1. discard every box whose score is ``≤ score_threshold`` (0.6 in the notes);
2. while boxes remain: output the one with the largest score, and discard every remaining box of
   the same class whose IoU with it is ``≥ iou_threshold`` (0.5).

The output has a fixed size ``max_outputs`` (padded, with a ``valid`` mask), so it jits, and
``jax.vmap`` runs it over a batch of images (:func:`batched_non_max_suppression`). Classes are
kept apart by comparing class ids (a box never suppresses a box of another class); the kept boxes
come out in decreasing score across all classes, at most ``max_outputs`` of them (the rest are
dropped, lowest scores first). Equal scores are taken in index order.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dlcourse.detection.boxes import iou

#: The notes' thresholds: scores ``≤ 0.6`` are discarded; IoU ``≥ 0.5`` with a kept box suppresses.
SCORE_THRESHOLD = 0.6
IOU_THRESHOLD = 0.5


class Detections(NamedTuple):
    """A fixed number ``M`` of detections of one image (or ``[B, M, ...]`` of a batch).

    Attributes:
      boxes: float32 ``[M, 4]`` corner boxes; zeros where not valid.
      scores: float32 ``[M]``, decreasing over the valid ones; 0 where not valid.
      classes: int32 ``[M]``; -1 where not valid.
      valid: bool ``[M]``; the valid detections come first.
    """

    boxes: jax.Array
    scores: jax.Array
    classes: jax.Array
    valid: jax.Array


def non_max_suppression(boxes: jax.Array, scores: jax.Array, classes: jax.Array, *, max_outputs: int,
                        score_threshold: float = SCORE_THRESHOLD, iou_threshold: float = IOU_THRESHOLD
                        ) -> Detections:
    """Per-class greedy NMS of one image's ``N`` boxes (see the module docstring).

    Args:
      boxes: ``[N, 4]`` corner boxes ``(x1, y1, x2, y2)``.
      scores: ``[N]``, e.g. ``p_c · P(class | object)``.
      classes: int ``[N]`` class of each box.
      max_outputs: ``M``, the size of the output.
      score_threshold: boxes with ``score ≤ score_threshold`` are discarded (may be traced).
      iou_threshold: a kept box suppresses the remaining boxes of its class with IoU ``≥`` this
        (may be traced).

    Returns:
      :class:`Detections` with ``M`` rows. Cost: one IoU row of ``N`` per kept box; the loop stops
      when no candidate is left.
    """
    if not isinstance(max_outputs, int) or max_outputs < 1:
        raise ValueError(f"max_outputs must be a positive int, got {max_outputs!r}")
    boxes = jnp.asarray(boxes, jnp.float32)
    scores = jnp.asarray(scores, jnp.float32)
    classes = jnp.asarray(classes, jnp.int32)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or scores.shape != boxes.shape[:1] or classes.shape != scores.shape:
        raise ValueError(f"non_max_suppression needs boxes [N, 4], scores [N], classes [N]; got "
                         f"{boxes.shape}, {scores.shape}, {classes.shape} (use jax.vmap or "
                         f"batched_non_max_suppression for a batch)")
    count = boxes.shape[0]
    candidates = jnp.where(scores > score_threshold, scores, -jnp.inf)
    empty = Detections(jnp.zeros((max_outputs, 4), jnp.float32), jnp.zeros((max_outputs,), jnp.float32),
                       jnp.full((max_outputs,), -1, jnp.int32), jnp.zeros((max_outputs,), bool))

    def remaining(state):
        index, left, _ = state
        return (index < max_outputs) & jnp.any(left > -jnp.inf)

    def keep_best(state):
        index, left, out = state
        best = jnp.argmax(left)
        box, cls = boxes[best], classes[best]
        out = Detections(out.boxes.at[index].set(box), out.scores.at[index].set(left[best]),
                         out.classes.at[index].set(cls), out.valid.at[index].set(True))
        suppressed = (iou(box, boxes) >= iou_threshold) & (classes == cls)
        suppressed = suppressed | (jnp.arange(count) == best)
        return index + 1, jnp.where(suppressed, -jnp.inf, left), out

    _, _, out = jax.lax.while_loop(remaining, keep_best, (jnp.zeros((), jnp.int32), candidates, empty))
    return out


def batched_non_max_suppression(boxes: jax.Array, scores: jax.Array, classes: jax.Array, *, max_outputs: int,
                                score_threshold: float = SCORE_THRESHOLD,
                                iou_threshold: float = IOU_THRESHOLD) -> Detections:
    """:func:`non_max_suppression` of each image of a batch: ``[B, N, 4]``, ``[B, N]``, ``[B, N]`` →
    :class:`Detections` of ``[B, M, ...]`` (``jax.vmap``; the loop runs until every image is done)."""
    return jax.vmap(lambda b, s, c: non_max_suppression(b, s, c, max_outputs=max_outputs,
                                                        score_threshold=score_threshold,
                                                        iou_threshold=iou_threshold))(boxes, scores, classes)
