"""Course 4's convnet programs: edge detection, convnets (one run and a launch.py population) and
convnet transfer learning — each run as a user runs it, with small flags where the default is
more than a test needs."""
import json
import pathlib

import pytest

from tests.experiments.test_programs import last_json_line, run_program

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_edge_detection_reproduces_the_notes_and_learns_the_vertical_filter(tmp_path):
    result = run_program("edge_detection", f"--workdir={tmp_path}", "--config.size=96", "--config.steps=300")
    figures = last_json_line(result.stdout)
    assert figures == json.loads((tmp_path / "metrics.json").read_text())
    worked = figures["worked_examples"]
    assert worked["six_by_six"] == [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]]
    assert worked["bright_dark"] == [[0, 30, 30, 0]] * 4
    assert worked["dark_bright"] == [[0, -30, -30, 0]] * 4
    learned = figures["learned_filter"]
    assert learned["max_abs_difference"] < 0.05 and learned["final_cost"] < 1e-3 * learned["first_cost"]
    assert figures["photo_shape"] == [96, 96]
    # A vertical filter answers vertical edges: on the camera photo each filter family responds.
    assert all(value > 0 for value in figures["mean_absolute_response"].values())
    assert (tmp_path / "edge_maps.png").stat().st_size > 10_000


def test_edge_detection_refuses_a_crop_larger_than_the_photo(tmp_path):
    result = run_program("edge_detection", f"--workdir={tmp_path}", "--config.size=5000", check=False)
    assert result.returncode == 2 and "size=5000 is larger than the photo" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_convnets_default_lenet5_reaches_097_dev_accuracy_on_digits(tmp_path):
    result = run_program("convnets", f"--workdir={tmp_path}")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["best_dev_accuracy"] >= 0.97 and summary["final_dev_accuracy"] >= 0.97
    assert summary["test_accuracy"] >= 0.93
    assert summary["diverged"] is False and summary["epochs_run"] == 10
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
    assert "epoch 10/10" in result.stdout and (tmp_path / "checkpoints").is_dir()   # babysat alone


def test_convnets_trains_a_small_resnet_with_augmentation(tmp_path):
    result = run_program("convnets", f"--workdir={tmp_path}", "--config.model=resnet18", "--config.width=0.125",
                         "--config.blocks=1", "--config.image_size=8", "--config.epochs=3", "--config.augment=True")
    summary = last_json_line(result.stdout)
    assert summary["diverged"] is False and summary["epochs_run"] == 3
    assert summary["best_dev_accuracy"] > 0.5          # ten classes: chance is 0.1


@pytest.mark.parametrize("args, message", [
    (["--config.model=resnet7"], "model must be one of"),
    (["--config.dataset=cifar"], "dataset must be one of"),
    (["--config.model=resnet18", "--config.width=0"], "width must be positive"),
])
def test_convnets_bad_values_are_one_line(tmp_path, args, message):
    result = run_program("convnets", f"--workdir={tmp_path}", *args, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_launch_sweeps_convnets_as_one_population_per_model(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("launch_for_convnets", ROOT / "launch.py")
    launch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch)
    workdir = tmp_path / "sweep"
    args = ["launch.py", "--experiment=convnets", "--sweep=learning_rate=log(1e-4,1e-1),l2=log(1e-6,1e-2),"
            "model=choice(lenet5,resnet18)", "--trials=4", "--config.dataset=shapes", "--config.examples=150",
            "--config.image_size=16", "--config.epochs=2", "--config.width=0.125", "--config.blocks=1",
            f"--workdir={workdir}"]
    assert launch.main(args) == 0
    out = capsys.readouterr().out
    # The model is structural: one compiled population per model, the numbers traced within it.
    assert out.count("] compiling ") == 2
    assert "trials for model=lenet5" in out and "trials for model=resnet18" in out
    records = [json.loads(line) for line in (workdir / "trials.jsonl").read_text().splitlines()]
    assert len(records) == 4 and {r["status"] for r in records} <= {"ok", "diverged"}
    assert {r["hparams"]["model"] for r in records} == {"lenet5", "resnet18"}
    for record in records:
        assert 1e-4 <= record["hparams"]["learning_rate"] <= 1e-1 and 1e-6 <= record["hparams"]["l2"] <= 1e-2
        assert len(record["metrics"]["dev_accuracy"]) == 2
        assert all(0 <= a <= 1 for a in record["metrics"]["dev_accuracy"])
    assert (workdir / "leaderboard.txt").read_text().count("resnet18") == 2


def test_convnet_transfer_prints_the_table_by_data_size(tmp_path):
    result = run_program("convnet_transfer", f"--workdir={tmp_path}", "--config.sizes=(1, 20)",
                         "--config.steps=80", "--config.pretrain_steps=200", "--config.seeds=2")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["train_examples"] == [5, 100]
    assert summary["source_test_accuracy"] > 0.9
    table = summary["test_accuracy"]
    assert set(table) == {"frozen", "last_blocks", "all_low_rate", "from_scratch"}
    # More target data helps every method, and with one example per class the pre-trained body
    # beats training from scratch (chance is 0.2).
    for method, (few, many) in table.items():
        assert many > few, method
    assert table["last_blocks"][0] > table["from_scratch"][0] + 0.05
    assert "per class" in result.stdout and "frozen" in result.stdout


def test_convnet_figures_prints_the_notes_costs_lenet_table_and_published_sizes(tmp_path):
    result = run_program("convnet_figures", f"--workdir={tmp_path}", "--config.image_size=64")
    figures = last_json_line(result.stdout)
    costs = figures["costs"]
    assert (costs["normal"], costs["depthwise"], costs["pointwise"], costs["depthwise_separable"]) == (2160, 432, 240,
                                                                                                       672)
    assert costs["ratio"].startswith("14/45") and (costs["inception_direct"], costs["inception_bottleneck"]) == (
        120_422_400, 12_443_648)
    lenet = {row["layer"]: row for row in figures["lenet5"]}
    assert [lenet[name]["parameters"] for name in ("conv1", "conv2", "fc3", "fc4", "output")] == [456, 2416, 48120,
                                                                                                  10164, 850]
    assert [row["activation_size"] for row in figures["lenet5"]] == [3072, 4704, 1176, 1600, 400, 120, 84, 10]
    sizes = figures["architectures"]
    published = {"ResNet-50": 25_557_032, "VGG-16": 138_357_544, "MobileNet v2": 3_504_872, "ResNet-18": 11_689_512,
                 "AlexNet (torchvision)": 61_100_840}
    assert {name: sizes[name]["parameters"] for name in published} == published
    assert 560e6 < sizes["MobileNet v1"]["multiplications"] < 580e6    # the paper's 569 M mult-adds
    assert (tmp_path / "augmentations.png").stat().st_size > 10_000


def test_convnets_data_parallel_on_four_devices_equals_one_device():
    import chex
    import jax

    from tests.experiments.conftest import lesson

    convnets = lesson("convnets")
    config = convnets.get_config()
    config.update(model="resnet18", width=0.125, blocks=1, dataset="shapes", examples=96, image_size=8, epochs=1,
                  batch_size=16, eval_batch_size=32)
    plain = convnets.build(config)
    config.data_parallel = True
    parallel = convnets.build(config)
    assert len(jax.devices()) == 4 and parallel.mesh is not None   # batch norm syncs over the 'data' axis
    from dlcourse.train import compile_lowered  # XLA's CPU options: half the compile time of plain jit

    key = jax.random.key(0)
    one, four = (compile_lowered(jax.jit(t.train).lower(t.default_hparams(), key))(t.default_hparams(), key)
                 for t in (plain, parallel))
    chex.assert_trees_all_close(four, one, atol=1e-4, rtol=1e-4)
