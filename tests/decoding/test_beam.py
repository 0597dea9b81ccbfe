"""dlcourse.decoding.beam_search (decoding/beam.py) on table models (a step reads its logits from a hand-made or random
table indexed by the example, the position and the two previous tokens, so the state must be tiled and
reordered correctly): on a hand-made table greedy is provably suboptimal and B = 3 finds the best sequence
of an exhaustive enumeration; length normalization changes the winner in a hand-made case; every beam equals
a plain-Python beam search; B = 1 equals greedy decoding exactly; excluded tokens are never chosen; a traced
α compiles once; bad arguments raise ValueError."""
import itertools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import decoding

PAD, EOS, A, B_ = 0, 1, 2, 3                      # vocabulary of the toy models; 0 is also x⟨1⟩
VOCAB = 4
M, LENGTH = 3, 5                                  # every table has the shape [M, LENGTH, |V|, |V|, |V|]


def table_model(log_table):
    """``log_table [m, T, |V|, |V|, |V|]``: ``z⟨t⟩ = log_table[i, t, y⟨t−2⟩, y⟨t−1⟩]`` (``y⟨0⟩ = y⟨−1⟩ = PAD``)."""
    table = jnp.asarray(log_table, jnp.float32)
    m = table.shape[0]

    def step(state, tokens):
        logits = table[state["example"], jnp.minimum(state["t"], table.shape[1] - 1), state["previous"], tokens]
        return {"example": state["example"], "t": state["t"] + 1, "previous": tokens}, logits

    state = {"example": jnp.arange(m), "t": jnp.zeros(m, jnp.int32), "previous": jnp.zeros(m, jnp.int32)}
    return step, state


@partial(jax.jit, static_argnames=("width", "excluded"))
def search(log_table, alpha, *, width=3, excluded=(PAD,)):
    """Beam search over a table (one compilation per width and excluded set, shared by the tests)."""
    step, state = table_model(log_table)
    return decoding.beam_search(step, state, jnp.zeros(M, jnp.int32), LENGTH, EOS, beam_width=width,
                                alpha=alpha, excluded_tokens=excluded, pad_id=PAD)


@jax.jit
def greedy_decode(log_table):
    step, state = table_model(log_table)
    return decoding.greedy_decode(step, state, jnp.zeros(M, jnp.int32), LENGTH, EOS, excluded_tokens=(PAD,))


def sequence_log_probability(log_table, i, sequence):
    """``Σ_t log softmax(z⟨t⟩)_{y⟨t⟩}`` of one token sequence, in float64."""
    total, before, last = 0.0, PAD, PAD
    for t, token in enumerate(sequence):
        z = np.asarray(log_table[i, min(t, log_table.shape[1] - 1), before, last], np.float64)
        total += z[token] - np.log(np.exp(z - z.max()).sum()) - z.max()
        before, last = last, token
    return total


def all_hypotheses(max_length, tokens=(EOS, A, B_)):
    """Every distinct output: cut after the first <EOS>, or max_length tokens without one."""
    seen = set()
    for full in itertools.product(tokens, repeat=max_length):
        cut = full[:full.index(EOS) + 1] if EOS in full else full
        seen.add(cut)
    return sorted(seen)


def exhaustive_best(log_table, i, max_length, alpha):
    scores = {y: sequence_log_probability(log_table, i, y) / len(y) ** alpha for y in all_hypotheses(max_length)}
    best = max(scores, key=scores.get)
    return best, scores[best]


def reference_beam_search(log_table, i, max_length, width, alpha, excluded=(PAD,)):
    """Plain-Python beam search: hypotheses as tuples; a finished one carries over, frozen."""
    beams = [((), 0.0, False)]                                   # (tokens, log P, ended)
    for _ in range(max_length):
        candidates = []
        for tokens, log_p, ended in beams:
            if ended:
                candidates.append((log_p / len(tokens) ** alpha, tokens, log_p, True))
                continue
            for token in range(VOCAB):
                if token in excluded:
                    continue
                y = tokens + (token,)
                lp = sequence_log_probability(log_table, i, y)
                candidates.append((lp / len(y) ** alpha, y, lp, token == EOS))
        candidates.sort(key=lambda c: -c[0])
        beams = [(y, lp, ended) for _, y, lp, ended in candidates[:width]]
    return beams


def unpack(beams, i, b):
    mask = np.asarray(beams.mask[i, b])
    return tuple(int(v) for v in np.asarray(beams.tokens[i, b])[mask])


def greedy_trap_table():
    """Step 1: P(A) = 0.5, P(B) = 0.4, P(<EOS>) = 0.1; after A every token is about equally likely
    (P(<EOS>) = 0.34), after B, P(<EOS>) = 0.9. Greedy takes A then <EOS>: P = 0.17 < P(B <EOS>) = 0.36."""
    p = np.full((M, LENGTH, VOCAB, VOCAB, VOCAB), 1.0 / 3)
    p[..., PAD] = 1e-9
    p[:, 0, PAD, PAD] = [1e-9, 0.1, 0.5, 0.4]
    p[:, 1:, :, A] = [1e-9, 0.34, 0.33, 0.33]
    p[:, 1:, :, B_] = [1e-9, 0.9, 0.05, 0.05]
    return np.log(p)


def test_beam_of_three_finds_the_best_sequence_where_greedy_does_not():
    log_table = greedy_trap_table()
    greedy = greedy_decode(log_table)
    beams = search(log_table, 0.0)
    best, best_log_p = exhaustive_best(log_table, 0, LENGTH, alpha=0.0)
    assert best == (B_, EOS) and np.isclose(best_log_p, np.log(0.36))
    greedy_tokens = tuple(np.asarray(greedy.tokens[0])[np.asarray(greedy.mask[0])])
    assert greedy_tokens == (A, EOS) and np.isclose(greedy.log_probability[0], np.log(0.17), atol=1e-6)
    assert unpack(beams, 0, 0) == best
    np.testing.assert_allclose(beams.log_probability[0, 0], best_log_p, rtol=1e-6)
    np.testing.assert_allclose(beams.score[0, 0], best_log_p, rtol=1e-6)
    assert bool(beams.ended[0, 0])
    # the other beams are the next best outputs, best first, each with its own chain-rule log P
    for b in range(3):
        np.testing.assert_allclose(beams.log_probability[0, b],
                                   sequence_log_probability(log_table, 0, unpack(beams, 0, b)), rtol=1e-5)
    assert len({unpack(beams, 0, b) for b in range(3)}) == 3           # no copies of one hypothesis
    assert np.all(np.diff(np.asarray(beams.score[0])) <= 0)


def test_length_normalization_changes_the_winner():
    """P(<EOS>) = 0.4 at once, or A (0.6), A (0.6), <EOS> (0.9): log P = −0.92 against −1.12, so α = 0 picks
    the one-token output; per token −0.92 against −0.37, so α = 1 picks the three-token one."""
    p = np.full((M, LENGTH, VOCAB, VOCAB, VOCAB), 1e-9)
    p[..., EOS] = 1.0
    p[:, 0, PAD, PAD] = [1e-9, 0.4, 0.6, 1e-9]
    p[:, 1, PAD, A] = [1e-9, 0.4, 0.6, 1e-9]
    p[:, 2, A, A] = [1e-9, 0.9, 0.1, 1e-9]
    log_table = np.log(p / p.sum(-1, keepdims=True))
    for alpha, expected in [(0.0, (EOS,)), (1.0, (A, A, EOS))]:
        beams = search(log_table, alpha)
        assert exhaustive_best(log_table, 0, LENGTH, alpha)[0] == expected
        assert unpack(beams, 0, 0) == expected, alpha
        log_p = sequence_log_probability(log_table, 0, expected)
        np.testing.assert_allclose(beams.score[0, 0], log_p / len(expected) ** alpha, rtol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.7])
def test_every_beam_equals_a_plain_python_beam_search(alpha):
    log_table = 1.5 * np.random.default_rng(7).normal(size=(M, LENGTH, VOCAB, VOCAB, VOCAB))
    beams = search(log_table, alpha)
    assert beams.tokens.shape == (M, 3, LENGTH) and beams.score.shape == (M, 3)
    for i in range(M):
        expected = reference_beam_search(log_table, i, LENGTH, 3, alpha)
        for b, (tokens, log_p, ended) in enumerate(expected):
            assert unpack(beams, i, b) == tokens, (i, b)
            np.testing.assert_allclose(beams.log_probability[i, b], log_p, rtol=1e-5)
            np.testing.assert_allclose(beams.score[i, b], log_p / len(tokens) ** alpha, rtol=1e-5)
            assert bool(beams.ended[i, b]) == ended
            np.testing.assert_array_equal(np.asarray(beams.tokens[i, b])[len(tokens):], PAD)
    assert bool(beams.ended.any()) and not bool(beams.ended.all())    # some finished early, some were cut


def test_beam_width_one_equals_greedy_decoding_exactly():
    for seed in (0, 5):
        log_table = 2.0 * np.random.default_rng(seed).normal(size=(M, LENGTH, VOCAB, VOCAB, VOCAB))
        greedy = greedy_decode(log_table)
        beams = search(log_table, 0.0, width=1)
        np.testing.assert_array_equal(beams.tokens[:, 0], greedy.tokens)
        np.testing.assert_array_equal(beams.mask[:, 0], greedy.mask)
        np.testing.assert_array_equal(beams.log_probability[:, 0], greedy.log_probability)
        np.testing.assert_array_equal(beams.ended[:, 0], greedy.ended)
        assert bool(greedy.ended.any()) and not bool(greedy.ended.all()), seed


def test_excluded_tokens_are_never_chosen_and_missing_hypotheses_are_minus_infinity():
    log_table = np.zeros((M, LENGTH, VOCAB, VOCAB, VOCAB))
    log_table[..., A] = 5.0                                              # A is by far the most likely token
    beams = search(log_table, 0.0, excluded=(PAD, A))
    tokens = np.asarray(beams.tokens)[np.asarray(beams.mask)]
    assert tokens.size and not np.isin(tokens, (PAD, A)).any()
    assert np.isfinite(np.asarray(beams.score)).all()
    # only <EOS> allowed: one hypothesis exists, the other two are −∞ with empty masks
    only_eos = search(log_table, 0.0, excluded=(PAD, A, B_))
    np.testing.assert_array_equal(only_eos.mask[:, 0], [[True] + [False] * (LENGTH - 1)] * M)
    np.testing.assert_array_equal(only_eos.tokens[:, 0, 0], [EOS] * M)
    assert np.isneginf(np.asarray(only_eos.score[:, 1:])).all() and not bool(only_eos.mask[:, 1:].any())
    assert not bool(only_eos.ended[:, 1:].any())


def test_a_traced_alpha_compiles_once():
    log_table = greedy_trap_table()
    search(log_table, 0.0)
    compiled = search._cache_size()
    scores = [float(search(log_table, alpha).score[0, 0]) for alpha in (0.0, 0.5, 1.0)]
    np.testing.assert_allclose(scores, [np.log(0.36) / 2 ** a for a in (0.0, 0.5, 1.0)], rtol=1e-5)
    assert search._cache_size() == compiled


def test_bad_arguments_raise_value_errors():
    step, state = table_model(greedy_trap_table())
    first = jnp.zeros(M, jnp.int32)
    for kwargs, message in [(dict(beam_width=0), "beam_width"), (dict(beam_width=2.0), "beam_width"),
                            (dict(beam_width=2, alpha=-0.5), "alpha"), (dict(beam_width=2, max_length=0), "max_length"),
                            (dict(beam_width=2, excluded_tokens=(9,)), "excluded_tokens")]:
        with pytest.raises(ValueError, match=message):
            decoding.beam_search(step, state, first, kwargs.pop("max_length", 3), EOS, **kwargs)
    with pytest.raises(ValueError, match="first_tokens"):
        decoding.beam_search(step, state, first[:, None], 3, EOS, beam_width=2)
    with pytest.raises(ValueError, match=r"leading axis m = 3.*'t'"):
        decoding.beam_search(step, {**state, "t": jnp.int32(0)}, first, 3, EOS, beam_width=2)
    with pytest.raises(ValueError, match=r"logits of shape \[m·B, \|V\|\] = \[6, \|V\|\]"):
        decoding.beam_search(lambda s, x: (s, jnp.zeros((M, VOCAB))), state, first, 3, EOS, beam_width=2)


def test_through_a_language_model_step():
    """An LSTM language model of two layers (a state of nested pairs), stepped by language_model_step:
    each beam's log P equals the model's own score of that sequence unrolled whole, the beams differ and
    come best first, and none beats the best of all sequences enumerated."""
    from dlcourse import models

    model = models.LanguageModel(vocab_size=5, embedding_size=8, hidden_size=16, num_layers=2)
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 1), jnp.int32))    # no compilation
    rng = np.random.default_rng(0)
    variables = jax.tree_util.tree_map(lambda leaf: jnp.asarray(rng.normal(size=leaf.shape), leaf.dtype), shapes)
    m, width, length, alpha = 2, 3, 4, 0.7
    sequences = np.array(all_hypotheses(length, tokens=(1, 2, 3, 4)), dtype=object)
    every, every_mask = np.zeros((len(sequences), length), np.int32), np.zeros((len(sequences), length), bool)
    for i, sequence in enumerate(sequences):
        every[i, :len(sequence)], every_mask[i, :len(sequence)] = sequence, True

    def unrolled_log_probability(y, mask):
        inputs = jnp.concatenate([jnp.zeros((y.shape[0], 1), jnp.int32), y[:, :-1]], axis=1)
        logits = model.apply(variables, inputs, jnp.concatenate([jnp.ones((y.shape[0], 1), bool), mask[:, :-1]], 1))
        return decoding.sequence_log_probability(logits, y, mask)

    @jax.jit
    def run(first):
        step = models.language_model_step(model, variables)
        beams = decoding.beam_search(step, model.initial_states(m), first, length, EOS, beam_width=width,
                                     alpha=alpha, excluded_tokens=(PAD,))
        rows = beams.tokens.reshape(m * width, length), beams.mask.reshape(m * width, length)
        return beams, unrolled_log_probability(*rows).reshape(m, width), unrolled_log_probability(every, every_mask)

    beams, scored, every_log_p = run(jnp.zeros(m, jnp.int32))
    np.testing.assert_allclose(beams.log_probability, scored, rtol=1e-5, atol=1e-5)
    lengths = np.asarray(beams.mask).sum(-1)
    np.testing.assert_allclose(beams.score, np.asarray(scored) / lengths ** alpha, rtol=1e-5, atol=1e-5)
    assert np.all(np.diff(np.asarray(beams.score), axis=1) <= 0)
    best = np.max(np.asarray(every_log_p) / every_mask.sum(1) ** alpha)
    assert np.all(np.asarray(beams.score) <= best + 1e-5)
    assert len({unpack(beams, 0, b) for b in range(width)}) == width
