"""Tests of dlcourse.strategy.metric_choice against scikit-learn and hand-worked course numbers."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn import metrics as sk_metrics

from dlcourse.strategy import metric_choice as metrics

COURSE_ACCURACY = [0.90, 0.92, 0.95]
COURSE_TIME_MS = [80.0, 95.0, 1500.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_precision_recall_f1_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=200)
    predictions = np.where(rng.random(200) < 0.7, labels, 1 - labels)
    np.testing.assert_allclose(
        metrics.precision(labels, predictions), sk_metrics.precision_score(labels, predictions), rtol=1e-6
    )
    np.testing.assert_allclose(
        metrics.recall(labels, predictions), sk_metrics.recall_score(labels, predictions), rtol=1e-6
    )
    np.testing.assert_allclose(
        metrics.f1_score(labels, predictions), sk_metrics.f1_score(labels, predictions), rtol=1e-6
    )


def test_f1_is_harmonic_mean_of_precision_and_recall():
    labels = np.array([1] * 100 + [0] * 100)
    predictions = np.array([1] * 90 + [0] * 10 + [1] * 10 + [0] * 90)  # P = 0.9, R = 0.9
    p = metrics.precision(labels, predictions)
    r = metrics.recall(labels, predictions)
    np.testing.assert_allclose(metrics.f1_score(labels, predictions), 2 * p * r / (p + r), rtol=1e-6)
    # A case where P != R: 40 TP, 10 FP, 60 FN → P 0.8, R 0.4, F1 = 2·0.32/1.2
    predictions = np.array([1] * 40 + [0] * 60 + [1] * 10 + [0] * 90)
    np.testing.assert_allclose(metrics.precision(labels, predictions), 0.8, rtol=1e-6)
    np.testing.assert_allclose(metrics.recall(labels, predictions), 0.4, rtol=1e-6)
    np.testing.assert_allclose(metrics.f1_score(labels, predictions), 0.64 / 1.2, rtol=1e-6)


def test_no_predicted_positive_gives_zero_not_nan():
    labels = jnp.array([1, 0, 1])
    predictions = jnp.zeros(3, jnp.int32)
    assert float(metrics.precision(labels, predictions)) == 0.0
    assert float(metrics.f1_score(labels, predictions)) == 0.0


def test_metrics_are_jittable():
    labels = jnp.array([1, 0, 1, 1])
    predictions = jnp.array([1, 1, 0, 1])
    np.testing.assert_allclose(jax.jit(metrics.f1_score)(labels, predictions), 2 * 2 / (3 + 3), rtol=1e-6)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="same shape"):
        metrics.precision(np.zeros(3), np.zeros(4))


def test_single_number_metric_averages_regions():
    # Course: errors per region (US, China, India, Other) for two classifiers.
    errors = np.array([[0.03, 0.07, 0.05, 0.09], [0.05, 0.06, 0.05, 0.10]])
    np.testing.assert_allclose(metrics.single_number_metric(errors), errors.mean(axis=1), rtol=1e-6)
    weights = np.array([4.0, 3.0, 2.0, 1.0])
    np.testing.assert_allclose(
        metrics.single_number_metric(errors, weights), errors @ weights / weights.sum(), rtol=1e-6
    )
    with pytest.raises(ValueError, match="weights"):
        metrics.single_number_metric(errors, np.ones(3))


def test_course_table_selects_b():
    selection = metrics.select_optimizing_satisficing(
        COURSE_ACCURACY, [metrics.Satisficing("running time (ms)", COURSE_TIME_MS, 100.0)]
    )
    assert selection.index == 1
    np.testing.assert_array_equal(selection.feasible, [True, True, False])
    # Without the constraint, the most accurate (C) wins.
    assert metrics.select_optimizing_satisficing(COURSE_ACCURACY).index == 2


def test_selection_minimize_at_least_and_infeasible():
    error = [0.05, 0.02, 0.03]
    recall_values = [0.9, 0.5, 0.8]
    chosen = metrics.select_optimizing_satisficing(
        error, [metrics.Satisficing("recall", recall_values, 0.7, at_least=True)], maximize=False
    )
    assert chosen.index == 2
    none = metrics.select_optimizing_satisficing(
        COURSE_ACCURACY, [metrics.Satisficing("running time (ms)", COURSE_TIME_MS, 10.0)]
    )
    assert none.index is None and not none.feasible.any()
    with pytest.raises(ValueError, match="running time"):
        metrics.select_optimizing_satisficing(COURSE_ACCURACY, [metrics.Satisficing("running time", [1.0], 2.0)])


def test_combined_cost_units_change_the_winner():
    fraction_seconds = metrics.combined_cost(np.array(COURSE_ACCURACY), np.array(COURSE_TIME_MS) / 1000)
    np.testing.assert_allclose(fraction_seconds, [0.90 - 0.04, 0.92 - 0.0475, 0.95 - 0.75], rtol=1e-6)
    assert int(np.argmax(fraction_seconds)) == 1
    percent_ms = metrics.combined_cost(100 * np.array(COURSE_ACCURACY), np.array(COURSE_TIME_MS))
    np.testing.assert_allclose(percent_ms, [50.0, 44.5, -655.0], rtol=1e-6)
    assert int(np.argmax(percent_ms)) == 0


def test_weighted_error_counts_heavy_mistakes_more():
    labels = np.array([0, 0, 1, 1, 0])
    predictions = np.array([1, 0, 1, 0, 0])
    weights = np.array([10.0, 1.0, 1.0, 1.0, 10.0])
    # Mistakes at 0 (w 10) and 3 (w 1): (10 + 1) / 23.
    np.testing.assert_allclose(metrics.weighted_error(labels, predictions, weights), 11 / 23, rtol=1e-6)
    # Unit weights give the plain error.
    np.testing.assert_allclose(metrics.weighted_error(labels, predictions, np.ones(5)), 2 / 5, rtol=1e-6)
    with pytest.raises(ValueError, match="weights"):
        metrics.weighted_error(labels, predictions, np.ones(4))
