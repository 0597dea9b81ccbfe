"""How well a trigger-word detector fires: per-step precision and recall, and per-event detection.

Per step (ones are rare, so accuracy alone says little): with ``ŷ⟨t⟩ = 1[z⟨t⟩ > 0]``
(``σ(z) > ½``), precision ``TP / (TP + FP)`` and recall ``TP / (TP + FN)`` over every step of
every clip: :data:`dlcourse.metrics.PRECISION`, :data:`dlcourse.metrics.RECALL` and
:data:`dlcourse.metrics.F1`; 0 when the denominator is 0.

Per event, for one clip with labels ``y [T_y]`` and predicted probabilities ``p [T_y]``:

- an **event** is a maximal run of consecutive steps with ``y⟨t⟩ = 1`` (the label window after one
  positive word; windows that touch form one event);
- a **firing** is a maximal run of consecutive steps with ``p⟨t⟩ > threshold``;
- an event is **detected** when ``p⟨t⟩ > threshold`` for at least one of its steps;
- a **false alarm** is a firing with no step inside any event (``y⟨t⟩ = 0`` all along it).

So a detector that fires once per event, anywhere within the window, is perfect; firing early
(before the word has ended) or late (after the window) is a missed event and a false alarm. Reported
over many clips: detection rate = detected / events, false alarms per clip, and event precision =
(firings − false alarms) / firings.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class EventCounts(NamedTuple):
    """Per-clip counts (module docstring), each int32 ``[m]``."""

    events: jax.Array
    detected: jax.Array
    firings: jax.Array
    false_alarms: jax.Array


@jax.jit
def runs_touching(runs_of, touched_by) -> tuple[jax.Array, jax.Array]:
    """``(runs, touching)`` for bool ``[T]`` sequences: the number of maximal runs of ``True`` in
    ``runs_of`` and how many of them contain a step where ``touched_by`` is ``True``; int32 scalars."""
    runs_of, touched_by = jnp.asarray(runs_of, bool), jnp.asarray(touched_by, bool)
    if runs_of.ndim != 1 or runs_of.shape != touched_by.shape:
        raise ValueError(f"expected two bool sequences [T] of one shape; got {runs_of.shape} and {touched_by.shape}")
    starts = runs_of & ~jnp.concatenate([jnp.zeros((1,), bool), runs_of[:-1]])
    run_id = jnp.where(runs_of, jnp.cumsum(starts), 0)                   # 1, 2, … inside runs; 0 outside
    hit = jax.ops.segment_max((runs_of & touched_by).astype(jnp.int32), run_id, num_segments=runs_of.shape[0] + 1)
    return jnp.sum(starts).astype(jnp.int32), jnp.sum(jnp.maximum(hit[1:], 0)).astype(jnp.int32)


@jax.jit
def count_events(probabilities, labels, threshold=0.5) -> EventCounts:
    """:class:`EventCounts` of predicted probabilities ``p [m, T_y]`` against 0/1 labels ``[m, T_y]``."""
    probabilities, labels = jnp.asarray(probabilities), jnp.asarray(labels)
    if probabilities.ndim != 2 or probabilities.shape != labels.shape:
        raise ValueError(f"probabilities and labels must be [m, T_y] of one shape; got {probabilities.shape} "
                         f"and {labels.shape}")
    fired, truth = probabilities > threshold, labels > 0.5
    events, detected = jax.vmap(runs_touching)(truth, fired)
    firings, true_firings = jax.vmap(runs_touching)(fired, truth)
    return EventCounts(events, detected, firings, firings - true_firings)


def event_summary(counts: EventCounts) -> dict[str, float]:
    """Totals over the clips: ``events``, ``detected``, ``firings``, ``false_alarms`` and the rates
    ``detection_rate`` (detected / events), ``false_alarms_per_clip``, ``event_precision``
    ((firings − false alarms) / firings); a rate with a zero denominator is 0."""
    total = {name: int(np.sum(value)) for name, value in counts._asdict().items()}
    clips = int(np.size(counts.events))
    rate = lambda a, b: a / b if b else 0.0  # noqa: E731
    return {**total, "detection_rate": rate(total["detected"], total["events"]),
            "false_alarms_per_clip": rate(total["false_alarms"], clips),
            "event_precision": rate(total["firings"] - total["false_alarms"], total["firings"])}
