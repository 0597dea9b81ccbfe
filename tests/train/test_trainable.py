"""Trainable.train_with_state: the same run as Trainable.train, plus the final (last finite) state."""

import chex
import jax
import numpy as np

from tests.sweep import toy_experiment as toy


def test_train_with_state_equals_train_and_keeps_the_last_finite_state():
    trainable = toy.build(toy.get_config())
    train, epoch = jax.jit(trainable.train), jax.jit(trainable.epoch)
    train_with_state = jax.jit(trainable.train_with_state)
    key = jax.random.PRNGKey(3)
    fine = trainable.default_hparams()
    diverging = dict(fine, learning_rate=np.float32(3.0))  # the loss becomes inf in epoch 4
    for hp in (fine, diverging):
        state, metrics = train_with_state(hp, key)
        chex.assert_trees_all_equal(metrics, train(hp, key))
        expected = trainable.init(hp, key)
        for _ in range(int(metrics["epochs_run"])):
            expected, _ = epoch(expected, hp)
        chex.assert_trees_all_close(state, expected, rtol=1e-5, atol=1e-6)
    assert not bool(train_with_state(fine, key)[1]["diverged"])
    assert bool(metrics["diverged"]) and int(metrics["epochs_run"]) == 3
    assert np.isfinite(np.asarray(state[0]["w"])).all()
