"""Tests of dlcourse.strategy.human_level on the course's cases."""
import pytest

from dlcourse.strategy import human_level as hl


def test_bias_case():
    diagnosis = hl.diagnose(human_error=0.01, train_error=0.08, dev_error=0.10)
    assert diagnosis.avoidable_bias == pytest.approx(0.07)
    assert diagnosis.variance == pytest.approx(0.02)
    assert diagnosis.data_mismatch is None and diagnosis.dev_overfitting is None
    assert diagnosis.focus == hl.AVOIDABLE_BIAS
    assert "train a bigger model" in diagnosis.remedies


def test_variance_case():
    diagnosis = hl.diagnose(human_error=0.075, train_error=0.08, dev_error=0.10)
    assert diagnosis.avoidable_bias == pytest.approx(0.005)
    assert diagnosis.variance == pytest.approx(0.02)
    assert diagnosis.focus == hl.VARIANCE
    assert any("regularization" in remedy for remedy in diagnosis.remedies)


def test_surpassing_human_level_is_undetermined():
    diagnosis = hl.diagnose(human_error=0.005, train_error=0.003, dev_error=0.004)
    assert diagnosis.surpassed_human_level
    assert diagnosis.avoidable_bias is None
    assert diagnosis.variance == pytest.approx(0.001)
    assert diagnosis.focus == hl.UNDETERMINED
    text = hl.format_diagnosis(diagnosis)
    assert "cannot be estimated" in text and "undetermined" in text


def test_surpassed_but_gap_larger_than_any_possible_bias():
    # Avoidable bias ≤ train error = 0.3%; variance 5% must dominate it.
    diagnosis = hl.diagnose(human_error=0.005, train_error=0.003, dev_error=0.053)
    assert diagnosis.focus == hl.VARIANCE


def test_course_team_of_humans_case():
    # Team of experts 0.5%, train 0.6%, dev 0.8% → bias 0.1%, variance 0.2%.
    diagnosis = hl.diagnose(0.005, 0.006, 0.008)
    assert diagnosis.avoidable_bias == pytest.approx(0.001)
    assert diagnosis.variance == pytest.approx(0.002)
    assert diagnosis.focus == hl.VARIANCE


def test_train_dev_and_test_gaps():
    diagnosis = hl.diagnose(0.0, 0.01, 0.10, train_dev_error=0.015, test_error=0.12)
    assert diagnosis.variance == pytest.approx(0.005)
    assert diagnosis.data_mismatch == pytest.approx(0.085)
    assert diagnosis.dev_overfitting == pytest.approx(0.02)
    assert diagnosis.focus == hl.DATA_MISMATCH
    assert any("synthesis" in remedy for remedy in diagnosis.remedies)
    overfit = hl.diagnose(0.0, 0.01, 0.02, train_dev_error=0.015, test_error=0.09)
    assert overfit.focus == hl.DEV_OVERFITTING
    assert overfit.remedies == ("get a bigger dev set",)
    gaps = overfit.gaps()
    assert list(gaps) == [hl.AVOIDABLE_BIAS, hl.VARIANCE, hl.DATA_MISMATCH, hl.DEV_OVERFITTING]


def test_no_positive_gap_is_undetermined():
    assert hl.diagnose(0.02, 0.02, 0.02).focus == hl.UNDETERMINED


def test_format_lists_gaps_and_remedies():
    text = hl.format_diagnosis(hl.diagnose(0.01, 0.08, 0.10, train_dev_error=0.09))
    assert "avoidable bias: 7.00%" in text
    assert "variance: 1.00%" in text
    assert "data mismatch: 1.00%" in text
    assert "focus: avoidable bias" in text
    assert "overfitting" not in text


@pytest.mark.parametrize("bad", [8.0, -0.1, float("nan")])
def test_errors_must_be_fractions(bad):
    with pytest.raises(ValueError, match="train_error"):
        hl.diagnose(0.01, bad, 0.1)
