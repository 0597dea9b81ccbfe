"""dlcourse.nn.transformer_layers: the post-norm encoder and decoder layers against the formulas
LayerNorm(x + F(x)) written out in NumPy (multi-head attention one head at a time, layer norm, the
position-wise FFN), and dropout: the identity outside training and at keep_prob 1, a traced keep_prob
compiled once."""
import jax
import numpy as np
import pytest

from dlcourse import nn as dnn
from dlcourse.train import compile_lowered
from tests.nn.test_attention import compiled, numpy_multi_head, params_of


def numpy_layer_norm(params, x, epsilon=1e-6):
    mean, variance = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * params["scale"] + params["bias"]


def numpy_feed_forward(params, x):
    hidden = np.maximum(0, x @ params["hidden"]["kernel"] + params["hidden"]["bias"])
    return hidden @ params["output"]["kernel"] + params["output"]["bias"]


def numpy_encoder_layer(p, x, num_heads, mask):
    x = numpy_layer_norm(p["norm_1"], x + numpy_multi_head(p["self_attention"], x, x, x, num_heads, mask))
    return numpy_layer_norm(p["norm_2"], x + numpy_feed_forward(p["feed_forward"], x))


def numpy_decoder_layer(p, y, memory, num_heads, self_mask, memory_mask):
    y = numpy_layer_norm(p["norm_1"], y + numpy_multi_head(p["self_attention"], y, y, y, num_heads, self_mask))
    y = numpy_layer_norm(p["norm_2"], y + numpy_multi_head(p["cross_attention"], y, memory, memory, num_heads,
                                                           memory_mask))
    return numpy_layer_norm(p["norm_3"], y + numpy_feed_forward(p["feed_forward"], y))


def test_encoder_layer_is_post_norm_self_attention_then_feed_forward():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 8)).astype(np.float32)
    token_mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    mask = np.asarray(dnn.padding_mask(token_mask))
    layer = dnn.EncoderLayer(d_model=8, num_heads=2, d_ff=12)
    params = params_of(layer, x)
    assert sorted(params) == ["feed_forward", "norm_1", "norm_2", "self_attention"]
    assert params["feed_forward"]["hidden"]["kernel"].shape == (8, 12)
    out = compiled(lambda p: layer.apply({"params": p}, x, mask), params)
    f64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    for b in range(2):
        np.testing.assert_allclose(out[b], numpy_encoder_layer(f64, x[b].astype(np.float64), 2,
                                                               np.broadcast_to(mask[b, 0], (4, 4))),
                                   rtol=1e-4, atol=1e-4)


def test_decoder_layer_attends_to_its_past_then_to_the_memory():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(2, 3, 8)).astype(np.float32)
    memory = rng.normal(size=(2, 5, 8)).astype(np.float32)
    self_mask = np.asarray(dnn.look_ahead_mask(3))
    memory_mask = np.asarray(dnn.padding_mask(np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])))
    layer = dnn.DecoderLayer(d_model=8, num_heads=4, d_ff=16)
    params = params_of(layer, y, memory, seed=1)
    assert sorted(params) == ["cross_attention", "feed_forward", "norm_1", "norm_2", "norm_3", "self_attention"]
    out = compiled(lambda p: layer.apply({"params": p}, y, memory, self_mask, memory_mask), params)
    f64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    for b in range(2):
        expected = numpy_decoder_layer(f64, y[b].astype(np.float64), memory[b].astype(np.float64), 4,
                                       self_mask[0, 0], np.broadcast_to(memory_mask[b, 0], (3, 5)))
        np.testing.assert_allclose(out[b], expected, rtol=1e-4, atol=1e-4)


def test_dropout_acts_only_in_training_with_a_traced_keep_prob():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 4, 8)).astype(np.float32)
    layer = dnn.EncoderLayer(d_model=8, num_heads=2, d_ff=12)
    variables = {"params": params_of(layer, x, seed=2)}

    def run(keep_prob, key):
        return (layer.apply(variables, x, train=True, keep_prob=keep_prob, rngs={"dropout": key}),
                layer.apply(variables, x, train=False, keep_prob=keep_prob))

    key = jax.random.key(0)
    run = compile_lowered(jax.jit(run).lower(1.0, key))        # one compiled program for every keep_prob
    kept, inference = run(1.0, key)
    np.testing.assert_allclose(kept, inference, rtol=1e-6, atol=1e-6)   # keep_prob = 1: the identity
    dropped, same_inference = run(0.5, key)
    np.testing.assert_array_equal(same_inference, inference)
    assert np.abs(np.asarray(dropped) - np.asarray(inference)).max() > 0.1
    np.testing.assert_array_equal(run(0.5, key)[0], dropped)             # the key decides the masks
    with pytest.raises(ValueError, match="keep_prob must lie in"):
        jax.jit(lambda: layer.apply(variables, x, train=True, keep_prob=0.0, rngs={"dropout": key}))()
