"""metrics.jsonl lines, the learning-curve PNG, the progress line."""

import json
import math

import numpy as np
import pytest

from dlcourse.train import format_progress, plot_learning_curve, read_metrics
from dlcourse.train.reporting import append_metrics, metrics_line, write_metrics

ROWS = [{"train_loss": 0.9, "dev_metric": 0.5, "train_metric": 0.6},
        {"train_loss": 0.5, "dev_metric": 0.7, "train_metric": 0.8},
        {"train_loss": float("nan"), "dev_metric": float("inf"), "train_metric": float("nan")}]


def test_lines_are_strict_json_with_null_for_non_finite():
    line = metrics_line(3, ROWS[2])
    assert json.loads(line) == {"epoch": 3, "train_loss": None, "train_metric": None, "dev_metric": None}
    assert list(json.loads(metrics_line(1, ROWS[0]))) == ["epoch", "train_loss", "train_metric", "dev_metric"]


def test_append_rewrite_and_read_back(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for epoch, row in enumerate(ROWS, start=1):
        append_metrics(path, epoch, row)
    records = read_metrics(path)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[1]["dev_metric"] == 0.7 and math.isnan(records[2]["train_loss"])
    write_metrics(path, ROWS[:2])
    assert len(read_metrics(path)) == 2
    assert not (tmp_path / "metrics.jsonl.tmp").exists()
    path.write_text('{"epoch": 1}\nnot json\n')
    with pytest.raises(ValueError, match="metrics.jsonl:2"):
        read_metrics(path)


def test_learning_curve_png(tmp_path):
    rows = [dict(r, dev_loss=r["train_loss"] + 0.1) for r in ROWS[:2]]
    path = tmp_path / "curve.png"
    plot_learning_curve(rows, path, title="cost")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG")
    from matplotlib.image import imread
    image = imread(path)
    assert image.shape[:2] == (400, 600) and np.std(image) > 0


def test_format_progress():
    line = format_progress(3, 10, {"dev_metric": 0.9, "train_loss": 0.41234, "train_metric": 0.912}, 3.0)
    assert line == "epoch  3/10  train_loss 0.4123  train_metric 0.9120  dev_metric 0.9000  3.0s, ~7.0s left"
    assert format_progress(10, 10, {"train_loss": 0.1}, 12.34).endswith("12.3s")
