"""Batch normalization: the pure functions and a Linen module equal to ``flax.linen.BatchNorm``.

Layout: rows are examples (Flax). ``z`` has shape ``[batch, ..., features]``; statistics are taken
over every axis but the last, so a Dense pre-activation ``[m, n[l]]`` and a convolution's
``[m, n_H, n_W, n_C]`` both work. The course writes the same thing per unit over a mini-batch::

    μ = (1/m) Σ_i z^(i)
    σ² = (1/m) Σ_i (z^(i) − μ)²                  (the biased, 1/m, variance)
    z_norm^(i) = (z^(i) − μ) / √(σ² + ε)          (ε inside the square root)
    z̃^(i) = γ z_norm^(i) + β

At test time μ and σ² are replaced by running (exponentially weighted) averages kept during
training. Convention (Flax's): ``running = momentum · running + (1 − momentum) · batch`` with
``momentum = 0.99``, ``ε = 1e-5``, running variance initialised to 1 and mean to 0, and the running
variance tracks the biased batch variance. (PyTorch writes ``momentum`` for ``1 −`` this and
defaults to 0.1, i.e. 0.9 here.)

Padded batches: an optional ``mask`` of valid examples, shape ``[batch]``, excludes padding from
μ and σ²; a batch that is all padding gives μ = σ² = 0 (finite, not NaN), which the running
averages then take in with weight ``1 − momentum``. Precision: μ and σ² are computed in at least
float32 (``promote_types(z.dtype, float32)``), as Flax does, so bfloat16/float16 inputs do not lose
the statistics' accuracy. Across devices: with ``axis_name`` set, sums and counts are ``lax.psum``-ed over that
named axis (inside ``shard_map``/``pmap``), so every device normalizes with the global batch's μ
and σ²; the result equals normalizing the unsharded batch.
"""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.nn.masked_means import guarded_divide

DEFAULT_MOMENTUM = 0.99
DEFAULT_EPSILON = 1e-5


def batch_statistics(
    z: jax.Array, mask: Optional[jax.Array] = None, axis_name: Optional[str] = None
) -> tuple[jax.Array, jax.Array]:
    """Per-feature batch mean μ and biased variance σ² of ``z: [batch, ..., features]``.

    ``mask`` (``[batch]``, 1 for a real example, 0 for padding) weights the examples; with
    ``axis_name`` the sums run over all devices of that named axis. Both results have dtype
    ``promote_types(z.dtype, float32)``; with no weight at all (all padding) both are 0.
    """
    z = jnp.asarray(z)
    if z.ndim < 2:
        raise ValueError(f"batch norm needs z of shape [batch, ..., features]; got shape {z.shape}")
    axes = tuple(range(z.ndim - 1))
    dtype = jnp.promote_types(z.dtype, jnp.float32)
    z = z.astype(dtype)
    if mask is None:
        weights = jnp.ones(z.shape[:-1] + (1,), dtype)
    else:
        mask = jnp.asarray(mask, dtype)
        if mask.shape != z.shape[:1]:
            raise ValueError(f"mask must have shape {z.shape[:1]} (one per example); got {mask.shape}")
        weights = jnp.broadcast_to(mask.reshape((-1,) + (1,) * (z.ndim - 1)), z.shape[:-1] + (1,))

    def total(x):
        s = jnp.sum(x, axis=axes)
        return s if axis_name is None else jax.lax.psum(s, axis_name)

    count = total(weights)
    mean = guarded_divide(total(weights * z), count)
    var = guarded_divide(total(weights * jnp.square(z - mean)), count)
    return mean, var


def normalize(z, mean, var, gamma, beta, eps: float = DEFAULT_EPSILON) -> jax.Array:
    """``γ (z − μ) / √(σ² + ε) + β``, broadcasting per feature over the last axis."""
    return gamma * (z - mean) * jax.lax.rsqrt(var + eps) + beta


def batch_norm_train(
    z: jax.Array,
    gamma: jax.Array,
    beta: jax.Array,
    eps: float = DEFAULT_EPSILON,
    *,
    mask: Optional[jax.Array] = None,
    axis_name: Optional[str] = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Training-mode batch norm: normalize with this batch's statistics.

    Args:
      z: ``[batch, ..., features]`` pre-activations.
      gamma, beta: ``[features]`` learned scale γ and shift β.
      eps: ε inside the square root.
      mask: optional ``[batch]`` weights of valid examples (padding excluded from μ, σ²).
      axis_name: optional named device axis to average the statistics over.

    Returns:
      ``(z̃, μ, σ²)``: the output ``γ z_norm + β`` (shape of ``z``) and the batch mean and biased
      variance (``[features]``), the latter two for :func:`update_running_average`.
    """
    mean, var = batch_statistics(z, mask=mask, axis_name=axis_name)
    return normalize(z, mean, var, gamma, beta, eps), mean, var


def batch_norm_inference(
    z: jax.Array,
    gamma: jax.Array,
    beta: jax.Array,
    running_mean: jax.Array,
    running_var: jax.Array,
    eps: float = DEFAULT_EPSILON,
) -> jax.Array:
    """Test-time batch norm: ``γ (z − μ_running) / √(σ²_running + ε) + β``."""
    return normalize(z, running_mean, running_var, gamma, beta, eps)


def update_running_average(running: jax.Array, batch: jax.Array, momentum=DEFAULT_MOMENTUM):
    """``running ← momentum · running + (1 − momentum) · batch`` (Flax's convention)."""
    return momentum * running + (1.0 - momentum) * batch


class BatchNorm(nn.Module):
    """Batch norm over the last (feature) axis, with the layout of ``flax.linen.BatchNorm``.

    Variables: params ``{'scale': γ, 'bias': β}`` (γ = 1, β = 0 initially); batch_stats
    ``{'mean', 'var'}`` (0 and 1 initially). The variables of one module load into the other.

    ``__call__(x, *, train, mask=None)``: with ``train=True`` it normalizes with the batch
    statistics and, except during ``init``, updates the running averages (call ``apply`` with
    ``mutable=['batch_stats']``); with ``train=False`` it uses the running averages.

    Attributes:
      momentum: running-average momentum (Flax's convention, see the module docstring).
      epsilon: ε inside the square root.
      axis_name: named device axis over which batch statistics are averaged in training (as in
        Flax, not used during ``init``).
    """

    momentum: float = DEFAULT_MOMENTUM
    epsilon: float = DEFAULT_EPSILON
    axis_name: Optional[str] = None

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool, mask: Optional[jax.Array] = None) -> jax.Array:
        features = x.shape[-1]
        gamma = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
        beta = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
        running_mean = self.variable("batch_stats", "mean", jnp.zeros, (features,), jnp.float32)
        running_var = self.variable("batch_stats", "var", jnp.ones, (features,), jnp.float32)
        if not train:
            return batch_norm_inference(
                x, gamma, beta, running_mean.value, running_var.value, self.epsilon
            )
        initializing = self.is_initializing()
        out, mean, var = batch_norm_train(
            x, gamma, beta, self.epsilon, mask=mask,
            axis_name=None if initializing else self.axis_name,
        )
        if not initializing:
            running_mean.value = update_running_average(running_mean.value, mean, self.momentum)
            running_var.value = update_running_average(running_var.value, var, self.momentum)
        return out
