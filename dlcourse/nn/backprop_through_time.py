"""Backpropagation through time, written by hand, for the RNN cell and the LSTM (course 5).

The forward pass keeps each step's values; a reversed ``lax.scan`` carries the gradient of the
state after step ``t`` back to step ``t − 1``. ``da: [m, T, n_a]`` is the gradient of the cost with
respect to the outputs ``a⟨t⟩`` (from whatever reads them, e.g. ``ŷ⟨t⟩``); the gradient reaching the
state after step ``t`` is ``da_next + da⟨t⟩``, ``da_next`` coming from step ``t + 1``. Batch-major
rows (``x⟨t⟩: [m, n_x]``), weights as in :mod:`dlcourse.nn.recurrent` /
:mod:`dlcourse.nn.gated_recurrent`; sums over the batch and over time.

RNN cell, with ``a⟨t⟩ = tanh(z)``::

    dz = (1 − a⟨t⟩²) ∗ (da_next + da⟨t⟩)
    dW_aa += dzᵀ a⟨t−1⟩    dW_ax += dzᵀ x⟨t⟩    db_a += Σ_m dz
    dx⟨t⟩ = dz W_ax        da_prev = dz W_aa

LSTM (``dΓ``: gradients of the gates' pre-activations; ``[a, x] = [a⟨t−1⟩, x⟨t⟩]``)::

    da = da_next + da⟨t⟩
    dc = dc_next + da ∗ Γ_o ∗ (1 − tanh² c⟨t⟩)
    dΓ_o = da ∗ tanh c⟨t⟩ ∗ Γ_o (1 − Γ_o)        dc̃ = dc ∗ Γ_u ∗ (1 − c̃²)
    dΓ_u = dc ∗ c̃ ∗ Γ_u (1 − Γ_u)                dΓ_f = dc ∗ c⟨t−1⟩ ∗ Γ_f (1 − Γ_f)
    dW_g += dΓ_gᵀ [a, x]    db_g += Σ_m dΓ_g    (g = f, u, c, o)
    [da_prev, dx⟨t⟩] = Σ_g dΓ_g W_g              dc_prev = dc ∗ Γ_f

At a padded step (``mask = 0``) the state passed through unchanged, so ``da_next`` and ``dc_next``
pass through to step ``t − 1`` and the step's weights get nothing. Checked against ``jax.grad`` and
:func:`dlcourse.gradcheck.gradient_check`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
from jax import lax

from dlcourse.nn.activations import softmax
from dlcourse.nn.gated_recurrent import LSTM_GATES, LSTMState
from dlcourse.nn.recurrent import check_sequences, rnn_forward

__all__ = ["RecurrentGradients", "lstm_backward", "rnn_backward", "rnn_softmax_loss_and_gradients"]


class RecurrentGradients(NamedTuple):
    """``params``: the weights' gradients (keys as the params'); ``x``: ``dx: [m, T, n_x]``;
    ``initial_state``: the gradient of the initial state (``da⟨0⟩``, or ``LSTMState(da⟨0⟩, dc⟨0⟩)``)."""

    params: dict
    x: jax.Array
    initial_state: Any


def _time_major(*arrays):
    return tuple(jnp.swapaxes(a, 0, 1) for a in arrays)


def rnn_backward(params: dict, x: jax.Array, da: jax.Array, mask: Optional[jax.Array] = None,
                 a0: Optional[jax.Array] = None, da_final: Optional[jax.Array] = None) -> RecurrentGradients:
    """Gradients of the RNN cell over ``x: [m, T, n_x]`` given ``da = ∂J/∂a⟨t⟩: [m, T, n_a]``.

    ``da_final``: gradient of the state after each example's last real step, if a cost reads it
    (zeros). Returns :class:`RecurrentGradients` with ``params = {W_aa, W_ax, b_a}``.
    """
    x, mask = check_sequences(x, mask)
    w_aa, w_ax = params["W_aa"], params["W_ax"]
    m, n_a = x.shape[0], w_aa.shape[0]
    if da.shape != (m, x.shape[1], n_a):
        raise ValueError(f"da must have shape {(m, x.shape[1], n_a)}; got {da.shape}")
    x = x.astype(jnp.result_type(x, *jax.tree.leaves(params)))
    a0 = jnp.zeros((m, n_a), x.dtype) if a0 is None else jnp.asarray(a0, x.dtype)
    keep = mask.astype(x.dtype)[:, :, None]

    def forward(a_prev, inputs):
        x_t, keep_t = inputs
        a_new = jnp.tanh(a_prev @ w_aa.T + x_t @ w_ax.T + params["b_a"])
        return keep_t * a_new + (1 - keep_t) * a_prev, (a_prev, a_new)

    xs, keeps, das = _time_major(x, keep, jnp.asarray(da, x.dtype))
    _, (a_prev, a_new) = lax.scan(forward, a0, (xs, keeps))

    def backward(carry, inputs):
        da_next, dw_aa, dw_ax, db_a = carry
        x_t, keep_t, da_t, a_prev_t, a_t = inputs
        dz = (1 - a_t**2) * keep_t * (da_next + da_t)
        dw_aa, dw_ax, db_a = dw_aa + dz.T @ a_prev_t, dw_ax + dz.T @ x_t, db_a + dz.sum(0)
        da_prev = dz @ w_aa + (1 - keep_t) * da_next
        return (da_prev, dw_aa, dw_ax, db_a), dz @ w_ax

    start = (jnp.zeros((m, n_a), x.dtype) if da_final is None else jnp.asarray(da_final, x.dtype), jnp.zeros_like(w_aa),
             jnp.zeros_like(w_ax), jnp.zeros_like(params["b_a"]))
    (da0, dw_aa, dw_ax, db_a), dx = lax.scan(backward, start, (xs, keeps, das, a_prev, a_new), reverse=True)
    return RecurrentGradients({"W_aa": dw_aa, "W_ax": dw_ax, "b_a": db_a}, jnp.swapaxes(dx, 0, 1), da0)


def rnn_softmax_loss_and_gradients(params: dict, x: jax.Array, y: jax.Array, mask: Optional[jax.Array] = None,
                                   a0: Optional[jax.Array] = None) -> tuple[jax.Array, RecurrentGradients]:
    """The cost ``J = Σ_m Σ_t mask · L(ŷ⟨t⟩, y⟨t⟩)``, ``L = −log ŷ⟨t⟩_{y⟨t⟩}``, and its gradients by hand.

    ``y: [m, T]`` integer class ids; ``params`` holds ``W_aa, W_ax, b_a, W_ya, b_y``. The output layer:
    ``dz_y⟨t⟩ = mask · (ŷ⟨t⟩ − onehot(y⟨t⟩))``, ``dW_ya = Σ_t dz_yᵀ a⟨t⟩``, ``db_y = Σ dz_y``,
    ``da⟨t⟩ = dz_y W_ya``; then :func:`rnn_backward`. Returns ``(J, RecurrentGradients)`` with all five
    weights' gradients in ``params``.
    """
    x, mask = check_sequences(x, mask)
    if y.shape != x.shape[:2]:
        raise ValueError(f"y must have shape [batch, T] = {x.shape[:2]}; got shape {y.shape}")
    a, y_hat = rnn_forward(params, x, mask, a0)
    keep = mask.astype(y_hat.dtype)[:, :, None]
    one_hot = jax.nn.one_hot(y, y_hat.shape[-1], dtype=y_hat.dtype)
    logits = a @ params["W_ya"].T + params["b_y"]
    cost = -jnp.sum(keep * one_hot * jax.nn.log_softmax(logits, axis=-1))
    dz_y = keep * (softmax(logits, axis=-1) - one_hot)
    gradients = rnn_backward(params, x, dz_y @ params["W_ya"], mask, a0)
    weights = dict(gradients.params, W_ya=jnp.einsum("mty,mta->ya", dz_y, a), b_y=dz_y.sum((0, 1)))
    return cost, gradients._replace(params=weights)


def lstm_backward(params: dict, x: jax.Array, da: jax.Array, mask: Optional[jax.Array] = None,
                  initial_state: Optional[LSTMState] = None,
                  d_final_state: Optional[LSTMState] = None) -> RecurrentGradients:
    """Gradients of the LSTM over ``x: [m, T, n_x]`` given ``da = ∂J/∂a⟨t⟩: [m, T, n_a]``.

    ``d_final_state``: gradients of the final ``(a, c)``, if a cost reads them (zeros). Returns
    :class:`RecurrentGradients` with ``params = {W_f, W_u, W_c, W_o, b_f, b_u, b_c, b_o}`` and
    ``initial_state = LSTMState(da⟨0⟩, dc⟨0⟩)``.
    """
    x, mask = check_sequences(x, mask)
    w = jnp.concatenate([params[f"W_{g}"] for g in LSTM_GATES])  # (4 n_a, n_a + n_x)
    b = jnp.concatenate([params[f"b_{g}"] for g in LSTM_GATES])
    m, n_a = x.shape[0], w.shape[0] // 4
    if da.shape != (m, x.shape[1], n_a):
        raise ValueError(f"da must have shape {(m, x.shape[1], n_a)}; got {da.shape}")
    x = x.astype(jnp.result_type(x, *jax.tree.leaves(params)))
    zeros = jnp.zeros((m, n_a), x.dtype)
    a0, c0 = (zeros, zeros) if initial_state is None else (jnp.asarray(s, x.dtype) for s in initial_state)
    keep = mask.astype(x.dtype)[:, :, None]

    def forward(state, inputs):
        (a_prev, c_prev), (x_t, keep_t) = state, inputs
        a_x = jnp.concatenate([a_prev, x_t], axis=-1)
        z = a_x @ w.T + b
        gates = jax.nn.sigmoid(z).at[:, 2 * n_a: 3 * n_a].set(jnp.tanh(z[:, 2 * n_a: 3 * n_a]))  # Γ_f, Γ_u, c̃, Γ_o
        c = gates[:, n_a: 2 * n_a] * gates[:, 2 * n_a: 3 * n_a] + gates[:, :n_a] * c_prev
        a = gates[:, 3 * n_a:] * jnp.tanh(c)
        new_state = (keep_t * a + (1 - keep_t) * a_prev, keep_t * c + (1 - keep_t) * c_prev)
        return new_state, (a_x, c_prev, gates, c)

    xs, keeps, das = _time_major(x, keep, jnp.asarray(da, x.dtype))
    _, caches = lax.scan(forward, (a0, c0), (xs, keeps))

    def backward(carry, inputs):
        da_next, dc_next, dw, db = carry
        keep_t, da_t, (a_x, c_prev, gates, c) = inputs
        forget, update, candidate, output = (gates[:, i * n_a: (i + 1) * n_a] for i in range(4))
        d_a = keep_t * (da_next + da_t)
        tanh_c = jnp.tanh(c)
        dc = keep_t * dc_next + d_a * output * (1 - tanh_c**2)
        dz = jnp.concatenate([dc * c_prev * forget * (1 - forget), dc * candidate * update * (1 - update),
                              dc * update * (1 - candidate**2), d_a * tanh_c * output * (1 - output)], axis=-1)
        d_a_x = dz @ w
        da_prev = d_a_x[:, :n_a] + (1 - keep_t) * da_next
        dc_prev = dc * forget + (1 - keep_t) * dc_next
        return (da_prev, dc_prev, dw + dz.T @ a_x, db + dz.sum(0)), d_a_x[:, n_a:]

    da_last, dc_last = (zeros, zeros) if d_final_state is None else (jnp.asarray(d, x.dtype) for d in d_final_state)
    start = (da_last, dc_last, jnp.zeros_like(w), jnp.zeros_like(b))
    (da0, dc0, dw, db), dx = lax.scan(backward, start, (keeps, das, caches), reverse=True)
    grads = {}
    for i, gate in enumerate(LSTM_GATES):
        grads[f"W_{gate}"] = dw[i * n_a: (i + 1) * n_a]
        grads[f"b_{gate}"] = db[i * n_a: (i + 1) * n_a]
    return RecurrentGradients(grads, jnp.swapaxes(dx, 0, 1), LSTMState(da0, dc0))
