"""Automatic chunk sizing: the memory probe, budgets that split a group, no probe for small groups."""

import jax
import numpy as np
import pytest

from dlcourse.sweep import AUTO_CHUNK_ABOVE, ChunkPlan, Population, device_memory_bytes, parse_spec, run_sweep
from tests.sweep import toy_experiment as toy

SPEC = "learning_rate=log(1e-3,1),beta1=1-log(1e-2,0.5)"


def _config(**values):
    config = toy.get_config()
    config.epochs = 1
    for key, value in values.items():
        config[key] = value
    return config


def test_probe_measures_memory_per_trial_and_grows_with_the_model():
    small = Population(toy.build(_config()), memory_budget_bytes=1)
    large = Population(toy.build(_config(features="square", examples=2048)))
    assert 0 < small.memory_per_trial() < large.memory_per_trial()
    assert small.memory_per_trial() == small.memory_per_trial()      # cached
    assert small.max_trials_per_call() == small.device_count          # at least one per device
    per_device = large.memory_budget_bytes // large.memory_per_trial()
    assert large.max_trials_per_call() == per_device * large.device_count > 0


def test_default_budget_is_a_share_of_the_machine():
    memory = device_memory_bytes(jax.devices()[0])
    assert memory > 0 and memory == device_memory_bytes(jax.devices()[0])
    assert 0 < Population(toy.build(_config())).memory_budget_bytes <= memory


def _metrics(records):
    return {name: np.asarray([r["metrics"][name] for r in records], np.float64)
            for name in records[0]["metrics"]}


def test_small_budget_splits_a_group_into_chunks_equal_to_one_call():
    spaces, trials = parse_spec(SPEC), AUTO_CHUNK_ABOVE + 44
    per_trial = Population(toy.build(_config()), swept=list(spaces)).memory_per_trial()
    whole_progress, plans, chunked_progress = [], [], []
    whole = run_sweep(toy.build, _config(), spaces, trials=trials, seed=2, on_chunk=whole_progress.append,
                      on_plan=plans.append)
    assert len(whole_progress) == 1 and plans == []                    # fits: one call, as before
    chunked = run_sweep(toy.build, _config(), spaces, trials=trials, seed=2,
                        memory_budget_bytes=20 * per_trial, on_chunk=chunked_progress.append,
                        on_plan=plans.append)
    # 20 trials per device x 4 devices: the fewest chunks of at most 80 -> 4 chunks of 75.
    assert [len(p.chunk_ids) for p in chunked_progress] == [75, 75, 75, 75]
    assert plans == [ChunkPlan(0, {}, trials, 4, 75, per_trial, 20 * per_trial)]
    assert "300 trials in 4 chunks of <= 75" in plans[0].describe()
    assert [r["id"] for r in chunked] == [r["id"] for r in whole]
    assert [r["hparams"] for r in chunked] == [r["hparams"] for r in whole]
    for name, value in _metrics(whole).items():
        np.testing.assert_allclose(_metrics(chunked)[name], value, rtol=1e-6, atol=1e-6, err_msg=name)


def test_small_groups_and_explicit_chunks_do_not_probe(monkeypatch):
    def probe(self):
        raise AssertionError("the memory probe ran")
    monkeypatch.setattr(Population, "memory_per_trial", probe)
    spaces = parse_spec(SPEC)
    progress = []
    run_sweep(toy.build, _config(), spaces, trials=AUTO_CHUNK_ABOVE, seed=1, memory_budget_bytes=1,
              on_chunk=progress.append)
    assert len(progress) == 1
    progress.clear()
    run_sweep(toy.build, _config(), spaces, trials=AUTO_CHUNK_ABOVE + 1, seed=1, chunk=200,
              memory_budget_bytes=1, on_chunk=progress.append)
    assert [len(p.chunk_ids) for p in progress] == [129, 128]


if __name__ == "__main__":
    pytest.main([__file__])
