"""experiments/face_verification.py: the triplet run as a user runs it (tiny flags), the binary
formulation's trainable as launch.py builds it, and one-line errors."""
import json

import numpy as np
import pytest

from dlcourse import train
from tests.experiments.test_programs import last_json_line, run_program

TINY = ["--config.image_size=8", "--config.features=(8,)", "--config.embedding_size=16", "--config.epochs=2",
        "--config.pairs=100"]


def test_triplet_run_reports_verification_of_held_out_digits_and_draws_the_roc(tmp_path):
    result = run_program("face_verification", f"--workdir={tmp_path}", "--config.mining=semi_hard", *TINY)
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["held_out"] == ["7", "8", "9"] and summary["epochs_run"] == 2 and not summary["diverged"]
    # Digits 7-9 were never trained on; two epochs already separate them better than chance.
    assert summary["test_roc_auc"] > 0.6 and summary["test_verification_accuracy"] > 0.55
    assert 0.0 < summary["test_equal_error_rate"] < 0.45
    assert 0.0 <= summary["threshold"] <= 4.0                       # squared distance of unit vectors
    assert summary["dev_verification_accuracy"] >= 0.5               # τ maximizes it; "accept nothing" gives 0.5
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "learning_curve.png").exists()
    assert "test" in result.stdout and "EER" in result.stdout


def test_binary_formulation_trains_a_siamese_network_on_pairs(lessons):
    module = lessons("face_verification")
    config = module.get_config()
    config.update(formulation="binary", similarity="chi_square", image_size=8, features=(8,), embedding_size=16,
                  epochs=2, pairs=100, train_pairs=300)
    trainable = module.build(config)
    assert sorted(trainable.hparams) == ["learning_rate"] and trainable.objective.name == "accuracy"
    result = train.train_trial(trainable, seed=0)
    summary = result.summary
    assert np.isfinite(summary["final_train_loss"]) and not summary["diverged"]
    assert {"threshold", "test_verification_accuracy", "test_roc_auc", "test_equal_error_rate"} <= set(summary)
    assert 0.0 <= summary["test_equal_error_rate"] <= 1.0 and 0.0 <= summary["test_roc_auc"] <= 1.0


@pytest.mark.parametrize("args, message", [
    (["--config.mining=hardest"], "mining must be one of"),
    (["--config.people=/no/such/people"], "/no/such/people: no such directory"),
])
def test_bad_flags_are_one_line(args, message):
    result = run_program("face_verification", *args, check=False)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
