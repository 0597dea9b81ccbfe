"""experiments/yolo.py as a user runs it, with a tiny config: YOLO trained and evaluated (mAP@0.5,
the picture), the region-proposal baseline beside it, and a bad grid refused in one line."""
import json

from tests.experiments.test_programs import last_json_line, run_program

TINY = ["--config.train=48", "--config.dev=16", "--config.test=16", "--config.epochs=2", "--config.width=4",
        "--config.convs_per_stage=1", "--config.batch_size=16", "--config.eval_batch_size=16", "--config.show=2"]


def test_yolo_trains_reports_map_draws_detections_and_compares_with_proposals(tmp_path):
    result = run_program("yolo", f"--workdir={tmp_path}", *TINY, "--config.compare=True",
                         "--config.proposal_epochs=1", "--config.window_sizes=(0.3,)", "--config.window_stride=0.25",
                         "--config.positives=2", "--config.negatives=2")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    yolo, proposals = summary["yolo"], summary["proposals"]
    assert yolo["epochs_run"] == 2 and len(yolo["dev_map_curve"]) == 2 and yolo["diverged"] is False
    for detector in (yolo, proposals):
        assert 0.0 <= detector["test_map"] <= 1.0 and detector["images_per_second"] > 0
        assert len(detector["test_ap_per_class"]) == 3
    assert proposals["windows"] == 9                      # 3 x 3 positions of one 0.3-wide window
    assert summary["speedup"] > 0
    assert (tmp_path / "detections.png").stat().st_size > 5_000
    assert "test mAP@0.5" in result.stdout and "sliding windows + LeNet-5" in result.stdout


def test_a_grid_that_does_not_divide_the_image_is_refused(tmp_path):
    result = run_program("yolo", f"--workdir={tmp_path}", "--config.grid_size=7", check=False)
    assert result.returncode == 2 and "grid_size=7" in result.stderr and "Traceback" not in result.stderr
