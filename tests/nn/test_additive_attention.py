"""Bahdanau attention against an explicit NumPy computation of e⟨t,t′⟩ = v·tanh(W[s⟨t−1⟩; a⟨t′⟩] + b) + c,
α = softmax over the real t′ and context = Σ α a; padding gets α = 0 and changes nothing."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import nn as dnn


def _numpy_attention(params, s, a, mask):
    m, T, _ = a.shape
    kernel, bias = np.asarray(params["hidden_kernel"], np.float64), np.asarray(params["hidden_bias"], np.float64)
    v, c = np.asarray(params["energy_kernel"], np.float64)[:, 0], float(params["energy_bias"][0])
    weights, contexts = np.zeros((m, T)), np.zeros((m, a.shape[-1]))
    for i in range(m):
        energies = np.array([v @ np.tanh(np.concatenate([s[i], a[i, t]]) @ kernel + bias) + c for t in range(T)])
        real = np.flatnonzero(mask[i])
        if real.size:
            e = np.exp(energies[real] - energies[real].max())
            weights[i, real] = e / e.sum()
        contexts[i] = weights[i] @ a[i]
    return contexts, weights


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((4, 5))
    a = rng.standard_normal((4, 6, 3))
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]], bool)
    layer = dnn.AdditiveAttention(hidden_size=10)
    params = jax.jit(layer.init)(jax.random.key(1), s, a, mask)["params"]
    params = dict(params, energy_bias=jnp.array([0.3]), hidden_bias=jnp.asarray(rng.standard_normal(10) * 0.1))
    apply = jax.jit(lambda p, s, a, mask: layer.apply({"params": p}, s, a, mask))
    apply_function = jax.jit(dnn.bahdanau_attention)
    return layer, params, apply, s, a, mask, apply_function


def test_context_and_weights_equal_numpy(case):
    layer, params, apply, s, a, mask, apply_function = case
    assert params["hidden_kernel"].shape == (5 + 3, 10) and params["energy_kernel"].shape == (10, 1)
    context, weights = apply(params, s, a, mask)
    expected_context, expected_weights = _numpy_attention(params, s, a, mask)
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(context, expected_context, rtol=1e-5, atol=1e-6)
    for got, expected in zip(apply_function(params, s, a, mask), (context, weights)):   # the pure form
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_padded_steps_get_no_weight_and_real_ones_sum_to_one(case):
    _, params, apply, s, a, mask, _ = case
    context, weights = apply(params, s, a, mask)
    weights = np.asarray(weights)
    assert np.all(weights[~mask] == 0.0) and np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights[:3].sum(axis=1), 1.0, rtol=1e-6)
    assert weights[2, 0] == pytest.approx(1.0)                         # one real step takes all the attention
    np.testing.assert_array_equal(context[3], 0.0)                      # no real step: zero context, not NaN
    a_changed = np.where(mask[..., None], a, 100.0 * np.sign(a))        # padding changes nothing
    np.testing.assert_allclose(apply(params, s, a_changed, mask)[0], context, rtol=1e-6)


def test_masked_softmax_is_softmax_over_the_real_entries():
    scores = np.array([[0.5, -1.0, 2.0], [3.0, 3.0, 3.0]], np.float32)
    softmax = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    plain, all_real, two_real = jax.jit(lambda z: (dnn.masked_softmax(z), dnn.masked_softmax(z, np.ones((2, 3), bool)),
                                                   dnn.masked_softmax(z, np.array([True, False, True]))))(scores)
    np.testing.assert_allclose(plain, softmax, rtol=1e-6)
    np.testing.assert_allclose(all_real, softmax, rtol=1e-6)
    total = np.exp(0.5) + np.exp(2.0)
    np.testing.assert_allclose(two_real, [[np.exp(0.5) / total, 0, np.exp(2.0) / total], [0.5, 0, 0.5]], rtol=1e-6)


@pytest.mark.parametrize("s_shape, a_shape, mask_shape, message", [
    ((2, 5), (2, 6), None, "values must have shape [m, T_x, n_a]"),
    ((3, 5), (2, 6, 3), None, "query must have shape [m=2, n_s]"),
    ((2, 5), (2, 6, 3), (2, 5), "mask must have shape [m, T_x] = (2, 6)"),
])
def test_bad_shapes_are_named(s_shape, a_shape, mask_shape, message):
    mask = None if mask_shape is None else jnp.ones(mask_shape, bool)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        jax.eval_shape(dnn.AdditiveAttention().init, jax.random.key(0), jnp.zeros(s_shape), jnp.zeros(a_shape), mask)
