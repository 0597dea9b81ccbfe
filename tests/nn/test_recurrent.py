"""dlcourse.nn.recurrent: the RNN cell against a NumPy loop in the course's column form, the masked scan
(a padded step keeps the state; padded batches equal each example run alone), bidirectional and deep
scans, flax's SimpleCell. The NumPy references here are shared with the other recurrent tests."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import nn as dnn

LENGTHS = (5, 3, 1)  # right padding: example i is real for its first LENGTHS[i] steps


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_rnn(p, x, a0):
    """One example in the course's columns: x (T, n_x), a0 (n_a,) -> a (T, n_a)."""
    a, out = np.asarray(a0, np.float64), []
    for x_t in np.asarray(x, np.float64):
        a = np.tanh(np.asarray(p["W_aa"]) @ a + np.asarray(p["W_ax"]) @ x_t + np.asarray(p["b_a"]))
        out.append(a)
    return np.array(out).reshape(len(x), -1)


def numpy_gru(p, x, c0, reset_after=False):
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    c, out, n_a = np.asarray(c0, np.float64), [], len(c0)
    for x_t in np.asarray(x, np.float64):
        update = sigmoid(p["W_u"] @ np.concatenate([c, x_t]) + p["b_u"])
        relevance = sigmoid(p["W_r"] @ np.concatenate([c, x_t]) + p["b_r"])
        if reset_after:
            candidate = np.tanh(p["W_c"][:, n_a:] @ x_t + p["b_c"] + relevance * (p["W_c"][:, :n_a] @ c + p["b_cc"]))
        else:
            candidate = np.tanh(p["W_c"] @ np.concatenate([relevance * c, x_t]) + p["b_c"])
        c = update * candidate + (1 - update) * c
        out.append(c)
    return np.array(out).reshape(len(x), -1)


def numpy_lstm(p, x, a0, c0):
    p = {k: np.asarray(v, np.float64) for k, v in p.items()}
    a, c, out = np.asarray(a0, np.float64), np.asarray(c0, np.float64), []
    for x_t in np.asarray(x, np.float64):
        concat = np.concatenate([a, x_t])
        forget, update = sigmoid(p["W_f"] @ concat + p["b_f"]), sigmoid(p["W_u"] @ concat + p["b_u"])
        candidate, output = np.tanh(p["W_c"] @ concat + p["b_c"]), sigmoid(p["W_o"] @ concat + p["b_o"])
        c = update * candidate + forget * c
        a = output * np.tanh(c)
        out.append(a)
    return np.array(out).reshape(len(x), -1), c


def random_params(rng, shapes, scale=0.6):
    return {k: jnp.asarray(rng.normal(size=s) * scale, jnp.float32) for k, s in shapes.items()}


def drawn_like(tree, rng, scale=0.6):
    """A pytree of NumPy normal draws shaped like ``tree`` (e.g. ``jax.eval_shape`` of a flax ``init``):
    no initializer is compiled."""
    return jax.tree.map(lambda leaf: jnp.asarray(rng.normal(size=leaf.shape) * scale, jnp.float32), tree)


def rnn_shapes(n_a, n_x, n_y=3):
    return {"W_aa": (n_a, n_a), "W_ax": (n_a, n_x), "b_a": (n_a,), "W_ya": (n_y, n_a), "b_y": (n_y,)}


def padded_batch(rng, n_x, lengths=LENGTHS):
    T = max(lengths)
    x = rng.normal(size=(len(lengths), T, n_x)).astype(np.float32)
    mask = np.arange(T)[None, :] < np.array(lengths)[:, None]
    x[~mask] = 7.0  # garbage at padded steps must not matter
    return jnp.asarray(x), jnp.asarray(mask)


def test_rnn_forward_equals_numpy_per_example_and_padding_keeps_the_state():
    rng = np.random.default_rng(0)
    p = random_params(rng, rnn_shapes(4, 3))
    x, mask = padded_batch(rng, 3)
    a0 = jnp.asarray(rng.normal(size=(3, 4)), jnp.float32)
    a, y_hat = jax.jit(dnn.rnn_forward)(p, x, mask, a0)
    assert a.shape == (3, 5, 4) and y_hat.shape == (3, 5, 3)
    for i, length in enumerate(LENGTHS):
        expected = numpy_rnn(p, x[i, :length], a0[i])
        np.testing.assert_allclose(a[i, :length], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(a[i, length:], 0.0)
        logits = expected @ np.asarray(p["W_ya"]).T + np.asarray(p["b_y"])
        np.testing.assert_allclose(y_hat[i, :length], np.exp(logits) / np.exp(logits).sum(-1, keepdims=True),
                                   rtol=1e-5, atol=1e-6)
    # The final state is each example's state after its last real step.
    final, _ = dnn.scan_cell(dnn.rnn_step, p, a0, x, mask)
    np.testing.assert_allclose(final, np.stack([a[i, n - 1] for i, n in enumerate(LENGTHS)]), rtol=1e-6)
    # The lecture's W_a [a, x] is the same cell.
    w_a = dnn.rnn_concatenated_weights(p)
    np.testing.assert_allclose(jnp.tanh(jnp.concatenate([a0, x[:, 0]], -1) @ w_a.T + p["b_a"]), a[:, 0], rtol=1e-5)


def test_a_hole_in_the_mask_passes_the_state_through():
    rng = np.random.default_rng(1)
    p = random_params(rng, rnn_shapes(3, 2))
    x = jnp.asarray(rng.normal(size=(1, 4, 2)), jnp.float32)
    a, _ = jax.jit(dnn.rnn_forward)(p, x, jnp.asarray([[1, 0, 0, 1]]))
    expected = numpy_rnn(p, np.asarray(x[0])[[0, 3]], np.zeros(3))
    np.testing.assert_allclose(a[0, [0, 3]], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(a[0, 1:3], 0.0)


def test_bidirectional_backward_direction_starts_at_each_last_real_step():
    rng = np.random.default_rng(2)
    forward, backward = random_params(rng, rnn_shapes(3, 2)), random_params(rng, rnn_shapes(4, 2))
    x, mask = padded_batch(rng, 2)
    zeros = lambda n: jnp.zeros((3, n))  # noqa: E731
    (final_f, final_b), out = dnn.bidirectional_scan(dnn.rnn_step, forward, dnn.rnn_step, backward, zeros(3), zeros(4),
                                                     x, mask)
    assert out.shape == (3, 5, 7)
    for i, n in enumerate(LENGTHS):
        a_f = numpy_rnn(forward, x[i, :n], np.zeros(3))
        a_b = numpy_rnn(backward, np.asarray(x[i, :n])[::-1], np.zeros(4))[::-1]  # the unpadded sequence reversed
        np.testing.assert_allclose(out[i, :n], np.concatenate([a_f, a_b], -1), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(out[i, n:], 0.0)
        np.testing.assert_allclose(final_f[i], a_f[-1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(final_b[i], a_b[0], rtol=1e-5, atol=1e-6)


def test_stacked_scan_feeds_each_layer_the_outputs_below():
    rng = np.random.default_rng(3)
    first, second = random_params(rng, rnn_shapes(4, 2)), random_params(rng, rnn_shapes(3, 4))
    x, mask = padded_batch(rng, 2)
    finals, out = dnn.stacked_scan([dnn.rnn_step] * 2, [first, second], [jnp.zeros((3, 4)), jnp.zeros((3, 3))], x,
                                   mask)
    for i, n in enumerate(LENGTHS):
        expected = numpy_rnn(second, numpy_rnn(first, x[i, :n], np.zeros(4)), np.zeros(3))
        np.testing.assert_allclose(out[i, :n], expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(finals[1][i], expected[-1], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="as many steps"):
        dnn.stacked_scan([dnn.rnn_step], [first, second], [jnp.zeros((3, 4))], x, mask)


def test_rnn_equals_flax_simple_cell():
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.normal(size=(2, 4, 3)), jnp.float32)
    cell = nn.SimpleCell(5)
    variables = drawn_like(jax.eval_shape(cell.init, jax.random.key(0), jnp.zeros((2, 5)), x[:, 0]), rng)
    a0 = jnp.asarray(rng.normal(size=(2, 5)), jnp.float32)
    theirs = nn.RNN(cell).apply({"params": {"cell": variables["params"]}}, x, initial_carry=a0)
    p = dict(dnn.flax_simple_cell_to_rnn(variables), W_ya=jnp.zeros((1, 5)), b_y=jnp.zeros(1))
    ours, _ = jax.jit(dnn.rnn_forward)(p, x, a0=a0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_bad_shapes_are_named():
    p = random_params(np.random.default_rng(5), rnn_shapes(2, 2))
    with pytest.raises(ValueError, match=r"\[batch, T, n_x\]; got shape \(3, 2\)"):
        dnn.rnn_forward(p, jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"mask must have shape \[batch, T\] = \(1, 4\); got shape \(4,\)"):
        dnn.rnn_forward(p, jnp.zeros((1, 4, 2)), jnp.ones(4))
