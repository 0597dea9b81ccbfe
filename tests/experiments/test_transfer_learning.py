"""experiments/transfer_learning.py: freezing really freezes, the study's table, the program's output."""
import json
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from dlcourse import strategy
from tests.experiments.conftest import lesson

transfer_learning = lesson("transfer_learning")

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "experiments" / "transfer_learning.py"
SIZES = (1, 100)  # examples per class: the smallest and the largest of the default study


@pytest.fixture(scope="module")
def study():
    config = transfer_learning.get_config()
    config.sizes = SIZES
    config.seeds = 2
    config.epochs = 60
    config.pretrain_epochs = 60
    return transfer_learning.run_study(config)


def bits(array):
    array = np.asarray(array)
    assert array.dtype == np.float32
    return array.view(np.uint32)


def body_and_head(params):
    head = params[transfer_learning.HEAD]
    body = {name: value for name, value in params.items() if name != transfer_learning.HEAD}
    return body, head


def test_frozen_body_is_bitwise_unchanged_and_only_the_head_trains(study):
    pretrained_body, _ = body_and_head(study["pretrained"])
    frozen_body, frozen_head = body_and_head(study["final"]["frozen"])
    _, start_head = body_and_head(study["start"]["frozen"])
    assert sorted(pretrained_body) == ["dense_1", "dense_2"]
    for pretrained, final in zip(jax.tree.leaves(pretrained_body), jax.tree.leaves(frozen_body)):
        assert final.shape == (2, len(SIZES), *pretrained.shape[1:])  # [seeds, sizes, ...]
        expected = np.broadcast_to(bits(pretrained)[:, None], final.shape)
        np.testing.assert_array_equal(bits(final), expected)
    for start, final in zip(jax.tree.leaves(start_head), jax.tree.leaves(frozen_head)):
        moved = np.any(bits(final) != bits(start)[:, None], axis=tuple(range(2, final.ndim)))
        assert moved.all(), "the new output layer must train at every seed and size"

    # Fine-tuning moves the body; every method starts from the same fresh output layer.
    tuned_body, _ = body_and_head(study["final"]["fine_tuned"])
    kernel = np.asarray(tuned_body["dense_1"]["kernel"])
    assert np.all(np.any(kernel != np.asarray(pretrained_body["dense_1"]["kernel"])[:, None],
                         axis=(2, 3)))
    for method in ("fine_tuned", "from_scratch"):
        _, head = body_and_head(study["start"][method])
        for a, b in zip(jax.tree.leaves(head), jax.tree.leaves(start_head)):
            np.testing.assert_array_equal(bits(a), bits(b))
    scratch_body, _ = body_and_head(study["start"]["from_scratch"])
    assert not np.array_equal(scratch_body["dense_1"]["kernel"], pretrained_body["dense_1"]["kernel"])


def test_accuracies_follow_the_course_advice_where_data_is_plentiful(study):
    assert np.all(np.asarray(study["source_test_accuracy"]) > 0.95)  # pre-training worked
    accuracy = {m: np.asarray(study["test_accuracy"][m]) for m in transfer_learning.METHODS}
    for table in accuracy.values():
        assert table.shape == (2, len(SIZES))
        assert np.all((table >= 0) & (table <= 1))
    largest = -1
    # More data: fine-tuning everything (and training from scratch) beats a frozen body clearly.
    assert np.all(accuracy["fine_tuned"][:, largest] > 0.9)
    assert np.all(accuracy["from_scratch"][:, largest] > 0.9)
    assert np.all(accuracy["fine_tuned"][:, largest] > accuracy["frozen"][:, largest] + 0.05)
    # Each method gains from 100 examples per class over 1.
    for table in accuracy.values():
        assert np.all(table[:, largest] > table[:, 0] + 0.1)
    # Training stayed finite for every method, seed and size.
    for method in transfer_learning.METHODS:
        assert np.all(np.isfinite(np.asarray(study["train_cost"][method])))


def test_per_class_mask_picks_nested_subsets():
    labels = np.repeat(np.arange(5), 7)
    key = jax.random.key(3)
    small = np.asarray(strategy.per_class_mask(key, labels, 2))
    large = np.asarray(strategy.per_class_mask(key, labels, 5))
    assert np.bincount(labels[small == 1], minlength=5).tolist() == [2] * 5
    assert np.bincount(labels[large == 1], minlength=5).tolist() == [5] * 5
    assert np.all(large[small == 1] == 1)
    assert np.asarray(strategy.per_class_mask(key, labels, 9)).sum() == labels.size


def test_program_prints_the_table_and_writes_metrics_json(tmp_path):
    workdir = tmp_path / "transfer"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), f"--workdir={workdir}", "--config.seeds=1",
         "--config.sizes=(1, 3)", "--config.epochs=10", "--config.pretrain_epochs=10"],
        capture_output=True, text=True, timeout=120, check=True, cwd="/",
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == json.loads((workdir / "metrics.json").read_text())
    assert [p.name for p in workdir.iterdir()] == ["metrics.json"]  # no temporary file, no lock file left
    assert summary["experiment"] == "transfer_learning"
    assert summary["sizes_per_class"] == [1, 3] and summary["train_examples"] == [5, 15]
    for key in ("test_accuracy", "dev_accuracy", "test_accuracy_std"):
        assert sorted(summary[key]) == sorted(transfer_learning.METHODS)
        assert all(len(row) == 2 for row in summary[key].values())
    assert "per class" in result.stdout and "fine_tuned" in result.stdout


def test_program_rejects_a_size_larger_than_a_class(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), f"--workdir={tmp_path}", "--config.sizes=(1, 1000)"],
        capture_output=True, text=True, timeout=120, cwd="/",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("transfer_learning.py: error: sizes (1, 1000)")
    assert list(tmp_path.iterdir()) == []
