"""Trainable: train_with_state, the divergence rule (non-finite values, explosions), domains."""

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
    for hparams in (fine, diverging):
        state, metrics = train_with_state(hparams, key)
        chex.assert_trees_all_equal(metrics, train(hparams, key))
        expected = trainable.init(hparams, key)
        for _ in range(int(metrics["epochs_run"])):
            expected, _ = epoch(expected, hparams)
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
        row = {"train_loss": jnp.float32(0.5) / count, "train_accuracy": jnp.float32(0.5),
               "dev_accuracy": jnp.float32(0.5) + 0.1 * count, "dev_loss": w * 2.0}
        return {"w": w, "epoch": count}, row

    trainable = Trainable(init, epoch, epochs=4, hparams={"decay": 0.5})
    hparams = trainable.default_hparams()
    state, guard = trainable.start(hparams, None)
    state, guard, row = jax.jit(trainable.guarded_epoch)(state, guard, hparams)
    assert not bool(guard.diverged) and float(row["dev_loss"]) == 1.0
    state, guard, row = jax.jit(trainable.guarded_epoch)(state, guard, hparams)
    assert bool(guard.diverged) and not bool(guard.exploded) and all(np.isnan(float(v)) for v in row.values())
    assert float(state["w"]) == 0.5 and int(state["epoch"]) == 1      # the last finite state is kept
    state, metrics = jax.jit(trainable.train_with_state)(hparams, jax.random.PRNGKey(0))
    assert bool(metrics["diverged"]) and int(metrics["epochs_run"]) == 1
    assert float(state["w"]) == 0.5
    assert float(metrics["final_train_loss"]) == 0.5 and float(metrics["best_dev_accuracy"]) == np.float32(0.6)
    assert float(metrics["final_dev_accuracy"]) == np.float32(0.6)
    assert np.isnan(np.asarray(metrics["dev_loss"])[1:]).all()


def _loss_curve_trainable(losses, initial_loss=None, factor=100.0):
    """A Trainable whose epochs report the given training losses (and dev accuracy 0.5); with
    ``initial_loss``, its rows report the loss each epoch started from (the first: that one)."""
    import jax.numpy as jnp

    from dlcourse.train import Trainable

    table = jnp.asarray(losses, jnp.float32)

    def init(hparams, key):
        return jnp.zeros((), jnp.int32)

    def epoch(state, hparams):
        row = {"train_loss": table[state], "dev_accuracy": jnp.float32(0.5)}
        if initial_loss is not None:
            row["start_loss"] = jnp.where(state == 0, jnp.float32(initial_loss), table[state - 1])
        return state + 1, row

    return Trainable(init, epoch, epochs=len(losses), hparams={}, divergence_factor=factor)


def test_a_loss_above_the_factor_times_its_initial_value_is_an_explosion():
    # Reference: the initial loss 2.3; 229 is below 100 × 2.3, 231 above it.
    calm = jax.jit(_loss_curve_trainable([2.0, 50.0, 229.0], initial_loss=2.3).train)({}, None)
    assert not bool(calm["diverged"]) and int(calm["epochs_run"]) == 3
    blown = jax.jit(_loss_curve_trainable([2.0, 50.0, 231.0, 1.0], initial_loss=2.3).train)({}, None)
    assert bool(blown["diverged"]) and bool(blown["exploded"]) and int(blown["epochs_run"]) == 2
    assert np.isnan(np.asarray(blown["train_loss"])[2:]).all()      # the exploding epoch and later: NaN
    assert "start_loss" not in blown                                 # read by the rule, not a curve
    # Without an initial loss, the first epoch's loss is the reference; the factor is the Trainable's.
    first = jax.jit(_loss_curve_trainable([1e11, 1e12], factor=5.0).train)({}, None)
    assert bool(first["exploded"]) and int(first["epochs_run"]) == 1
    huge = jax.jit(_loss_curve_trainable([1e11, 1e11], initial_loss=2.3).train)({}, None)
    assert bool(huge["exploded"]) and int(huge["epochs_run"]) == 0   # 1e11 at the first epoch: no result
    nonfinite = jax.jit(_loss_curve_trainable([2.0, float("inf")], initial_loss=2.3).train)({}, None)
    assert bool(nonfinite["diverged"]) and not bool(nonfinite["exploded"])


def test_check_hparams_refuses_values_outside_domains_non_finite_and_unread():
    import pytest

    from dlcourse.train import KNOWN_DOMAINS, Trainable

    trainable = Trainable(lambda h, k: None, lambda s, h: (s, {}), epochs=1,
                          hparams={"learning_rate": 0.1, "keep_prob": 1.0},
                          domains={k: KNOWN_DOMAINS[k] for k in ("learning_rate", "keep_prob")},
                          unread={"beta1": "optimizer=sgd does not read it"})
    trainable.check_hparams()
    outside = r"learning_rate=-1.0 is outside learning_rate's domain \(0, inf\)"
    for values, message in (({"learning_rate": -1.0}, outside),
                            ({"keep_prob": 0.0}, r"keep_prob=0.0 is outside keep_prob's domain \(0, 1\]"),
                            ({"learning_rate": float("nan")}, "learning_rate=nan is not a finite number"),
                            ({"beta1": 0.5}, "beta1 is not read by this run: optimizer=sgd does not read it"),
                            ({"momentum": 0.5}, "momentum is not a numeric hyperparameter of this run")):
        with pytest.raises(ValueError, match=message):
            trainable.check_hparams(values)


def test_interval_contains_respects_open_and_closed_ends():
    from dlcourse.train.trainable import KNOWN_DOMAINS, Interval

    keep = KNOWN_DOMAINS["keep_prob"]
    assert keep.contains(1.0) and keep.contains(0.5) and not keep.contains(0.0) and not keep.contains(1.2)
    beta = KNOWN_DOMAINS["beta1"]
    assert beta.contains(0.0) and beta.contains(0.999) and not beta.contains(1.0)
    assert str(Interval(0.0, 1.0, low_open=True)) == "(0, 1]"
