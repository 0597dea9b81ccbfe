"""dlcourse.decoding.bleu (decoding/bleu_score.py): hand-computed precisions, clipping, brevity penalty and
corpus sums from Papineni et al.'s examples, the closest-reference convention, zero precisions with and
without smoothing, and sacrebleu as an oracle on random corpora with several references."""
import math

import numpy as np
import pytest
import sacrebleu

from dlcourse import decoding

REFERENCES = ["the cat is on the mat".split(), "there is a cat on the mat".split()]


def test_clipped_unigram_precision_of_the_papers_example():
    score = decoding.sentence_bleu("the the the the the the the".split(), REFERENCES, max_n=1)
    assert score.matches == (2,) and score.totals == (7,)      # "the" at most twice in one reference
    assert score.candidate_length == 7 and score.reference_length == 7 and score.brevity_penalty == 1.0
    assert math.isclose(score.score, 2 / 7)


def test_unigram_and_bigram_precisions_by_hand():
    """the cat the cat on the mat: unigrams the 3 → 2, cat 2 → 1, on, the mat: p_1 = 5/7; bigrams
    'the cat' 2 → 1, 'cat the' 0, 'cat on', 'on the', 'the mat' 1 each: p_2 = 4/6."""
    score = decoding.sentence_bleu("the cat the cat on the mat".split(), REFERENCES, max_n=2)
    assert score.matches == (5, 4) and score.totals == (7, 6)
    assert math.isclose(score.score, math.sqrt(5 / 7 * 4 / 6))
    weighted = decoding.sentence_bleu("the cat the cat on the mat".split(), REFERENCES, max_n=2, weights=(0.25, 0.75))
    assert math.isclose(weighted.score, (5 / 7) ** 0.25 * (4 / 6) ** 0.75)


def test_brevity_penalty_uses_the_closest_reference_and_the_shorter_on_a_tie():
    short = decoding.sentence_bleu("the cat".split(), REFERENCES, max_n=2)
    assert short.precisions == (1.0, 1.0) and short.reference_length == 6
    assert math.isclose(short.score, math.exp(1 - 6 / 2))
    # length 5 lies between references of 4 and 6 tokens: r = 4, so c > r and no penalty
    tie = decoding.sentence_bleu("a b c d e".split(), ["a b c d".split(), "a b c d e f".split()], max_n=1)
    assert tie.reference_length == 4 and tie.brevity_penalty == 1.0 and tie.score == 1.0
    longer = decoding.sentence_bleu("a b c".split(), ["a b c d".split(), "a b".split()], max_n=1)
    assert longer.reference_length == 2 and longer.score == 1.0


def test_corpus_bleu_sums_counts_over_the_corpus():
    candidates = ["the cat".split(), "a dog sat on a mat".split()]
    references = [["the cat sat".split()], ["a dog sat on the mat".split()]]
    score = decoding.bleu(candidates, references, max_n=2)
    # unigrams 2/2 and 5/6 (the second "a" is clipped), bigrams 1/1 and 3/5: p_1 = 7/8, p_2 = 4/6
    assert score.matches == (7, 4) and score.totals == (8, 6)
    assert score.candidate_length == 8 and score.reference_length == 9
    assert math.isclose(score.score, math.exp(1 - 9 / 8) * math.sqrt(7 / 8 * 4 / 6))
    mean_of_sentences = np.mean([decoding.sentence_bleu(c, r, max_n=2).score for c, r in zip(candidates, references)])
    assert not math.isclose(score.score, mean_of_sentences)


def test_a_zero_precision_gives_zero_unless_smoothed():
    candidate, refs = "the cat sat on it".split(), ["the dog sat on the mat".split()]
    plain = decoding.sentence_bleu(candidate, refs)              # bigrams 'sat on' only; no 3- or 4-gram
    assert plain.matches == (3, 1, 0, 0) and plain.totals == (5, 4, 3, 2) and plain.score == 0.0
    exp = decoding.sentence_bleu(candidate, refs, smoothing="exp")
    np.testing.assert_allclose(exp.precisions, [3 / 5, 1 / 4, 1 / (2 * 3), 1 / (4 * 2)])
    add_one = decoding.sentence_bleu(candidate, refs, smoothing="add-one")
    np.testing.assert_allclose(add_one.precisions, [3 / 5, 2 / 5, 1 / 4, 1 / 3])
    bp = math.exp(1 - 6 / 5)
    assert math.isclose(exp.score, bp * (3 / 5 * 1 / 4 * 1 / 6 * 1 / 8) ** 0.25)
    assert math.isclose(add_one.score, bp * (3 / 5 * 2 / 5 * 1 / 4 * 1 / 3) ** 0.25)
    assert decoding.sentence_bleu("x y".split(), refs, smoothing="exp").score == 0.0      # nothing matches
    assert decoding.sentence_bleu([], refs).score == 0.0


def random_corpus(rng, size, references, vocabulary=6):
    words = [f"w{i}" for i in range(vocabulary)]

    def sentence():
        return list(rng.choice(words, size=rng.integers(1, 12)))

    return [sentence() for _ in range(size)], [[sentence() for _ in range(references)] for _ in range(size)]


@pytest.mark.parametrize("smoothing, sacrebleu_method", [(None, "none"), ("exp", "exp"), ("add-one", "add-k")])
def test_equals_sacrebleu_on_random_corpora(smoothing, sacrebleu_method):
    rng = np.random.default_rng(0)
    for size, references in [(1, 1), (3, 2), (20, 3), (40, 1)]:
        candidates, refs = random_corpus(rng, size, references)
        ours = decoding.bleu(candidates, refs, smoothing=smoothing)
        oracle = sacrebleu.corpus_bleu([" ".join(c) for c in candidates],
                                       [[" ".join(r[k]) for r in refs] for k in range(references)],
                                       smooth_method=sacrebleu_method, smooth_value=1 if smoothing else None,
                                       tokenize="none", force=True)
        assert math.isclose(100 * ours.score, oracle.score, rel_tol=1e-9, abs_tol=1e-9), (size, references)
        added = [0, 1, 1, 1] if smoothing == "add-one" else [0] * 4          # sacrebleu reports smoothed counts
        assert list(np.add(ours.matches, added)) == list(oracle.counts)
        assert list(np.add(ours.totals, added)) == list(oracle.totals)
        assert (ours.candidate_length, ours.reference_length) == (oracle.sys_len, oracle.ref_len)
        assert math.isclose(ours.brevity_penalty, oracle.bp)
        if ours.score > 0:
            np.testing.assert_allclose(100 * np.array(ours.precisions), oracle.precisions, rtol=1e-9)
    assert ours.score > 0


def test_bad_arguments_raise_value_errors():
    for kwargs, message in [(dict(max_n=0), "max_n"), (dict(weights=(0.5, 0.5)), "weights"),
                            (dict(weights=(0.5, 0.5, 0.5, 0.5)), "weights"), (dict(smoothing="floor"), "smoothing")]:
        with pytest.raises(ValueError, match=message):
            decoding.sentence_bleu(["a"], [["a"]], **kwargs)
    with pytest.raises(ValueError, match="not a string"):
        decoding.sentence_bleu("the cat", ["the cat".split()])
    with pytest.raises(ValueError, match="one list of references per candidate"):
        decoding.bleu([["a"], ["b"]], [[["a"]]])
    with pytest.raises(ValueError, match="one or more reference"):
        decoding.bleu([["a"]], [[]])
    with pytest.raises(ValueError, match="at least one candidate"):
        decoding.bleu([], [])
