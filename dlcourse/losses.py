"""Costs: cross-entropies from logits and the L2 penalty.

All losses take **logits** (the pre-activation ``z`` of the output layer) and apply the sigmoid or
softmax themselves, which is numerically stable where ``log(σ(z))`` of a saturated ``σ`` is not.
Rows are examples. Each returns the mean over the batch,
``J = Σ_i w_i L^(i) / Σ_i w_i`` with ``w = mask`` (1 for a real example, 0 for padding) or
``w = 1``; an all-zero mask gives 0.

The ``*_terms`` functions return the terms ``L`` themselves, one per *element* — per example,
per token of a sequence, per pixel of a segmentation map — without averaging, so a training loop
can weight them with a mask of any leading shape (``[B]``, ``[B, T]``, ``[B, H, W]``) and average
across mini-batches and devices exactly. :data:`LOSSES` names them for builders.
"""

from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.nn.activations import log_softmax
from dlcourse.nn.masked_means import weighted_mean

__all__ = ["LOSSES", "ignore_mask", "is_kernel_path", "l2_penalty", "log_softmax", "pixel_softmax_cross_entropy",
           "sigmoid_binary_cross_entropy",
           "sigmoid_binary_cross_entropy_terms", "softmax_cross_entropy", "softmax_cross_entropy_terms",
           "squared_error_terms"]


def _check_concrete_classes(labels: Any, num_classes: int, mask: Optional[Any]) -> None:
    """``ValueError`` if a concrete label of a real (unmasked) example is outside ``[0, C)``.

    Traced labels (under ``jit``/``vmap``) cannot be inspected and are not checked here.
    """
    if isinstance(labels, jax.core.Tracer) or isinstance(mask, jax.core.Tracer):
        return
    values = np.asarray(labels)
    if mask is not None:
        values = values[np.asarray(mask) != 0]
    bad = values[(values < 0) | (values >= num_classes)]
    if bad.size:
        raise ValueError(
            f"class labels must lie in [0, {num_classes}) for {num_classes} classes; "
            f"got {bad[:5].tolist()}"
        )


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """``J = −(1/m) Σ_i Σ_j y_j^(i) log ŷ_j^(i)`` with ``ŷ = softmax(z)``.

    Args:
      logits: ``[batch, C]``.
      labels: told apart by shape (as :func:`dlcourse.metrics.true_classes` does): ``[batch, C]``
        is one-hot / probability rows (the course's ``Y`` transposed; any dtype, integer one-hot
        included), ``[batch]`` is integer classes in ``[0, C)``.
      mask: optional ``[batch]`` weights of valid examples.

    Class labels outside ``[0, C)`` on a real example raise ``ValueError`` when they are concrete.
    Under ``jit``/``vmap`` they cannot be checked: such an example's loss is NaN (a negative label
    does not wrap around to a class counted from the end), so the mean is NaN unless the mask
    excludes that example — padding rows may carry any label.
    """
    logits = jnp.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [batch, classes]; got {logits.shape}")
    log_probs = log_softmax(logits)
    labels_in = labels
    labels = jnp.asarray(labels)
    batch, num_classes = logits.shape
    if labels.shape == logits.shape:
        per_example = -jnp.sum(labels.astype(log_probs.dtype) * log_probs, axis=-1)
    elif labels.shape == (batch,):
        if not jnp.issubdtype(labels.dtype, jnp.integer):
            raise ValueError(
                f"labels of shape {labels.shape} must be integer classes; got dtype {labels.dtype} "
                f"(one-hot / probability rows have shape {logits.shape})"
            )
        _check_concrete_classes(labels_in, num_classes, mask)
        in_range = (labels >= 0) & (labels < num_classes)
        safe = jnp.where(in_range, labels, 0)
        picked = jnp.take_along_axis(log_probs, safe[:, None], axis=-1)[:, 0]
        per_example = jnp.where(in_range, -picked, jnp.nan)
    else:
        raise ValueError(
            f"labels must have shape {(batch,)} (classes) or {logits.shape} (one-hot); "
            f"got {labels.shape}"
        )
    return weighted_mean(per_example, mask)


def sigmoid_binary_cross_entropy(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """``J = −(1/m) Σ_i (y log a + (1 − y) log(1 − a))`` with ``a = σ(z)``, from logits.

    Per element it is computed as ``softplus(z) − z·y`` with ``softplus(z) = log(1 + e^z)`` evaluated
    stably (the same value, without overflow or ``log 0``); its gradient is ``σ(z) − y`` everywhere,
    including ``z = 0`` where a ``max(z, 0)`` formulation would give autodiff a wrong subgradient.

    Args:
      logits: ``[batch]`` or ``[batch, 1]`` (or ``[batch, k]`` for k independent binary outputs,
        averaged over k per example).
      labels: ``y ∈ [0, 1]``, shape of ``logits`` or ``[batch]`` when logits are ``[batch, 1]``.
      mask: optional ``[batch]`` weights of valid examples.
    """
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels, logits.dtype)
    if logits.ndim == 2 and logits.shape[1] == 1 and labels.shape == logits.shape[:1]:
        logits = logits[:, 0]
    if labels.shape != logits.shape or logits.ndim == 0:
        raise ValueError(f"labels shape {labels.shape} does not match logits shape {logits.shape}")
    elementwise = jax.nn.softplus(logits) - logits * labels
    per_example = elementwise.reshape(elementwise.shape[0], -1).mean(axis=-1)
    return weighted_mean(per_example, mask)


def softmax_cross_entropy_terms(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``L = −Σ_j y_j log ŷ_j`` with ``ŷ = softmax(z)`` over the last axis, one term per element.

    ``logits`` ``[..., C]``; ``labels`` integer classes ``[...]`` or one-hot / probability rows
    ``[..., C]``. Returns ``[...]`` (e.g. ``[B]`` per example, ``[B, T]`` per token). A class label
    outside ``[0, C)`` gives NaN (it is never wrapped around), so weight such elements 0.
    """
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    if logits.ndim < 1:
        raise ValueError(f"logits must have a class axis, got shape {logits.shape}")
    log_probs = log_softmax(logits)
    if labels.shape == logits.shape:
        return -jnp.sum(labels.astype(log_probs.dtype) * log_probs, axis=-1)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must have shape {logits.shape[:-1]} (classes) or {logits.shape} "
                         f"(one-hot); got {labels.shape}")
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise ValueError(f"labels of shape {labels.shape} must be integer classes; got dtype {labels.dtype}")
    num_classes = logits.shape[-1]
    in_range = (labels >= 0) & (labels < num_classes)
    picked = jnp.take_along_axis(log_probs, jnp.where(in_range, labels, 0)[..., None], axis=-1)[..., 0]
    return jnp.where(in_range, -picked, jnp.nan)


def sigmoid_binary_cross_entropy_terms(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``L = −(y log σ(z) + (1 − y) log(1 − σ(z)))`` per element, as ``softplus(z) − z·y``.

    ``logits`` and ``labels`` of one shape (``[B]``, ``[B, k]``, ``[B, T]`` …); logits ``[B, 1]``
    with labels ``[B]`` give ``[B]``.
    """
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels, logits.dtype)
    if logits.ndim == labels.ndim + 1 and logits.shape[-1] == 1 and logits.shape[:-1] == labels.shape:
        logits = logits[..., 0]
    if labels.shape != logits.shape or logits.ndim == 0:
        raise ValueError(f"labels shape {labels.shape} does not match logits shape {logits.shape}")
    return jax.nn.softplus(logits) - logits * labels


def squared_error_terms(predictions: jax.Array, targets: jax.Array) -> jax.Array:
    """``L = ½ (ŷ − y)²`` per element (regression; shapes must agree)."""
    predictions, targets = jnp.asarray(predictions), jnp.asarray(targets)
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions shape {predictions.shape} does not match targets shape {targets.shape}")
    return 0.5 * jnp.square(predictions - targets.astype(predictions.dtype))


#: Per-element losses by name, for builders: ``(outputs, targets) -> terms``.
LOSSES = {
    "softmax": softmax_cross_entropy_terms,
    "sigmoid": sigmoid_binary_cross_entropy_terms,
    "squared_error": squared_error_terms,
}


def is_kernel_path(path: tuple[Any, ...]) -> bool:
    """True for a weight matrix: a Flax ``'kernel'`` leaf or a step-by-step ``'W{l}'`` entry.

    Biases (``'bias'``, ``'b{l}'``) and batch-norm ``'scale'``/``'bias'`` (γ, β) are not kernels.
    """
    if not path:
        return False
    last = path[-1]
    name = getattr(last, "key", getattr(last, "name", None))
    if not isinstance(name, str):
        return False
    return name == "kernel" or (name.startswith("W") and name[1:].isdigit())


def l2_penalty(params: Any, lam, m) -> jax.Array:
    """``(λ / 2m) Σ_l ‖W[l]‖²_F``, the L2 regularization term added to the cost.

    Sums over the weight matrices only — Flax ``'kernel'`` leaves (Dense, Conv) and the
    step-by-step ``'W{l}'`` entries — not over biases nor batch norm's γ/β: the course penalizes
    ``W`` (the bias is one number per unit and its penalty changes little), and γ is a scale that
    batch norm is meant to learn freely.

    Args:
      params: a pytree of parameters (e.g. ``variables['params']``).
      lam: λ, may be a traced scalar.
      m: the training-set size in the course's formula (may be traced).

    Its gradient adds the "weight decay" term ``(λ/m) W`` to ``dW``.
    """
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    kernels = [leaf for path, leaf in leaves if is_kernel_path(path)]
    if not kernels:
        raise ValueError("l2_penalty found no weight matrices ('kernel' or 'W{l}') in params")
    squared_norm = sum(jnp.sum(jnp.square(w)) for w in kernels)
    return lam / (2.0 * m) * squared_norm


# --- segmentation: per-pixel softmax with an ignore mask ----------------------------------------


def ignore_mask(labels: jax.Array, ignore_index: Optional[int] = None, mask: Optional[jax.Array] = None) -> jax.Array:
    """The weight of every pixel (element) of ``labels``: ``mask`` (or 1) times ``1[y ≠ ignore_index]``.

    ``labels``: integer classes ``[B, H, W]`` (any ``[B, ...]``); ``mask``: weights of the same shape,
    or ``[B]`` (one per image, broadcast over its pixels); ``ignore_index``: a label that marks
    pixels to leave out (e.g. 255 on object boundaries), or None. Returns float32 of ``labels.shape``
    — the per-pixel mask a :class:`dlcourse.data.Examples` carries for the training builder.
    """
    labels = jnp.asarray(labels)
    weights = jnp.ones(labels.shape, jnp.float32)
    if mask is not None:
        mask = jnp.asarray(mask, jnp.float32)
        if mask.shape == labels.shape[:1] and labels.ndim > 1:
            mask = mask.reshape(mask.shape + (1,) * (labels.ndim - 1))
        elif mask.shape != labels.shape:
            raise ValueError(f"mask must have the labels' shape {labels.shape} or {labels.shape[:1]}; "
                             f"got {mask.shape}")
        weights = weights * mask
    if ignore_index is not None:
        weights = jnp.where(labels == ignore_index, 0.0, weights)
    return weights


def pixel_softmax_cross_entropy(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None,
                                ignore_index: Optional[int] = None) -> jax.Array:
    """Per-pixel softmax loss ``J = Σ_p w_p (−log ŷ_p[y_p]) / Σ_p w_p`` with ``ŷ_p = softmax(z_p)``.

    ``logits`` ``[B, H, W, C]``; ``labels`` integer classes ``[B, H, W]``; ``w =``
    :func:`ignore_mask` ``(labels, ignore_index, mask)``: a pixel with mask 0 or label
    ``ignore_index`` contributes nothing (no NaN, zero gradient) and is not counted in the mean.
    No counted pixel gives 0. A label outside ``[0, C)`` on a counted pixel gives NaN.
    """
    logits, labels = jnp.asarray(logits), jnp.asarray(labels)
    if logits.shape[:-1] != labels.shape:
        raise ValueError(f"labels must have shape {logits.shape[:-1]} (one class per pixel); got {labels.shape}")
    weights = ignore_mask(labels, ignore_index, mask)
    terms = softmax_cross_entropy_terms(logits, labels.astype(jnp.int32))
    weighted = jnp.where(weights != 0, weights * terms, 0.0)
    total, count = jnp.sum(weighted), jnp.sum(weights)
    return jnp.where(count > 0, total / jnp.where(count > 0, count, 1.0), 0.0)
