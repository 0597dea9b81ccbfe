"""The interface: chain, apply_updates, interoperation with optax."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import optim


def test_optimizer_works_with_optax_apply_updates():
    params = {"w": jnp.ones(3)}
    tx = optim.adam(1e-3)
    updates, _ = tx.update({"w": jnp.asarray([1.0, -1.0, 0.0])}, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["w"], [1 - 1e-3, 1 + 1e-3, 1.0], rtol=1e-6)
    assert isinstance(tx, optim.GradientTransformation)


def test_chain_applies_in_order():
    tx = optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.5))
    updates, state = tx.update(jnp.asarray([3.0, 4.0]), tx.init(jnp.zeros(2)))
    np.testing.assert_allclose(updates, [-0.3, -0.4], rtol=1e-6)  # clipped to norm 1, then −α
    assert isinstance(state, tuple) and len(state) == 2


def test_chain_state_length_mismatch_raises():
    tx = optim.chain(optim.scale_by_adam(), optim.sgd(0.1))
    with pytest.raises(ValueError):
        tx.update(jnp.ones(2), (tx.init(jnp.ones(2))[0],))


def test_apply_updates_keeps_dtype_and_none():
    params = {"w": jnp.ones(3, jnp.bfloat16), "skip": None}
    updates = {"w": jnp.full(3, 0.5, jnp.float32), "skip": None}
    new = optim.apply_updates(params, updates)
    assert new["w"].dtype == jnp.bfloat16 and new["skip"] is None
    np.testing.assert_allclose(new["w"].astype(jnp.float32), 1.5)
