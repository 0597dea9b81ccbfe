"""Cosine similarity, nearest words and analogies on the notes' 4-feature table."""

import jax
import numpy as np
import pytest

from dlcourse import embeddings

WORDS = ("man", "woman", "king", "queen", "apple", "orange")
# The notes' featurized representation: rows Gender, Royal, Age, Food; a column per word.
FEATURES = np.array([
    [-1.00, 1.00, -0.95, 0.97, 0.00, 0.01],
    [0.01, 0.02, 0.93, 0.95, -0.01, 0.00],
    [0.03, 0.02, 0.70, 0.69, 0.03, -0.02],
    [0.09, 0.01, 0.02, 0.01, 0.95, 0.97],
], dtype=np.float32)
TABLE = FEATURES.T                     # E [|V|, n_e]: one row per word
MAN, WOMAN, KING, QUEEN, APPLE, ORANGE = range(6)
analogy = jax.jit(embeddings.analogy, static_argnums=4, static_argnames="normalize")


def test_cosine_similarity_is_the_normalized_dot_product():
    u, v = np.array([3.0, 4.0]), np.array([[4.0, 3.0], [-6.0, -8.0], [0.0, 0.0]])
    np.testing.assert_allclose(embeddings.cosine_similarity(u, v), [24 / 25, -1.0, 0.0], rtol=1e-6)


def test_the_table_answers_man_woman_king_queen():
    answer = analogy(TABLE, MAN, WOMAN, KING)
    assert WORDS[int(answer.ids[0, 0])] == "queen"
    target = TABLE[WOMAN] - TABLE[MAN] + TABLE[KING]
    expected = target @ TABLE[QUEEN] / np.linalg.norm(target) / np.linalg.norm(TABLE[QUEEN])
    np.testing.assert_allclose(answer.similarities[0, 0], expected, rtol=1e-5)


def test_apple_is_nearest_orange():
    neighbours = embeddings.nearest_words(TABLE, TABLE[[APPLE, ORANGE]], 1, exclude=[[APPLE], [ORANGE]])
    assert [WORDS[int(i)] for i in neighbours.ids[:, 0]] == ["orange", "apple"]


@pytest.mark.parametrize("normalize", [False, True])
def test_batched_analogies_equal_a_brute_force_argmax_that_skips_the_query_words(normalize):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(30, 5)).astype(np.float32)
    a, b, c = rng.integers(0, 30, size=(3, 40))
    answer = analogy(table, a, b, c, 3, normalize=normalize)
    vectors = table / np.linalg.norm(table, axis=1, keepdims=True) if normalize else table
    for q in range(40):
        target = vectors[b[q]] - vectors[a[q]] + vectors[c[q]]
        scores = [(-np.inf if w in (a[q], b[q], c[q]) else
                   vectors[w] @ target / np.linalg.norm(vectors[w]) / np.linalg.norm(target)) for w in range(30)]
        np.testing.assert_array_equal(answer.ids[q], np.argsort(scores)[::-1][:3])
    # without the exclusion, the nearest word to e_b − e_a + e_c is often one of the query words
    unexcluded = embeddings.nearest_words(vectors, vectors[b] - vectors[a] + vectors[c], 1)
    assert np.any(np.any(np.asarray(unexcluded.ids[:, :1]) == np.stack([a, b, c], axis=1), axis=1))


def test_padded_exclusions_are_ignored():
    neighbours = embeddings.nearest_words(TABLE, TABLE[[QUEEN]], 2, exclude=[[QUEEN, -1]])
    np.testing.assert_array_equal(neighbours.ids, [[WOMAN, KING]])
