"""Additive (Bahdanau) attention: how much the output at step t attends to each input step t′ (course 5).

The decoder's previous state ``s⟨t−1⟩`` and each encoder output ``a⟨t′⟩`` (the bidirectional
features ``[a→⟨t′⟩; a←⟨t′⟩]``) score the pair with a small network, the scores are normalized over
``t′``, and the context is the weighted sum of the encoder outputs::

    e⟨t,t′⟩ = v · tanh(W [s⟨t−1⟩; a⟨t′⟩] + b) + c          (Dense(hidden_size, tanh) → Dense(1))
    α⟨t,t′⟩ = exp(e⟨t,t′⟩) / Σ_{t″ real} exp(e⟨t,t″⟩)      (0 at padded t′; Σ_t′ α⟨t,t′⟩ = 1)
    context⟨t⟩ = Σ_t′ α⟨t,t′⟩ a⟨t′⟩

The course's assignment uses ``hidden_size = 10`` (its ``Dense(10, activation='tanh')`` then
``Dense(1, activation='relu')``; the ReLU on the energy there is dropped, as in Bahdanau et al.:
a softmax needs no positive scores and a ReLU would make every negative score equal). Since
``W [s; a] = W_s s + W_a a``, the product is taken in those two parts (no concatenation of
``s⟨t−1⟩`` repeated ``T_x`` times); the parameters are those of one Dense layer on the
concatenation.

A row whose mask is all false (no real input step) gets ``α = 0`` and a zero context, not NaN.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["AdditiveAttention", "bahdanau_attention", "masked_softmax"]


def masked_softmax(scores: jax.Array, mask: Optional[jax.Array] = None, axis: int = -1) -> jax.Array:
    """``softmax`` of ``scores`` along ``axis`` over the entries where ``mask`` is true: 0 elsewhere,
    and 0 everywhere in a slice with no true entry. ``mask`` broadcasts against ``scores``."""
    scores = jnp.asarray(scores)
    if mask is None:
        return jax.nn.softmax(scores, axis=axis)
    mask = jnp.broadcast_to(jnp.asarray(mask, bool), scores.shape)
    shifted = scores - jnp.max(jnp.where(mask, scores, -jnp.inf), axis=axis, keepdims=True)
    exponentials = jnp.where(mask, jnp.exp(jnp.where(mask, shifted, 0.0)), 0.0)
    total = jnp.sum(exponentials, axis=axis, keepdims=True)
    return exponentials / jnp.where(total > 0, total, 1.0)


def bahdanau_attention(params: dict, query: jax.Array, values: jax.Array,
                       mask: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
    """The attention as a pure function of :class:`AdditiveAttention`'s parameters ``params`` (e.g. for a
    decoder's ``lax.scan``): ``(context⟨t⟩ [m, n_a], α⟨t,·⟩ [m, T_x])`` from ``s⟨t−1⟩ [m, n_s]``,
    ``a [m, T_x, n_a]`` and ``mask [m, T_x]``."""
    query, values = jnp.asarray(query), jnp.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"values must have shape [m, T_x, n_a]; got {values.shape}")
    if query.ndim != 2 or query.shape[0] != values.shape[0]:
        raise ValueError(f"query must have shape [m={values.shape[0]}, n_s]; got {query.shape}")
    if mask is not None and jnp.shape(mask) != values.shape[:2]:
        raise ValueError(f"mask must have shape [m, T_x] = {values.shape[:2]}; got {jnp.shape(mask)}")
    kernel, n_s = params["hidden_kernel"], query.shape[-1]
    if kernel.shape[0] != n_s + values.shape[-1]:
        raise ValueError(f"hidden_kernel has {kernel.shape[0]} rows; query and values need n_s + n_a = "
                         f"{n_s} + {values.shape[-1]}")
    # W [s; a] + b = W_s s + W_a a + b: the values' part once for all t′, the query's broadcast over t′.
    hidden = jnp.tanh(values @ kernel[n_s:] + (query @ kernel[:n_s])[:, None, :] + params["hidden_bias"])
    energies = (hidden @ params["energy_kernel"])[..., 0] + params["energy_bias"][0]
    weights = masked_softmax(energies, mask)
    return jnp.einsum("mt,mtn->mn", weights, values), weights


class AdditiveAttention(nn.Module):
    """Bahdanau attention (module docstring).

    Attributes:
      hidden_size: the width of the scoring network's tanh layer (10 in the course's assignment).

    Parameters: ``hidden_kernel: (n_s + n_a, hidden_size)`` (the rows on ``s`` first; ``W`` transposed,
    Flax's Dense layout), ``hidden_bias: (hidden_size,)``, ``energy_kernel: (hidden_size, 1)``,
    ``energy_bias: (1,)``.

    ``__call__(query s⟨t−1⟩: [m, n_s], values a: [m, T_x, n_a], mask: [m, T_x] (true at real steps;
    None: all)) -> (context⟨t⟩ [m, n_a], α⟨t,·⟩ [m, T_x])``.
    """

    hidden_size: int = 10
    kernel_init: Callable[..., Any] = nn.initializers.lecun_normal()
    bias_init: Callable[..., Any] = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, query: jax.Array, values: jax.Array,
                 mask: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
        if not isinstance(self.hidden_size, int) or self.hidden_size < 1:
            raise ValueError(f"hidden_size must be a positive int; got {self.hidden_size!r}")
        n_s, n_a = jnp.shape(query)[-1], jnp.shape(values)[-1]
        params = {"hidden_kernel": self.param("hidden_kernel", self.kernel_init, (n_s + n_a, self.hidden_size)),
                  "hidden_bias": self.param("hidden_bias", self.bias_init, (self.hidden_size,)),
                  "energy_kernel": self.param("energy_kernel", self.kernel_init, (self.hidden_size, 1)),
                  "energy_bias": self.param("energy_bias", self.bias_init, (1,))}
        return bahdanau_attention(params, query, values, mask)
