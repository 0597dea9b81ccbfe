"""Costs: cross-entropies from logits and the L2 penalty.

All losses take **logits** (the pre-activation ``z`` of the output layer) and apply the sigmoid or
softmax themselves, which is numerically stable where ``log(σ(z))`` of a saturated ``σ`` is not.
Rows are examples. Each returns the mean over the batch,
``J = Σ_i w_i L^(i) / Σ_i w_i`` with ``w = mask`` (1 for a real example, 0 for padding) or
``w = 1``; an all-zero mask gives 0.
"""

from __future__ import annotations

from typing import Any, Optional

import jax
import jax.numpy as jnp


def _masked_mean(per_example: jax.Array, mask: Optional[jax.Array]) -> jax.Array:
    if mask is None:
        return jnp.mean(per_example)
    mask = jnp.asarray(mask, per_example.dtype)
    if mask.shape != per_example.shape:
        raise ValueError(f"mask must have shape {per_example.shape} (one weight per example); got {mask.shape}")
    total = jnp.sum(mask)
    return jnp.where(total > 0, jnp.sum(mask * per_example) / jnp.where(total > 0, total, 1), 0.0)


def log_softmax(logits: jax.Array) -> jax.Array:
    """``log softmax(z)_j = z_j − log Σ_k e^{z_k}`` over the last axis, shifted by ``max z``."""
    shifted = logits - jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1, keepdims=True))


def softmax_cross_entropy(logits: jax.Array, labels: jax.Array, mask: Optional[jax.Array] = None) -> jax.Array:
    """``J = −(1/m) Σ_i Σ_j y_j^(i) log ŷ_j^(i)`` with ``ŷ = softmax(z)``.

    Args:
      logits: ``[batch, C]``.
      labels: integer classes ``[batch]``, or one-hot / probability rows ``[batch, C]``
        (the course's ``Y`` transposed).
      mask: optional ``[batch]`` weights of valid examples.
    """
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape [batch, classes]; got {logits.shape}")
    log_probs = log_softmax(logits)
    if jnp.issubdtype(labels.dtype, jnp.integer):
        if labels.shape != logits.shape[:1]:
            raise ValueError(f"integer labels must have shape {logits.shape[:1]}; got {labels.shape}")
        per_example = -jnp.take_along_axis(log_probs, labels[:, None], axis=-1)[:, 0]
    else:
        if labels.shape != logits.shape:
            raise ValueError(f"one-hot labels must have shape {logits.shape}; got {labels.shape}")
        per_example = -jnp.sum(labels * log_probs, axis=-1)
    return _masked_mean(per_example, mask)


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
    return _masked_mean(per_example, mask)


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
