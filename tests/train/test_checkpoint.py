"""TrainingCheckpoints: a state pytree with typed keys and optimizer state survives a round trip."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import optim
from dlcourse.train import TrainingCheckpoints


def _state(seed):
    key = jax.random.key(seed)
    params = {"dense": {"kernel": jax.random.normal(key, (3, 2)), "bias": jnp.arange(2.0)}}
    tx = optim.adam(0.1)
    opt_state = tx.init(params)
    _, opt_state = tx.update(params, opt_state, params)  # a non-trivial moment and step count
    return {"params": params, "opt_state": opt_state, "key": jax.random.split(key)[0],
            "raw_key": jax.random.PRNGKey(seed), "step": jnp.int32(7)}


def test_round_trip_restores_values_types_and_record(tmp_path):
    state = _state(1)
    with TrainingCheckpoints(tmp_path, max_to_keep=2) as checkpoints:
        assert checkpoints.latest_epoch() is None
        checkpoints.save(3, state, {"hparams": {"learning_rate": 0.1}, "diverged": False,
                                    "rows": [{"train_loss": float("nan")}]})
    with TrainingCheckpoints(tmp_path) as checkpoints:
        assert checkpoints.latest_epoch() == 3
        restored, record = checkpoints.restore(3, _state(2))
    assert record["epoch"] == 3 and record["diverged"] is False and record["hparams"] == {"learning_rate": 0.1}
    assert np.isnan(record["rows"][0]["train_loss"])
    assert jax.tree.structure(restored) == jax.tree.structure(state)
    assert jnp.issubdtype(restored["key"].dtype, jax.dtypes.prng_key)
    assert restored["opt_state"][0].count.dtype == jnp.int32
    chex.assert_trees_all_equal(jax.random.key_data(restored["key"]), jax.random.key_data(state["key"]))
    without_key = lambda s: {k: v for k, v in s.items() if k != "key"}  # noqa: E731
    chex.assert_trees_all_equal(without_key(restored), without_key(state))
    # The same key continues the same random stream.
    np.testing.assert_array_equal(jax.random.uniform(restored["key"], (4,)),
                                  jax.random.uniform(state["key"], (4,)))


def test_keeps_only_the_newest(tmp_path):
    with TrainingCheckpoints(tmp_path, max_to_keep=2) as checkpoints:
        for epoch in (1, 2, 3):
            checkpoints.save(epoch, _state(epoch), {"last": epoch == 3})
        checkpoints.wait()
        assert checkpoints.latest_epoch() == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.isdigit()) == ["2", "3"]
    with TrainingCheckpoints(tmp_path) as checkpoints:
        restored, record = checkpoints.restore(3, _state(0))
    assert record["last"] is True
    chex.assert_trees_all_equal(restored["params"], _state(3)["params"])


def test_bad_max_to_keep_raises(tmp_path):
    with pytest.raises(ValueError, match="max_to_keep"):
        TrainingCheckpoints(tmp_path, max_to_keep=0)


def test_a_ctrl_c_during_a_save_or_close_is_raised_after_it_and_the_checkpoint_is_whole(tmp_path):
    import os
    import signal

    import jax.numpy as jnp
    import pytest

    from dlcourse.train.checkpoint import TrainingCheckpoints

    checkpoints = TrainingCheckpoints(tmp_path)
    state = {"w": jnp.arange(4.0)}
    original = checkpoints._manager.save

    def save_interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)       # arrives while orbax takes the save
        return original(*args, **kwargs)

    checkpoints._manager.save = save_interrupted
    with pytest.raises(KeyboardInterrupt):
        checkpoints.save(1, state, {"note": "interrupted"})
    checkpoints._manager.wait_until_finished = lambda f=checkpoints._manager.wait_until_finished: (
        os.kill(os.getpid(), signal.SIGINT), f())
    with pytest.raises(KeyboardInterrupt):
        checkpoints.close()
    with TrainingCheckpoints(tmp_path) as again:
        assert again.latest_epoch() == 1
        restored, record = again.restore(1, state)
        assert record["note"] == "interrupted" and restored["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
