"""Vanishing and exploding gradients: how much the last hidden state of a sequence still depends on
its first, for the RNN, the GRU and the LSTM cells of :mod:`dlcourse.nn` (course 5).

For a sequence of length ``T`` the program measures the Jacobian of the last hidden state with
respect to the cell's state after the first step, ``J_T = ∂a⟨T⟩/∂s⟨1⟩`` with ``s = a`` for the RNN,
``s = c = a`` for the GRU and ``s = (a, c)`` for the LSTM (the memory cell is the path the LSTM keeps
information on), and reports

    G(T) = ‖J_T‖_F / √n_a          (G(1) = 1: J_1 = I, or [I | 0] for the LSTM)

averaged over ``examples`` random input sequences ``x⟨t⟩ ~ N(0, input_scale² I)`` and ``seeds``
initializations. Backpropagation carries ``∂L/∂a⟨1⟩ = J_Tᵀ ∂L/∂a⟨T⟩`` for any loss ``L`` of the last
step, so ``‖∂L/∂a⟨1⟩‖ ≤ √n_a G(T) ‖∂L/∂a⟨T⟩‖``: when ``G`` falls geometrically with ``T`` the error
of step ``T`` cannot reach step 1 (vanishing), when it grows it blows up (exploding).

Every length comes from one ``lax.scan`` of ``max_length`` steps (``a⟨T⟩`` of a sequence of length
``T`` is the ``T``-th state of the longest one), differentiated forward (``jax.jacfwd``, ``n_a``
or ``2n_a`` tangents) and vmapped over examples and seeds: one compilation per cell.

Cells at their default initialization (:mod:`dlcourse.nn.recurrent_layers`: orthogonal recurrent
weights, LeCun-normal input weights, zero biases; the LSTM's forget-gate bias at 0, as Flax) and with
the orthogonal recurrent weights multiplied by each of ``recurrent_scales`` (a scale above 1 lets the
plain RNN's gradient explode before its units saturate). The LSTM is also measured with each
forget-gate bias of ``lstm_forget_biases`` other than 0 (Keras starts it at 1, so that the cell
remembers at first: ``Γ_f ≈ σ(1) ≈ 0.73`` instead of 0.5), at recurrent scale 1. The figure
``gradient_norms.png`` (log-scale y) shows ``G(T)`` per cell and scale; the summary holds ``G`` at
the ``report_lengths`` (in float32: a value below ~1e-38 underflows to 0).

Config: ``hidden_size``, ``input_size``, ``max_length``, ``report_lengths``, ``recurrent_scales``,
``input_scale``, ``lstm_forget_biases``, ``examples``, ``seeds``, ``seed``.

    python experiments/vanishing_gradients.py --workdir=runs/vanishing
    python experiments/vanishing_gradients.py --config.recurrent_scales="(1.0, 3.0)" \
        --config.lstm_forget_biases="(0.0, 1.0, 3.0)"
"""

from __future__ import annotations

import os
from functools import lru_cache, partial

import flax.linen as fnn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, nn, train

CELLS = ("rnn", "gru", "lstm")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.hidden_size = 32
    config.input_size = 8
    config.max_length = 100
    config.report_lengths = (1, 2, 5, 10, 20, 50, 100)
    config.recurrent_scales = (1.0, 2.0)
    config.input_scale = 1.0
    config.lstm_forget_biases = (0.0, 1.0)
    config.examples = 16
    config.seeds = 3
    config.seed = 0
    return config


@lru_cache(maxsize=None)
def initial_params(cell: str, hidden_size: int, input_size: int, forget_bias: float, seed: int, seeds: int):
    """The default parameters of ``cell`` drawn with ``seeds`` keys (stacked on a leading axis), and
    its step; compiled once per cell with :func:`dlcourse.train.compile_lowered` (the orthogonal
    draws' QR compiles slowly on the CPU) and reused for every scale."""
    layer, step = make_layer(cell, hidden_size, forget_bias=forget_bias)
    keys = jax.random.split(jax.random.key(seed), seeds)
    probe = jnp.zeros((1, 1, input_size))
    draw = jax.jit(jax.vmap(lambda key: layer.init(key, probe)["params"]))
    return train.compile_lowered(draw.lower(keys))(keys), step


def scale_recurrent_weights(params: dict, scale: float) -> dict:
    """``params`` with every weight's columns on the state (``W_aa``; ``W_·a`` of ``W = [W_·a | W_·x]``)
    times ``scale``: the same draw as an orthogonal initializer of that scale."""
    def scaled(name, w):
        if name == "W_aa":
            return w * scale
        if name.startswith("W_") and name != "W_ax":
            n_a = w.shape[-2]
            return w.at[..., :n_a].multiply(scale)
        return w

    return {name: scaled(name, w) for name, w in params.items()}


def make_layer(cell: str, hidden_size: int, scale: float = 1.0, forget_bias: float = 0.0):
    """The cell's Linen layer with its orthogonal recurrent weights scaled by ``scale``, and its step."""
    recurrent = fnn.initializers.orthogonal(scale=scale)
    if cell == "rnn":
        return nn.SimpleRNN(hidden_size, recurrent_kernel_init=recurrent), nn.rnn_step
    if cell == "gru":
        return nn.GRU(hidden_size, recurrent_kernel_init=recurrent), nn.gru_step
    if cell == "lstm":
        return (nn.LSTM(hidden_size, recurrent_kernel_init=recurrent,
                        forget_bias_init=fnn.initializers.constant(forget_bias)), nn.lstm_step)
    raise ValueError(f"cell must be one of {CELLS}; got {cell!r}")


def jacobian_norms(step, params, x: jax.Array, initial_state) -> jax.Array:
    """``G(T)`` for ``T = 1 … T_max`` of one sequence ``x: [T_max, n_x]`` (module docstring)."""
    first, _ = step(params, initial_state, x[None, 0])

    def later_states(state):
        def one(state, x_t):
            state, a = step(params, state, x_t[None])
            return state, a[0]

        _, a = jax.lax.scan(one, state, x[1:])
        return a                                                       # a⟨2⟩ … a⟨T_max⟩: [T_max − 1, n_a]

    jacobians = jax.jacfwd(later_states)(first)                        # leaves [T_max − 1, n_a, 1, n_a]
    squares = sum(jnp.sum(j ** 2, axis=tuple(range(1, j.ndim))) for j in jax.tree.leaves(jacobians))
    n_a = jax.tree.leaves(first)[0].shape[-1]
    return jnp.concatenate([jnp.ones(1), jnp.sqrt(squares / n_a)])


def measure(config, cell: str, scale: float, forget_bias: float = 0.0) -> np.ndarray:
    """``G(T)`` ``[max_length]`` of ``cell`` at recurrent ``scale`` (the LSTM's forget-gate bias at
    ``forget_bias``), the mean over examples and seeds."""
    params, step = initial_params(cell, config.hidden_size, config.input_size, forget_bias, config.seed, config.seeds)
    params = scale_recurrent_weights(params, scale)
    shape = (config.seeds, config.examples, config.max_length, config.input_size)
    x = jnp.asarray(config.input_scale * np.random.default_rng(config.seed).standard_normal(shape), jnp.float32)
    zeros = jnp.zeros((1, config.hidden_size))
    state = nn.LSTMState(zeros, zeros) if cell == "lstm" else zeros
    return np.asarray(mean_norms(step, params, x, state))


@partial(jax.jit, static_argnums=0)
def mean_norms(step, params, x: jax.Array, initial_state) -> jax.Array:
    """``G(T)`` averaged over seeds (leading axis of ``params`` and ``x``) and examples (``x``'s second
    axis): one compilation per cell, whatever the scale."""
    def per_seed(p, xs):
        return jax.vmap(lambda sequence: jacobian_norms(step, p, sequence, initial_state))(xs)

    return jnp.mean(jax.vmap(per_seed)(params, x), axis=(0, 1))


def plot(path: str, curves: dict, lengths: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    styles = {"rnn": "tab:red", "gru": "tab:blue", "lstm": "tab:green"}
    for (cell, scale, bias), values in curves.items():
        label = f"{cell.upper()}, recurrent scale {scale:g}" + (f", forget bias {bias:g}" if bias else "")
        axes.semilogy(lengths, np.maximum(values, 1e-30), color="tab:olive" if bias else styles[cell],
                      linestyle="-" if scale == 1.0 else "--", label=label)
    axes.set_xlabel("sequence length T")
    axes.set_ylabel("‖∂a⟨T⟩/∂s⟨1⟩‖_F / √n_a")
    axes.set_title("How far back the gradient reaches")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(config, workdir):
    if config.max_length < 2 or config.hidden_size < 1 or config.input_size < 1:
        raise ValueError(f"need max_length >= 2, hidden_size >= 1, input_size >= 1; got {config.max_length}, "
                         f"{config.hidden_size}, {config.input_size}")
    if config.examples < 1 or config.seeds < 1:
        raise ValueError(f"need examples >= 1 and seeds >= 1; got {config.examples}, {config.seeds}")
    scales = tuple(float(s) for s in config.recurrent_scales)
    if not scales or min(scales) <= 0:
        raise ValueError(f"recurrent_scales must be positive numbers; got {config.recurrent_scales}")
    lengths = [int(t) for t in config.report_lengths if 1 <= int(t) <= config.max_length]
    cases = [(cell, scale, 0.0) for cell in CELLS for scale in scales]
    cases += [("lstm", 1.0, float(b)) for b in config.lstm_forget_biases if float(b) != 0.0]
    curves = {case: measure(config, *case) for case in cases}
    cli.print_table(("cell", "scale", "forget bias", *(f"T={t}" for t in lengths)),
                    [(cell, scale, bias if cell == "lstm" else "", *(f"{values[t - 1]:.3g}" for t in lengths))
                     for (cell, scale, bias), values in curves.items()])
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        plot(os.path.join(workdir, "gradient_norms.png"), curves, np.arange(1, config.max_length + 1))
    return {"lengths": lengths,
            "gradient_norm": {f"{cell}@{scale:g}" + (f"+forget_bias{bias:g}" if bias else ""):
                              [float(values[t - 1]) for t in lengths]
                              for (cell, scale, bias), values in curves.items()},
            "quantity": "mean over inputs and seeds of ||d a<T> / d s<1>||_F / sqrt(n_a)"}


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
