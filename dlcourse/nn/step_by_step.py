"""The course's L-layer network written by hand: forward pass, cost, backward pass, update.

**Column convention** (the course's, unlike the rest of dlcourse): examples are *columns*.

- ``X = A[0]: (n[0], m)``, ``Y: (1, m)`` with labels in {0, 1}
- ``W[l]: (n[l], n[l−1])``, ``b[l]: (n[l], 1)``; ``parameters = {'W1', 'b1', …, 'WL', 'bL'}``
- ``Z[l] = W[l] A[l−1] + b[l]``, ``A[l] = g[l](Z[l])``: ``relu`` (or another hidden activation)
  for ``l < L``, ``sigmoid`` for the output layer ``L``.

Backward, for one layer, given ``dA[l] = ∂J/∂A[l]``::

    dZ[l] = dA[l] * g[l]'(Z[l])
    dW[l] = (1/m) dZ[l] A[l−1]ᵀ
    db[l] = (1/m) Σ_i dZ[l]^(i)          (sum over columns, kept as (n[l], 1))
    dA[l−1] = W[l]ᵀ dZ[l]

and it starts from ``dA[L] = −(Y / A[L] − (1 − Y) / (1 − A[L]))`` for the cross-entropy cost
``J = −(1/m) Σ (y log a + (1 − y) log(1 − a))``.

Caches: ``linear_forward`` returns ``(A_prev, W, b)``; ``linear_activation_forward`` returns
``(linear_cache, Z)``; ``l_model_forward`` returns the list of the L layer caches. Everything is a
pure function of arrays (no NumPy state), so it jits; :func:`l_model_backward` equals
``jax.grad`` of the cost (tested).
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp

from dlcourse.nn.activations import get_activation, get_activation_derivative
from dlcourse.nn.initializers import get_initializer

Parameters = dict[str, jax.Array]
LinearCache = tuple[jax.Array, jax.Array, jax.Array]
LayerCache = tuple[LinearCache, jax.Array]


def initialize_parameters_deep(
    key: jax.Array, layer_dims: Sequence[int], initializer: str = "random", scale: float = 0.01
) -> Parameters:
    """``W[l]: (n[l], n[l−1])`` drawn by the named initializer, ``b[l] = 0: (n[l], 1)``.

    Args:
      key: PRNG key.
      layer_dims: ``[n[0], n[1], …, n[L]]``, input size first.
      initializer: a name from :func:`dlcourse.nn.initializers.get_initializer`; the course's
        step-by-step notebook uses ``'random'`` with ``scale = 0.01``; ``'he'`` suits ReLU nets.
        Fan-in is ``n[l−1]`` (the kernel is drawn as ``(n[l−1], n[l])`` and transposed).
      scale: the standard deviation for ``'random'``.
    """
    layer_dims = list(layer_dims)
    if len(layer_dims) < 2 or any(int(n) < 1 for n in layer_dims):
        raise ValueError(f"layer_dims must list at least 2 positive sizes; got {layer_dims}")
    init = get_initializer(initializer, scale)
    keys = jax.random.split(key, len(layer_dims) - 1)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters[f"W{l}"] = init(keys[l - 1], (layer_dims[l - 1], layer_dims[l])).T
        parameters[f"b{l}"] = jnp.zeros((layer_dims[l], 1), jnp.float32)
    return parameters


def num_layers(parameters: Parameters) -> int:
    """``L``, the number of ``W[l]`` in ``parameters``."""
    count = sum(1 for name in parameters if name.startswith("W"))
    for l in range(1, count + 1):
        if f"W{l}" not in parameters or f"b{l}" not in parameters:
            raise ValueError(f"parameters must hold W1, b1, …, W{count}, b{count}; got {sorted(parameters)}")
    return count


def linear_forward(A_prev: jax.Array, W: jax.Array, b: jax.Array) -> tuple[jax.Array, LinearCache]:
    """``Z = W A_prev + b``; shapes ``(n[l], n[l−1]) · (n[l−1], m) + (n[l], 1) → (n[l], m)``.

    Returns ``(Z, (A_prev, W, b))``.
    """
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(f"W has shape {W.shape} but A_prev has shape {A_prev.shape} "
                         f"(need W.shape[1] == A_prev.shape[0])")
    return W @ A_prev + b, (A_prev, W, b)


def linear_activation_forward(
    A_prev: jax.Array, W: jax.Array, b: jax.Array, activation: str
) -> tuple[jax.Array, LayerCache]:
    """``A = g(W A_prev + b)`` with ``g`` named by ``activation`` ('relu', 'sigmoid', 'tanh', …).

    Returns ``(A, (linear_cache, Z))``.
    """
    g = get_activation(activation)
    Z, linear_cache = linear_forward(A_prev, W, b)
    return g(Z), (linear_cache, Z)


def l_model_forward(
    X: jax.Array, parameters: Parameters, hidden_activation: str = "relu"
) -> tuple[jax.Array, list[LayerCache]]:
    """``[LINEAR → hidden_activation] × (L − 1) → LINEAR → SIGMOID``.

    Returns ``(AL, caches)``: ``AL: (1, m)`` the probabilities ``ŷ``, and one cache per layer.
    """
    L = num_layers(parameters)
    caches = []
    A = X
    for l in range(1, L):
        A, cache = linear_activation_forward(A, parameters[f"W{l}"], parameters[f"b{l}"], hidden_activation)
        caches.append(cache)
    AL, cache = linear_activation_forward(A, parameters[f"W{L}"], parameters[f"b{L}"], "sigmoid")
    caches.append(cache)
    return AL, caches


def compute_cost(AL: jax.Array, Y: jax.Array) -> jax.Array:
    """``J = −(1/m) Σ_i (y^(i) log a^(i) + (1 − y^(i)) log(1 − a^(i)))``; ``AL, Y: (1, m)``.

    Written on probabilities as in the course; a saturated ``a`` of exactly 0 or 1 gives ``inf``.
    For a numerically stable cost from logits use
    :func:`dlcourse.losses.sigmoid_binary_cross_entropy`.
    """
    if AL.shape != Y.shape:
        raise ValueError(f"AL and Y must have the same shape; got {AL.shape} and {Y.shape}")
    m = Y.shape[-1]
    return -jnp.sum(Y * jnp.log(AL) + (1 - Y) * jnp.log(1 - AL)) / m


def linear_backward(dZ: jax.Array, cache: LinearCache) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``dW = (1/m) dZ A_prevᵀ``, ``db = (1/m) Σ_columns dZ``, ``dA_prev = Wᵀ dZ``.

    Returns ``(dA_prev, dW, db)`` with the shapes of ``A_prev``, ``W``, ``b``.
    """
    A_prev, W, _ = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = jnp.sum(dZ, axis=1, keepdims=True) / m
    dA_prev = W.T @ dZ
    return dA_prev, dW, db


def linear_activation_backward(
    dA: jax.Array, cache: LayerCache, activation: str
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``dZ = dA * g'(Z)``, then :func:`linear_backward`. Returns ``(dA_prev, dW, db)``."""
    linear_cache, Z = cache
    dZ = dA * get_activation_derivative(activation)(Z)
    return linear_backward(dZ, linear_cache)


def l_model_backward(
    AL: jax.Array, Y: jax.Array, caches: Sequence[LayerCache], hidden_activation: str = "relu"
) -> dict[str, jax.Array]:
    """The hand-written backward pass of :func:`l_model_forward` + :func:`compute_cost`.

    Starts from ``dAL = −(Y / AL − (1 − Y) / (1 − AL))`` and walks the caches backwards.

    Returns ``grads`` with the course's keys ``dA{l−1}``, ``dW{l}``, ``db{l}`` for ``l = 1…L``.
    ``dW``, ``db`` are ``∂J/∂W``, ``∂J/∂b``; as in the course the ``dA`` carry no ``1/m`` (they are
    the per-example ``∂L^(i)/∂A``; the ``1/m`` enters in ``dW``, ``db``), so ``dA0 = m ∂J/∂X``.
    """
    L = len(caches)
    Y = Y.reshape(AL.shape)
    dAL = -(Y / AL - (1 - Y) / (1 - AL))
    grads = {}
    dA = dAL
    for l in range(L, 0, -1):
        activation = "sigmoid" if l == L else hidden_activation
        dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_activation_backward(dA, caches[l - 1], activation)
        grads[f"dA{l - 1}"] = dA
    return grads


def l_model_gradients(
    parameters: Parameters, X: jax.Array, Y: jax.Array, hidden_activation: str = "relu"
) -> Parameters:
    """Forward then hand-written backward, returned in the layout of ``parameters``
    (``{'W1': dW1, 'b1': db1, …}``), e.g. for :func:`dlcourse.gradcheck.gradient_check`."""
    AL, caches = l_model_forward(X, parameters, hidden_activation)
    grads = l_model_backward(AL, Y, caches, hidden_activation)
    return {name: grads[f"d{name}"] for name in parameters}


def l_model_cost(parameters: Parameters, X: jax.Array, Y: jax.Array, hidden_activation: str = "relu") -> jax.Array:
    """``J(parameters)``: :func:`compute_cost` of :func:`l_model_forward`."""
    AL, _ = l_model_forward(X, parameters, hidden_activation)
    return compute_cost(AL, Y)


def update_parameters(parameters: Parameters, grads: dict[str, jax.Array], learning_rate) -> Parameters:
    """Gradient descent: ``W[l] ← W[l] − α dW[l]``, ``b[l] ← b[l] − α db[l]``.

    ``grads`` holds the course's ``dW{l}``/``db{l}`` keys; ``learning_rate`` α may be traced.
    """
    return {name: value - learning_rate * grads[f"d{name}"] for name, value in parameters.items()}
