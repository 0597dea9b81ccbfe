"""Weight initializers by name, as compared in the course's initialization lesson.

Every initializer returned by :func:`get_initializer` has the Flax signature
``init(key, shape, dtype=jnp.float32) -> array`` and draws from a Gaussian (the course uses
``np.random.randn``), so it plugs into ``flax.linen.Dense(kernel_init=...)``.

Fan-in and fan-out follow Flax's kernel layout ``(..., n_in, n_out)``: ``n_out = shape[-1]``,
``n_in = prod(shape[:-1])`` (for a Dense kernel ``(n[l-1], n[l])``; for a convolution kernel
``(f, f, n_C_prev, n_C)`` the receptive field counts towards ``n_in``). The course's column layout
``W[l]: (n[l], n[l-1])`` is the transpose; :mod:`dlcourse.nn.step_by_step` draws ``(n[l-1], n[l])``
and transposes.

=========  ==================================  =========================================
name       W ~                                 why
=========  ==================================  =========================================
zeros      0                                   fails to break symmetry (the lesson's point)
random     N(0, 1) · scale                     the course's ``randn * 0.01`` (or ``* 10``)
xavier     N(0, 1 / n_in)                      the course's choice for tanh layers
glorot     N(0, 2 / (n_in + n_out))            Glorot & Bengio's variant
he         N(0, 2 / n_in)                      He et al.; the course's choice for ReLU layers
=========  ==================================  =========================================

Names differ between libraries: ``'xavier'`` here is the course's N(0, 1/n_in) for tanh layers,
which is *not* PyTorch's ``xavier_normal_`` nor Flax's ``xavier_normal`` — those draw with variance
2/(n_in + n_out), which is ``'glorot'`` here. The ``'random'`` scale is structure, not a traced
hyperparameter: a Python float fixed when the initializer is built.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import jax
import jax.numpy as jnp

Initializer = Callable[..., jax.Array]

INITIALIZER_NAMES = ("zeros", "random", "xavier", "glorot", "he")


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """``(n_in, n_out)`` of a kernel of ``shape`` in Flax layout ``(..., n_in, n_out)``."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"a kernel needs at least 2 dimensions (…, n_in, n_out); got shape {shape}")
    return math.prod(shape[:-1]), shape[-1]


def _gaussian(variance_of_shape: Callable[[Sequence[int]], float]) -> Initializer:
    def init(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> jax.Array:
        std = math.sqrt(variance_of_shape(shape))
        return std * jax.random.normal(key, tuple(shape), dtype)

    return init


def zeros(key: jax.Array, shape: Sequence[int], dtype=jnp.float32) -> jax.Array:
    """``W = 0``: every unit of a layer computes the same function, forever."""
    del key
    return jnp.zeros(tuple(shape), dtype)


def get_initializer(name: str, scale: float = 0.01) -> Initializer:
    """The initializer called ``name`` (see the module table); ``scale`` is used by ``'random'`` only.

    Args:
      name: one of ``'zeros'``, ``'random'``, ``'xavier'``, ``'glorot'``, ``'he'``.
      scale: standard deviation of ``'random'``: ``W = randn(shape) · scale``; a Python float
        (converted with ``float``), so it is part of the model's structure, not a traced value.

    Returns:
      ``init(key, shape, dtype=float32) -> array``.

    Raises:
      ValueError: for an unknown name.
    """
    if name == "zeros":
        return zeros
    if name == "random":
        return _gaussian(lambda shape: float(scale) ** 2)
    if name == "xavier":
        return _gaussian(lambda shape: 1.0 / fans(shape)[0])
    if name == "glorot":
        return _gaussian(lambda shape: 2.0 / sum(fans(shape)))
    if name == "he":
        return _gaussian(lambda shape: 2.0 / fans(shape)[0])
    raise ValueError(f"unknown initializer {name!r}; expected one of {INITIALIZER_NAMES}")
