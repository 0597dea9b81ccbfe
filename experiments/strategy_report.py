"""The course's ML-strategy worked examples, computed by dlcourse.strategy.

Prints the metric-selection table, the bias/variance cases against human level, the
error-analysis spreadsheet and the incorrect-labels arithmetic, then one JSON line of the key
figures; with --workdir also writes <workdir>/metrics.json.

    python experiments/strategy_report.py [--workdir=/tmp/strategy]
"""
from __future__ import annotations

import ml_collections

from dlcourse import cli, strategy

# The course's cat classifiers: name, accuracy (fraction), running time (ms).
CLASSIFIERS = (("A", 0.90, 80.0), ("B", 0.92, 95.0), ("C", 0.95, 1500.0))
RUNNING_TIME_LIMIT_MS = 100.0

# (case, human-level error, train error, dev error); errors as fractions.
HUMAN_LEVEL_CASES = (
    ("bias (human 1%)", 0.01, 0.08, 0.10),
    ("variance (human 7.5%)", 0.075, 0.08, 0.10),
    ("team of experts", 0.005, 0.006, 0.008),
    ("surpassing human level", 0.005, 0.003, 0.004),
)

# (case, human, train, train-dev, dev): the course's training-dev examples.
MISMATCH_CASES = (
    ("variance", 0.0, 0.01, 0.09, 0.10),
    ("data mismatch", 0.0, 0.01, 0.015, 0.10),
    ("avoidable bias", 0.0, 0.10, 0.11, 0.12),
    ("bias + mismatch", 0.0, 0.10, 0.11, 0.20),
)

CATEGORIES = ("dog", "great cats", "blurry", "instagram filter", "incorrectly labelled")
DEV_ERROR = 0.10


def course_tagged_errors() -> list[set[str]]:
    """100 misclassified dev images tagged so each column total matches the notes' "% of total" row
    (dog 8%, great cats 43%, blurry 61%, instagram 12%, incorrectly labelled 6%).

    Images 1–3, 98, 99 and 100 carry the notes' tags (1: pitbull with a filter; 2: blurry with a
    filter; 3: rainy day at the zoo; 98, 100: labeller errors; 99: none). The notes show only those
    rows, so the others are a reconstruction with the same column totals.
    """
    tagged = {image: set() for image in range(1, 101)}

    def tag(category, images):
        for image in images:
            tagged[image].add(category)

    tag("dog", [1, *range(4, 11)])  # 8
    tag("great cats", [3, *range(11, 53)])  # 43
    tag("blurry", [2, 3, *range(30, 89)])  # 61
    tag("instagram filter", [1, 2, *range(53, 63)])  # 12
    tag("incorrectly labelled", [*range(94, 99), 100])  # 6
    return [tagged[image] for image in range(1, 101)]


def _section(title: str) -> str:
    return f"\n{title}\n{'=' * len(title)}"


def metric_selection_report() -> tuple[str, dict]:
    names = [name for name, _, _ in CLASSIFIERS]
    accuracy = [value for _, value, _ in CLASSIFIERS]
    time_ms = [value for _, _, value in CLASSIFIERS]
    selection = strategy.select_optimizing_satisficing(
        accuracy, [strategy.Satisficing("running time (ms)", time_ms, RUNNING_TIME_LIMIT_MS)]
    )
    cost_fraction_seconds = [float(v) for v in strategy.combined_cost(accuracy, [t / 1000 for t in time_ms])]
    cost_percent_ms = [float(v) for v in strategy.combined_cost([100 * a for a in accuracy], time_ms)]
    best_fraction_seconds = names[max(range(3), key=cost_fraction_seconds.__getitem__)]
    best_percent_ms = names[max(range(3), key=cost_percent_ms.__getitem__)]
    lines = [
        _section("Metric selection: maximize accuracy s.t. running time <= 100 ms"),
        f"{'classifier':<10}  {'accuracy':>8}  {'time':>8}  {'<=100ms':>7}  "
        f"{'cost (frac, s)':>14}  {'cost (%, ms)':>12}",
    ]
    for index, name in enumerate(names):
        lines.append(
            f"{name:<10}  {100 * accuracy[index]:>7.0f}%  {time_ms[index]:>6.0f}ms  "
            f"{'yes' if selection.feasible[index] else 'no':>7}  "
            f"{cost_fraction_seconds[index]:>14.4f}  {cost_percent_ms[index]:>12.1f}"
        )
    chosen = names[selection.index]
    lines += [
        f"optimizing + satisficing choice: {chosen}",
        "combined cost = accuracy - 0.5 x running time (the notes give no unit):",
        f"  accuracy as a fraction, time in seconds  -> best {best_fraction_seconds}",
        f"  accuracy in percent,    time in ms       -> best {best_percent_ms}",
    ]
    figures = {
        "selected_classifier": chosen,
        "combined_cost_fraction_seconds": dict(zip(names, cost_fraction_seconds)),
        "combined_cost_best_fraction_seconds": best_fraction_seconds,
        "combined_cost_percent_ms": dict(zip(names, cost_percent_ms)),
        "combined_cost_best_percent_ms": best_percent_ms,
    }
    return "\n".join(lines), figures


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def human_level_report() -> tuple[str, dict]:
    lines = [
        _section("Bias and variance against human-level error"),
        f"{'case':<24}  {'human':>6}  {'train':>6}  {'dev':>6}  {'avoid. bias':>11}  {'variance':>8}  focus",
    ]
    figures = {}
    for case, human, train, dev in HUMAN_LEVEL_CASES:
        diagnosis = strategy.diagnose(human, train, dev)
        bias = "unknown" if diagnosis.avoidable_bias is None else _percent(diagnosis.avoidable_bias)
        lines.append(
            f"{case:<24}  {_percent(human):>6}  {_percent(train):>6}  {_percent(dev):>6}  "
            f"{bias:>11}  {_percent(diagnosis.variance):>8}  {diagnosis.focus}"
        )
        figures[case] = {
            "avoidable_bias": diagnosis.avoidable_bias,
            "variance": diagnosis.variance,
            "focus": diagnosis.focus,
        }
    lines.append("\nDiagnosis of the first case:")
    lines.append(strategy.format_diagnosis(strategy.diagnose(*HUMAN_LEVEL_CASES[0][1:])))
    lines += [
        _section("Data mismatch with a training-dev set (human 0%)"),
        f"{'case':<16}  {'train':>6}  {'trn-dev':>7}  {'dev':>6}  {'variance':>8}  {'mismatch':>8}  focus",
    ]
    mismatch_figures = {}
    for case, human, train, train_dev, dev in MISMATCH_CASES:
        diagnosis = strategy.diagnose_data_mismatch(human, train, train_dev, dev)
        lines.append(
            f"{case:<16}  {_percent(train):>6}  {_percent(train_dev):>7}  {_percent(dev):>6}  "
            f"{_percent(diagnosis.variance):>8}  {_percent(diagnosis.data_mismatch):>8}  {diagnosis.focus}"
        )
        mismatch_figures[case] = {"data_mismatch": diagnosis.data_mismatch, "focus": diagnosis.focus}
    return "\n".join(lines), {"human_level": figures, "data_mismatch": mismatch_figures}


def error_analysis_report() -> tuple[str, dict]:
    rows = strategy.error_analysis_table(course_tagged_errors(), overall_error=DEV_ERROR, categories=CATEGORIES)
    reading = strategy.incorrect_labels_reading(DEV_ERROR, fraction_of_errors=0.06)
    small = strategy.incorrect_labels_reading(0.02, error_due_to_labels=0.006)
    lines = [
        _section(f"Error analysis of 100 misclassified dev images (dev error {_percent(DEV_ERROR)})"),
        "(tags reconstructed to match the notes' column totals; images can carry several tags)",
        strategy.format_error_analysis(rows),
        _section("Incorrect labels"),
        f"{'dev error':>9}  {'due to labels':>13}  {'other causes':>12}  {'labels share':>12}  worth fixing",
    ]
    for item in (reading, small):
        lines.append(
            f"{_percent(item.dev_error):>9}  {_percent(item.error_due_to_labels):>13}  "
            f"{_percent(item.error_due_to_other_causes):>12}  {100 * item.fraction_of_errors:>11.0f}%  "
            f"{'yes' if item.worth_fixing else 'no'}"
        )
    lines.append("rule of thumb: fix labels when they cause >= 20% of the dev errors")
    figures = {
        "error_analysis": {
            row.category: {"fraction_of_errors": row.fraction_of_errors, "ceiling": row.ceiling} for row in rows
        },
        "incorrect_labels": {
            "dev_10pct": {
                "due_to_labels": reading.error_due_to_labels,
                "other_causes": reading.error_due_to_other_causes,
                "worth_fixing": reading.worth_fixing,
            },
            "dev_2pct": {
                "due_to_labels": small.error_due_to_labels,
                "other_causes": small.error_due_to_other_causes,
                "fraction_of_errors": small.fraction_of_errors,
                "worth_fixing": small.worth_fixing,
            },
        },
    }
    return "\n".join(lines), figures


def _rounded(value):
    """Floats rounded to 6 decimals (float32 and subtraction noise), recursively."""
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, float):
        return round(value, 6)
    return value


def get_config() -> ml_collections.ConfigDict:
    """No settings: the course's tables are fixed."""
    return ml_collections.ConfigDict()


def main(config, workdir=None) -> dict:
    figures = {}
    for report in (metric_selection_report, human_level_report, error_analysis_report):
        text, report_figures = report()
        cli.say(text)
        figures.update(report_figures)
    cli.say()
    return _rounded(figures)


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
