"""Linen layers over padded sequences: the RNN, the GRU and the LSTM, bidirectional and deep.

Each layer holds its cell's parameters in the course's names and shapes (see
:mod:`dlcourse.nn.recurrent` and :mod:`dlcourse.nn.gated_recurrent`) and unrolls the pure step with
:func:`dlcourse.nn.scan_cell`::

    final_state, a = layer.apply(variables, x, mask)    # x: [m, T, n_x], mask: [m, T] → a: [m, T, n_a]

``a`` is 0 at padded steps; ``final_state`` is each example's state after its last real step
(many-to-one models read it); with ``reverse=True`` the layer runs from each example's last real step
back to ``t = 1``. The readout ``ŷ⟨t⟩ = g(W_y a⟨t⟩ + b_y)`` is left to the model (e.g. ``flax.linen.Dense``).

Initialization, Flax's defaults for its recurrent cells, with each weight matrix
``W = [W_·a | W_·x]: (n_a, n_a + n_x)`` drawn in two parts: the columns on the state ``W_·a`` from
``recurrent_kernel_init`` (orthogonal), the columns on the input ``W_·x`` from ``kernel_init``
(LeCun normal, variance ``1/n_x``), both drawn in Flax's ``(n_in, n_out)`` layout and transposed;
biases ``bias_init`` (zeros). The LSTM's forget-gate bias has its own ``forget_bias_init`` (zeros, as
Flax; Keras starts it at 1 so the cell remembers at first). Drawn this way the parameters have the
distribution of Flax's ``SimpleCell``/``GRUCell``/``LSTMCell`` parameters, not their values.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.nn.gated_recurrent import LSTM_GATES, LSTMState, gru_step, lstm_step
from dlcourse.nn.recurrent import check_sequences, rnn_step, scan_cell

__all__ = ["GRU", "LSTM", "Bidirectional", "DeepRNN", "SimpleRNN", "state_and_input_weights_init"]

Initializer = Callable[..., Any]


def state_and_input_weights_init(recurrent_init: Initializer, input_init: Initializer, n_a: int) -> Initializer:
    """An initializer of ``W = [W_·a | W_·x]: (n_a, n_a + n_x)``: ``W_·a = recurrent_init((n_a, n_a))ᵀ``,
    ``W_·x = input_init((n_x, n_a))ᵀ`` (each drawn in Flax's ``(n_in, n_out)`` layout)."""

    def init(key, shape, dtype=jnp.float32):
        if len(shape) != 2 or shape[0] != n_a or shape[1] < n_a:
            raise ValueError(f"expected a weight shape (n_a={n_a}, n_a + n_x); got {shape}")
        key_a, key_x = jax.random.split(key)
        return jnp.concatenate([recurrent_init(key_a, (n_a, n_a), dtype).T,
                                input_init(key_x, (shape[1] - n_a, n_a), dtype).T], axis=1)

    return init


class _RecurrentLayer(nn.Module):
    """Shared attributes of the layers: ``hidden_size`` ``n_a`` and the initializers (module docstring)."""

    hidden_size: int
    kernel_init: Initializer = nn.initializers.lecun_normal()
    recurrent_kernel_init: Initializer = nn.initializers.orthogonal()
    bias_init: Initializer = nn.initializers.zeros_init()
    param_dtype: Any = jnp.float32

    def _weights(self, name: str, n_x: int) -> jax.Array:
        init = state_and_input_weights_init(self.recurrent_kernel_init, self.kernel_init, self.hidden_size)
        return self.param(name, init, (self.hidden_size, self.hidden_size + n_x), self.param_dtype)

    def _bias(self, name: str, init: Optional[Initializer] = None) -> jax.Array:
        return self.param(name, init or self.bias_init, (self.hidden_size,), self.param_dtype)

    def _run(self, step, params, x, mask, initial_state, reverse):
        x, mask = check_sequences(x, mask)
        return scan_cell(step, params, initial_state, x, mask, reverse)


class SimpleRNN(_RecurrentLayer):
    """The RNN cell ``a⟨t⟩ = tanh(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + b_a)`` over a sequence.

    Parameters ``W_aa: (n_a, n_a)`` (orthogonal), ``W_ax: (n_a, n_x)`` (LeCun normal), ``b_a``.
    ``__call__(x, mask=None, initial_state=None (zeros), reverse=False) -> (a_final, a: [m, T, n_a])``.
    """

    @nn.compact
    def __call__(self, x, mask=None, initial_state=None, reverse: bool = False):
        n_a, n_x = self.hidden_size, jnp.shape(x)[-1]
        params = {
            "W_aa": self.param("W_aa", lambda k, s, d: self.recurrent_kernel_init(k, s, d).T, (n_a, n_a),
                               self.param_dtype),
            "W_ax": self.param("W_ax", lambda k, s, d: self.kernel_init(k, s[::-1], d).T, (n_a, n_x),
                               self.param_dtype),
            "b_a": self._bias("b_a"),
        }
        if initial_state is None:
            initial_state = jnp.zeros((jnp.shape(x)[0], n_a), jnp.result_type(x, self.param_dtype))
        return self._run(rnn_step, params, x, mask, initial_state, reverse)


class GRU(_RecurrentLayer):
    """The full GRU (Γ_u, Γ_r; :func:`dlcourse.nn.gru_step`) over a sequence.

    Parameters ``W_u, W_r, W_c: (n_a, n_a + n_x)``, ``b_u, b_r, b_c`` (and ``b_cc`` with ``reset_after``,
    the cuDNN/Flax form). ``__call__(x, mask=None, initial_state=None (zeros), reverse=False) ->
    (c_final, a: [m, T, n_a])``.
    """

    reset_after: bool = False

    @nn.compact
    def __call__(self, x, mask=None, initial_state=None, reverse: bool = False):
        n_x = jnp.shape(x)[-1]
        params = {f"W_{g}": self._weights(f"W_{g}", n_x) for g in ("u", "r", "c")}
        params.update({f"b_{g}": self._bias(f"b_{g}") for g in ("u", "r", "c")})
        if self.reset_after:
            params["b_cc"] = self._bias("b_cc")
        if initial_state is None:
            initial_state = jnp.zeros((jnp.shape(x)[0], self.hidden_size), jnp.result_type(x, self.param_dtype))
        return self._run(partial(gru_step, reset_after=self.reset_after), params, x, mask, initial_state, reverse)


class LSTM(_RecurrentLayer):
    """The LSTM (Γ_u, Γ_f, Γ_o; :func:`dlcourse.nn.lstm_step`) over a sequence.

    Parameters ``W_f, W_u, W_c, W_o: (n_a, n_a + n_x)``, ``b_f`` (``forget_bias_init``), ``b_u, b_c, b_o``.
    ``__call__(x, mask=None, initial_state=None (zeros), reverse=False) -> (LSTMState(a, c), a: [m, T, n_a])``.
    """

    forget_bias_init: Initializer = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x, mask=None, initial_state=None, reverse: bool = False):
        n_x = jnp.shape(x)[-1]
        params = {f"W_{g}": self._weights(f"W_{g}", n_x) for g in LSTM_GATES}
        params.update({f"b_{g}": self._bias(f"b_{g}", self.forget_bias_init if g == "f" else None)
                       for g in LSTM_GATES})
        if initial_state is None:
            zeros = jnp.zeros((jnp.shape(x)[0], self.hidden_size), jnp.result_type(x, self.param_dtype))
            initial_state = LSTMState(zeros, zeros)
        return self._run(lstm_step, params, x, mask, LSTMState(*initial_state), reverse)


class Bidirectional(nn.Module):
    """A bidirectional RNN: ``forward_layer`` from ``t = 1``, ``backward_layer`` from each example's last
    real step (called with ``reverse=True``); outputs ``[a→⟨t⟩, a←⟨t⟩]: [m, T, n_a→ + n_a←]``.

    ``__call__(x, mask=None) -> ((final_forward, final_backward), outputs)``; ``final_backward`` is
    ``a←`` at each example's first real step.
    """

    forward_layer: nn.Module
    backward_layer: nn.Module

    def __call__(self, x, mask=None):
        x, mask = check_sequences(x, mask)
        final_forward, forward = self.forward_layer(x, mask)
        final_backward, backward = self.backward_layer(x, mask, reverse=True)
        return (final_forward, final_backward), jnp.concatenate([forward, backward], axis=-1)


class DeepRNN(nn.Module):
    """A deep (stacked) RNN: layer ``l`` reads the outputs ``a[l−1]⟨t⟩`` of layer ``l − 1`` (``a[0] = x``).

    ``layers``: recurrent layers (:class:`SimpleRNN`, :class:`GRU`, :class:`LSTM`, :class:`Bidirectional`).
    ``__call__(x, mask=None) -> (final states per layer, outputs of the last layer)``.
    """

    layers: Sequence[nn.Module]

    def __call__(self, x, mask=None):
        if not self.layers:
            raise ValueError("DeepRNN needs at least one layer; got none")
        x, mask = check_sequences(x, mask)
        finals, outputs = [], x
        for layer in self.layers:
            final, outputs = layer(outputs, mask)
            finals.append(final)
        return finals, outputs
