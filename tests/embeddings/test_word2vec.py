"""Skip-gram: the losses against numpy, the sampling distributions by hand, training on topics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import embeddings
from dlcourse.embeddings import word2vec


def random_params(vocab_size=7, embedding_size=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"E": rng.normal(size=(vocab_size, embedding_size)).astype(np.float32),
            "theta": rng.normal(size=(vocab_size, embedding_size)).astype(np.float32)}


def test_full_softmax_loss_equals_numpy():
    params = random_params()
    contexts, targets = np.array([0, 3, 3, 6]), np.array([1, 1, 5, 6])
    terms = jax.jit(embeddings.skipgram_softmax_terms)(params, contexts, targets)
    expected = []
    for c, t in zip(contexts, targets):
        logits = params["theta"].astype(np.float64) @ params["E"][c]         # θ_jᵀ e_c for every j
        expected.append(np.log(np.sum(np.exp(logits))) - logits[t])
    np.testing.assert_allclose(terms, expected, rtol=1e-5)


def test_negative_sampling_loss_equals_numpy():
    params = random_params()
    contexts, targets, negatives = np.array([0, 3]), np.array([1, 5]), np.array([[2, 4, 4], [0, 6, 1]])
    terms = jax.jit(embeddings.negative_sampling_terms)(params, contexts, targets, negatives)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    expected = [-np.log(sigmoid(params["theta"][t] @ params["E"][c]))
                - sum(np.log(sigmoid(-params["theta"][n] @ params["E"][c])) for n in ns)
                for c, t, ns in zip(contexts, targets, negatives)]
    np.testing.assert_allclose(terms, expected, rtol=1e-5)


def test_negative_sampling_distribution_by_hand_and_draws_follow_it():
    counts = np.array([0, 1, 16, 81])                      # f^{3/4} = 0, 1, 8, 27; their sum is 36
    distribution = embeddings.negative_sampling_distribution(counts)
    np.testing.assert_allclose(distribution, [0, 1 / 36, 8 / 36, 27 / 36], rtol=1e-6)
    draws = np.asarray(jax.jit(embeddings.draw_negatives, static_argnums=2)(jax.random.key(0), distribution,
                                                                              (100_000,)))
    frequencies = np.bincount(draws, minlength=4) / draws.size
    assert frequencies[0] == 0
    np.testing.assert_allclose(frequencies, [0, 1 / 36, 8 / 36, 27 / 36], atol=0.005)


def test_negative_sampling_table_holds_each_word_in_proportion_and_draws_follow_it():
    distribution = embeddings.negative_sampling_distribution(np.array([0, 1, 16, 81]))     # 0, 1/36, 8/36, 27/36
    table = np.asarray(word2vec.negative_sampling_table(distribution, bits=10))
    assert table.shape == (1024,) and np.all(np.diff(table) >= 0)
    # slot i holds the word whose CDF interval contains (i + ½) / 1024: counts within one slot of P(w) · 1024
    np.testing.assert_allclose(np.bincount(table, minlength=4), [0, 1024 / 36, 8 * 1024 / 36, 27 * 1024 / 36], atol=1)
    draws = np.asarray(jax.jit(word2vec.draw_from_table, static_argnums=2)(jax.random.key(0), table, (100_000,)))
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / draws.size, [0, 1 / 36, 8 / 36, 27 / 36], atol=0.005)


def test_subsampling_probabilities_by_hand():
    counts = np.array([0, 10, 990])                        # relative frequencies z = 0, 0.01, 0.99
    word2vec = embeddings.subsampling_keep_probabilities(counts, 0.01)
    # (√(z/s) + 1) s / z with s = 0.01: z = 0.01 gives 2, capped at 1; z = 0.99 gives (√99 + 1) / 99
    np.testing.assert_allclose(word2vec, [1.0, 1.0, 0.1106048], rtol=1e-5)
    paper = embeddings.subsampling_keep_probabilities(counts, 0.01, "paper")      # √(s/z)
    np.testing.assert_allclose(paper, [1.0, 1.0, 0.1005038], rtol=1e-5)
    np.testing.assert_array_equal(embeddings.subsampling_keep_probabilities(counts, 0.0), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="formula must be one of"):
        embeddings.subsampling_keep_probabilities(counts, 0.01, "gensim")


def test_subsample_drops_words_and_closes_the_gaps():
    ids = jnp.asarray([[3, 1, 2, 1, 4, 0], [1, 1, 3, 0, 0, 0]])
    mask = ids > 0
    keep = jnp.asarray([1.0, 0.0, 1.0, 1.0, 1.0])           # word 1 always dropped
    new_ids, new_mask = embeddings.subsample(jax.random.key(0), ids, mask, keep)
    np.testing.assert_array_equal(np.where(new_mask, new_ids, -1), [[3, 2, 4, -1, -1, -1], [3, -1, -1, -1, -1, -1]])


def topic_corpus(seed=0, sentences=240, length=8, topics=2, words_per_topic=6):
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, topics, size=sentences)
    return topic[:, None] * words_per_topic + rng.integers(0, words_per_topic, size=(sentences, length))


@pytest.mark.parametrize("negatives, optimizer, batch_size, learning_rate",
                         [(0, None, 512, 0.05), (4, None, 512, 0.05), (4, "sgd", 64, 0.025)])
def test_training_brings_words_of_a_topic_together(negatives, optimizer, batch_size, learning_rate):
    corpus = topic_corpus()
    model = embeddings.train_skipgram(corpus, 12, embedding_size=8, window=2, negatives=negatives, subsampling=0.0,
                                      epochs=4, batch_size=batch_size, optimizer=optimizer,
                                      learning_rate=learning_rate, key=jax.random.key(1))
    similarities = np.asarray(embeddings.cosine_similarity(model.embeddings[:, None], model.embeddings[None]))
    topic = np.arange(12) // 6
    same = topic[:, None] == topic[None]
    off_diagonal = ~np.eye(12, dtype=bool)
    within, across = similarities[same & off_diagonal].mean(), similarities[~same].mean()
    assert within > across + 0.5, (within, across)
    losses = np.asarray(model.losses)
    assert losses.shape == (4,) and losses[-1] < losses[0]
    # every word's nearest neighbour is in its own topic
    nearest = embeddings.nearest_words(model.embeddings, model.embeddings, 1, exclude=np.arange(12)[:, None]).ids[:, 0]
    np.testing.assert_array_equal(topic[np.asarray(nearest)], topic)


def test_training_checks_its_arguments():
    with pytest.raises(ValueError, match="counts must have shape"):
        embeddings.train_skipgram(np.zeros((2, 3), int), 5, counts=np.ones(4))
    with pytest.raises(ValueError, match="negatives"):
        embeddings.train_skipgram(np.zeros((2, 3), int), 5, negatives=-1)
    with pytest.raises(ValueError, match="optimizer must be"):
        embeddings.train_skipgram(np.zeros((2, 3), int), 5, optimizer="adagrad")
