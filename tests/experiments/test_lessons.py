"""Lesson outcomes on fixed seeds, with each experiment's functions called in-process."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.sweep import Population, stack_hparams
from dlcourse.train import train_trial
from tests.experiments.conftest import lesson

NUMERIC_DEEP_MLP = {"learning_rate", "beta1", "beta2", "l2", "keep_prob"}
TRAINING = ("logistic_regression", "planar", "deep_mlp", "initialization", "regularization", "optimizers",
            "batch_norm", "softmax")


def configured(module, **overrides):
    config = module.get_config()
    config.update(overrides)
    return config


def run(module, **overrides):
    config = configured(module, **overrides)
    return train_trial(module.build(config), seed=config.train_seed)


def test_configs_are_flat_and_numeric_hyperparameters_are_traced():
    for name in TRAINING:
        config = lesson(name).get_config()
        assert all(not hasattr(v, "keys") for v in config.values()), name
        assert "seed" in config and "train_seed" in config
    deep_mlp = lesson("deep_mlp")
    config = deep_mlp.get_config()
    assert NUMERIC_DEEP_MLP <= set(config) and {"hidden", "layers", "optimizer", "epochs",
                                                "batch_size", "seed"} <= set(config)
    assert set(deep_mlp.build(config).hparams) == NUMERIC_DEEP_MLP


def test_logistic_regression_on_breast_cancer():
    summary = run(lesson("logistic_regression"), epochs=300).summary
    assert summary["final_train_accuracy"] >= 0.97
    assert summary["final_dev_accuracy"] >= 0.95 and summary["test_accuracy"] >= 0.95


def test_planar_four_hidden_units_fit_the_flower_and_one_does_not():
    planar = lesson("planar")
    four = run(planar, epochs=3000).summary
    one = run(planar, epochs=3000, hidden=1).summary
    assert four["final_train_accuracy"] >= 0.88 and four["final_dev_accuracy"] >= 0.85
    assert one["final_train_accuracy"] <= four["final_train_accuracy"] - 0.15


def test_zeros_initialization_stays_at_chance_and_he_learns_circles():
    initialization = lesson("initialization")
    zeros = run(initialization, init="zeros", epochs=100)
    assert zeros.summary["final_train_accuracy"] == pytest.approx(0.5, abs=0.02)
    assert zeros.summary["test_accuracy"] == pytest.approx(0.5, abs=0.05)
    assert zeros.curves["train_loss"][-1] == pytest.approx(np.log(2), abs=0.01)  # cost never moves
    he = run(initialization, init="he").summary
    assert he["test_accuracy"] >= 0.9 and he["final_train_accuracy"] >= 0.95


def test_large_random_initialization_starts_with_a_huge_cost():
    curves = run(lesson("initialization"), init="random", epochs=2).curves
    assert curves["train_loss"][0] > 10


@pytest.mark.slow
def test_adam_beats_sgd_at_the_small_rate_and_decay_lifts_sgd():
    """5000 epochs on moons, mini-batches of 64, α = 0.0007 (see the experiment's docstring)."""
    optimizers = lesson("optimizers")
    config = optimizers.get_config()
    adam = run(optimizers, optimizer="adam").summary
    sgd = run(optimizers, optimizer="sgd").summary
    decayed = run(optimizers, optimizer="sgd", decay=True, learning_rate=config.decay_learning_rate).summary
    assert adam["final_dev_accuracy"] >= 0.93 and adam["final_train_accuracy"] >= 0.93
    assert sgd["final_dev_accuracy"] <= adam["final_dev_accuracy"] - 0.15
    assert sgd["final_train_accuracy"] <= adam["final_train_accuracy"] - 0.15
    assert decayed["final_dev_accuracy"] >= sgd["final_dev_accuracy"] + 0.15
    assert decayed["final_dev_accuracy"] >= 0.9


def test_optimizer_hyperparameters_follow_the_structure():
    optimizers = lesson("optimizers")
    build = lambda **kw: optimizers.build(configured(optimizers, **kw))  # noqa: E731
    assert set(build(optimizer="sgd").hparams) == {"learning_rate"}
    assert set(build(optimizer="momentum").hparams) == {"learning_rate", "beta1"}
    assert set(build(optimizer="adam", decay=True).hparams) == {"learning_rate", "beta1", "beta2", "decay_rate"}
    assert set(build(optimizer="sgd").unread) == {"beta1", "beta2", "decay_rate"}
    assert build(optimizer="adam").unread == {"decay_rate": "decay=False (no learning-rate decay)"}


def test_deep_mlp_population_is_one_vmapped_program():
    trainable = lesson("deep_mlp").build(configured(lesson("deep_mlp"), epochs=2))
    values = [{"learning_rate": lr, "beta1": b1} for lr, b1 in ((1e-3, 0.9), (3e-3, 0.8), (1e-2, 0.95), (10.0, 0.9))]
    hparams = stack_hparams(trainable, values)
    metrics = Population(trainable, jax.devices()[:1], swept=("learning_rate", "beta1")).run(hparams, 0, [0, 1, 2, 3])
    assert metrics["final_dev_accuracy"].shape == (4,) and metrics["dev_accuracy"].shape == (4, 2)
    from dlcourse.sweep import trial_keys
    single = jax.jit(trainable.train)({k: jnp.float32(v[1]) for k, v in hparams.items()}, trial_keys(0, [1])[0])
    np.testing.assert_allclose(metrics["final_dev_accuracy"][1], single["final_dev_accuracy"], atol=1e-6)
    assert float(metrics["final_dev_accuracy"][1]) >= 0.8


def test_regularization_reduces_the_train_dev_gap():
    regularization = lesson("regularization")
    cases = regularization.compare(regularization.get_config())["cases"]
    none, l2, dropout = (cases[label] for label in cases)
    assert none["final_train_accuracy"] == 1.0
    assert none["train_dev_gap"] >= 0.15
    assert l2["train_dev_gap"] <= none["train_dev_gap"] - 0.08
    assert l2["final_dev_accuracy"] >= none["final_dev_accuracy"] + 0.05
    assert dropout["train_dev_gap"] <= none["train_dev_gap"] - 0.05


def test_gradient_check_passes_and_catches_the_planted_bug():
    gradient_check = lesson("gradient_check")
    good = gradient_check.check(gradient_check.get_config())
    assert good["difference"] < 1e-6 and not good["bug_detected"]
    bad = gradient_check.check(configured(gradient_check, plant_bug=True))
    assert bad["difference"] > 1e-3 and bad["bug_detected"]
    worst = sorted(bad["per_parameter"], key=bad["per_parameter"].get)[-2:]
    assert set(worst) == {"W2", "b1"}


def test_batch_norm_trains_the_deep_sigmoid_network(tmp_path):
    batch_norm = lesson("batch_norm")
    cases = batch_norm.compare(batch_norm.get_config(), str(tmp_path))["cases"]
    without, with_bn = cases["without batch norm"], cases["with batch norm"]
    assert with_bn["final_dev_accuracy"] >= 0.9
    assert without["final_dev_accuracy"] <= 0.5
    assert (tmp_path / "comparison.png").read_bytes().startswith(b"\x89PNG")


def test_softmax_regression_on_digits():
    summary = run(lesson("softmax"), epochs=15).summary
    assert summary["final_dev_accuracy"] >= 0.9 and summary["test_accuracy"] >= 0.88


def test_bad_structural_values_raise_value_error():
    with pytest.raises(ValueError, match="optimizer"):
        lesson("deep_mlp").build(configured(lesson("deep_mlp"), optimizer="adagrad"))
    with pytest.raises(ValueError, match="'sgd'"):
        lesson("optimizers").build(configured(lesson("optimizers"), optimizer="gd"))
    with pytest.raises(ValueError, match="init"):
        lesson("initialization").build(configured(lesson("initialization"), init="orthogonal"))
    with pytest.raises(ValueError, match="model"):
        lesson("softmax").build(configured(lesson("softmax"), model="cnn"))


def test_a_sweep_of_deep_mlp_compiles_one_program_per_structural_group_and_nothing_else():
    """Building the experiment (data, model probes) and deriving the trials' keys compile nothing:
    two structural groups, two XLA programs."""
    from dlcourse.sweep import parse_spec, run_sweep
    from tests.compilations import count_compilations

    deep_mlp = lesson("deep_mlp")
    config = configured(deep_mlp, epochs=1)
    spaces = parse_spec("learning_rate=log(1e-3,1e-1),hidden=choice(8,16)")
    with count_compilations() as compiled:
        records = run_sweep(deep_mlp.build, config, spaces, search="grid", trials=4, seed=0)
    assert len(records) == 4 and len(compiled) == 2
