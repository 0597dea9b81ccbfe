"""Tests of dlcourse.strategy.error_analysis."""
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from dlcourse.strategy import error_analysis as ea


def test_table_percentages_overlap_and_ceiling():
    tags = [{"dog", "instagram"}, {"blurry", "instagram"}, {"great cats", "blurry"}, set()]
    rows = ea.error_analysis_table(tags, overall_error=0.10, categories=["dog", "great cats", "blurry", "instagram"])
    by_name = {row.category: row for row in rows}
    assert [row.category for row in rows] == ["dog", "great cats", "blurry", "instagram"]
    assert by_name["blurry"].count == 2
    assert by_name["blurry"].fraction_of_errors == pytest.approx(0.5)
    assert by_name["dog"].fraction_of_errors == pytest.approx(0.25)
    assert sum(row.fraction_of_errors for row in rows) == pytest.approx(1.5)  # past 100%
    assert by_name["blurry"].ceiling == pytest.approx(0.05)
    assert by_name["dog"].ceiling == pytest.approx(0.075)
    assert by_name["dog"].max_improvement == pytest.approx(0.025)


def test_course_dog_row():
    # 100 mislabelled examples, 5 dogs, dev error 10% → fixing dogs leaves 9.5%.
    tags = [{"dog"}] * 5 + [set()] * 95
    (row,) = ea.error_analysis_table(tags, overall_error=0.10)
    assert row.ceiling == pytest.approx(0.095)


def test_default_order_and_no_overall_error():
    rows = ea.error_analysis_table([{"b"}, {"a", "b"}])
    assert [row.category for row in rows] == ["b", "a"]
    assert rows[0].ceiling is None
    text = ea.format_error_analysis(rows)
    assert "100.0%" in text and "error if fixed" not in text


def test_table_errors():
    with pytest.raises(ValueError, match="empty"):
        ea.error_analysis_table([])
    with pytest.raises(ValueError, match="zebra"):
        ea.error_analysis_table([{"zebra"}], categories=["dog"])
    with pytest.raises(ValueError, match="overall_error"):
        ea.error_analysis_table([{"dog"}], overall_error=10.0)


def test_incorrect_labels_course_numbers():
    high = ea.incorrect_labels_reading(0.10, fraction_of_errors=0.06)
    assert high.error_due_to_labels == pytest.approx(0.006)
    assert high.error_due_to_other_causes == pytest.approx(0.094)
    assert not high.worth_fixing
    low = ea.incorrect_labels_reading(0.02, error_due_to_labels=0.006)
    assert low.fraction_of_errors == pytest.approx(0.3)
    assert low.error_due_to_other_causes == pytest.approx(0.014)
    assert low.worth_fixing


def test_incorrect_labels_classifier_gap_rule():
    # 10% dev error, 0.6% label errors; comparing classifiers at 2.1% vs 1.9% error would not,
    # but two classifiers 0.5% apart are within the label noise.
    assert ea.incorrect_labels_reading(0.10, fraction_of_errors=0.06, classifier_gap=0.005).worth_fixing
    assert not ea.incorrect_labels_reading(0.10, fraction_of_errors=0.06, classifier_gap=0.01).worth_fixing


def test_incorrect_labels_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        ea.incorrect_labels_reading(0.1)
    with pytest.raises(ValueError, match="exactly one"):
        ea.incorrect_labels_reading(0.1, fraction_of_errors=0.1, error_due_to_labels=0.01)
    with pytest.raises(ValueError, match="error_due_to_labels"):
        ea.incorrect_labels_reading(0.1, error_due_to_labels=0.2)


def test_per_class_error_table_against_confusion_matrix():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=300)
    predictions = np.where(rng.random(300) < 0.6, labels, rng.integers(0, 4, size=300))
    names = ["zero", "one", "two", "three"]
    rows = ea.per_class_error_table(labels, predictions, names)
    confusion = confusion_matrix(labels, predictions, labels=range(4))
    off_diagonal = confusion - np.diag(np.diag(confusion))
    total = off_diagonal.sum()
    for index, row in enumerate(rows):
        assert row.class_name == names[index]
        assert row.count == confusion[index].sum()
        assert row.errors == off_diagonal[index].sum()
        assert row.error_rate == pytest.approx(off_diagonal[index].sum() / confusion[index].sum())
        assert row.fraction_of_errors == pytest.approx(off_diagonal[index].sum() / total)
        assert row.most_confused_with == names[int(np.argmax(off_diagonal[index]))]
    assert sum(row.fraction_of_errors for row in rows) == pytest.approx(1.0)
    assert "three" in ea.format_per_class_error_table(rows)


def test_per_class_defaults_and_errors():
    rows = ea.per_class_error_table(np.array([0, 1, 1]), np.array([0, 1, 2]))
    assert [row.class_name for row in rows] == ["0", "1", "2"]
    assert rows[2].count == 0 and rows[2].error_rate == 0.0
    assert rows[1].most_confused_with == "2"
    assert rows[0].most_confused_with is None
    with pytest.raises(ValueError, match="class_names"):
        ea.per_class_error_table(np.array([0, 3]), np.array([0, 1]), ["a", "b"])
    with pytest.raises(ValueError, match="integer"):
        ea.per_class_error_table(np.array([0.0, 1.0]), np.array([0, 1]))
