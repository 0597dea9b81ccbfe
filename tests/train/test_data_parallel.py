"""Data-parallel training on the 4 fake CPU devices equals training on one device."""

import chex
import jax
import numpy as np
import pytest

from dlcourse import models
from dlcourse.data import Splits
from dlcourse.train import data_mesh, supervised
from dlcourse.train.parallel import check_batch_divisible, data_axis_size


def _splits(m):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(m + 32, 5)).astype(np.float32)
    y = np.digitize(x[:, 0] + 0.5 * x[:, 1] * x[:, 2], [-0.5, 0.5]).astype(np.int32)  # 3 classes
    return Splits(x[:m], y[:m], x[m:m + 16], y[m:m + 16], x[m + 16:], y[m + 16:], 3)


def _train(mesh, *, m=44, batch_size=12, batch_norm=False, dropout=False):
    # m = 44 with B = 12: the last mini-batch has 8 real rows and 4 padded ones, all on the last
    # device of four, so masked means across devices are exercised.
    hparams = {"learning_rate": 0.05, "l2": 0.2}
    if dropout:
        hparams["keep_prob"] = 0.8
    trainable = supervised(models.MLP((8,), 3, batch_norm=batch_norm, dropout=dropout), _splits(m),
                           optimizer="momentum", epochs=2, batch_size=batch_size, hparams=hparams, mesh=mesh,
                           eval_batch_size=8)
    return jax.jit(trainable.train)(trainable.default_hparams(), jax.random.key(2))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_four_devices_equal_one_device(batch_norm):
    assert len(jax.devices()) >= 4
    one = _train(data_mesh(jax.devices()[:1]), batch_norm=batch_norm)
    four = _train(data_mesh(jax.devices()[:4]), batch_norm=batch_norm)
    chex.assert_trees_all_close(four, one, atol=1e-5, rtol=1e-5)
    assert np.all(np.isfinite(one["train_loss"]))


def test_full_batch_is_padded_to_split_over_devices():
    # m = 30 rows, full batch on 4 devices: 32 rows per step, 2 of them padding.
    no_mesh = _train(None, m=30, batch_size=1000, batch_norm=True)
    four = _train(data_mesh(jax.devices()[:4]), m=30, batch_size=1000, batch_norm=True)
    chex.assert_trees_all_close(four, no_mesh, atol=1e-5, rtol=1e-5)


def test_dropout_one_device_mesh_equals_no_mesh():
    no_mesh = _train(None, dropout=True)
    one = _train(data_mesh(jax.devices()[:1]), dropout=True)
    chex.assert_trees_all_close(one, no_mesh, atol=1e-6, rtol=1e-6)


def test_batch_not_divisible_by_devices_raises():
    mesh = data_mesh(jax.devices()[:4])
    assert data_axis_size(mesh) == 4
    with pytest.raises(ValueError, match="batch_size=10 .*4 devices"):
        check_batch_divisible(10, mesh)
    with pytest.raises(ValueError, match="batch_size=10"):
        _train(mesh, batch_size=10)
