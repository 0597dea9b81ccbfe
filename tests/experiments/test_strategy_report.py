"""Runs experiments/strategy_report.py as a program and checks its JSON line and metrics.json."""
import json
import pathlib
import subprocess
import sys

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "experiments" / "strategy_report.py"


def test_strategy_report_prints_course_figures(tmp_path):
    workdir = tmp_path / "report"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), f"--workdir={workdir}"],
        capture_output=True, text=True, timeout=120, check=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures == json.loads((workdir / "metrics.json").read_text())
    assert "Metric selection" in result.stdout and "Incorrect labels" in result.stdout

    assert figures["selected_classifier"] == "B"
    assert figures["combined_cost_fraction_seconds"]["A"] == pytest.approx(0.90 - 0.5 * 0.080)
    assert figures["combined_cost_best_fraction_seconds"] == "B"
    assert figures["combined_cost_percent_ms"]["C"] == pytest.approx(95 - 0.5 * 1500)

    human = figures["human_level"]
    assert human["bias (human 1%)"]["focus"] == "avoidable bias"
    assert human["bias (human 1%)"]["avoidable_bias"] == pytest.approx(0.07)
    assert human["variance (human 7.5%)"]["focus"] == "variance"
    assert human["surpassing human level"]["avoidable_bias"] is None
    assert human["surpassing human level"]["focus"] == "undetermined"
    assert figures["data_mismatch"]["data mismatch"]["data_mismatch"] == pytest.approx(0.085)

    notes_percentages = {"dog": 0.08, "great cats": 0.43, "blurry": 0.61, "instagram filter": 0.12,
                         "incorrectly labelled": 0.06}
    for category, fraction in notes_percentages.items():
        row = figures["error_analysis"][category]
        assert row["fraction_of_errors"] == pytest.approx(fraction)
        assert row["ceiling"] == pytest.approx(0.10 * (1 - fraction))

    labels = figures["incorrect_labels"]
    assert labels["dev_10pct"]["due_to_labels"] == pytest.approx(0.006)
    assert labels["dev_10pct"]["other_causes"] == pytest.approx(0.094)
    assert labels["dev_10pct"]["worth_fixing"] is False
    assert labels["dev_2pct"]["fraction_of_errors"] == pytest.approx(0.3)
    assert labels["dev_2pct"]["worth_fixing"] is True


def test_strategy_report_without_workdir_writes_nothing(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path
    )
    json.loads(result.stdout.strip().splitlines()[-1])
    assert list(tmp_path.iterdir()) == []
