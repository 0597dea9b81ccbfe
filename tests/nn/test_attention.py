"""dlcourse.nn.attention: scaled dot-product attention against the notes' per-query sum, its masks
(exact zeros, a fully masked row without NaN), the positional encoding worked by hand, and multi-head
attention against a NumPy loop over heads and against flax's MultiHeadDotProductAttention with the
parameters mapped across. Parameters are drawn with NumPy (compiling initializers costs seconds)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import nn as dnn
from dlcourse.train import compile_lowered


def compiled(f, *args):
    """f(*args) compiled with dlcourse's CPU options (half the compile time of a plain jit)."""
    return compile_lowered(jax.jit(f).lower(*args))(*args)


def drawn_like(shapes, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: (scale * rng.normal(size=s.shape)).astype(np.float32), shapes)


def params_of(module, *args, seed=0):
    return drawn_like(jax.eval_shape(module.init, jax.random.key(0), *args)["params"], seed)


def notes_attention(q, keys, values):
    """The notes' A(q, K, V) = Σ_i exp(q·k⟨i⟩) / Σ_j exp(q·k⟨j⟩) v⟨i⟩ for one query (float64)."""
    scores = np.array([np.exp(q @ k) for k in keys])
    return sum(s / scores.sum() * v for s, v in zip(scores, values))


def numpy_multi_head(params, queries, keys, values, num_heads, mask=None):
    """concat_i softmax((Q W_i^Q)(K W_i^K)ᵀ / √d_head)(V W_i^V) W_o, one example [T, d], one head at a time."""
    f64 = {name: {k: np.asarray(v, np.float64) for k, v in layer.items()} for name, layer in params.items()}
    d_model = f64["query"]["kernel"].shape[1]
    d_head = d_model // num_heads
    heads = []
    for i in range(num_heads):
        cols = slice(i * d_head, (i + 1) * d_head)
        q, k, v = ((x @ f64[n]["kernel"][:, cols] + f64[n]["bias"][cols])
                   for n, x in (("query", queries), ("key", keys), ("value", values)))
        rows = []
        for t in range(len(q)):
            allowed = np.ones(len(k), bool) if mask is None else mask[t]
            rows.append(notes_attention(q[t] / np.sqrt(d_head), k[allowed], v[allowed]))
        heads.append(np.stack(rows))
    return np.concatenate(heads, axis=-1) @ f64["output"]["kernel"] + f64["output"]["bias"]


def test_scaled_dot_product_attention_is_the_notes_sum_with_queries_scaled():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 6))
    out, weights = dnn.scaled_dot_product_attention(*(x.astype(np.float32) for x in (q, k, v)))
    expected = [[notes_attention(q[b, t] / 2.0, k[b], v[b]) for t in range(3)] for b in range(2)]   # √d_k = 2
    np.testing.assert_allclose(out, np.array(expected), rtol=1e-5, atol=1e-6)
    assert out.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="need q"):
        dnn.scaled_dot_product_attention(q, k[..., :3], v)


def test_masks_give_exact_zero_weights_and_a_fully_masked_row_no_nan():
    token_mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    mask = dnn.padding_mask(token_mask) & dnn.look_ahead_mask(4)
    assert mask.shape == (2, 1, 4, 4)
    np.testing.assert_array_equal(dnn.look_ahead_mask(3)[0, 0], [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(dnn.padding_mask(token_mask)[:, 0, 0], token_mask.astype(bool))
    rng = np.random.default_rng(1)
    q, k, v = (rng.normal(size=(2, 1, 4, 3)).astype(np.float32) for _ in range(3))
    attention = jax.jit(dnn.scaled_dot_product_attention)
    out, weights = attention(q, k, v, mask)
    assert np.all(np.asarray(weights)[~np.broadcast_to(mask, weights.shape)] == 0)
    for b, t in [(0, 0), (0, 2), (0, 3), (1, 1), (1, 3)]:
        allowed = np.asarray(mask[b, 0, t])
        np.testing.assert_allclose(out[b, 0, t], notes_attention(q[b, 0, t] / np.sqrt(3), k[b, 0][allowed],
                                                                 v[b, 0][allowed]), rtol=1e-5, atol=1e-6)
    nothing = np.zeros((1, 4), bool)          # a query that may attend to nothing: zeros, and finite gradients
    out, weights = attention(q[0, 0], k[0, 0], v[0, 0], nothing)
    np.testing.assert_array_equal(out, 0.0)
    np.testing.assert_array_equal(weights, 0.0)
    grads = jax.jit(jax.grad(lambda q: attention(q, k[0, 0], v[0, 0], nothing)[0].sum()))(q[0, 0])
    assert np.all(np.isfinite(grads))
    with pytest.raises(ValueError, match="token_mask must be"):
        dnn.padding_mask(np.ones(3))


def test_positional_encoding_by_hand():
    pe = dnn.positional_encoding(3, 4)
    # d = 4: the pairs (2i, 2i+1) = (0, 1) at rate 1, (2, 3) at rate 1/10000^(2/4) = 1/100
    expected = [[0, 1, 0, 1],
                [np.sin(1), np.cos(1), np.sin(0.01), np.cos(0.01)],
                [np.sin(2), np.cos(2), np.sin(0.02), np.cos(0.02)]]
    np.testing.assert_allclose(pe, expected, rtol=1e-6, atol=1e-7)
    odd = dnn.positional_encoding(2, 3)       # the last column is the sine of the pair 2i = 2, rate 10000^(-2/3)
    np.testing.assert_allclose(odd[1], [np.sin(1), np.cos(1), np.sin(10000 ** (-2 / 3))], rtol=1e-6)
    assert pe.dtype == np.float32
    with pytest.raises(ValueError, match="d_model must be a positive int"):
        dnn.positional_encoding(3, 0)


def test_multi_head_attention_is_concat_of_heads_times_w_o_and_equals_flax():
    rng = np.random.default_rng(2)
    queries = rng.normal(size=(2, 3, 6)).astype(np.float32)
    memory = rng.normal(size=(2, 5, 7)).astype(np.float32)
    mask = np.ones((2, 1, 3, 5), bool)
    mask[1, :, :, 3:] = False                 # the second example's last two keys are padding
    mask[0, :, 1, 0] = False
    layer = dnn.MultiHeadAttention(num_heads=2, d_model=8)
    params = params_of(layer, queries, memory)
    assert {k: v["kernel"].shape for k, v in params.items()} == {
        "query": (6, 8), "key": (7, 8), "value": (7, 8), "output": (8, 8)}
    out, sown = compiled(lambda p: layer.apply({"params": p}, queries, memory, mask=mask,
                                               mutable=["intermediates"]), params)
    for b in range(2):
        np.testing.assert_allclose(out[b], numpy_multi_head(params, queries[b], memory[b], memory[b], 2,
                                                            mask[b, 0]), rtol=1e-4, atol=1e-5)
    weights = sown["intermediates"]["attention_weights"][0]
    assert weights.shape == (2, 2, 3, 5) and np.all(np.asarray(weights)[1, :, :, 3:] == 0)
    # flax keeps W^Q as (d_in, h, d_head) and W_o as (h, d_head, d_out): the same numbers reshaped
    flax_params = {
        **{name: {"kernel": params[name]["kernel"].reshape(-1, 2, 4), "bias": params[name]["bias"].reshape(2, 4)}
           for name in ("query", "key", "value")},
        "out": {"kernel": params["output"]["kernel"].reshape(2, 4, 8), "bias": params["output"]["bias"]}}
    flax_layer = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=8, out_features=8, deterministic=True)
    expected = compiled(lambda p: flax_layer.apply({"params": p}, queries, memory, mask=mask), flax_params)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="must be divisible by num_heads"):
        dnn.MultiHeadAttention(num_heads=3, d_model=8).init(jax.random.key(0), queries)


def test_cached_self_attention_steps_equal_the_look_ahead_call():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 8)).astype(np.float32)
    layer = dnn.MultiHeadAttention(num_heads=2, d_model=8)
    variables = {"params": params_of(layer, x, seed=3)}

    def run_steps(variables, x):
        full = layer.apply(variables, x, mask=dnn.look_ahead_mask(4))
        keys = layer.apply(variables, x, method=dnn.MultiHeadAttention.project).keys
        cache = dnn.KeyValueCache(jnp.zeros((2, 6, 2, 4)), jnp.zeros((2, 6, 2, 4)))   # 6 slots, 4 used
        outs = []
        for t in range(4):
            out, cache = layer.apply(variables, x[:, t:t + 1], cache, jnp.full(2, t),
                                     method=dnn.MultiHeadAttention.step)
            outs.append(out[:, 0])
        return jnp.stack(outs, 1), cache, full, keys

    stepped, cache, full, keys = compiled(run_steps, variables, x)
    np.testing.assert_allclose(stepped, full, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cache.keys[:, :4], keys, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(cache.keys[:, 4:], 0.0)
