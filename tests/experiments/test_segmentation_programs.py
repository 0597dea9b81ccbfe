"""Course 4's segmentation and sliding-window programs, run as a user runs them with tiny configs: a U-Net
on generated scenes (mean and per-class IoU, the picture) and the window classifier run as one
convolution: its training windows."""
import json
import pathlib

import numpy as np
import pytest

from dlcourse import data
from dlcourse.cli.experiments import load_experiment
from tests.experiments.test_programs import last_json_line, run_program

ROOT = pathlib.Path(__file__).resolve().parents[2]

CLASSES = ["background", "circle", "square", "triangle"]


def test_segmentation_reports_mean_and_per_class_iou_and_draws_predictions(tmp_path):
    result = run_program("segmentation", f"--workdir={tmp_path}", "--config.image_size=16", "--config.train=32",
                         "--config.dev=16", "--config.test=16", "--config.depth=1", "--config.base_width=4",
                         "--config.epochs=2", "--config.ignore_boundaries=True", "--config.pictures=2")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["diverged"] is False
    for split in ("dev", "test"):
        per_class = summary[f"{split}_iou"]
        assert list(per_class) == CLASSES and all(0.0 <= v <= 1.0 for v in per_class.values())
        # Every class occurs in 16 scenes, so the mean IoU is the plain mean of the four.
        assert summary[f"{split}_mean_iou"] == pytest.approx(sum(per_class.values()) / 4, abs=1e-5)
        assert per_class["background"] > 0.5   # 80 % of the pixels: even "all background" scores about 0.8
    assert (tmp_path / "segmentation.png").stat().st_size > 5_000
    assert (tmp_path / "learning_curve.png").exists()


def test_sliding_windows_background_crops_hold_under_a_quarter_of_an_object():
    # The program's own data step, in-process (the conv pass equal to the crops is tested in
    # tests/models/test_sliding_window.py; a whole run costs a compilation the suite cannot afford).
    program = load_experiment(str(ROOT / "experiments" / "sliding_windows.py")).module
    crops = program.background_windows(6, 28, seed=3)
    scenes = data.make_scenes(6, size=28, min_objects=1, max_objects=1, min_scale=0.25, max_scale=0.45, seed=3)
    for crop, image, classes in zip(crops, scenes.images, scenes.pixel_classes):
        where = [(t, l) for t in range(15) for l in range(15) if np.array_equal(image[t:t + 14, l:l + 14], crop)]
        assert where and all((classes[t:t + 14, l:l + 14] > 0).sum() < 0.25 * (classes > 0).sum() for t, l in where)
    examples = program.windows(40, 28, seed=0)
    assert examples.inputs.shape == (40, 14, 14, 3) and examples.targets.shape == (40, 1, 1)
    assert np.sum(examples.targets == 0) == 10 and set(np.unique(examples.targets)) == {0, 1, 2, 3}
