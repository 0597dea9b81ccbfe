"""experiments/localization.py as a user runs it, with a tiny config."""
import json

from tests.experiments.test_programs import last_json_line, run_program

TINY = ("--config.image_size=16", "--config.widths=(8, 8)", "--config.hidden=16", "--config.train=96",
        "--config.dev=32", "--config.test=32", "--config.epochs=2", "--config.batch_size=32")


def test_localization_trains_and_reports_box_iou_and_landmark_error(tmp_path):
    result = run_program("localization", f"--workdir={tmp_path}", *TINY, "--config.loss=log", "--config.show=4")
    figures = last_json_line(result.stdout)
    assert figures == json.loads((tmp_path / "metrics.json").read_text())
    summary = figures["localization"]
    assert len(summary["dev_box_iou_curve"]) == 2 and summary["epochs_run"] == 2
    for name in ("box_iou", "class_accuracy", "presence_accuracy", "localization_accuracy"):
        assert 0.0 <= summary[f"test_{name}"] <= 1.0 and 0.0 <= summary[f"final_dev_{name}"] <= 1.0
    # A landmark is off by a few pixels at most on a 16-pixel image, never by more than the diagonal.
    assert 0.0 < summary["test_landmark_error"] < 16 * 2 ** 0.5
    assert figures["config"]["loss"] == "log"
    assert "test: box IoU" in result.stdout and (tmp_path / "predictions.png").stat().st_size > 5_000


def test_localization_refuses_an_unknown_loss(tmp_path):
    result = run_program("localization", f"--workdir={tmp_path}", "--config.loss=hinge", check=False)
    assert result.returncode == 2 and "loss must be one of" in result.stderr
    assert "Traceback" not in result.stderr
