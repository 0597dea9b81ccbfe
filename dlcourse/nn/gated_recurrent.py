"""Gated recurrent cells: the GRU and the LSTM, in the course's notation (course 5).

Every gate's weights act on the concatenation the lecture writes, ``W: (n_a, n_a + n_x)`` on
``[a⟨t−1⟩, x⟨t⟩]`` (its first ``n_a`` columns read the state), with a bias ``b: (n_a,)``; batch-major
rows compute ``[a⟨t−1⟩, x⟨t⟩] Wᵀ + b``. The cells are pure steps ``(params, state, x_t) -> (state,
a⟨t⟩)`` for :func:`dlcourse.nn.scan_cell` (padding masks, reversal, stacking).

**GRU** (the full form, with the relevance gate Γ_r; ``a⟨t⟩ = c⟨t⟩``)::

    Γ_u = σ(W_u [c⟨t−1⟩, x⟨t⟩] + b_u)        Γ_r = σ(W_r [c⟨t−1⟩, x⟨t⟩] + b_r)
    c̃⟨t⟩ = tanh(W_c [Γ_r ∗ c⟨t−1⟩, x⟨t⟩] + b_c)
    c⟨t⟩ = Γ_u ∗ c̃⟨t⟩ + (1 − Γ_u) ∗ c⟨t−1⟩

``reset_after=True`` is the variant of cuDNN, PyTorch, Keras (``reset_after=True``) and
``flax.linen.GRUCell``: the gate multiplies the state's term after the weights, which then carries
its own bias ``b_cc``, ``c̃⟨t⟩ = tanh(W_cx x⟨t⟩ + b_c + Γ_r ∗ (W_cc c⟨t−1⟩ + b_cc))`` with
``W_c = [W_cc | W_cx]``.

**LSTM** (no peepholes; ``c`` the memory cell, ``a`` the hidden state)::

    Γ_u = σ(W_u [a⟨t−1⟩, x⟨t⟩] + b_u)    Γ_f = σ(W_f [a⟨t−1⟩, x⟨t⟩] + b_f)    Γ_o = σ(W_o [a⟨t−1⟩, x⟨t⟩] + b_o)
    c̃⟨t⟩ = tanh(W_c [a⟨t−1⟩, x⟨t⟩] + b_c)
    c⟨t⟩ = Γ_u ∗ c̃⟨t⟩ + Γ_f ∗ c⟨t−1⟩          a⟨t⟩ = Γ_o ∗ tanh c⟨t⟩

**Flax's cells** (:func:`flax_gru_cell_to_gru`, :func:`flax_lstm_cell_to_lstm`): kernels are
``(n_in, n_out)`` (transposed), split into an input kernel and a recurrent kernel per gate.
``LSTMCell``/``OptimizedLSTMCell`` are this LSTM exactly (their ``i, f, g, o`` are Γ_u, Γ_f, c̃, Γ_o;
one bias per gate, on the recurrent side; carry ``(c, h)`` where this state is ``(a, c)``).
``GRUCell`` differs from the course's GRU twice: its reset gate is applied after the weights (the
``reset_after`` form, with a second bias on the candidate), and its update gate ``z`` keeps the old
state, ``h′ = (1 − z) ∗ n + z ∗ h``, so ``Γ_u = 1 − z``, which is ``σ`` of the negated weights
and bias. With those mapped it equals ``gru_step(..., reset_after=True)``; no parameters make it
equal the course's form, since ``W (Γ_r ∗ c) ≠ Γ_r ∗ (W c)`` in general.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp

from dlcourse.nn.recurrent import check_sequences, scan_cell

__all__ = ["LSTMState", "flax_gru_cell_to_gru", "flax_lstm_cell_to_lstm", "gru_forward", "gru_step", "lstm_forward",
           "lstm_step", "split_state_weights"]

LSTM_GATES = ("f", "u", "c", "o")  # stacked in this order for one matrix product per step


class LSTMState(NamedTuple):
    """The LSTM's state: hidden ``a: [m, n_a]`` and memory cell ``c: [m, n_a]``."""

    a: jax.Array
    c: jax.Array


def split_state_weights(w: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``W = [W_·a | W_·x]`` → ``(W_·a: (n_a, n_a), W_·x: (n_a, n_x))``, the columns on the state and the input."""
    return w[:, : w.shape[0]], w[:, w.shape[0]:]


def gru_step(params: dict, c_prev: jax.Array, x_t: jax.Array, reset_after: bool = False
             ) -> tuple[jax.Array, jax.Array]:
    """One GRU step (module docstring); returns ``(c⟨t⟩, a⟨t⟩ = c⟨t⟩)``.

    ``params``: ``W_u, W_r, W_c: (n_a, n_a + n_x)``, ``b_u, b_r, b_c: (n_a,)``, and with ``reset_after``
    also ``b_cc: (n_a,)``. ``c_prev: [m, n_a]``, ``x_t: [m, n_x]``.
    """
    if reset_after != ("b_cc" in params):
        raise ValueError(f"reset_after={reset_after} needs params {'with' if reset_after else 'without'} 'b_cc'; "
                         f"got keys {sorted(params)}")
    n_a = c_prev.shape[-1]
    a_x = jnp.concatenate([c_prev, x_t], axis=-1)
    gates = jax.nn.sigmoid(a_x @ jnp.concatenate([params["W_u"], params["W_r"]]).T
                           + jnp.concatenate([params["b_u"], params["b_r"]]))
    update, relevance = gates[:, :n_a], gates[:, n_a:]
    w_cc, w_cx = split_state_weights(params["W_c"])
    if reset_after:
        candidate = jnp.tanh(x_t @ w_cx.T + params["b_c"] + relevance * (c_prev @ w_cc.T + params["b_cc"]))
    else:
        candidate = jnp.tanh((relevance * c_prev) @ w_cc.T + x_t @ w_cx.T + params["b_c"])
    c = update * candidate + (1.0 - update) * c_prev
    return c, c


def gru_forward(params: dict, x: jax.Array, mask: Optional[jax.Array] = None, c0: Optional[jax.Array] = None,
                reset_after: bool = False, reverse: bool = False) -> tuple[jax.Array, jax.Array]:
    """The GRU over ``x: [m, T, n_x]`` (padding ``mask: [m, T]``) from ``c⟨0⟩ = c0`` (zeros).

    Returns ``(a: [m, T, n_a] (0 at padded steps), c at each example's last real step: [m, n_a])``.
    """
    x, mask = check_sequences(x, mask)
    if c0 is None:
        c0 = jnp.zeros((x.shape[0], params["W_u"].shape[0]), x.dtype)
    final, a = scan_cell(partial(gru_step, reset_after=reset_after), params, c0, x, mask, reverse)
    return a, final


def lstm_step(params: dict, state: LSTMState, x_t: jax.Array) -> tuple[LSTMState, jax.Array]:
    """One LSTM step (module docstring); returns ``(LSTMState(a⟨t⟩, c⟨t⟩), a⟨t⟩)``.

    ``params``: ``W_f, W_u, W_c, W_o: (n_a, n_a + n_x)``, ``b_f, b_u, b_c, b_o: (n_a,)``.
    """
    a_prev, c_prev = state
    n_a = a_prev.shape[-1]
    z = (jnp.concatenate([a_prev, x_t], axis=-1) @ jnp.concatenate([params[f"W_{g}"] for g in LSTM_GATES]).T
         + jnp.concatenate([params[f"b_{g}"] for g in LSTM_GATES]))
    forget, update = jax.nn.sigmoid(z[:, :n_a]), jax.nn.sigmoid(z[:, n_a: 2 * n_a])
    candidate, output = jnp.tanh(z[:, 2 * n_a: 3 * n_a]), jax.nn.sigmoid(z[:, 3 * n_a:])
    c = update * candidate + forget * c_prev
    a = output * jnp.tanh(c)
    return LSTMState(a, c), a


def lstm_forward(params: dict, x: jax.Array, mask: Optional[jax.Array] = None,
                 initial_state: Optional[LSTMState] = None, reverse: bool = False) -> tuple[jax.Array, LSTMState]:
    """The LSTM over ``x: [m, T, n_x]`` (padding ``mask: [m, T]``) from ``(a⟨0⟩, c⟨0⟩)`` (zeros).

    Returns ``(a: [m, T, n_a] (0 at padded steps), the state at each example's last real step)``.
    """
    x, mask = check_sequences(x, mask)
    if initial_state is None:
        zeros = jnp.zeros((x.shape[0], params["W_f"].shape[0]), x.dtype)
        initial_state = LSTMState(zeros, zeros)
    final, a = scan_cell(lstm_step, params, LSTMState(*initial_state), x, mask, reverse)
    return a, final


def _course_weights(flax_params: dict, input_name: str, recurrent_name: str, sign: float = 1.0) -> jax.Array:
    return sign * jnp.concatenate([flax_params[recurrent_name]["kernel"].T, flax_params[input_name]["kernel"].T],
                                  axis=1)


def flax_gru_cell_to_gru(flax_params: dict) -> dict:
    """``flax.linen.GRUCell`` parameters as this GRU's, for ``gru_step(..., reset_after=True)``.

    Flax: ``r = σ(x K_ir + b_ir + h K_hr)``, ``z = σ(x K_iz + b_iz + h K_hz)``,
    ``n = tanh(x K_in + b_in + r ∗ (h K_hn + b_hn))``, ``h′ = (1 − z) ∗ n + z ∗ h``. So
    ``W_r = [K_hrᵀ | K_irᵀ]``, ``b_r = b_ir``; ``Γ_u = 1 − z``: ``W_u = −[K_hzᵀ | K_izᵀ]``, ``b_u = −b_iz``;
    ``W_c = [K_hnᵀ | K_inᵀ]``, ``b_c = b_in``, ``b_cc = b_hn``.
    """
    p = flax_params.get("params", flax_params)
    return {"W_u": _course_weights(p, "iz", "hz", -1.0), "b_u": -p["iz"]["bias"],
            "W_r": _course_weights(p, "ir", "hr"), "b_r": p["ir"]["bias"],
            "W_c": _course_weights(p, "in", "hn"), "b_c": p["in"]["bias"], "b_cc": p["hn"]["bias"]}


def flax_lstm_cell_to_lstm(flax_params: dict) -> dict:
    """``flax.linen.LSTMCell`` or ``OptimizedLSTMCell`` parameters as this LSTM's (the same equations).

    Flax's gates ``i, f, g, o`` are ``Γ_u, Γ_f, c̃, Γ_o``: ``W_u = [K_hiᵀ | K_iiᵀ]``, ``b_u = b_hi`` (its
    biases sit on the recurrent kernels), and so on. Flax's carry ``(c, h)`` is ``LSTMState(a=h, c=c)``.
    """
    p = flax_params.get("params", flax_params)
    names = {"u": "i", "f": "f", "c": "g", "o": "o"}
    params = {}
    for gate, flax_gate in names.items():
        params[f"W_{gate}"] = _course_weights(p, f"i{flax_gate}", f"h{flax_gate}")
        params[f"b_{gate}"] = p[f"h{flax_gate}"]["bias"]
    return params
