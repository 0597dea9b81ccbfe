"""The composable pieces: against optax's, in chains in both directions, and their states."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim

from .trees import assert_same_run


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (optim.chain(optim.scale_by_adam(), optim.scale_by_learning_rate(1e-2)),
         optax.chain(optax.scale_by_adam(), optax.scale_by_learning_rate(1e-2))),
        (optim.chain(optim.scale_by_rms(0.95, 1e-3), optim.scale_by_learning_rate(1e-2)),
         optax.chain(optax.scale_by_rms(0.95, 1e-3, eps_in_sqrt=False),
                     optax.scale_by_learning_rate(1e-2))),
        (optim.chain(optim.scale_by_momentum(0.7, exponential_average=False),
                     optim.scale_by_learning_rate(1e-2)),
         optax.chain(optax.trace(0.7), optax.scale_by_learning_rate(1e-2))),
        (optim.chain(optim.add_decayed_weights(0.1), optim.scale_by_learning_rate(1e-2)),
         optax.chain(optax.add_decayed_weights(0.1), optax.scale_by_learning_rate(1e-2))),
        (optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1)),
         optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1))),
        (optim.chain(optim.clip_by_global_norm(100.0), optim.sgd(0.1)),  # never clips
         optax.chain(optax.clip_by_global_norm(100.0), optax.sgd(0.1))),
        (optim.scale_by_learning_rate(0.1, flip_sign=False), optax.scale(0.1)),
        # mixing: optax's pieces inside our chain, ours inside optax's
        (optim.chain(optax.clip_by_global_norm(1.0), optim.adam(1e-2)),
         optax.chain(optim.clip_by_global_norm(1.0), optax.adam(1e-2))),
    ],
)
def test_matches_optax(ours, theirs, tree_and_grads):
    assert_same_run(ours, theirs, tree_and_grads)


def test_clip_by_global_norm_bounds_the_norm():
    tx = optim.clip_by_global_norm(2.0)
    updates = {"a": jnp.asarray([3.0, 0.0]), "b": (jnp.asarray([[4.0]]),)}  # norm 5
    clipped, _ = tx.update(updates, tx.init(updates))
    norm = jnp.sqrt(sum(jnp.sum(x**2) for x in jax.tree.leaves(clipped)))
    np.testing.assert_allclose(norm, 2.0, rtol=1e-6)
    np.testing.assert_allclose(clipped["a"], [1.2, 0.0], rtol=1e-6)


def test_add_decayed_weights_needs_params():
    tx = optim.add_decayed_weights(0.1)
    with pytest.raises(ValueError, match="params"):
        tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_states_are_namedtuples_with_int32_counts():
    params = {"w": jnp.ones((2, 3))}
    for tx in [optim.scale_by_adam(), optim.scale_by_momentum(), optim.scale_by_rms(),
               optim.scale_by_learning_rate(optim.exponential_decay(0.1, 0.9))]:
        state = tx.init(params)
        assert hasattr(state, "_fields")
        _, state = jax.jit(tx.update)(params, state, params)
        if "count" in state._fields:
            assert state.count.dtype == jnp.int32 and int(state.count) == 1


def test_count_saturates_instead_of_overflowing():
    tx = optim.scale_by_adam()
    state = tx.init(jnp.ones(2))._replace(count=jnp.asarray(np.iinfo(np.int32).max, jnp.int32))
    updates, state = tx.update(jnp.ones(2), state)
    assert int(state.count) == np.iinfo(np.int32).max
    assert bool(jnp.all(jnp.isfinite(updates)))


def test_scheduled_weight_decay_matches_optax(tree_and_grads):
    ours = optim.adamw(1e-2, weight_decay=optim.exponential_decay(0.3, 0.9))
    theirs = optax.adamw(1e-2, weight_decay=optax.exponential_decay(0.3, 1, 0.9))
    assert_same_run(ours, theirs, tree_and_grads)


def test_scheduled_weight_decay_is_evaluated_at_the_step_count():
    tx = optim.add_decayed_weights(lambda count: 0.5 / (1.0 + count))
    params = jnp.asarray([2.0, -4.0])
    state = tx.init(params)
    for step in range(3):
        updates, state = tx.update(jnp.zeros(2), state, params)
        np.testing.assert_allclose(updates, 0.5 / (1 + step) * params, rtol=1e-6)
    assert state.count.dtype == jnp.int32 and int(state.count) == 3


def test_adamw_weight_decay_and_mask_are_keyword_only():
    # optax.adamw's fifth positional argument is eps_root: a positional 0.01 must not be taken
    # for a weight decay here
    with pytest.raises(TypeError):
        optim.adamw(1e-3, 0.9, 0.999, 1e-8, 0.01)
