"""dlcourse.nn.recurrent_layers: the Linen layers' parameters (names, shapes, initial distribution), their
values against the NumPy loops, the bidirectional LSTM against flax's Bidirectional with sequence
lengths, and a deep bidirectional-then-GRU stack. Parameters are drawn with NumPy where their
distribution is not the point (compiling initializers costs seconds on the CPU)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import nn as dnn
from tests.nn.test_recurrent import LENGTHS, drawn_like, numpy_gru, numpy_lstm, numpy_rnn, padded_batch


def shapes_of(module, *args):
    return jax.tree.map(lambda leaf: leaf.shape, jax.eval_shape(module.init, jax.random.key(0), *args)["params"])


def test_parameter_names_and_shapes():
    x = jnp.zeros((2, 3, 5))
    assert shapes_of(dnn.SimpleRNN(4), x) == {"W_aa": (4, 4), "W_ax": (4, 5), "b_a": (4,)}
    assert shapes_of(dnn.GRU(4, reset_after=True), x) == {**{f"W_{g}": (4, 9) for g in "urc"},
                                                          **{f"b_{g}": (4,) for g in ("u", "r", "c", "cc")}}
    assert shapes_of(dnn.LSTM(4), x) == {**{f"W_{g}": (4, 9) for g in "fuco"}, **{f"b_{g}": (4,) for g in "fuco"}}
    deep = shapes_of(dnn.DeepRNN([dnn.Bidirectional(dnn.LSTM(3), dnn.SimpleRNN(2)), dnn.GRU(4)]), x)
    assert deep["layers_0"]["backward_layer"]["W_ax"] == (2, 5) and deep["layers_1"]["W_u"] == (4, 4 + 5)


def test_lstm_initial_distribution():
    x, mask = padded_batch(np.random.default_rng(20), 32, lengths=(3, 2))
    lstm = dnn.LSTM(64, forget_bias_init=nn.initializers.ones)
    p = jax.jit(lstm.init)(jax.random.key(1), x, mask)["params"]
    for gate in "fuco":
        w_a, w_x = dnn.split_state_weights(p[f"W_{gate}"])
        np.testing.assert_allclose(w_a @ w_a.T, np.eye(64), atol=1e-5)  # orthogonal
        assert abs(np.var(w_x) * 32 - 1) < 0.15  # LeCun normal: variance 1/n_x
        np.testing.assert_array_equal(p[f"b_{gate}"], 1.0 if gate == "f" else 0.0)
    assert not np.allclose(p["W_f"], p["W_u"])  # each gate drawn with its own key


def test_bidirectional_lstm_equals_flax_bidirectional_with_sequence_lengths():
    rng = np.random.default_rng(21)
    x, mask = padded_batch(rng, 2)
    lengths = jnp.asarray(LENGTHS)
    theirs_module = nn.Bidirectional(nn.RNN(nn.OptimizedLSTMCell(3)), nn.RNN(nn.OptimizedLSTMCell(3)))
    variables = drawn_like(jax.eval_shape(theirs_module.init, jax.random.key(0), x, seq_lengths=lengths), rng)
    theirs = jax.jit(theirs_module.apply)(variables, x, seq_lengths=lengths)
    flax_params = variables["params"]
    ours_module = dnn.Bidirectional(dnn.LSTM(3), dnn.LSTM(3))
    params = {"forward_layer": dnn.flax_lstm_cell_to_lstm(flax_params["forward_rnn"]["cell"]),
              "backward_layer": dnn.flax_lstm_cell_to_lstm(flax_params["backward_rnn"]["cell"])}
    assert jax.tree.map(jnp.shape, params) == shapes_of(ours_module, x)
    (final_forward, final_backward), ours = jax.jit(ours_module.apply)({"params": params}, x, mask)
    for i, n in enumerate(LENGTHS):
        np.testing.assert_allclose(ours[i, :n], theirs[i, :n], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(ours[i, n:], 0.0)
        np.testing.assert_allclose(final_forward.a[i], theirs[i, n - 1, :3], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(final_backward.a[i], theirs[i, 0, 3:], rtol=1e-5, atol=1e-6)


def test_deep_rnn_of_a_bidirectional_layer_and_a_gru_equals_numpy():
    rng = np.random.default_rng(22)
    x, mask = padded_batch(rng, 2)
    model = dnn.DeepRNN([dnn.Bidirectional(dnn.LSTM(3), dnn.SimpleRNN(2)), dnn.GRU(4)])
    variables = drawn_like(jax.eval_shape(model.init, jax.random.key(0), x, mask), rng)
    finals, out = jax.jit(model.apply)(variables, x, mask)
    p = variables["params"]
    for i, n in enumerate(LENGTHS):
        forward, _ = numpy_lstm(p["layers_0"]["forward_layer"], x[i, :n], np.zeros(3), np.zeros(3))
        backward = numpy_rnn(p["layers_0"]["backward_layer"], np.asarray(x[i, :n])[::-1], np.zeros(2))[::-1]
        expected = numpy_gru(p["layers_1"], np.concatenate([forward, backward], -1), np.zeros(4))
        np.testing.assert_allclose(out[i, :n], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out[i, n:], 0.0)
        np.testing.assert_allclose(finals[1][i], expected[-1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(finals[0][1][i], backward[0], rtol=1e-5, atol=1e-6)  # a← at the first step
