"""dlcourse.decoding.sequence_probability: P(y⟨1⟩, y⟨2⟩, y⟨3⟩) by the chain rule against a bigram model
counted on a tiny corpus (the exact answer worked by hand), masks, and per-sequence perplexity."""
import collections
from fractions import Fraction

import numpy as np
import pytest

from dlcourse import data, decoding, embeddings

CORPUS = ["ab", "abb", "ba", "a", "bab", "bb"]
START, END = "^", "$"


def counted_bigram():
    """``(vocabulary, log_table [|V|, |V|], probability(word) -> Fraction)`` of the add-one bigram model
    of :data:`CORPUS`: ``P(next | prev) = (count(prev next) + 1) / (count(prev ·) + 4)`` over the four
    possible next tokens <EOS>, <UNK>, a, b (never <PAD>); row <PAD> is the start ``^``."""
    vocab = embeddings.build_vocabulary([list(word) for word in CORPUS])
    counts = collections.Counter()
    for word in CORPUS:
        symbols = [START, *word, END]
        counts.update(zip(symbols[:-1], symbols[1:]))
    nexts = [END, "<UNK>", "a", "b"]

    def conditional(prev, nxt):
        return Fraction(counts[prev, nxt] + 1, sum(counts[prev, n] for n in nexts) + len(nexts))

    def probability(word):
        symbols = [START, *word, END]
        result = Fraction(1)
        for prev, nxt in zip(symbols[:-1], symbols[1:]):
            result *= conditional(prev, nxt)
        return result

    ids = dict(zip([START, END, "<UNK>", "a", "b"], embeddings.encode(vocab, ["<PAD>", "<EOS>", "<UNK>", "a", "b"])))
    table = np.full((vocab.size, vocab.size), -60.0)   # P(<PAD>) = e^−60 / Σ: zero in float32 arithmetic
    for prev in (START, "<UNK>", "a", "b", END):
        for nxt in nexts:
            table[ids[prev], ids[nxt]] = np.log(float(conditional(prev, nxt)))
    return vocab, table.astype(np.float32), probability


def table_logits(table, inputs):
    """Per-step logits of the bigram "model": ``z⟨t⟩ = log P(· | x⟨t⟩)``."""
    return table[np.asarray(inputs)]


def test_chain_rule_equals_the_counted_bigram_probability():
    vocab, table, probability = counted_bigram()
    # worked by hand: P(a | ^) = (3+1)/(6+4), P(b | a) = (3+1)/(5+4), P(<EOS> | b) = (4+1)/(8+4)
    assert probability("ab") == Fraction(4, 10) * Fraction(4, 9) * Fraction(5, 12) == Fraction(2, 27)
    words = ["ab", "a", "bba", "abab", "b"]
    inputs, targets, mask = data.next_token_arrays([embeddings.encode(vocab, list(w)) for w in words])
    log_p = np.asarray(decoding.sequence_log_probability(table_logits(table, inputs), targets, mask))
    np.testing.assert_allclose(np.exp(log_p), [float(probability(w)) for w in words], rtol=1e-5)
    np.testing.assert_allclose(np.exp(log_p[0]), 2 / 27, rtol=1e-5)
    per_token = decoding.token_log_probabilities(table_logits(table, inputs), targets)
    np.testing.assert_allclose(np.asarray(per_token)[0, :3], np.log([4 / 10, 4 / 9, 5 / 12]), rtol=1e-5)
    lengths = mask.sum(axis=1)
    np.testing.assert_allclose(decoding.sequence_perplexity(table_logits(table, inputs), targets, mask),
                               np.exp(-log_p / lengths), rtol=1e-5)


def test_masked_steps_add_nothing_whatever_their_logits_and_targets():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 5)).astype(np.float32)
    targets = rng.integers(0, 5, size=(2, 4)).astype(np.int32)
    mask = np.array([[1, 1, 0, 0], [1, 0, 1, 1]], np.float32)
    changed_logits = np.where(mask[..., None] > 0, logits, 1e4).astype(np.float32)
    changed_targets = np.where(mask > 0, targets, 99).astype(np.int32)   # out of range, but masked
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = (np.take_along_axis(log_softmax, targets[..., None], -1)[..., 0] * mask).sum(-1)
    np.testing.assert_allclose(decoding.sequence_log_probability(changed_logits, changed_targets, mask), expected,
                               rtol=1e-5)
    np.testing.assert_allclose(decoding.sequence_log_probability(logits, targets),
                               np.take_along_axis(log_softmax, targets[..., None], -1)[..., 0].sum(-1), rtol=1e-5)
    with pytest.raises(ValueError, match=r"target ids must lie in \[0, 5\)"):
        decoding.token_log_probabilities(logits, changed_targets)
    with pytest.raises(ValueError, match=r"mask must have the targets' shape \(2, 4\)"):
        decoding.sequence_log_probability(logits, targets, mask[:, :3])
