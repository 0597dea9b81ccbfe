"""Course 4's style-transfer programs as a user runs them, with tiny flags: neural style transfer on
scikit-image's photos with random features, and the top-activating patches of LeNet-5's units."""
import json

import pytest

from tests.experiments.test_programs import last_json_line, run_program


def test_style_transfer_lowers_J_and_draws_the_three_pictures(tmp_path):
    result = run_program("style_transfer", f"--workdir={tmp_path}", "--config.size=16", "--config.steps=40",
                         "--config.width=0.125", "--config.content_layer=conv2_1",
                         "--config.style_layers=conv1_1,conv2_1", "--config.learning_rate=0.05")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["features"] == "random" and summary["network"] == {"layout": "vgg11", "width": 0.125}
    assert summary["final_J"] < 0.5 * summary["first_J"]
    assert summary["final_J_style"] < summary["first_J_style"]
    assert summary["final_J"] == pytest.approx(
        10 * summary["final_J_content"] + 40 * summary["final_J_style"], rel=1e-4)
    assert (tmp_path / "style_transfer.png").stat().st_size > 5_000
    assert (tmp_path / "style_costs.png").stat().st_size > 5_000


def test_style_transfer_needs_a_weights_file_for_vgg19(tmp_path):
    result = run_program("style_transfer", f"--workdir={tmp_path}", "--config.features=vgg19", check=False)
    assert result.returncode == 2 and "features=vgg19 needs --config.weights=PATH" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unit_patches_draws_each_units_top_patches(tmp_path):
    result = run_program("unit_patches", f"--workdir={tmp_path}", "--config.epochs=1", "--config.units=2",
                         "--config.k=3")
    summary = last_json_line(result.stdout)
    conv1, conv2 = summary["layers"]["conv1"], summary["layers"]["conv2"]
    assert (conv1["receptive_field"], conv1["jump"], conv1["map_shape"]) == (5, 1, [28, 28])
    assert (conv2["receptive_field"], conv2["jump"], conv2["map_shape"]) == (14, 2, [10, 10])
    assert len(conv1["top_labels"]) == 2 and all(len(row) == 3 for row in conv1["top_labels"])
    assert summary["dev_accuracy"] > 0.5                 # ten digits: chance is 0.1
    assert (tmp_path / "unit_patches_conv1.png").stat().st_size > 5_000
    assert (tmp_path / "unit_patches_conv2.png").stat().st_size > 5_000
