"""dlcourse.nn.gated_recurrent: the GRU (both forms) and the LSTM against NumPy loops in the course's
column form on right-padded batches, and equal to flax's GRUCell, LSTMCell and OptimizedLSTMCell
through the parameter mappings (flax's GRU equals the reset-after form only)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import nn as dnn
from tests.nn.test_recurrent import LENGTHS, drawn_like, numpy_gru, numpy_lstm, padded_batch, random_params

N_A, N_X = 4, 3


def gate_shapes(gates, extra=()):
    shapes = {f"W_{g}": (N_A, N_A + N_X) for g in gates}
    shapes.update({f"b_{g}": (N_A,) for g in tuple(gates) + tuple(extra)})
    return shapes


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_equals_numpy_per_example(reset_after):
    rng = np.random.default_rng(10 + reset_after)
    p = random_params(rng, gate_shapes("urc", ("cc",) if reset_after else ()))
    x, mask = padded_batch(rng, N_X)
    c0 = jnp.asarray(rng.normal(size=(3, N_A)), jnp.float32)
    a, final = dnn.gru_forward(p, x, mask, c0, reset_after=reset_after)
    for i, n in enumerate(LENGTHS):
        expected = numpy_gru(p, x[i, :n], c0[i], reset_after)
        np.testing.assert_allclose(a[i, :n], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(a[i, n:], 0.0)
        np.testing.assert_allclose(final[i], expected[-1], rtol=1e-5, atol=1e-6)


def test_lstm_equals_numpy_per_example_forward_and_reversed():
    rng = np.random.default_rng(12)
    p = random_params(rng, gate_shapes("fuco"))
    x, mask = padded_batch(rng, N_X)
    state0 = dnn.LSTMState(*(jnp.asarray(rng.normal(size=(3, N_A)), jnp.float32) for _ in range(2)))
    a, final = dnn.lstm_forward(p, x, mask, state0)
    a_back, final_back = dnn.lstm_forward(p, x, mask, state0, reverse=True)
    for i, n in enumerate(LENGTHS):
        expected, c = numpy_lstm(p, x[i, :n], state0.a[i], state0.c[i])
        np.testing.assert_allclose(a[i, :n], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(final.a[i], expected[-1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(final.c[i], c, rtol=1e-5, atol=1e-6)
        backward, c = numpy_lstm(p, np.asarray(x[i, :n])[::-1], state0.a[i], state0.c[i])
        np.testing.assert_allclose(a_back[i, :n], backward[::-1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(final_back.c[i], c, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(a_back[i, n:], 0.0)


def flax_run(cell, variables, carry, x):
    """flax's cell stepped over x: [m, T, n_x] (its own loop, not ours)."""
    outputs = []
    for t in range(x.shape[1]):
        carry, y = cell.apply(variables, carry, x[:, t])
        outputs.append(y)
    return jnp.stack(outputs, 1)


@pytest.mark.parametrize("flax_cell", [nn.LSTMCell, nn.OptimizedLSTMCell])
def test_lstm_equals_flax_lstm_cells(flax_cell):
    rng = np.random.default_rng(13)
    x = jnp.asarray(rng.normal(size=(2, 4, N_X)), jnp.float32)
    cell = flax_cell(N_A)
    c0, h0 = (jnp.asarray(rng.normal(size=(2, N_A)), jnp.float32) for _ in range(2))
    variables = drawn_like(jax.eval_shape(cell.init, jax.random.key(0), (c0, h0), x[:, 0]), rng)
    p = dnn.flax_lstm_cell_to_lstm(variables)
    assert sorted(p) == sorted(f"{w}_{g}" for w in "Wb" for g in "fuco")
    ours, _ = dnn.lstm_forward(p, x, initial_state=dnn.LSTMState(a=h0, c=c0))
    np.testing.assert_allclose(ours, flax_run(cell, variables, (c0, h0), x), rtol=1e-5, atol=1e-6)


def test_gru_reset_after_equals_flax_gru_cell_and_the_course_form_does_not():
    rng = np.random.default_rng(14)
    x = jnp.asarray(rng.normal(size=(2, 4, N_X)), jnp.float32)
    cell = nn.GRUCell(N_A)
    c0 = jnp.asarray(rng.normal(size=(2, N_A)), jnp.float32)
    variables = drawn_like(jax.eval_shape(cell.init, jax.random.key(0), c0, x[:, 0]), rng)
    p = dnn.flax_gru_cell_to_gru(variables)
    theirs = flax_run(cell, variables, c0, x)
    ours, _ = dnn.gru_forward(p, x, c0=c0, reset_after=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # Γ_u = 1 − z: flax's update gate keeps the old state.
    z = jax.nn.sigmoid(x[:, 0] @ variables["params"]["iz"]["kernel"] + variables["params"]["iz"]["bias"]
                       + c0 @ variables["params"]["hz"]["kernel"])
    update = jax.nn.sigmoid(jnp.concatenate([c0, x[:, 0]], -1) @ p["W_u"].T + p["b_u"])
    np.testing.assert_allclose(update, 1 - z, rtol=1e-5, atol=1e-6)
    # The course's form (gate before W_c) computes something else with the same weights.
    course = {k: v for k, v in p.items() if k != "b_cc"}
    different, _ = dnn.gru_forward(course, x, c0=c0)
    assert np.abs(np.asarray(different) - np.asarray(theirs)).max() > 1e-2
    with pytest.raises(ValueError, match="reset_after=False needs params without 'b_cc'"):
        dnn.gru_forward(p, x, c0=c0)
