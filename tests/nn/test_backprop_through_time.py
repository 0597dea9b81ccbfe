"""dlcourse.nn.backprop_through_time: the hand-written gradients of the RNN (with its softmax loss) and of
the LSTM equal jax.grad of the forward functions — weights, inputs and initial state, on batches
with padding and a hole in the mask — and pass the course's gradient check in float64."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import gradcheck
from dlcourse import nn as dnn
from tests.nn.test_recurrent import random_params, rnn_shapes

N_A, N_X, N_Y = 3, 2, 3
MASK = jnp.asarray([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 1]], bool)  # right padding and a hole


def inputs(rng):
    return jnp.asarray(rng.normal(size=(3, 4, N_X)), jnp.float32)


@jax.jit
def rnn_cost(params, x, y, a0):
    _, y_hat = dnn.rnn_forward(params, x, MASK, a0)
    return -jnp.sum(MASK[..., None] * jax.nn.one_hot(y, N_Y) * jnp.log(y_hat))


def as_float64(tree):
    return jax.tree.map(lambda leaf: jnp.asarray(np.asarray(leaf, np.float64)), tree)


def assert_trees_close(ours, theirs, tol):
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=tol, atol=tol, err_msg=key)


def test_rnn_gradients_equal_jax_grad_and_pass_the_gradient_check():
    rng = np.random.default_rng(30)
    p = random_params(rng, rnn_shapes(N_A, N_X, N_Y))
    x, a0 = inputs(rng), jnp.asarray(rng.normal(size=(3, N_A)), jnp.float32)
    y = jnp.asarray(rng.integers(0, N_Y, size=(3, 4)))
    hand = jax.jit(dnn.rnn_softmax_loss_and_gradients)  # one compilation, not one per operation
    with jax.enable_x64(True):  # float64 throughout: the gradient check reuses these compilations
        p, x, a0 = as_float64((p, x, a0))
        cost, grads = hand(p, x, y, MASK, a0)
        np.testing.assert_allclose(cost, rnn_cost(p, x, y, a0), rtol=1e-12)
        d_params, dx, da0 = jax.jit(jax.grad(rnn_cost, (0, 1, 3)))(p, x, y, a0)
        result = gradcheck.gradient_check(lambda q: rnn_cost(q, x, y, a0), p,
                                          grad_fn=lambda q: hand(q, x, y, MASK, a0)[1].params)
    assert sorted(grads.params) == sorted(p)
    assert_trees_close(grads.params, d_params, 1e-10)
    np.testing.assert_allclose(grads.x, dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads.initial_state, da0, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(grads.x[1, 2:], 0.0)  # padded inputs do not matter
    assert result.reading == gradcheck.GREAT, result.difference


def test_rnn_backward_from_the_hidden_states_and_final_state():
    rng = np.random.default_rng(31)
    p = random_params(rng, rnn_shapes(N_A, N_X))
    x = inputs(rng)
    weights, weights_final = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((3, 4, N_A), (3, N_A)))

    def cost(p, x):
        final, a = dnn.scan_cell(dnn.rnn_step, p, jnp.zeros((3, N_A)), x, MASK)
        return jnp.sum(weights * a) + jnp.sum(weights_final * final)

    d_params, dx = jax.jit(jax.grad(cost, (0, 1)))(p, x)
    grads = jax.jit(dnn.rnn_backward)(p, x, weights, MASK, da_final=weights_final)
    assert_trees_close(grads.params, {k: d_params[k] for k in ("W_aa", "W_ax", "b_a")}, 1e-5)
    np.testing.assert_allclose(grads.x, dx, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"da must have shape \(3, 4, 3\); got \(3, 4, 2\)"):
        dnn.rnn_backward(p, x, weights[..., :2], MASK)


def test_lstm_gradients_equal_jax_grad_and_pass_the_gradient_check():
    rng = np.random.default_rng(32)
    shapes = {f"W_{g}": (N_A, N_A + N_X) for g in "fuco"} | {f"b_{g}": (N_A,) for g in "fuco"}
    p = random_params(rng, shapes)
    x = inputs(rng)
    state0 = dnn.LSTMState(*(jnp.asarray(rng.normal(size=(3, N_A)), jnp.float32) for _ in range(2)))
    da, da_final, dc_final = (jnp.asarray(rng.normal(size=s), jnp.float32) for s in ((3, 4, N_A), (3, N_A), (3, N_A)))

    @jax.jit
    def cost(p, x, state0):
        a, final = dnn.lstm_forward(p, x, MASK, state0)
        return jnp.sum(da * a) + jnp.sum(da_final * final.a) + jnp.sum(dc_final * final.c)

    @jax.jit
    def hand(p, x, state0):
        return dnn.lstm_backward(p, x, da, MASK, state0, dnn.LSTMState(da_final, dc_final))

    with jax.enable_x64(True):  # float64 throughout: the gradient check reuses these compilations
        p, x, state0 = as_float64((p, x, state0))
        d_params, dx, d_state0 = jax.jit(jax.grad(cost, (0, 1, 2)))(p, x, state0)
        grads = hand(p, x, state0)
        result = gradcheck.gradient_check(lambda q: cost(q, x, state0), p, grad_fn=lambda q: hand(q, x, state0).params)
    assert sorted(grads.params) == sorted(p)
    assert_trees_close(grads.params, d_params, 1e-10)
    np.testing.assert_allclose(grads.x, dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads.initial_state.a, d_state0.a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads.initial_state.c, d_state0.c, rtol=1e-10, atol=1e-12)
    assert result.reading == gradcheck.GREAT, result.difference
