"""experiments/trigger_word.py as a user runs it: a tiny run reports per-step and per-event figures
on test clips that are recounted here from the same seed, and saves its picture."""
import json

import numpy as np

from dlcourse import audio
from tests.experiments.test_programs import last_json_line, run_program


def test_a_tiny_run_reports_step_and_event_figures_of_its_test_clips(tmp_path):
    result = run_program("trigger_word", f"--workdir={tmp_path}", "--config.train=16", "--config.dev=8",
                         "--config.test=8", "--config.epochs=2", "--config.batch_size=8", "--config.clip_seconds=2.0",
                         "--config.filters=4", "--config.hidden_size=4")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    # 2 s at 4 kHz: T_x = 1 + (8000 − 64) // 32 = 249 frames of 33 frequencies, T_y = (249 − 15) // 4 + 1 = 59,
    # label steps round(0.3636 s · 59 / 2 s) = 11.
    assert (summary["input_steps"], summary["frequencies"], summary["output_steps"], summary["label_steps"]) == \
        (249, 33, 59, 11)
    settings = audio.ClipSettings(sample_rate=4000, seconds=2.0, output_steps=59, label_steps=11)
    test_clips = audio.Clips(*(a[24:] for a in audio.synthesize_clips(32, 0, settings)))
    positives = int(((test_clips.segments[..., 0] >= 0) & test_clips.positive).sum())
    events = summary["test_events"]
    assert events["events"] == positives > 0 and 0 <= events["detected"] <= positives
    assert summary["detection_rate"] == events["detected"] / positives
    assert events["false_alarms"] <= events["firings"]
    assert summary["false_alarms_per_clip"] == events["false_alarms"] / 8
    assert summary["zero_rate"] == np.float32(1 - test_clips.labels.mean()).item()
    for split in ("dev", "test"):
        assert set(summary[split]) == {"f1", "accuracy", "precision", "recall"}
        assert all(0 <= v <= 1 for v in summary[split].values())
    assert (tmp_path / "trigger_word.png").stat().st_size > 0 and (tmp_path / "learning_curve.png").exists()
    assert "test events:" in result.stdout and "compiled in" in result.stdout
