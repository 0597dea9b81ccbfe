"""Analogy accuracy and similarity correlation on a hand-built table, against brute force and scipy."""

import numpy as np
import pytest
import scipy.stats

from dlcourse import data, embeddings

WORDS = ("man", "woman", "king", "queen", "apple", "orange")
# The notes' 4-feature table (Gender, Royal, Age, Food), one row per word.
TABLE = np.array([[-1.00, 0.01, 0.03, 0.09], [1.00, 0.02, 0.02, 0.01], [-0.95, 0.93, 0.70, 0.02],
                  [0.97, 0.95, 0.69, 0.01], [0.00, -0.01, 0.03, 0.95], [0.01, 0.00, -0.02, 0.97]], np.float32)
VOCABULARY = embeddings.Vocabulary(embeddings.SPECIAL_TOKENS + WORDS, np.ones(3 + len(WORDS), np.int64))
# The special tokens' rows point exactly where the analogies aim: they must never be answers.
E = np.concatenate([np.stack([TABLE[1] - TABLE[0] + TABLE[2]] * 3) * 5.0, TABLE])


def brute_force_answer(a, b, c, normalize):
    vectors = E / np.linalg.norm(E, axis=1, keepdims=True) if normalize else E
    index = VOCABULARY.index
    target = vectors[index[b]] - vectors[index[a]] + vectors[index[c]]
    best, answer = -np.inf, None
    for word in WORDS:
        if word in (a, b, c):
            continue
        vector = vectors[index[word]]
        similarity = vector @ target / (np.linalg.norm(vector) * np.linalg.norm(target))
        if similarity > best:
            best, answer = similarity, word
    return answer


QUESTIONS = [("man", "woman", "king", "queen", 0), ("woman", "man", "queen", "king", 0),
             ("king", "queen", "man", "woman", 0), ("man", "king", "woman", "queen", 0),
             ("apple", "orange", "king", "queen", 1), ("man", "woman", "prince", "princess", 1),
             ("Man", "Woman", "apple", "orange", 1), ("man", "woman", "king", "unknown", 2)]


@pytest.mark.parametrize("normalize", [True, False])
def test_analogy_scores_by_section_count_skipped_questions_and_match_brute_force(normalize):
    questions = data.AnalogyQuestions(np.array([q[:4] for q in QUESTIONS]), np.array([q[4] for q in QUESTIONS]),
                                      ("family", "gram-food", "empty"))
    scores = embeddings.evaluate_analogies(E, VOCABULARY, questions, normalize=normalize, batch_size=3)
    known = [all(w.lower() in VOCABULARY.index for w in q[:4]) for q in QUESTIONS]
    right = [ok and brute_force_answer(a.lower(), b.lower(), c.lower(), normalize) == d
             for ok, (a, b, c, d, _) in zip(known, QUESTIONS)]
    assert right[0] and known == [True] * 5 + [False, True, False]
    np.testing.assert_array_equal(scores.total, [4, 3, 1])
    np.testing.assert_array_equal(scores.answered, [4, 2, 0])
    np.testing.assert_array_equal(scores.correct, [sum(right[:4]), right[4] + right[6], 0])
    summary = scores.as_dict()
    assert summary["overall"]["coverage"] == pytest.approx(6 / 8)
    assert summary["overall"]["accuracy"] == pytest.approx(sum(right) / 6)
    assert summary["syntactic"]["total"] == 3 and summary["semantic"]["total"] == 5
    assert np.isnan(summary["sections"]["empty"]["accuracy"])


def test_the_notes_table_answers_queen_only_when_special_tokens_are_excluded():
    questions = data.AnalogyQuestions(np.array([["man", "woman", "king", "queen"]]), np.array([0]), ("family",))
    assert embeddings.evaluate_analogies(E, VOCABULARY, questions).correct[0] == 1
    nearest = embeddings.analogy(E, 3, 4, 5).ids[0, 0]       # the plain analogy is lured by the special rows
    assert int(nearest) < 3


def test_rank_average_and_spearman_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 6, 40), rng.integers(0, 4, 40) + 0.3 * rng.integers(0, 2, 40)
    np.testing.assert_allclose(embeddings.rank_average(x), scipy.stats.rankdata(x))
    assert embeddings.spearman_correlation(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert embeddings.spearman_correlation([1, 2, 3], [30, 20, 10]) == pytest.approx(-1.0)
    assert np.isnan(embeddings.spearman_correlation([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        embeddings.spearman_correlation([1, 2], [1, 2, 3])


def test_similarity_correlation_over_covered_pairs_matches_scipy():
    words = np.array([["man", "woman"], ["king", "queen"], ["apple", "orange"], ["man", "apple"],
                      ["king", "apple"], ["queen", "tiger"], ["<UNK>", "man"]])
    human = np.array([7.0, 8.0, 6.0, 1.0, 0.5, 3.0, 2.0], np.float32)
    scores = embeddings.evaluate_similarity(E, VOCABULARY, data.SimilarityPairs(words, human, "mine"))
    index = VOCABULARY.index
    cosines = [E[index[u]] @ E[index[v]] / np.linalg.norm(E[index[u]]) / np.linalg.norm(E[index[v]])
               for u, v in words[:5]]
    assert (scores.covered, scores.total) == (5, 7) and scores.coverage == pytest.approx(5 / 7)
    assert scores.spearman == pytest.approx(scipy.stats.spearmanr(human[:5], cosines).statistic, abs=1e-6)
    with pytest.raises(ValueError, match="embeddings must be"):
        embeddings.evaluate_similarity(E[:4], VOCABULARY, data.SimilarityPairs(words, human, "mine"))
