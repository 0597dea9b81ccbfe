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


def test_a_non_finite_value_anywhere_in_the_row_marks_the_trial_diverged():
    import jax.numpy as jnp
    from dlcourse.train import Trainable

    # Epoch 2's last step makes the parameter NaN, while its mean training loss stays finite;
    # only dev_loss (computed from the final parameter) shows it.
    def init(hparams, key):
        return {"w": jnp.ones(()), "epoch": jnp.zeros((), jnp.int32)}

    def epoch(state, hparams):
        count = state["epoch"] + 1
        w = jnp.where(count == 2, jnp.nan, state["w"] * hparams["decay"])
        row = {"train_loss": jnp.float32(0.5) / count, "train_metric": jnp.float32(0.5),
               "dev_metric": jnp.float32(0.5) + 0.1 * count, "dev_loss": w * 2.0}
        return {"w": w, "epoch": count}, row

    trainable = Trainable(init, epoch, epochs=4, hparams={"decay": 0.5})
    hp = trainable.default_hparams()
    state, diverged, row = jax.jit(trainable.guarded_epoch)(init(hp, None), jnp.asarray(False), hp)
    assert not bool(diverged) and float(row["dev_loss"]) == 1.0
    state, diverged, row = jax.jit(trainable.guarded_epoch)(state, diverged, hp)
    assert bool(diverged) and all(np.isnan(float(v)) for v in row.values())
    assert float(state["w"]) == 0.5 and int(state["epoch"]) == 1      # the last finite state is kept
    state, metrics = jax.jit(trainable.train_with_state)(hp, jax.random.PRNGKey(0))
    assert bool(metrics["diverged"]) and int(metrics["epochs_run"]) == 1
    assert float(state["w"]) == 0.5
    assert float(metrics["final_train_loss"]) == 0.5 and float(metrics["best_dev_metric"]) == np.float32(0.6)
    assert np.isnan(np.asarray(metrics["dev_loss"])[1:]).all()


def test_interval_contains_respects_open_and_closed_ends():
    from dlcourse.train.trainable import KNOWN_DOMAINS, Interval

    keep = KNOWN_DOMAINS["keep_prob"]
    assert keep.contains(1.0) and keep.contains(0.5) and not keep.contains(0.0) and not keep.contains(1.2)
    beta = KNOWN_DOMAINS["beta1"]
    assert beta.contains(0.0) and beta.contains(0.999) and not beta.contains(1.0)
    assert str(Interval(0.0, 1.0, low_open=True)) == "(0, 1]"
