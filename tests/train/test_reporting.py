"""metrics.jsonl lines, the learning-curve PNG, the progress line."""

import json
import math

import numpy as np
import pytest

from dlcourse.train import format_progress, plot_learning_curve, read_metrics
from dlcourse.train.reporting import append_metrics, metrics_line, write_metrics

ROWS = [{"train_loss": 0.9, "dev_accuracy": 0.5, "train_accuracy": 0.6},
        {"train_loss": 0.5, "dev_accuracy": 0.7, "train_accuracy": 0.8},
        {"train_loss": float("nan"), "dev_accuracy": float("inf"), "train_accuracy": float("nan")}]


def test_lines_are_strict_json_with_null_for_non_finite():
    line = metrics_line(3, ROWS[2])
    assert json.loads(line) == {"epoch": 3, "train_loss": None, "train_accuracy": None, "dev_accuracy": None}
    assert list(json.loads(metrics_line(1, ROWS[0]))) == ["epoch", "train_loss", "train_accuracy", "dev_accuracy"]


def test_append_rewrite_and_read_back(tmp_path):
    path = tmp_path / "metrics.jsonl"
    for epoch, row in enumerate(ROWS, start=1):
        append_metrics(path, epoch, row)
    records = read_metrics(path)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[1]["dev_accuracy"] == 0.7 and math.isnan(records[2]["train_loss"])
    write_metrics(path, ROWS[:2])
    assert len(read_metrics(path)) == 2
    assert not (tmp_path / "metrics.jsonl.tmp").exists()
    path.write_text('{"epoch": 1}\nnot json\n')
    with pytest.raises(ValueError, match="metrics.jsonl:2"):
        read_metrics(path)


def test_files_are_written_atomically_with_ordinary_permissions(tmp_path):
    """A temporary file (mkstemp: 0600) renamed into place must not keep its private mode."""
    import os
    import stat

    from dlcourse.train.reporting import write_json_atomically

    umask = os.umask(0o022)
    try:
        write_json_atomically(tmp_path / "metrics.json", {"a": 1})
        plot_learning_curve(ROWS[:2], tmp_path / "curve.png")
        write_metrics(tmp_path / "metrics.jsonl", ROWS[:2])
    finally:
        os.umask(umask)
    for name in ("metrics.json", "curve.png", "metrics.jsonl"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o644, name
    assert sorted(os.listdir(tmp_path)) == ["curve.png", "metrics.json", "metrics.jsonl"]   # no leftovers


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from dlcourse.train.reporting import write_atomically, write_text_atomically

    path = tmp_path / "leaderboard.txt"
    write_text_atomically(path, "old\n")

    def fail(f):
        f.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomically(path, fail)
    assert path.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.txt"]


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
    line = format_progress(3, 10, {"dev_accuracy": 0.9, "train_loss": 0.41234, "train_accuracy": 0.912}, 1.0)
    assert line == "epoch  3/10  train_loss 0.4123  train_accuracy 0.9120  dev_accuracy 0.9000  1 s/epoch, ~7.0s left"
    assert format_progress(10, 10, {"train_loss": 0.1}, 0.1234).endswith("0.123 s/epoch")
