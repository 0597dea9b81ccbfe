"""The attention translator against a NumPy bidirectional LSTM + Bahdanau attention + post-attention LSTM
written from the equations; its one-token decoding step against the teacher-forced pass; exact match."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import decoding, metrics, models

SOURCE_VOCAB, TARGET_VOCAB = 9, 7


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _lstm_step(p, a, c, x):
    z = {g: p[f"W_{g}"] @ np.concatenate([a, x]) + p[f"b_{g}"] for g in "fuco"}
    c = _sigmoid(z["u"]) * np.tanh(z["c"]) + _sigmoid(z["f"]) * c
    return _sigmoid(z["o"]) * np.tanh(c), c


def _numpy_translator(params, source, mask, target_in):
    """Logits [m, T_y, |V_y|] and α [m, T_y, T_x], one example and one step at a time."""
    p = jax.tree.map(lambda leaf: np.asarray(leaf, np.float64), params)
    dec, att = p["decoder"], p["decoder"]["attention"]
    n_a, n_s = p["encoder_forward"]["b_f"].shape[0], dec["b_f"].shape[0]
    m, T_x = source.shape
    logits, alphas = np.zeros(target_in.shape + (TARGET_VOCAB,)), np.zeros(target_in.shape + (T_x,))
    for i in range(m):
        real = np.flatnonzero(mask[i])
        x = p["source_embedding"]["embedding"][source[i]]
        encoded = np.zeros((T_x, 2 * n_a))
        for direction, steps, offset in (("encoder_forward", real, 0), ("encoder_backward", real[::-1], n_a)):
            a, c = np.zeros(n_a), np.zeros(n_a)
            for t in steps:
                a, c = _lstm_step(p[direction], a, c, x[t])
                encoded[t, offset:offset + n_a] = a
        s, c = np.zeros(n_s), np.zeros(n_s)
        for t, previous in enumerate(target_in[i]):
            energies = np.array([att["energy_kernel"][:, 0] @ np.tanh(
                np.concatenate([s, encoded[k]]) @ att["hidden_kernel"] + att["hidden_bias"]) + att["energy_bias"][0]
                for k in range(T_x)])
            alpha = np.zeros(T_x)
            alpha[real] = np.exp(energies[real] - energies[real].max())
            alpha /= alpha.sum()
            context = alpha @ encoded
            s, c = _lstm_step(dec, s, c, np.concatenate([context, dec["target_embedding"]["embedding"][previous]]))
            logits[i, t] = s @ dec["readout"]["kernel"] + dec["readout"]["bias"]
            alphas[i, t] = alpha
    return logits, alphas


def _random_params(model, rng, *args):
    """Parameters of the model's shapes drawn from N(0, 0.5²) (no init program to compile)."""
    shapes = jax.eval_shape(model.init, jax.random.key(0), *args)["params"]
    return jax.tree.map(lambda leaf: jnp.asarray(0.5 * rng.standard_normal(leaf.shape), leaf.dtype), shapes)


@pytest.fixture(scope="module")
def translator():
    model = models.AttentionTranslator(SOURCE_VOCAB, TARGET_VOCAB, embedding_size=3, encoder_size=4, decoder_size=5,
                                       attention_size=6, target_embedding_size=2)
    rng = np.random.default_rng(0)
    source = rng.integers(4, SOURCE_VOCAB, (3, 6)).astype(np.int32)
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]], bool)
    source = np.where(mask, source, 0)
    target_in = np.concatenate([np.full((3, 1), 3), rng.integers(4, TARGET_VOCAB, (3, 3))], axis=1).astype(np.int32)
    params = _random_params(model, rng, source, mask, target_in)
    apply = jax.jit(lambda p, s, m, t: model.apply({"params": p}, s, m, t, return_attention=True))
    return model, params, apply, source, mask, target_in


def test_logits_and_attention_equal_numpy(translator):
    model, params, apply, source, mask, target_in = translator
    logits, alphas = apply(params, source, mask, target_in)
    assert logits.shape == (3, 4, TARGET_VOCAB) and alphas.shape == (3, 4, 6)
    expected_logits, expected_alphas = _numpy_translator(params, source, mask, target_in)
    np.testing.assert_allclose(alphas, expected_alphas, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(logits, expected_logits, rtol=2e-5, atol=2e-5)
    assert np.all(np.asarray(alphas)[~np.broadcast_to(mask[:, None], alphas.shape)] == 0)


def test_decoding_step_equals_teacher_forcing_and_greedy_and_beam_score_their_outputs(translator):
    model, params, apply, source, mask, target_in = translator
    logits, alphas = apply(params, source, mask, target_in)

    def decode(params):
        step, state = models.translator_decoding(model, {"params": params}, source, mask)

        def fed(state, previous):                        # the step fed the true previous tokens
            state, step_logits = step(state, previous)
            return state, (step_logits, state.attention)

        leading = [leaf.shape[0] for leaf in jax.tree.leaves(state)]
        greedy = decoding.greedy_decode(step, state, jnp.full(3, 3), 4, eos_id=1)
        beams = decoding.beam_search(step, state, jnp.full(3, 3), 4, eos_id=1, beam_width=2)
        return jax.lax.scan(fed, state, target_in.T)[1], greedy, beams, leading

    (step_logits, step_alphas), greedy, beams, leading = jax.jit(decode)(params)
    assert leading == [3] * len(leading)                 # every leaf [m, ...]: beam search can tile it
    np.testing.assert_allclose(jnp.swapaxes(step_logits, 0, 1), logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jnp.swapaxes(step_alphas, 0, 1), alphas, rtol=1e-5, atol=1e-6)
    fed = np.concatenate([np.full((3, 1), 3), np.asarray(greedy.tokens[:, :-1])], axis=1).astype(np.int32)
    fed_logits, _ = apply(params, source, mask, fed)
    real = np.asarray(greedy.mask)
    np.testing.assert_array_equal(np.argmax(fed_logits, -1)[real], np.asarray(greedy.tokens)[real])
    log_softmax = np.asarray(jax.nn.log_softmax(fed_logits))
    expected = np.sum(np.where(real, np.take_along_axis(log_softmax, np.asarray(greedy.tokens)[..., None], -1)[..., 0],
                               0.0), axis=1)
    np.testing.assert_allclose(greedy.log_probability, expected, rtol=1e-5)
    best = np.asarray(beams.tokens[:, 0])                # beam search over the tiled state: its log P(ŷ|x)
    best_logits, _ = apply(params, source, mask, np.concatenate([np.full((3, 1), 3), best[:, :-1]], 1).astype(np.int32))
    best_log_p = np.take_along_axis(np.asarray(jax.nn.log_softmax(best_logits)), best[..., None], -1)[..., 0]
    np.testing.assert_allclose(beams.log_probability[:, 0], np.sum(np.where(beams.mask[:, 0], best_log_p, 0.0), 1),
                               rtol=1e-5)


def test_the_courses_context_only_decoder_ignores_the_previous_outputs(translator):
    _, _, _, source, mask, target_in = translator
    model = models.AttentionTranslator(SOURCE_VOCAB, TARGET_VOCAB, embedding_size=3, encoder_size=4, decoder_size=5,
                                       feed_previous_output=False)
    params = _random_params(model, np.random.default_rng(1), source, mask, target_in)
    assert "target_embedding" not in params["decoder"]
    assert params["decoder"]["W_f"].shape == (5, 5 + 8)                 # [s⟨t−1⟩; context⟨t⟩]
    apply = jax.jit(lambda t: model.apply({"params": params}, source, mask, t))
    np.testing.assert_allclose(apply(target_in), apply((target_in + 1) % TARGET_VOCAB), rtol=1e-6)


def test_exact_match_counts_whole_sequences_over_real_tokens():
    targets = np.array([[1, 2, 3], [1, 2, 3], [1, 2, 3], [4, 4, 4]])
    predicted = np.array([[1, 2, 3], [1, 2, 0], [1, 0, 3], [0, 0, 0]])
    weights = np.array([[1, 1, 1], [1, 1, 0], [1, 1, 1], [0, 0, 0]], np.float32)   # row 1's miss is padding
    logits = np.eye(5, dtype=np.float32)[predicted]
    stats = metrics.EXACT_MATCH.statistics(logits, targets, weights)
    assert float(stats["hits"]) == 2 and float(stats["count"]) == 3
    assert float(metrics.EXACT_MATCH.value(stats)) == pytest.approx(2 / 3)


def test_bad_inputs_are_named(translator):
    model, params, _, source, mask, target_in = translator
    with pytest.raises(ValueError, match="needs target_in"):
        model.apply({"params": params}, source, mask)
    with pytest.raises(ValueError, match=r"source may be the tuple \(source, source_mask, target_in, target_mask\)"):
        model.apply({"params": params}, (source, mask, target_in))
    with pytest.raises(ValueError, match="encoder_size must be a positive int; got 0"):
        models.AttentionTranslator(5, 5, encoder_size=0).init(jax.random.key(0), source, mask, target_in)
