"""Vocabulary (min count, ⟨UNK⟩, ⟨EOS⟩, ⟨PAD⟩), the embedding matrix, and the notes' context/target pairs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import embeddings

SENTENCE = "I want a glass of orange juice to go along with my cereal."
last_words_context = jax.jit(embeddings.last_words_context, static_argnums=2)
surrounding_words_context = jax.jit(embeddings.surrounding_words_context, static_argnums=2)
nearby_word_context = jax.jit(embeddings.nearby_word_context, static_argnums=3)
skipgram_pairs = jax.jit(embeddings.skipgram_pairs, static_argnums=2)


def test_tokenize_lowers_and_splits_punctuation():
    assert embeddings.tokenize("Don't stop, Orange-juice!") == ["don't", "stop", ",", "orange", "-", "juice", "!"]
    assert embeddings.tokenize(SENTENCE)[-3:] == ["my", "cereal", "."]


def test_vocabulary_orders_by_count_and_sends_rare_words_to_unk():
    sentences = [["b", "a", "c", "a"], ["a", "b", "d"]]
    vocabulary = embeddings.build_vocabulary(sentences, min_count=2)
    assert vocabulary.words == ("<PAD>", "<EOS>", "<UNK>", "a", "b")
    np.testing.assert_array_equal(vocabulary.counts, [0, 2, 2, 3, 2])      # 2 sentences; c and d are ⟨UNK⟩
    ids = embeddings.encode(vocabulary, ["a", "c", "zebra", "b"], eos=True)
    np.testing.assert_array_equal(ids, [3, embeddings.UNK_ID, embeddings.UNK_ID, 4, embeddings.EOS_ID])
    assert embeddings.decode(vocabulary, ids) == ["a", "<UNK>", "<UNK>", "b", "<EOS>"]
    # ties break alphabetically; max_size counts the special tokens
    assert embeddings.build_vocabulary([["y", "x"]], max_size=4).words == ("<PAD>", "<EOS>", "<UNK>", "x")
    with pytest.raises(ValueError, match="min_count"):
        embeddings.build_vocabulary(sentences, min_count=0)
    with pytest.raises(ValueError, match="reserved"):
        embeddings.build_vocabulary([["a", "<UNK>"]])
    with pytest.raises(ValueError, match="outside the vocabulary"):
        embeddings.decode(vocabulary, [5])


def test_encoded_sentences_are_padded_and_masked():
    vocabulary = embeddings.build_vocabulary([["a", "b"], ["b"]])
    corpus = embeddings.encode_sentences(vocabulary, [["a", "b"], ["b"]], eos=True)
    np.testing.assert_array_equal(corpus.ids, [[4, 3, 1], [3, 1, 0]])
    np.testing.assert_array_equal(corpus.mask, [[True, True, True], [True, True, False]])
    assert embeddings.decode(vocabulary, corpus.ids[1]) == ["b", "<EOS>"]
    with pytest.raises(ValueError, match="more than length=2"):
        embeddings.encode_sentences(vocabulary, [["a", "b"]], length=2, eos=True)


def test_one_hot_times_embedding_matrix_is_the_lookup():
    embedding_matrix = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    ids = jnp.asarray([[4, 0], [6, 4]])
    product = embeddings.one_hot_words(ids, 7) @ embedding_matrix        # o_jᵀ E
    np.testing.assert_allclose(product, embeddings.embedding_lookup(embedding_matrix, ids), rtol=1e-6)
    np.testing.assert_array_equal(embeddings.embedding_lookup(embedding_matrix, ids)[0, 0], embedding_matrix[4])


@pytest.fixture(scope="module")
def orange_juice():
    tokens = embeddings.tokenize(SENTENCE)
    vocabulary = embeddings.build_vocabulary([tokens])
    corpus = embeddings.encode_sentences(vocabulary, [tokens, tokens[:2]], length=len(tokens) + 2)
    return vocabulary, corpus, tokens.index("juice")


def words(vocabulary, ids, mask):
    return [vocabulary.words[i] for i, keep in zip(np.asarray(ids), np.asarray(mask)) if keep]


def test_the_notes_contexts_of_juice(orange_juice):
    vocabulary, corpus, t = orange_juice
    last_four = last_words_context(corpus.ids, corpus.mask, 4)
    assert words(vocabulary, last_four.context[0, t], last_four.context_mask[0, t]) == ["a", "glass", "of", "orange"]
    around = surrounding_words_context(corpus.ids, corpus.mask, 4)
    assert words(vocabulary, around.context[0, t], around.context_mask[0, t]) == [
        "a", "glass", "of", "orange", "to", "go", "along", "with"]
    last = last_words_context(corpus.ids, corpus.mask, 1)
    assert words(vocabulary, last.context[0, t], last.context_mask[0, t]) == ["orange"]
    assert vocabulary.words[int(last.targets[0, t])] == "juice"
    # contexts stop at the sentence: "want" (second sentence, 2 words) has only "i" on its left, nothing right
    assert words(vocabulary, around.context[1, 1], around.context_mask[1, 1]) == ["i"]
    assert not around.context_mask[1, 2:].any() and not around.target_mask[1, 2:].any()
    assert words(vocabulary, last_four.context[0, 0], last_four.context_mask[0, 0]) == []


def test_nearby_word_is_one_word_of_the_window(orange_juice):
    vocabulary, corpus, t = orange_juice
    copies = 100                                          # the sentence 100 times: 100 independent draws
    ids = np.concatenate([np.repeat(corpus.ids[:1], copies, axis=0), corpus.ids[1:]])
    mask = np.concatenate([np.repeat(corpus.mask[:1], copies, axis=0), corpus.mask[1:]])
    draws = nearby_word_context(jax.random.key(0), ids, mask, 4)
    chosen = {vocabulary.words[int(i)] for i in draws.context[:copies, t, 0]}
    assert chosen == {"a", "glass", "of", "orange", "to", "go", "along", "with"}
    assert draws.context_mask[:copies, t, 0].all()
    # "want" in the two-word sentence has one neighbour, "i"; padding has none
    assert vocabulary.words[int(draws.context[copies, 1, 0])] == "i" and draws.context_mask[copies, 1, 0]
    assert not draws.context_mask[copies, 2:].any()


def test_skipgram_pairs_count_every_neighbour_and_shrunk_windows_are_a_subset(orange_juice):
    _, corpus, _ = orange_juice
    pairs = skipgram_pairs(corpus.ids, corpus.mask, 2)
    lengths = corpus.mask.sum(axis=1)
    expected = sum(min(p, 2) + min(n - 1 - p, 2) for n in lengths for p in range(n))
    assert int(pairs.mask.sum()) == expected
    shrunk = skipgram_pairs(corpus.ids, corpus.mask, 2, key=jax.random.key(0))
    assert not (shrunk.mask & ~pairs.mask).any() and 0 < int(shrunk.mask.sum()) < expected
    np.testing.assert_array_equal(shrunk.targets[shrunk.mask], pairs.targets[shrunk.mask])
