"""experiments/yolo.py as a user runs it, with a tiny config: YOLO trained and evaluated (mAP@0.5,
the picture), and a bad grid refused in one line. (``--config.compare=True``, the proposal baseline
beside it, costs another ~12 s of compiling; its library pieces are tested in tests/detection.)"""
import json

from tests.experiments.test_programs import last_json_line, run_program

TINY = ["--config.train=48", "--config.dev=16", "--config.test=16", "--config.epochs=2", "--config.width=4",
        "--config.convs_per_stage=1", "--config.batch_size=16", "--config.eval_batch_size=16", "--config.show=2"]


def test_yolo_trains_reports_map_and_draws_detections(tmp_path):
    result = run_program("yolo", f"--workdir={tmp_path}", *TINY)
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    yolo = summary["yolo"]
    assert yolo["epochs_run"] == 2 and len(yolo["dev_map_curve"]) == 2 and yolo["diverged"] is False
    assert 0.0 <= yolo["test_map"] <= 1.0 and len(yolo["test_ap_per_class"]) == 3
    assert yolo["images_per_second"] > 0 and "proposals" not in summary
    assert (tmp_path / "detections.png").stat().st_size > 5_000
    assert "test mAP@0.5" in result.stdout


def test_a_grid_that_does_not_divide_the_image_is_refused(tmp_path):
    result = run_program("yolo", f"--workdir={tmp_path}", "--config.grid_size=7", check=False)
    assert result.returncode == 2 and "grid_size=7" in result.stderr and "Traceback" not in result.stderr
