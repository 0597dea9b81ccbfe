"""The basic recurrent cell and the masked scan that unrolls any cell over time (course 5).

The course's RNN cell, with weights acting on columns as the course writes them:

    a⟨t⟩ = tanh(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + b_a)          W_aa: (n_a, n_a), W_ax: (n_a, n_x), b_a: (n_a,)
    ŷ⟨t⟩ = softmax(W_ya a⟨t⟩ + b_y)                      W_ya: (n_y, n_a), b_y: (n_y,)

The lecture's shorthand ``a⟨t⟩ = tanh(W_a [a⟨t−1⟩, x⟨t⟩] + b_a)`` is the same with
``W_a = [W_aa | W_ax]`` (:func:`rnn_concatenated_weights`). Inputs are batch-major rows: ``x⟨t⟩`` of
an example is a row of ``x: [m, T, n_x]``, so a batch computes ``a⟨t−1⟩ W_aaᵀ + x⟨t⟩ W_axᵀ + b_a``.

**A cell** is a pure function ``step(params, state, x_t) -> (state, output)`` with ``x_t: [m, n_x]``
(:func:`rnn_step`; :mod:`dlcourse.nn.gated_recurrent` has the GRU and the LSTM). :func:`scan_cell`
unrolls it with ``lax.scan`` over ``T`` under a padding mask ``[m, T]``: at a padded step
(``mask = 0``) the state is left unchanged and the output is zero, so the final state of each
example is its state after its last real step, and a reversed scan (``reverse=True``) starts each
example at its last real step (a bidirectional RNN's backward direction needs nothing else, for
right padding or any other).

Deep RNNs (:func:`stacked_scan`) feed layer ``l − 1``'s outputs ``a[l−1]⟨t⟩`` to layer ``l`` as its
inputs; a bidirectional RNN (:func:`bidirectional_scan`) concatenates the forward and the backward
directions, ``[a→⟨t⟩, a←⟨t⟩]``, on which the course's ``ŷ⟨t⟩ = g(W_y [a→⟨t⟩, a←⟨t⟩] + b_y)`` reads.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import jax
import jax.numpy as jnp
from jax import lax

from dlcourse.nn.activations import softmax

__all__ = ["bidirectional_scan", "check_sequences", "flax_simple_cell_to_rnn", "rnn_concatenated_weights",
           "rnn_forward", "rnn_output", "rnn_step", "scan_cell", "stacked_scan"]

Step = Callable[[Any, Any, jax.Array], tuple[Any, jax.Array]]


def check_sequences(x: jax.Array, mask: Optional[jax.Array]) -> tuple[jax.Array, jax.Array]:
    """``(x, mask)`` checked: ``x: [m, T, n_x]`` and a boolean mask ``[m, T]`` (all ones when ``None``)."""
    x = jnp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"sequences must have shape [batch, T, n_x]; got shape {x.shape}")
    if mask is None:
        return x, jnp.ones(x.shape[:2], bool)
    mask = jnp.asarray(mask)
    if mask.shape != x.shape[:2]:
        raise ValueError(f"mask must have shape [batch, T] = {x.shape[:2]}; got shape {mask.shape}")
    return x, mask.astype(bool)


def scan_cell(step: Step, params: Any, initial_state: Any, x: jax.Array, mask: Optional[jax.Array] = None,
              reverse: bool = False) -> tuple[Any, jax.Array]:
    """Unrolls ``step`` over the time axis of ``x: [m, T, n_x]`` with ``lax.scan``.

    At each ``t`` (from ``T`` down to 1 when ``reverse``): ``state, out = step(params, state, x⟨t⟩)``
    where ``mask[:, t]`` is true; elsewhere the state is kept and the output is 0.

    Args:
      step: ``(params, state, x_t: [m, n_x]) -> (state, output: [m, n_out])``; every state leaf has
        the batch as its leading axis.
      params: the cell's parameters (closed over, the same at every step).
      initial_state: the state before the first step (after the last, when ``reverse``).
      x: inputs ``[m, T, n_x]``.
      mask: ``[m, T]``, true (or 1) at real steps; ``None`` for all real.
      reverse: run from ``t = T`` to ``t = 1`` (outputs stay in time order).

    Returns:
      ``(final_state, outputs: [m, T, n_out])``.
    """
    x, mask = check_sequences(x, mask)
    # The carry takes the dtype of one step's state (float32 inputs with float64 weights give float64).
    state_types = jax.eval_shape(step, params, initial_state, x[:, 0])[0]
    initial_state = jax.tree.map(lambda s, like: jnp.asarray(s, like.dtype), initial_state, state_types)

    def masked_step(state, inputs):
        x_t, keep = inputs
        new_state, output = step(params, state, x_t)

        def where_kept(new, old):  # keep: [m], broadcast over every non-batch axis
            return jnp.where(keep.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)

        return jax.tree.map(where_kept, new_state, state), where_kept(output, jnp.zeros_like(output))

    final, outputs = lax.scan(masked_step, initial_state, (jnp.swapaxes(x, 0, 1), mask.T), reverse=reverse)
    return final, jnp.swapaxes(outputs, 0, 1)


def bidirectional_scan(step_forward: Step, params_forward: Any, step_backward: Step, params_backward: Any,
                       initial_forward: Any, initial_backward: Any, x: jax.Array,
                       mask: Optional[jax.Array] = None) -> tuple[tuple[Any, Any], jax.Array]:
    """A bidirectional RNN: ``a→`` scanned from ``t = 1`` and ``a←`` from each example's last real step.

    Returns ``((final_forward, final_backward), outputs: [m, T, n_out→ + n_out←])`` with
    ``outputs⟨t⟩ = [a→⟨t⟩, a←⟨t⟩]`` (0 at padded steps). ``final_backward`` is ``a←⟨first real step⟩``.
    """
    final_forward, forward = scan_cell(step_forward, params_forward, initial_forward, x, mask)
    final_backward, backward = scan_cell(step_backward, params_backward, initial_backward, x, mask, reverse=True)
    return (final_forward, final_backward), jnp.concatenate([forward, backward], axis=-1)


def stacked_scan(steps: Sequence[Step], params: Sequence[Any], initial_states: Sequence[Any], x: jax.Array,
                 mask: Optional[jax.Array] = None) -> tuple[list[Any], jax.Array]:
    """A deep RNN: layer ``l`` reads ``a[l−1]⟨t⟩`` (``a[0] = x``), ``a[l]⟨t⟩ = step_l(a[l]⟨t−1⟩, a[l−1]⟨t⟩)``.

    Returns ``(final states per layer, outputs of the last layer [m, T, n_out])``.
    """
    if not len(steps) == len(params) == len(initial_states) >= 1:
        raise ValueError(f"need as many steps, params and initial states (at least one); got {len(steps)}, "
                         f"{len(params)}, {len(initial_states)}")
    finals, outputs = [], x
    for step, layer_params, initial in zip(steps, params, initial_states):
        final, outputs = scan_cell(step, layer_params, initial, outputs, mask)
        finals.append(final)
    return finals, outputs


def rnn_step(params: dict, a_prev: jax.Array, x_t: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One step of the RNN cell: ``a⟨t⟩ = tanh(W_aa a⟨t−1⟩ + W_ax x⟨t⟩ + b_a)``; returns ``(a⟨t⟩, a⟨t⟩)``.

    ``params`` holds ``W_aa: (n_a, n_a)``, ``W_ax: (n_a, n_x)``, ``b_a: (n_a,)`` (others are ignored);
    ``a_prev: [m, n_a]``, ``x_t: [m, n_x]``.
    """
    a = jnp.tanh(a_prev @ params["W_aa"].T + x_t @ params["W_ax"].T + params["b_a"])
    return a, a


def rnn_output(params: dict, a: jax.Array) -> jax.Array:
    """The prediction ``ŷ⟨t⟩ = softmax(W_ya a⟨t⟩ + b_y)`` of hidden states ``a: [..., n_a]`` → ``[..., n_y]``."""
    return softmax(a @ params["W_ya"].T + params["b_y"], axis=-1)


def rnn_forward(params: dict, x: jax.Array, mask: Optional[jax.Array] = None, a0: Optional[jax.Array] = None,
                reverse: bool = False) -> tuple[jax.Array, jax.Array]:
    """The RNN over sequences ``x: [m, T, n_x]`` (padding ``mask: [m, T]``) from ``a⟨0⟩ = a0`` (zeros);
    from each example's last real step back to ``t = 1`` when ``reverse``.

    Returns ``(a: [m, T, n_a], ŷ: [m, T, n_y])``; at padded steps ``a`` is 0 (the state carried past
    them is unchanged) and ``ŷ`` is ``softmax(b_y)``, to be masked out of a loss.
    """
    x, mask = check_sequences(x, mask)
    if a0 is None:
        a0 = jnp.zeros((x.shape[0], params["W_aa"].shape[0]), x.dtype)
    _, a = scan_cell(rnn_step, params, a0, x, mask, reverse)
    return a, rnn_output(params, a)


def rnn_concatenated_weights(params: dict) -> jax.Array:
    """The lecture's ``W_a = [W_aa | W_ax]``: ``(n_a, n_a + n_x)``, acting on ``[a⟨t−1⟩, x⟨t⟩]``."""
    return jnp.concatenate([params["W_aa"], params["W_ax"]], axis=1)


def flax_simple_cell_to_rnn(flax_params: dict) -> dict:
    """``flax.linen.SimpleCell`` parameters (``{'i': {kernel, bias}, 'h': {kernel}}``, tanh, no residual)
    as ``{W_aa, W_ax, b_a}``.

    The equations coincide: flax's ``h′ = tanh(x K_i + b_i + h K_h)`` is ``a⟨t⟩`` with ``W_ax = K_iᵀ``,
    ``W_aa = K_hᵀ``, ``b_a = b_i`` (flax's kernels are ``(n_in, n_out)``, the transpose of the course's).
    """
    flax_params = flax_params.get("params", flax_params)
    return {"W_aa": flax_params["h"]["kernel"].T, "W_ax": flax_params["i"]["kernel"].T,
            "b_a": flax_params["i"]["bias"]}
