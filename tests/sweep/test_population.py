"""Populations: equal to single trials, sharding-invariant, one compile per group, divergence isolated."""

import jax
import numpy as np
import pytest

from dlcourse.sweep import Population, parse_spec, plan_chunks, run_sweep, stack_hparams, trial_keys
from tests.compilations import count_compilations
from tests.sweep import toy_experiment as toy

LEARNING_RATES = [0.1, 1e6, 0.01, 0.3, 0.05]   # trial 1 diverges
BETAS = [0.9, 0.9, 0.5, 0.95, 0.0]


@pytest.fixture(scope="module")
def trainable():
    return toy.build(toy.get_config())


@pytest.fixture(scope="module")
def inputs(trainable):
    values = [{"learning_rate": lr, "beta1": b} for lr, b in zip(LEARNING_RATES, BETAS)]
    return stack_hparams(trainable, values), 0, list(range(len(values)))


@pytest.fixture(scope="module")
def one_device(trainable, inputs):
    return Population(trainable, jax.devices()[:1]).run(*inputs)


def test_stack_hparams_fills_defaults_and_rejects_unknown(trainable):
    stacked = stack_hparams(trainable, [{"learning_rate": 0.5}, {}])
    np.testing.assert_array_equal(stacked["learning_rate"], np.float32([0.5, 0.1]))
    np.testing.assert_array_equal(stacked["l2"], np.float32([0.0, 0.0]))
    with pytest.raises(ValueError, match="hidden"):
        stack_hparams(trainable, [{"hidden": 3}])


def test_trial_keys_are_fold_in_of_seed_and_id():
    keys = trial_keys(5, [0, 7])
    np.testing.assert_array_equal(keys[1], np.asarray(jax.random.fold_in(jax.random.PRNGKey(5), 7)))
    assert not np.array_equal(keys[0], keys[1])


def test_population_equals_each_trial_alone(trainable, inputs, one_device):
    hparams, seed, ids = inputs
    keys = trial_keys(seed, ids)
    single = jax.jit(trainable.train)
    for i in range(len(keys)):
        alone = single({k: v[i] for k, v in hparams.items()}, keys[i])
        for name, value in alone.items():
            np.testing.assert_allclose(one_device[name][i], np.asarray(value), rtol=1e-6, atol=1e-6,
                                       err_msg=f"trial {i} {name}")


def test_diverged_trial_is_marked_and_others_are_untouched(trainable, one_device):
    assert one_device["diverged"].tolist() == [False, True, False, False, False]
    assert one_device["epochs_run"][1] < trainable.epochs
    assert np.isnan(one_device["best_dev_accuracy"][1])
    others = [0, 2, 3, 4]
    assert (one_device["epochs_run"][others] == trainable.epochs).all()
    assert np.isfinite(one_device["train_loss"][others]).all()
    assert (one_device["best_dev_accuracy"][others] > 0.6).all()


def test_four_device_sharded_population_equals_one_device(trainable, inputs, one_device):
    assert len(jax.devices()) == 4
    population = Population(trainable)
    assert population.device_count == 4 and population.padded_size(5) == 8
    sharded = population.run(*inputs)
    for name, value in one_device.items():
        np.testing.assert_allclose(sharded[name], value, rtol=1e-6, atol=1e-6, err_msg=name)


def test_plan_chunks_is_a_function_of_ids():
    assert plan_chunks([5, 1, 3], None, 4) == [[1, 3, 5]]
    assert plan_chunks(list(range(10)), 4, 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    # Balanced: 9 trials in chunks of at most 8 -> two chunks of 5 and 4.
    assert plan_chunks(list(range(9)), 8, 2) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]
    # Chunk size is rounded down to a multiple of the device count (at least one per device).
    assert plan_chunks(list(range(6)), 5, 4) == [[0, 1, 2], [3, 4, 5]]
    assert plan_chunks(list(range(3)), 1, 4) == [[0, 1, 2]]
    with pytest.raises(ValueError, match="chunk"):
        plan_chunks([0], 0, 1)


def _with(config, **values):
    config = config.copy_and_resolve_references()
    config.update(values)
    return config


def test_one_compile_per_structural_group():
    config = toy.get_config()
    config.epochs = 3
    spaces = parse_spec("learning_rate=log(1e-3,1),features=choice(linear,square)")
    progress = []
    before = toy.TRACES["epoch"]
    for features in ("linear", "square"):   # the experiment's own data conversions, outside the count
        toy.build(_with(config, features=features))
    with count_compilations() as compiled:
        records = run_sweep(toy.build, config, spaces, search="grid", trials=14, seed=1, chunk=4,
                            on_chunk=progress.append)
    assert toy.TRACES["epoch"] - before == 2          # two groups, several chunks each
    assert len(compiled) == 2                         # one XLA program per group: keys, data, nothing else
    assert len(records) == 14 and [r["id"] for r in records] == list(range(14))
    groups = {p.structure["features"] for p in progress}
    assert groups == {"linear", "square"} and len(progress) >= 4
    assert progress[-1].done == 14 and progress[-1].total == 14
    assert all(r["status"] == "ok" and len(r["metrics"]["dev_accuracy"]) == 3 for r in records)
    # Resumed with every trial recorded: nothing is built or compiled.
    with count_compilations() as compiled:
        again = run_sweep(toy.build, config, spaces, search="grid", trials=14, seed=1, chunk=4, finished=records)
    assert again == records and len(compiled) == 0 and toy.TRACES["epoch"] - before == 2


def test_unswept_hyperparameters_enter_as_shared_scalars(trainable, inputs, one_device):
    hparams, seed, ids = inputs
    population = Population(trainable, jax.devices()[:1], swept=["learning_rate", "beta1"])
    partial = population.run(hparams, seed, ids)
    for name, value in one_device.items():
        np.testing.assert_allclose(partial[name], value, rtol=1e-6, atol=1e-6, err_msg=name)
    differing = dict(hparams, l2=np.float32([0.0, 0.1, 0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="l2 is not swept"):
        population.run(differing, seed, ids)
    with pytest.raises(ValueError, match="not hyperparameters"):
        Population(trainable, swept=["hidden"])
