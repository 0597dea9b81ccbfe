"""dlcourse.models.LanguageModel: parameters by name and shape, an RNN language model set by hand to a
counted bigram model (its logits, the chain-rule probability and its greedy samples), padding anywhere
leaves the real steps' logits alone, a sequence continued from returned states equals one run, and a
tiny LSTM model trains through the supervised builder with token masks. Parameters are drawn with
NumPy (compiling initializers costs seconds)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import data, decoding, embeddings, models
from dlcourse.train import supervised
from tests.decoding.test_sequence_probability import counted_bigram


def shapes(model, tokens):
    return jax.eval_shape(model.init, jax.random.key(0), tokens)


def drawn(model, tokens, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: (scale * rng.normal(size=s.shape)).astype(np.float32), shapes(model, tokens))


def test_parameter_names_and_shapes():
    tokens = jnp.zeros((2, 3), jnp.int32)
    lstm = shapes(models.LanguageModel(11, embedding_size=5, hidden_size=4, num_layers=2), tokens)["params"]
    assert sorted(lstm) == ["embedding", "lstm_1", "lstm_2", "readout"]
    assert lstm["embedding"]["embedding"].shape == (11, 5) and lstm["readout"]["kernel"].shape == (4, 11)
    assert lstm["lstm_1"]["W_f"].shape == (4, 4 + 5) and lstm["lstm_2"]["W_o"].shape == (4, 4 + 4)
    assert shapes(models.LanguageModel(11, 5, 4, cell="rnn"), tokens)["params"]["rnn_1"]["W_ax"].shape == (4, 5)
    assert "b_r" in shapes(models.LanguageModel(11, 5, 4, cell="gru"), tokens)["params"]["gru_1"]
    with pytest.raises(ValueError, match="cell must be one of.*'elman'"):
        shapes(models.LanguageModel(11, cell="elman"), tokens)
    with pytest.raises(ValueError, match="tokens must be integer ids"):
        shapes(models.LanguageModel(11), jnp.zeros((2, 3)))


def bigram_language_model():
    """A one-layer RNN model equal to the counted bigram model: e = one-hot (0⃗ for <PAD>), W_ax = 20 I,
    W_aa = 0, so a⟨t⟩ = tanh(20 e⟨t⟩) = e⟨t⟩ in float32; readout row i = log P(· | i) − b, b = log P(· | ^)."""
    vocab, table, probability = counted_bigram()
    v = vocab.size
    model = models.LanguageModel(v, embedding_size=v, hidden_size=v, cell="rnn")
    kernel = table - table[embeddings.PAD_ID]
    params = {"embedding": {"embedding": np.eye(v, dtype=np.float32)},
              "rnn_1": {"W_aa": np.zeros((v, v), np.float32), "W_ax": 20 * np.eye(v, dtype=np.float32),
                        "b_a": np.zeros(v, np.float32)},
              "readout": {"kernel": kernel, "bias": table[embeddings.PAD_ID]}}
    return vocab, table, probability, model, {"params": params}


def test_an_rnn_set_to_the_counted_bigram_gives_its_chain_rule_probabilities_and_greedy_path():
    vocab, table, probability, model, variables = bigram_language_model()
    words = ["ab", "bba", "a", "abab"]
    inputs, targets, mask = data.next_token_arrays([embeddings.encode(vocab, list(w)) for w in words])
    logits = model.apply(variables, inputs, mask)
    np.testing.assert_allclose(jax.nn.log_softmax(logits)[mask > 0], jax.nn.log_softmax(table[inputs])[mask > 0],
                               atol=1e-5)
    log_p = decoding.sequence_log_probability(logits, targets, mask)
    np.testing.assert_allclose(np.exp(log_p), [float(probability(w)) for w in words], rtol=1e-5)
    step = models.language_model_step(model, variables)
    greedy = decoding.greedy_decode(step, model.initial_states(2), jnp.zeros(2, jnp.int32), 6, embeddings.EOS_ID)
    by_table = decoding.greedy_decode(lambda s, x: (s, jnp.asarray(table)[x]), None, jnp.zeros(2, jnp.int32), 6,
                                      embeddings.EOS_ID)
    np.testing.assert_array_equal(greedy.tokens, by_table.tokens)
    np.testing.assert_allclose(greedy.log_probability, by_table.log_probability, rtol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_padding_anywhere_leaves_the_real_steps_alone_and_states_continue_a_sequence(cell):
    model = models.LanguageModel(7, embedding_size=3, hidden_size=4, num_layers=2, cell=cell)
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 7, size=(2, 4)).astype(np.int32)
    variables = drawn(model, tokens)
    apply = jax.jit(model.apply, static_argnames="method")
    plain = apply(variables, tokens, np.ones((2, 4), np.float32))
    # the first two tokens after a padded step and with a hole between them, garbage tokens there
    padded = rng.integers(1, 7, size=(2, 4)).astype(np.int32)
    padded[:, [1, 3]] = tokens[:, :2]
    mask = np.array([[0, 1, 0, 1]] * 2, np.float32)
    padded_logits = apply(variables, padded, mask)
    np.testing.assert_allclose(padded_logits[:, [1, 3]], plain[:, :2], atol=1e-5)
    assert not np.allclose(apply(variables, padded, np.ones_like(mask))[:, 3], plain[:, 1], atol=1e-3)
    if cell == "rnn":   # the pair (tokens, token_mask), as the supervised builder passes a pytree of inputs
        np.testing.assert_allclose(apply(variables, (padded, mask)), padded_logits, atol=1e-6)
    # unrolling the first two steps, then the last two from the returned states, equals one run
    states, first = apply(variables, tokens[:, :2], None, model.initial_states(2), method=models.LanguageModel.unroll)
    _, second = apply(variables, tokens[:, 2:], None, states, method=models.LanguageModel.unroll)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), plain, atol=1e-5)


def test_a_tiny_model_trains_through_the_supervised_builder_with_token_masks():
    words = ["abc" * k + "d" for k in range(1, 5)] + ["cab" * k for k in range(1, 5)]
    vocab = embeddings.build_vocabulary([list(w) for w in words])
    examples = data.next_token_examples([embeddings.encode(vocab, list(w)) for w in words])
    model = models.LanguageModel(vocab.size, embedding_size=8, hidden_size=16, cell="rnn")
    trainable = supervised(model, data.Dataset(examples, examples), optimizer="adam",
                           hparams={"learning_rate": 0.05}, epochs=30, batch_size=8, loss="softmax",
                           metrics=("perplexity",), evaluate_train=False)
    state, metrics = jax.jit(trainable.train_with_state)(trainable.default_hparams(), jax.random.key(0))
    curve = np.asarray(metrics["dev_perplexity"])
    assert curve[-1] < 2.0 < vocab.size / 2 < curve[0], curve     # from about uniform over 7 tokens to < 2
    # the builder's perplexity is exp of the mean −log P(y⟨t⟩ | y⟨<t⟩) over the real tokens (<EOS> included)
    logits = model.apply({"params": state.params}, examples.inputs)
    log_p = decoding.sequence_log_probability(logits, examples.targets, examples.mask)
    np.testing.assert_allclose(curve[-1], np.exp(-np.sum(log_p) / np.sum(examples.mask)), rtol=1e-4)
    np.testing.assert_allclose(curve[-1], np.exp(metrics["dev_loss"][-1]), rtol=1e-4)


@pytest.mark.parametrize("settings", [(0, 20, 1.0, 0), (5, 0, 1.0, 0), (5, 20, -0.5, 0), (5, 20, 1.0, -1)])
def test_sampling_settings_outside_their_ranges_are_refused(settings):
    with pytest.raises(ValueError, match="need samples >= 1, max_sample_length >= 1, top_k >= 0, temperature >= 0"):
        models.check_sampling_settings(*settings)
    models.check_sampling_settings(1, 1, 0.0, 0)       # the smallest accepted: greedy, every token
