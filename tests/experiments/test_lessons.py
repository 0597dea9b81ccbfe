"""Lesson outcomes on fixed seeds, with each experiment's functions called in-process."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import (batch_norm, deep_mlp, gradient_check, initialization, logistic_regression,
                         optimizers, planar, regularization, runner, softmax)

NUMERIC_DEEP_MLP = {"learning_rate", "beta1", "beta2", "l2", "keep_prob"}


def configured(module, **overrides):
    config = module.get_config()
    config.update(overrides)
    return config


def test_configs_are_flat_and_numeric_hyperparameters_are_traced():
    for module in (logistic_regression, planar, deep_mlp, initialization, regularization,
                   optimizers, batch_norm, softmax):
        config = module.get_config()
        assert all(not hasattr(v, "keys") for v in config.values()), module.__name__
        assert "seed" in config and "train_seed" in config
    config = deep_mlp.get_config()
    assert NUMERIC_DEEP_MLP <= set(config) and {"hidden", "layers", "optimizer", "epochs",
                                                "batch_size", "seed"} <= set(config)
    assert set(deep_mlp.build(config).hparams) == NUMERIC_DEEP_MLP


def test_logistic_regression_on_breast_cancer():
    summary, _ = logistic_regression.run(configured(logistic_regression, epochs=300))
    assert summary["final_train_metric"] >= 0.97
    assert summary["final_dev_metric"] >= 0.95 and summary["test_metric"] >= 0.95


def test_planar_four_hidden_units_fit_the_flower_and_one_does_not():
    four, _ = planar.run(configured(planar, epochs=3000))
    one, _ = planar.run(configured(planar, epochs=3000, hidden=1))
    assert four["final_train_metric"] >= 0.88 and four["final_dev_metric"] >= 0.85
    assert one["final_train_metric"] <= four["final_train_metric"] - 0.15


def test_zeros_initialization_stays_at_chance_and_he_learns_circles():
    zeros, zero_curves = initialization.run(configured(initialization, init="zeros", epochs=100))
    assert zeros["final_train_metric"] == pytest.approx(0.5, abs=0.02)
    assert zeros["test_metric"] == pytest.approx(0.5, abs=0.05)
    assert zero_curves["train_loss"][-1] == pytest.approx(np.log(2), abs=0.01)  # cost never moves
    he, _ = initialization.run(configured(initialization, init="he"))
    assert he["test_metric"] >= 0.9 and he["final_train_metric"] >= 0.95


def test_large_random_initialization_starts_with_a_huge_cost():
    _, curves = initialization.run(configured(initialization, init="random", epochs=2))
    assert curves["train_loss"][0] > 10


@pytest.mark.slow
def test_adam_beats_gd_at_the_small_rate_and_decay_lifts_gd():
    """5000 epochs on moons, mini-batches of 64, α = 0.0007 (see the experiment's docstring)."""
    config = optimizers.get_config()
    adam, _ = optimizers.run(configured(optimizers, optimizer="adam"))
    gd, _ = optimizers.run(configured(optimizers, optimizer="gd"))
    decayed, _ = optimizers.run(configured(optimizers, optimizer="gd", decay=True,
                                           learning_rate=config.decay_learning_rate))
    assert adam["final_dev_metric"] >= 0.93 and adam["final_train_metric"] >= 0.93
    assert gd["final_dev_metric"] <= adam["final_dev_metric"] - 0.15
    assert gd["final_train_metric"] <= adam["final_train_metric"] - 0.15
    assert decayed["final_dev_metric"] >= gd["final_dev_metric"] + 0.15
    assert decayed["final_dev_metric"] >= 0.9


def test_optimizer_hyperparameters_follow_the_structure():
    names = lambda **kw: set(optimizers.build(configured(optimizers, **kw)).hparams)  # noqa: E731
    assert names(optimizer="gd") == {"learning_rate"}
    assert names(optimizer="momentum") == {"learning_rate", "beta1"}
    assert names(optimizer="adam", decay=True) == {"learning_rate", "beta1", "beta2", "decay_rate"}


@pytest.mark.slow
def test_deep_mlp_population_is_one_vmapped_program():
    trainable = deep_mlp.build(configured(deep_mlp, epochs=2))
    rates = jnp.asarray([1e-3, 3e-3, 1e-2, 10.0])
    hparams = {k: jnp.full((4,), v, jnp.float32) for k, v in trainable.hparams.items()}
    hparams.update(learning_rate=rates, beta1=jnp.asarray([0.9, 0.8, 0.95, 0.9]))
    keys = jax.random.split(jax.random.key(0), 4)
    metrics = jax.jit(jax.vmap(trainable.train))(hparams, keys)
    assert metrics["final_dev_metric"].shape == (4,) and metrics["dev_metric"].shape == (4, 2)
    single = jax.jit(trainable.train)({k: v[1] for k, v in hparams.items()}, keys[1])
    np.testing.assert_allclose(metrics["final_dev_metric"][1], single["final_dev_metric"], atol=1e-6)
    assert float(metrics["final_dev_metric"][1]) >= 0.8


def test_regularization_reduces_the_train_dev_gap():
    cases = regularization.compare(regularization.get_config())
    none, l2, dropout = (cases[label] for label in cases)
    assert none["final_train_metric"] == 1.0
    assert none["train_dev_gap"] >= 0.15
    assert l2["train_dev_gap"] <= none["train_dev_gap"] - 0.08
    assert l2["final_dev_metric"] >= none["final_dev_metric"] + 0.05
    assert dropout["train_dev_gap"] <= none["train_dev_gap"] - 0.05


def test_gradient_check_passes_and_catches_the_planted_bug():
    good = gradient_check.check(gradient_check.get_config())
    assert good["difference"] < 1e-6 and not good["bug_detected"]
    bad = gradient_check.check(configured(gradient_check, plant_bug=True))
    assert bad["difference"] > 1e-3 and bad["bug_detected"]
    worst = sorted(bad["per_parameter"], key=bad["per_parameter"].get)[-2:]
    assert set(worst) == {"W2", "b1"}


def test_batch_norm_trains_the_deep_sigmoid_network():
    summaries, _ = batch_norm.compare(batch_norm.get_config())
    without, with_bn = summaries["without batch norm"], summaries["with batch norm"]
    assert with_bn["final_dev_metric"] >= 0.9
    assert without["final_dev_metric"] <= 0.5


def test_softmax_regression_on_digits():
    summary, _ = softmax.run(configured(softmax, epochs=15))
    assert summary["final_dev_metric"] >= 0.9 and summary["test_metric"] >= 0.88


def test_bad_structural_values_raise_value_error():
    with pytest.raises(ValueError, match="optimizer"):
        deep_mlp.build(configured(deep_mlp, optimizer="adagrad"))
    with pytest.raises(ValueError, match="init"):
        initialization.build(configured(initialization, init="orthogonal"))
    with pytest.raises(ValueError, match="model"):
        softmax.build(configured(softmax, model="cnn"))


def test_runner_report_writes_the_same_json_it_prints(tmp_path, capsys):
    summary = {"final_dev_metric": jnp.asarray(0.5), "diverged": jnp.asarray(False),
               "curve": np.array([1.0, np.nan])}
    runner.report(summary, str(tmp_path / "run"))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(line) == {"final_dev_metric": 0.5, "diverged": False, "curve": [1.0, None]}
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == json.loads(line)
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["metrics.json"]  # no temp files left
