"""Activation functions g(z) and their derivatives g'(z), for the hand-written backward pass.

The backward pass of an elementwise activation is ``dZ = dA * g'(Z)``; the derivatives below are
written from the formulas (not by autodiff) so :mod:`dlcourse.nn.step_by_step` can use them:

- sigmoid: ``σ(z) = 1 / (1 + e^{−z})``, ``σ'(z) = σ(z)(1 − σ(z))``
- tanh:    ``tanh'(z) = 1 − tanh²(z)``
- relu:    ``max(0, z)``, derivative ``1[z > 0]`` (0 at z = 0, the usual choice)
- leaky relu: ``max(αz, z)`` for ``0 ≤ α < 1``, derivative ``1`` if ``z > 0`` else ``α``
- softmax: ``softmax(z)_i = e^{z_i} / Σ_j e^{z_j}``; its derivative is a Jacobian
  ``∂a_i/∂z_j = a_i(δ_ij − a_j)`` (:func:`softmax_jacobian`). Paired with cross-entropy the
  backward pass simplifies to ``dZ = A − Y``.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

Activation = Callable[[jax.Array], jax.Array]


def sigmoid(z: jax.Array) -> jax.Array:
    """``σ(z) = 1 / (1 + e^{−z})``, computed without overflow for large ``|z|``."""
    return jax.nn.sigmoid(z)


def sigmoid_derivative(z: jax.Array) -> jax.Array:
    """``σ'(z) = σ(z)(1 − σ(z))``."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: jax.Array) -> jax.Array:
    """``tanh(z) = (e^z − e^{−z}) / (e^z + e^{−z})``."""
    return jnp.tanh(z)


def tanh_derivative(z: jax.Array) -> jax.Array:
    """``tanh'(z) = 1 − tanh²(z)``."""
    t = jnp.tanh(z)
    return 1.0 - t * t


def relu(z: jax.Array) -> jax.Array:
    """``max(0, z)``."""
    return jnp.maximum(z, 0)


def relu_derivative(z: jax.Array) -> jax.Array:
    """``1[z > 0]`` (taken as 0 at z = 0), in ``z``'s dtype."""
    return (z > 0).astype(z.dtype)


def leaky_relu(z: jax.Array, negative_slope: float = 0.01) -> jax.Array:
    """``max(αz, z)`` with ``α = negative_slope`` (0.01, the course's example)."""
    return jnp.where(z > 0, z, negative_slope * z)


def leaky_relu_derivative(z: jax.Array, negative_slope: float = 0.01) -> jax.Array:
    """``1`` where ``z > 0``, else ``α``."""
    return jnp.where(z > 0, jnp.ones_like(z), negative_slope * jnp.ones_like(z))


def identity(z: jax.Array) -> jax.Array:
    """``g(z) = z`` (a linear layer)."""
    return z


def identity_derivative(z: jax.Array) -> jax.Array:
    """``1``."""
    return jnp.ones_like(z)


def _shifted_by_max(z: jax.Array, axis: int) -> jax.Array:
    """``z − max z`` along ``axis``: softmax is unchanged by the shift and ``e^{z − max z} ≤ 1``
    cannot overflow. The max is a constant to autodiff (its gradient would cancel anyway)."""
    return z - jax.lax.stop_gradient(jnp.max(z, axis=axis, keepdims=True))


def softmax(z: jax.Array, axis: int = -1) -> jax.Array:
    """``a_i = e^{z_i} / Σ_j e^{z_j}`` along ``axis`` (−1: rows as examples; use 0 for the course's
    columns-as-examples ``Z: (C, m)``). Shifted by ``max z`` so large logits do not overflow."""
    e = jnp.exp(_shifted_by_max(z, axis))
    return e / jnp.sum(e, axis=axis, keepdims=True)


def log_softmax(z: jax.Array, axis: int = -1) -> jax.Array:
    """``log softmax(z)_j = z_j − log Σ_k e^{z_k}`` along ``axis``, shifted by ``max z``."""
    shifted = _shifted_by_max(z, axis)
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis=axis, keepdims=True))


def softmax_jacobian(z: jax.Array) -> jax.Array:
    """``∂a_i/∂z_j = a_i(δ_ij − a_j)`` for ``a = softmax(z)`` over the last axis.

    Shape ``[..., C] -> [..., C, C]`` (batched over leading axes).
    """
    a = softmax(z, axis=-1)
    return a[..., :, None] * (jnp.eye(z.shape[-1], dtype=a.dtype) - a[..., None, :])


_ACTIVATIONS: dict[str, tuple[Activation, Activation]] = {
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "identity": (identity, identity_derivative),
}
ACTIVATION_NAMES = tuple(_ACTIVATIONS)


def get_activation(name: str) -> Activation:
    """The elementwise activation called ``name`` (one of :data:`ACTIVATION_NAMES`)."""
    return _lookup(name)[0]


def get_activation_derivative(name: str) -> Activation:
    """``g'`` of the elementwise activation called ``name``."""
    return _lookup(name)[1]


def _lookup(name: str) -> tuple[Activation, Activation]:
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {ACTIVATION_NAMES}")
    return _ACTIVATIONS[name]
