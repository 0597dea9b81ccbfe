"""Classification metrics from logits: accuracy, error rate, confusion matrix.

Rows are examples. Two kinds of output are recognised by shape (static, so jittable):

- **binary**: logits ``[batch]`` or ``[batch, 1]``; the prediction is ``ŷ = 1[z > 0]``
  (``σ(z) > 0.5``); labels are 0/1 (ints, bools or floats), shape ``[batch]`` or ``[batch, 1]``.
- **multi-class**: logits ``[batch, C]`` with ``C ≥ 2``; the prediction is ``argmax_j z_j``;
  labels are integer classes ``[batch]`` or one-hot rows ``[batch, C]``.

``mask`` (``[batch]``, 1 for a real example, 0 for padding) excludes padded examples. A batch
with no real example (all-zero mask) has accuracy 0 *and* error rate 0: there is nothing to count,
and neither rate reports a result that did not happen.
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from dlcourse.nn.weighted_mean import weighted_mean


def is_binary(logits: jax.Array) -> bool:
    """True when ``logits`` are one score per example (``[batch]`` or ``[batch, 1]``)."""
    return logits.ndim == 1 or (logits.ndim == 2 and logits.shape[-1] == 1)


def predicted_classes(logits: jax.Array) -> jax.Array:
    """``1[z > 0]`` for binary logits, ``argmax_j z_j`` for multi-class; int32 ``[batch]``."""
    logits = jnp.asarray(logits)
    if is_binary(logits):
        return (logits.reshape(logits.shape[0]) > 0).astype(jnp.int32)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [batch], [batch, 1] or [batch, classes]; got {logits.shape}")
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)


def true_classes(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Labels as int32 classes ``[batch]`` (one-hot rows → argmax; binary floats → ``y > 0.5``)."""
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    batch = logits.shape[0]
    if is_binary(logits):
        if labels.size != batch:
            raise ValueError(f"binary labels must have {batch} entries; got shape {labels.shape}")
        labels = labels.reshape(batch)
        if jnp.issubdtype(labels.dtype, jnp.floating):
            return (labels > 0.5).astype(jnp.int32)
        return labels.astype(jnp.int32)
    if labels.shape == logits.shape:
        return jnp.argmax(labels, axis=-1).astype(jnp.int32)
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape {(batch,)} or {logits.shape}; got {labels.shape}")
    return labels.astype(jnp.int32)


def _weights(batch: int, mask: Optional[jax.Array]) -> jax.Array:
    if mask is None:
        return jnp.ones((batch,), jnp.float32)
    mask = jnp.asarray(mask, jnp.float32)
    if mask.shape != (batch,):
        raise ValueError(f"mask must have shape {(batch,)}; got {mask.shape}")
    return mask


def accuracy(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Fraction of (unmasked) examples with ``ŷ = y``; a float32 scalar (0 for an all-zero mask)."""
    correct = (predicted_classes(logits) == true_classes(logits, labels)).astype(jnp.float32)
    return weighted_mean(correct, _weights(correct.shape[0], mask))


def error_rate(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """The fraction of misclassified (unmasked) examples, ``1 − accuracy``; a float32 scalar.

    With an all-zero mask it is 0 (like :func:`accuracy`), not ``1 − 0``.
    """
    wrong = (predicted_classes(logits) != true_classes(logits, labels)).astype(jnp.float32)
    return weighted_mean(wrong, _weights(wrong.shape[0], mask))


def confusion_matrix(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """Counts ``M[i, j]`` of examples of true class ``i`` predicted as class ``j``.

    Shape ``[C, C]`` with ``C = 2`` for binary logits, else ``logits.shape[-1]``; float32 so masked
    (weighted) counts are exact sums of weights. The diagonal holds the correct predictions.
    """
    logits = jnp.asarray(logits)
    num_classes = 2 if is_binary(logits) else logits.shape[-1]
    predicted = predicted_classes(logits)
    actual = true_classes(logits, labels)
    weights = _weights(predicted.shape[0], mask)
    flat_index = actual * num_classes + predicted
    counts = jnp.zeros((num_classes * num_classes,), jnp.float32).at[flat_index].add(weights)
    return counts.reshape(num_classes, num_classes)
