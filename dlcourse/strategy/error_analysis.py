"""Error analysis: count what the misclassified dev examples have in common, and what fixing it buys.

All errors are fractions in [0, 1]. Host-side (NumPy / plain Python): these tables are built from a
hundred or so hand-tagged examples, or from one evaluated model's predictions.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "CategoryRow",
    "error_analysis_table",
    "format_error_analysis",
    "LabelErrorReading",
    "incorrect_labels_reading",
    "ClassRow",
    "per_class_error_table",
    "format_per_class_error_table",
]


class CategoryRow(NamedTuple):
    """One category of the error-analysis spreadsheet.

    ``fraction_of_errors``: share of the misclassified examples carrying the tag ("% of total").
    ``ceiling``: the error left if this category were fixed completely,
    overall error × (1 − fraction_of_errors); ``max_improvement`` = overall error − ceiling.
    Both are None when no overall error is given.
    """

    category: str
    count: int
    fraction_of_errors: float
    ceiling: float | None
    max_improvement: float | None


def error_analysis_table(
    tags: Sequence[Iterable[str]],
    overall_error: float | None = None,
    categories: Sequence[str] | None = None,
) -> list[CategoryRow]:
    """The table of percentages per category from tagged misclassified examples.

    ``tags[i]`` is the set of categories of the i-th misclassified example (possibly empty; an
    example may carry several, so fractions can sum past 100%). ``categories`` fixes the row
    order and may list categories no example carries; by default, categories in order of first
    appearance. ``overall_error`` (e.g. dev error 0.10) adds each category's ceiling.
    """
    if overall_error is not None and not 0.0 <= overall_error <= 1.0:
        raise ValueError(f"overall_error must be a fraction in [0, 1], got {overall_error}")
    tag_sets = [frozenset(example_tags) for example_tags in tags]
    if not tag_sets:
        raise ValueError("tags is empty: give the tags of at least one misclassified example")
    if categories is None:
        categories = list(dict.fromkeys(tag for tag_set in tag_sets for tag in sorted(tag_set)))
    else:
        unknown = sorted(set().union(*tag_sets) - set(categories))
        if unknown:
            raise ValueError(f"tags {unknown} are not among categories {list(categories)}")
    rows = []
    for category in categories:
        count = sum(category in tag_set for tag_set in tag_sets)
        fraction = count / len(tag_sets)
        ceiling = None if overall_error is None else overall_error * (1.0 - fraction)
        improvement = None if overall_error is None else overall_error * fraction
        rows.append(CategoryRow(category, count, fraction, ceiling, improvement))
    return rows


def format_error_analysis(rows: Sequence[CategoryRow]) -> str:
    """The table as aligned text: category, count, % of errors and, when known, the ceiling."""
    with_ceiling = all(row.ceiling is not None for row in rows)
    width = max([len("category")] + [len(row.category) for row in rows])
    header = f"{'category':<{width}}  {'count':>5}  {'% of errors':>11}"
    if with_ceiling:
        header += f"  {'error if fixed':>14}"
    lines = [header, "-" * len(header)]
    for row in rows:
        line = f"{row.category:<{width}}  {row.count:>5}  {100 * row.fraction_of_errors:>10.1f}%"
        if with_ceiling:
            line += f"  {100 * row.ceiling:>13.2f}%"
        lines.append(line)
    return "\n".join(lines)


class LabelErrorReading(NamedTuple):
    """How much of the dev error incorrect labels explain, and whether fixing them is worth it."""

    dev_error: float
    error_due_to_labels: float
    error_due_to_other_causes: float
    fraction_of_errors: float
    worth_fixing: bool


def incorrect_labels_reading(
    dev_error: float,
    *,
    fraction_of_errors: float | None = None,
    error_due_to_labels: float | None = None,
    worth_fixing_fraction: float = 0.2,
    classifier_gap: float | None = None,
) -> LabelErrorReading:
    """Split the dev error into errors due to incorrect labels and errors due to other causes.

    Give exactly one of ``fraction_of_errors`` (share of the misclassified examples whose label
    is wrong, e.g. 0.06) or ``error_due_to_labels`` (absolute, e.g. 0.006):
    error due to labels = dev error × fraction; other causes = dev error − error due to labels.

    Rule of thumb for ``worth_fixing``: fix the labels when they account for at least
    ``worth_fixing_fraction`` (default 20%) of the errors, or, when ``classifier_gap`` (the dev
    error difference between two classifiers being compared, e.g. 2.1% vs 1.9% → 0.002) is given,
    when the label errors are at least that gap, since the dev set can then no longer tell the
    classifiers apart. The course: 10% dev error, 6% of errors → 0.6% vs 9.4%, not worth it;
    2% dev error, 0.6% due to labels → 30% of errors, worth fixing.
    """
    if not 0.0 < dev_error <= 1.0:
        raise ValueError(f"dev_error must be a fraction in (0, 1], got {dev_error}")
    if (fraction_of_errors is None) == (error_due_to_labels is None):
        raise ValueError(
            "give exactly one of fraction_of_errors and error_due_to_labels, got "
            f"fraction_of_errors={fraction_of_errors}, error_due_to_labels={error_due_to_labels}"
        )
    if fraction_of_errors is not None:
        if not 0.0 <= fraction_of_errors <= 1.0:
            raise ValueError(f"fraction_of_errors must be in [0, 1], got {fraction_of_errors}")
        error_due_to_labels = dev_error * fraction_of_errors
    else:
        if not 0.0 <= error_due_to_labels <= dev_error:
            raise ValueError(
                f"error_due_to_labels must be in [0, dev_error={dev_error}], got {error_due_to_labels}"
            )
        fraction_of_errors = error_due_to_labels / dev_error
    if not 0.0 <= worth_fixing_fraction <= 1.0:
        raise ValueError(f"worth_fixing_fraction must be in [0, 1], got {worth_fixing_fraction}")
    worth_fixing = fraction_of_errors >= worth_fixing_fraction
    if classifier_gap is not None:
        if classifier_gap < 0:
            raise ValueError(f"classifier_gap must be >= 0, got {classifier_gap}")
        worth_fixing = worth_fixing or error_due_to_labels >= classifier_gap
    return LabelErrorReading(
        dev_error=dev_error,
        error_due_to_labels=error_due_to_labels,
        error_due_to_other_causes=dev_error - error_due_to_labels,
        fraction_of_errors=fraction_of_errors,
        worth_fixing=bool(worth_fixing),
    )


class ClassRow(NamedTuple):
    """Errors on the examples of one true class.

    ``error_rate``: mistakes / examples of the class; ``fraction_of_errors``: the class's share
    of all mistakes; ``most_confused_with``: the most frequent wrong prediction (None if none).
    """

    class_name: str
    count: int
    errors: int
    error_rate: float
    fraction_of_errors: float
    most_confused_with: str | None


def per_class_error_table(labels, predictions, class_names: Sequence[str] | None = None) -> list[ClassRow]:
    """Per-class error table of a trained model: where do its mistakes fall?

    ``labels`` and ``predictions`` are integer class indices of shape (m,). Classes are
    0 … C−1 with C = len(class_names), or max(labels, predictions) + 1 by default (names "0",
    "1", …). Rows follow class order; classes with no example have error_rate 0.
    """
    labels = np.asarray(labels)
    predictions = np.asarray(predictions)
    if labels.ndim != 1 or labels.shape != predictions.shape:
        raise ValueError(
            f"labels and predictions must be 1-D of the same shape, got {labels.shape} "
            f"and {predictions.shape}"
        )
    if labels.size == 0:
        raise ValueError("labels is empty")
    if not (np.issubdtype(labels.dtype, np.integer) and np.issubdtype(predictions.dtype, np.integer)):
        raise ValueError(
            f"labels and predictions must be integer class indices, got {labels.dtype} "
            f"and {predictions.dtype}"
        )
    largest = int(max(labels.max(), predictions.max()))
    if min(labels.min(), predictions.min()) < 0:
        raise ValueError("class indices must be >= 0")
    if class_names is None:
        class_names = [str(index) for index in range(largest + 1)]
    elif largest >= len(class_names):
        raise ValueError(f"class index {largest} has no name among {len(class_names)} class_names")
    num_classes = len(class_names)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    total_errors = int(confusion.sum() - np.trace(confusion))
    rows = []
    for index, name in enumerate(class_names):
        count = int(confusion[index].sum())
        wrong = confusion[index].copy()
        wrong[index] = 0
        errors = int(wrong.sum())
        rows.append(
            ClassRow(
                class_name=name,
                count=count,
                errors=errors,
                error_rate=errors / count if count else 0.0,
                fraction_of_errors=errors / total_errors if total_errors else 0.0,
                most_confused_with=class_names[int(np.argmax(wrong))] if errors else None,
            )
        )
    return rows


def format_per_class_error_table(rows: Sequence[ClassRow]) -> str:
    """The per-class table as aligned text."""
    width = max([len("class")] + [len(row.class_name) for row in rows])
    header = f"{'class':<{width}}  {'count':>6}  {'errors':>6}  {'error':>7}  {'% of errors':>11}  confused with"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row.class_name:<{width}}  {row.count:>6}  {row.errors:>6}  "
            f"{100 * row.error_rate:>6.1f}%  {100 * row.fraction_of_errors:>10.1f}%  "
            f"{row.most_confused_with or '-'}"
        )
    return "\n".join(lines)
