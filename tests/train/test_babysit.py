"""babysit: same result as Trainable.train, files, compile time apart, resumption after an interruption."""

import json
import os

import chex
import jax
import numpy as np
import pytest

from dlcourse import models
from dlcourse.data import Splits
from dlcourse.train import TrainingCheckpoints, babysit, data_mesh, read_metrics, supervised

EPOCHS = 6


def _build(mesh=None, batch_norm=False, epochs=EPOCHS, hidden=8):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int32)
    data = Splits(x[:40], y[:40], x[40:52], y[40:52], x[52:], y[52:], 2)
    return supervised(models.MLP((hidden,), 2, dropout=True, batch_norm=batch_norm), data, optimizer="adam",
                      epochs=epochs, batch_size=16, hparams={"learning_rate": 0.03, "keep_prob": 0.9}, mesh=mesh)


@pytest.fixture(scope="module")
def trainable():
    return _build()


@pytest.fixture(scope="module")
def uninterrupted(trainable, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("uninterrupted")
    seen, compiled = [], []
    _, metrics = babysit(trainable, None, jax.random.key(0), workdir, checkpoint_every=2,
                         on_epoch=lambda epoch, row, seconds: seen.append((epoch, row, seconds)),
                         on_compiled=compiled.append)
    assert len(compiled) == 1 and compiled[0] > 0
    assert all(seconds > 0 for _, _, seconds in seen)
    return workdir, metrics, [(epoch, row) for epoch, row, _ in seen]


def test_equals_jitted_train(trainable, uninterrupted):
    _, metrics, _ = uninterrupted
    expected = jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(0))
    assert set(metrics) == set(expected)
    chex.assert_trees_all_close(metrics, expected, atol=1e-5, rtol=1e-5)


def test_writes_metrics_lines_checkpoints_and_learning_curve(uninterrupted):
    workdir, metrics, seen = uninterrupted
    assert [epoch for epoch, _ in seen] == list(range(1, EPOCHS + 1))
    lines = (workdir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == EPOCHS
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == list(range(1, EPOCHS + 1))
    np.testing.assert_array_equal([r["train_loss"] for r in records], np.asarray(metrics["train_loss"]))
    assert records == [dict(epoch=e, **row) for e, row in seen]
    assert sorted(os.listdir(workdir / "checkpoints")) == ["4", "6"]  # every 2nd, newest two kept
    png = (workdir / "learning_curve.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_resumes_after_early_stop_and_ends_bitwise_equal(trainable, uninterrupted, tmp_path):
    _, expected, _ = uninterrupted
    config = {"model": "mlp", "hidden": [8]}
    _, partial = babysit(trainable, None, jax.random.key(0), tmp_path, max_epochs=3, config=config)
    assert partial["train_loss"].shape == (3,)
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 3
    with TrainingCheckpoints(tmp_path / "checkpoints") as checkpoints:
        assert checkpoints.latest_epoch() == 3
        state, record = checkpoints.restore(3, trainable.init(trainable.default_hparams(), jax.random.key(0)))
    assert record["config"] == config and not record["diverged"] and int(state.step) == 3 * 3
    assert record["hparams"] == {"keep_prob": pytest.approx(0.9), "learning_rate": pytest.approx(0.03)}
    assert len(record["rows"]) == 3
    resumed_epochs = []
    _, metrics = babysit(trainable, None, jax.random.key(0), tmp_path,
                         on_epoch=lambda epoch, row, seconds: resumed_epochs.append(epoch))
    assert resumed_epochs == [4, 5, 6]
    chex.assert_trees_all_equal(metrics, expected)
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == EPOCHS


@pytest.mark.parametrize("stop, resumed", [
    (RuntimeError("a failure between checkpoints"), [5, 6]),   # resumes from the last checkpoint (4)
    (KeyboardInterrupt(), [6]),                                 # Ctrl-C saves the last whole epoch (5) first
])
def test_resumes_after_a_crash_from_last_checkpoint(trainable, uninterrupted, tmp_path, stop, resumed):
    _, expected, _ = uninterrupted

    def crash_at_five(epoch, row, seconds):
        if epoch == 5:
            raise stop

    with pytest.raises(type(stop)):
        babysit(trainable, None, jax.random.key(0), tmp_path, checkpoint_every=2, on_epoch=crash_at_five)
    assert len(read_metrics(tmp_path / "metrics.jsonl")) == 5
    with TrainingCheckpoints(tmp_path / "checkpoints") as checkpoints:
        assert checkpoints.latest_epoch() == resumed[0] - 1
    resumed_epochs = []
    _, metrics = babysit(trainable, None, jax.random.key(0), tmp_path, checkpoint_every=2,
                         on_epoch=lambda epoch, row, seconds: resumed_epochs.append(epoch))
    assert resumed_epochs == resumed
    chex.assert_trees_all_equal(metrics, expected)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in records] == list(range(1, EPOCHS + 1))


def test_resuming_with_other_hyperparameters_raises(trainable, uninterrupted):
    workdir, _, _ = uninterrupted
    with pytest.raises(ValueError, match="learning_rate"):
        babysit(trainable, {"learning_rate": 0.5}, jax.random.key(0), workdir)
    with pytest.raises(ValueError, match="momentum"):
        babysit(trainable, {"momentum": 0.5}, jax.random.key(0), None)


def test_resuming_with_another_config_raises_before_restoring(trainable, tmp_path):
    from dlcourse.train import DifferentRunError
    config = {"hidden": 8, "seed": 0, "sizes": (8,)}
    babysit(trainable, None, jax.random.key(0), tmp_path, max_epochs=2, config=config)
    before = sorted(os.listdir(tmp_path / "checkpoints"))
    # Another seed: same shapes, so a restore would succeed and silently continue the old run.
    with pytest.raises(DifferentRunError, match=r"holds a different run \(seed: saved 0, now 1\); "
                                                r"delete it or pass another --workdir"):
        babysit(trainable, None, jax.random.key(0), tmp_path, config=dict(config, seed=1))
    # Other layer sizes: refused before orbax is asked to restore arrays of other shapes.
    wider = _build(hidden=16)
    with pytest.raises(ValueError, match=r"different run \(hidden: saved 8, now 16; sizes: saved \[8\], now \[16\]\)"):
        babysit(wider, None, jax.random.key(0), tmp_path, config=dict(config, hidden=16, sizes=(16,)))
    assert sorted(os.listdir(tmp_path / "checkpoints")) == before
    # The same config (tuples and lists alike, as JSON stores them) resumes.
    resumed = []
    babysit(trainable, None, jax.random.key(0), tmp_path, max_epochs=3, config=dict(config, sizes=[8]),
            on_epoch=lambda epoch, row, seconds: resumed.append(epoch))
    assert resumed == [3]
    # Other code (the identity a program records: fingerprints of the experiment and dlcourse).
    with pytest.raises(DifferentRunError, match=r"library: saved 'abc', now 'def'"):
        babysit(trainable, None, jax.random.key(0), tmp_path / "coded", max_epochs=1, identity={"library": "abc"})
        babysit(trainable, None, jax.random.key(0), tmp_path / "coded", identity={"library": "def"})


def test_divergence_stops_early_and_matches_train(trainable, tmp_path):
    hparams = {"learning_rate": 1e30}
    _, metrics = babysit(trainable, hparams, jax.random.key(1), tmp_path)
    expected = jax.jit(trainable.train)(
        {"learning_rate": np.float32(1e30), "keep_prob": np.float32(0.9)}, jax.random.key(1))
    assert bool(metrics["diverged"]) and bool(expected["diverged"])
    chex.assert_trees_all_close(metrics, expected, atol=1e-5, rtol=1e-5)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert len(records) == int(metrics["epochs_run"]) + 1 < EPOCHS
    assert np.isnan(records[-1]["train_loss"])


def test_data_parallel_run_resumes_onto_the_mesh(tmp_path):
    trainable = _build(data_mesh(jax.devices()[:4]), batch_norm=True, epochs=3)
    babysit(trainable, None, jax.random.key(2), tmp_path, max_epochs=2)
    _, metrics = babysit(trainable, None, jax.random.key(2), tmp_path)
    expected = jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(2))
    chex.assert_trees_all_close(metrics, expected, atol=1e-5, rtol=1e-5)
