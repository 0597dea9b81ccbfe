"""dlcourse.decoding.beam_error_analysis (decoding/beam_errors.py): the notes' cases on hand-set probabilities
(ties are the model's, right outputs are no errors), length normalization changing an attribution, the table,
and, on the hand-made table model where greedy misses the best sequence, greedy's error blamed on the search
and a wrong model's error on the model, with P(y*|x) from teacher forcing equal to the beams' own scores."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import decoding
from tests.decoding.test_beam import B_, EOS, LENGTH, PAD, A, M, greedy_trap_table, search, table_model


def notes_like_analysis():
    # example 0 is the notes' (P(y*|x) = 2e-10 > P(ŷ|x) = 1e-10); 1 a tie; 2 and 4 the model's; 3 right
    log_p_truth = np.log([2e-10, 1e-6, 1e-8, 1e-3, 1e-12])
    log_p_output = np.log([1e-10, 1e-6, 1e-7, 1e-3, 1e-9])
    correct = np.array([False, False, False, True, False])
    return decoding.beam_error_analysis(log_p_truth, log_p_output, correct)


def test_the_notes_cases_and_fractions():
    analysis = notes_like_analysis()
    assert list(analysis.fault) == ["beam", "model", "model", "correct", "model"]
    assert (analysis.errors, analysis.beam_errors, analysis.model_errors) == (4, 1, 3)
    assert analysis.beam_fraction == 0.25 and analysis.model_fraction == 0.75
    none_wrong = decoding.beam_error_analysis([-1.0], [-1.0], [True])
    assert none_wrong.errors == 0 and math.isnan(none_wrong.beam_fraction)


def test_length_normalization_compares_the_beams_objective():
    """log P(y*|x) = −3 over 6 tokens against log P(ŷ|x) = −2 over 2: the model prefers ŷ by log P, but
    the normalized objective prefers y* (−0.5 > −1), so with α = 1 the search is at fault."""
    args = ([-3.0], [-2.0], [False])
    assert decoding.beam_error_analysis(*args).fault[0] == "model"
    normalized = decoding.beam_error_analysis(*args, truth_length=[6], output_length=[2], alpha=1.0)
    assert normalized.fault[0] == "beam"
    np.testing.assert_allclose([normalized.objective_truth[0], normalized.objective_output[0]], [-0.5, -1.0])
    half = decoding.beam_error_analysis(*args, truth_length=[6], output_length=[2], alpha=0.5)
    np.testing.assert_allclose(half.objective_truth, [-3 / math.sqrt(6)])


def test_the_table():
    analysis = notes_like_analysis()
    examples = [("Jane visits Africa in September.", "Jane visited Africa last September.")] + [("a", "b")] * 4
    table = decoding.format_beam_error_analysis(analysis, examples)
    lines = table.splitlines()
    assert lines[0].split() == ["#", "Human", "(y*)", "Algorithm", "(ŷ)", "P(y*|x)", "P(ŷ|x)", "At", "fault?"]
    assert "Jane visits Africa in September." in lines[2] and "2.00e-10" in lines[2] and "1.00e-10" in lines[2]
    assert lines[2].endswith("(B) beam") and lines[3].endswith("(M) model")
    assert len(lines) == 2 + 4 + 1 and not any(line.startswith("3 ") for line in lines)    # the right one: no row
    assert lines[-1] == ("errors: 4 of 5 examples; beam search at fault (case 1): 1 (25.0%); "
                         "model at fault (case 2): 3 (75.0%)")
    short = decoding.format_beam_error_analysis(analysis, max_rows=2).splitlines()
    assert short[0].split()[:2] == ["#", "P(y*|x)"] and short[-2] == "… 2 more errors"
    tiny = decoding.beam_error_analysis([-2000.0], [-2001.0], [False])          # exp(−2000) underflows float64
    decimal_exponent = -2000 / math.log(10)                                     # P = 10^−868.59 = 2.58e-869
    assert f"{10 ** (decimal_exponent + 869):.2f}e-869" in decoding.format_beam_error_analysis(tiny)
    with pytest.raises(ValueError, match="one .human, algorithm. pair per example, 5"):
        decoding.format_beam_error_analysis(analysis, examples[:2])


@jax.jit
def teacher_forced(log_table, tokens, mask):
    step, state = table_model(log_table)
    return decoding.teacher_forced_log_probability(step, state, jnp.zeros(M, jnp.int32), tokens, mask)


def padded(sequences):
    tokens = np.full((len(sequences), LENGTH), PAD)
    for i, sequence in enumerate(sequences):
        tokens[i, :len(sequence)] = sequence
    return tokens, tokens != PAD


def test_on_the_table_model_greedys_error_is_the_searchs_and_a_wrong_models_is_the_models():
    log_table = greedy_trap_table()
    greedy, beams = search(log_table, 0.0, width=1), search(log_table, 0.0)
    # the human outputs: B <EOS> (the model's best), and twice A B <EOS>, which the model rates low
    truth_tokens, truth_mask = padded([(B_, EOS), (A, B_, EOS), (A, B_, EOS)])
    log_p_truth = teacher_forced(log_table, truth_tokens, truth_mask)
    np.testing.assert_allclose(log_p_truth, np.log([0.36, 0.5 * 0.33 * 0.9, 0.5 * 0.33 * 0.9]), rtol=1e-5)
    for beams_, expected in [(greedy, ["beam", "model", "model"]), (beams, ["correct", "model", "model"])]:
        output = np.asarray(beams_.tokens[:, 0])
        correct = np.all(output == truth_tokens, axis=1)
        analysis = decoding.beam_error_analysis(log_p_truth, beams_.log_probability[:, 0], correct)
        assert list(analysis.fault) == expected
    # teacher forcing the beams' own tokens gives back their scores
    for b in range(3):
        np.testing.assert_allclose(teacher_forced(log_table, beams.tokens[:, b], beams.mask[:, b]),
                                   beams.log_probability[:, b], rtol=1e-5)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="log_p_output must be one value per example, shape \\[2\\]"):
        decoding.beam_error_analysis([-1.0, -2.0], [-1.0], [False, False])
    with pytest.raises(ValueError, match="correct must be bool"):
        decoding.beam_error_analysis([-1.0], [-1.0], [0])
    with pytest.raises(ValueError, match="pass truth_length and output_length"):
        decoding.beam_error_analysis([-1.0], [-1.0], [False], alpha=0.7)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        decoding.beam_error_analysis([-1.0], [-1.0], [False], alpha=-1)
    with pytest.raises(ValueError, match="must be >= 1"):
        decoding.beam_error_analysis([-1.0], [-1.0], [False], truth_length=[0], output_length=[1], alpha=1.0)
    with pytest.raises(ValueError, match="tokens \\[m, T\\]"):
        decoding.teacher_forced_log_probability(lambda s, x: (s, x), None, jnp.zeros(2, jnp.int32),
                                                jnp.zeros(2, jnp.int32), jnp.ones(2, bool))
