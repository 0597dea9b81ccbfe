"""dlcourse.decoding.sampling on table models (z⟨t⟩ = a row of a fixed table picked by x⟨t⟩): frequencies at
τ = 1 match the counted bigram model, τ → 0 and τ = 0 equal greedy decoding, top-k and excluded tokens
are never outside their sets, <EOS> ends and masks, the same key gives the same draws, and a traced τ
compiles once."""
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from dlcourse import decoding
from tests.decoding.test_sequence_probability import counted_bigram

EOS = 1


def table_step(table):
    table = jnp.asarray(table)
    return lambda state, tokens: (state, table[tokens])


def transitions(samples, first=0):
    """``counts[prev, next]`` of the real tokens drawn (``prev`` of the first is ``first``)."""
    tokens, mask = np.asarray(samples.tokens), np.asarray(samples.mask)
    previous = np.concatenate([np.full((tokens.shape[0], 1), first), tokens[:, :-1]], axis=1)
    size = int(max(tokens.max(), previous.max())) + 1
    counts = np.zeros((size, size))
    np.add.at(counts, (previous[mask], tokens[mask]), 1)
    return counts


def chi_square(counts, probabilities):
    """Pearson's statistic over the rows with draws, and its degrees of freedom."""
    statistic, dof = 0.0, 0
    for row, p in zip(counts, probabilities):
        n, support = row.sum(), p > 1e-12
        if n:
            expected = n * p[support] / p[support].sum()
            statistic += (((row[support] - expected) ** 2) / expected).sum()
            dof += support.sum() - 1
            assert row[~support].sum() == 0
    return statistic, dof


@pytest.fixture(scope="module")
def bigram_samples():
    vocab, table, _ = counted_bigram()
    sample = jax.jit(partial(decoding.sample_sequences, table_step(table), None), static_argnums=(2, 3))
    return table, sample(jnp.zeros(4000, jnp.int32), jax.random.key(0), 4, EOS)


def test_frequencies_at_temperature_one_match_the_model(bigram_samples):
    table, samples = bigram_samples
    probabilities = np.exp(table[:, :np.asarray(samples.tokens).max() + 1].astype(np.float64))
    statistic, dof = chi_square(transitions(samples)[:, :probabilities.shape[1]], probabilities)
    assert dof >= 9 and statistic < stats.chi2.ppf(0.9999, dof), (statistic, dof)
    # the log-probability of each draw is its chain-rule sum along the table
    tokens, mask = np.asarray(samples.tokens), np.asarray(samples.mask)
    previous = np.concatenate([np.zeros((len(tokens), 1), int), tokens[:, :-1]], axis=1)
    np.testing.assert_allclose(samples.log_probability, (table[previous, tokens] * mask).sum(1), rtol=1e-5)


def test_eos_ends_and_masks(bigram_samples):
    _, samples = bigram_samples
    tokens, mask, ended = map(np.asarray, (samples.tokens, samples.mask, samples.ended))
    for row, row_mask, row_ended in zip(tokens, mask, ended):
        eos = np.flatnonzero(row == EOS)
        length = eos[0] + 1 if len(eos) else len(row)
        assert row_ended == bool(len(eos))
        np.testing.assert_array_equal(row_mask, np.arange(len(row)) < length)
        np.testing.assert_array_equal(row[length:], 0)
    assert ended.mean() > 0.5 and not ended.all()           # most names end within 4 tokens, some are cut


def test_greedy_decoding_ends_at_eos_or_the_maximum_length():
    table = np.full((5, 5), -3.0, np.float32)
    table[0, 3] = table[3, 4] = table[4, EOS] = 0.0           # greedy path from the start: 3, 4, <EOS>
    greedy = decoding.greedy_decode(table_step(table), None, jnp.zeros(2, jnp.int32), 5, EOS)
    np.testing.assert_array_equal(greedy.tokens, [[3, 4, 1, 0, 0]] * 2)
    np.testing.assert_array_equal(greedy.mask, [[1, 1, 1, 0, 0]] * 2)
    np.testing.assert_allclose(greedy.log_probability, 3 * np.log(1 / (1 + 4 * np.exp(-3.0))) * np.ones(2), rtol=1e-5)
    cut = decoding.greedy_decode(table_step(table), None, jnp.zeros(1, jnp.int32), 2, EOS)
    np.testing.assert_array_equal(cut.tokens, [[3, 4]])
    assert not cut.ended[0]
    table[0, 4] = -1.0                                         # second best from the start
    excluded = decoding.greedy_decode(table_step(table), None, jnp.zeros(1, jnp.int32), 3, EOS, excluded_tokens=(3,))
    np.testing.assert_array_equal(excluded.tokens, [[4, 1, 0]])


def test_low_and_zero_temperature_equal_greedy_and_a_traced_temperature_compiles_once():
    rng = np.random.default_rng(1)     # rows: a permutation of 0, 0.4, …, 2 (a margin of 0.4 / τ between ranks)
    table = np.stack([rng.permutation(np.linspace(0.0, 2.0, 6)) for _ in range(6)]).astype(np.float32)
    traces = []

    def step(state, tokens):
        traces.append(1)
        return state, jnp.asarray(table)[tokens]

    @jax.jit
    def sample(key, temperature):
        return decoding.sample_sequences(step, None, jnp.arange(6, dtype=jnp.int32), key, 5, EOS,
                                         temperature=temperature)

    greedy = decoding.greedy_decode(table_step(table), None, jnp.arange(6, dtype=jnp.int32), 5, EOS)
    for temperature in (0.0, 1e-3):
        cold = sample(jax.random.key(3), jnp.float32(temperature))
        np.testing.assert_array_equal(cold.tokens, greedy.tokens)
        np.testing.assert_allclose(cold.log_probability, greedy.log_probability, rtol=1e-6)
    assert len(traces) == 1
    hot = sample(jax.random.key(3), jnp.float32(1.0))
    assert not np.array_equal(hot.tokens, greedy.tokens)
    np.testing.assert_array_equal(sample(jax.random.key(3), jnp.float32(1.0)).tokens, hot.tokens)   # keyed
    assert not np.array_equal(sample(jax.random.key(4), jnp.float32(1.0)).tokens, hot.tokens)
    with pytest.raises(ValueError, match="temperature must be >= 0; got -1"):
        decoding.choose_tokens(jax.random.key(0), table, -1.0)


def test_top_k_and_excluded_tokens_are_never_left_and_top_k_renormalizes():
    rng = np.random.default_rng(2)
    table = rng.normal(size=(6, 6)).astype(np.float32)
    table[:, EOS] -= 2.0                                       # longer sequences, more transitions
    step = table_step(table)
    samples = jax.jit(lambda key: decoding.sample_sequences(step, None, jnp.zeros(3000, jnp.int32), key, 6, EOS,
                                                            top_k=2, excluded_tokens=(0,)))(jax.random.key(5))
    allowed = np.argsort(np.where(np.arange(6) == 0, -np.inf, table), axis=1)[:, -2:]
    counts = transitions(samples)
    for prev in range(6):
        assert set(np.flatnonzero(counts[prev])) <= set(allowed[prev]), prev
    top_k_probabilities = np.zeros((6, 6))
    for prev in range(6):
        p = np.exp(table[prev, allowed[prev]].astype(np.float64))
        top_k_probabilities[prev, allowed[prev]] = p / p.sum()
    statistic, dof = chi_square(counts, top_k_probabilities)
    assert dof >= 3 and statistic < stats.chi2.ppf(0.9999, dof), (statistic, dof)
    with pytest.raises(ValueError, match="top_k must be a positive int or None; got 0"):
        decoding.sample_sequences(step, None, jnp.zeros(2, jnp.int32), jax.random.key(0), 3, EOS, top_k=0)
    with pytest.raises(ValueError, match=r"excluded_tokens must be ids in \[0, 6\); got \[7\]"):
        decoding.choose_tokens(jax.random.key(0), table, excluded_tokens=(7,))
