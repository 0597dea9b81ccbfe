"""experiments/face_verification.py: the triplet run as a user runs it (tiny flags), the binary
formulation's trainable as launch.py builds it, and bad configs (the program turns a ValueError
into one line and exit status 2)."""
import json

import jax
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

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


def test_binary_formulation_trains_a_siamese_network_and_reports_its_pairs_figures(lessons):
    module = lessons("face_verification")
    config = module.get_config()
    config.update(formulation="binary", similarity="chi_square", image_size=8, features=(8,), embedding_size=16,
                  epochs=1, pairs=50, train_pairs=200)
    run = module.prepare(config)
    trainable = run.trainable
    assert sorted(trainable.hparams) == ["learning_rate"] and trainable.objective.name == "accuracy"

    def program(values, key):
        state, metrics = trainable.train_with_state(values, key)
        return metrics, trainable.test(state, values), run.dissimilarities(state)

    values, key = trainable.default_hparams(), jax.random.key(0)
    metrics, figures, (dev, test) = train.compile_lowered(jax.jit(program).lower(values, key))(values, key)
    assert np.isfinite(metrics["final_train_loss"]) and np.isfinite(figures["test_loss"])
    dev, test = np.asarray(dev), np.asarray(test)
    threshold = float(figures["threshold"])
    # The figures are those of the dissimilarities −z of the dev and test pairs (sklearn for the AUC).
    assert float(figures["dev_verification_accuracy"]) == pytest.approx(np.mean((dev <= threshold) == run.dev_same))
    assert float(figures["test_verification_accuracy"]) == pytest.approx(np.mean((test <= threshold) == run.test_same))
    assert float(figures["test_roc_auc"]) == pytest.approx(roc_auc_score(run.test_same, -test), rel=1e-5)
    assert float(figures["dev_verification_accuracy"]) >= 0.5     # at least "accept nothing" on balanced pairs


@pytest.mark.parametrize("override, message", [
    ({"mining": "hardest"}, "mining must be one of"),
    ({"formulation": "quadruplet"}, "formulation must be one of"),
    ({"people": "/no/such/people"}, "/no/such/people: no such directory"),
    ({"held_out": 9}, "held_out=9 of 10 identities leaves fewer than 2"),
])
def test_bad_configs_name_the_value(lessons, override, message):
    module = lessons("face_verification")
    config = module.get_config()
    config.update(override)
    with pytest.raises(ValueError, match=message):
        module.build(config)
