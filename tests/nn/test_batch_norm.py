from functools import partial

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from dlcourse.nn import BatchNorm, batch_norm_inference, batch_norm_train, update_running_average


def _data(shape=(16, 5), seed=0):
    return 2.0 + 3.0 * jax.random.normal(jax.random.key(seed), shape)


def test_pure_train_matches_numpy():
    z = _data()
    gamma = jnp.arange(1.0, 6.0)
    beta = jnp.linspace(-1, 1, 5)
    out, mean, var = batch_norm_train(z, gamma, beta, 1e-5)
    zn = np.asarray(z, np.float64)
    mu, s2 = zn.mean(0), zn.var(0)
    np.testing.assert_allclose(mean, mu, rtol=1e-5)
    np.testing.assert_allclose(var, s2, rtol=1e-5)
    np.testing.assert_allclose(out, gamma * (zn - mu) / np.sqrt(s2 + 1e-5) + beta, rtol=1e-4, atol=1e-5)
    # γ = 1, β = 0: each unit has mean 0, variance ≈ 1
    plain, _, _ = batch_norm_train(z, jnp.ones(5), jnp.zeros(5))
    np.testing.assert_allclose(plain.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(plain.var(0), 1, atol=1e-3)


def test_inference_and_running_average():
    z = _data()
    rm, rv = jnp.full(5, 0.5), jnp.full(5, 4.0)
    out = batch_norm_inference(z, 2.0 * jnp.ones(5), jnp.ones(5), rm, rv, 1e-3)
    np.testing.assert_allclose(out, 2.0 * (z - 0.5) / np.sqrt(4.0 + 1e-3) + 1.0, rtol=1e-5)
    np.testing.assert_allclose(update_running_average(jnp.array(1.0), jnp.array(3.0), 0.9), 1.2, rtol=1e-6)


def test_mask_excludes_padding():
    z = _data((12, 3))
    padded = jnp.concatenate([z, 100.0 * jnp.ones((4, 3))])
    mask = jnp.concatenate([jnp.ones(12), jnp.zeros(4)])
    _, mean, var = batch_norm_train(padded, jnp.ones(3), jnp.zeros(3), mask=mask)
    _, mean_ref, var_ref = batch_norm_train(z, jnp.ones(3), jnp.zeros(3))
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-5)
    np.testing.assert_allclose(var, var_ref, rtol=1e-5)


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 3, 5)])
def test_module_equals_flax_batch_norm(shape):
    x1, x2 = _data(shape, 1), _data(shape, 2) * 0.5
    ours, theirs = BatchNorm(), flax_nn.BatchNorm()
    v_ours = ours.init(jax.random.key(0), x1, train=True)
    v_theirs = theirs.init(jax.random.key(0), x1, use_running_average=False)
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), v_ours, v_theirs)  # same layout
    # make γ, β non-trivial, same for both
    params = {"scale": jnp.linspace(0.5, 2, shape[-1]), "bias": jnp.linspace(-1, 1, shape[-1])}
    v_ours = {"params": params, "batch_stats": v_ours["batch_stats"]}
    v_theirs = {"params": params, "batch_stats": v_theirs["batch_stats"]}
    for x in (x1, x2):  # two training steps update the running averages
        y_ours, s_ours = ours.apply(v_ours, x, train=True, mutable=["batch_stats"])
        y_theirs, s_theirs = theirs.apply(v_theirs, x, use_running_average=False, mutable=["batch_stats"])
        np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-4, atol=1e-4)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), s_ours, s_theirs)
        v_ours = {"params": params, **s_ours}
        v_theirs = {"params": params, **s_theirs}
    np.testing.assert_allclose(  # the convention: ra = m·ra + (1−m)·batch, twice from 0
        v_ours["batch_stats"]["mean"],
        0.99 * 0.01 * x1.reshape(-1, shape[-1]).mean(0) + 0.01 * x2.reshape(-1, shape[-1]).mean(0),
        rtol=1e-4,
    )
    y_ours = ours.apply(v_ours, x1, train=False)
    y_theirs = theirs.apply(v_theirs, x1, use_running_average=True)
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-5, atol=1e-5)


def test_axis_name_averages_statistics_across_devices():
    devices = np.array(jax.devices()[:4])
    assert len(devices) == 4
    mesh = Mesh(devices, ("data",))
    x = _data((16, 5), 3)
    module = BatchNorm(axis_name="data")
    variables = module.init(jax.random.key(0), x, train=True)

    @partial(jax.shard_map, mesh=mesh, in_specs=(P(), P("data")), out_specs=(P("data"), P()))
    def sharded(variables, x):
        y, state = module.apply(variables, x, train=True, mutable=["batch_stats"])
        return y, state

    y, state = jax.jit(sharded)(variables, x)
    y_ref, state_ref = BatchNorm().apply(variables, x, train=True, mutable=["batch_stats"])
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), state, state_ref)


def test_all_zero_mask_gives_finite_statistics_and_output():
    z = _data((6, 3))
    out, mean, var = batch_norm_train(z, jnp.ones(3), jnp.zeros(3), mask=jnp.zeros(6))
    for x in (out, mean, var):
        assert bool(jnp.all(jnp.isfinite(x)))
    np.testing.assert_array_equal(mean, np.zeros(3))
    np.testing.assert_array_equal(var, np.zeros(3))
    grad = jax.grad(lambda z: batch_norm_train(z, jnp.ones(3), jnp.zeros(3),
                                               mask=jnp.zeros(6))[0].sum())(z)
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_bfloat16_input_statistics_are_computed_in_float32():
    z = (1000.0 + jax.random.normal(jax.random.key(3), (256, 4))).astype(jnp.bfloat16)
    _, mean, var = batch_norm_train(z, jnp.ones(4), jnp.zeros(4))
    assert mean.dtype == jnp.float32 and var.dtype == jnp.float32
    z64 = np.asarray(z.astype(jnp.float32), np.float64)  # the same bf16 values, exactly
    np.testing.assert_allclose(mean, z64.mean(0), rtol=1e-6)
    np.testing.assert_allclose(var, z64.var(0), rtol=1e-3)
    # and the module agrees with Flax's, which also promotes the statistics (Flax takes the
    # variance as E[z²] − E[z]², less exact at this offset, hence the looser tolerance on it)
    v = BatchNorm().init(jax.random.key(0), z, train=True)
    _, ours = BatchNorm().apply(v, z, train=True, mutable=["batch_stats"])
    _, theirs = flax_nn.BatchNorm().apply(v, z, use_running_average=False, mutable=["batch_stats"])
    np.testing.assert_allclose(ours["batch_stats"]["mean"], theirs["batch_stats"]["mean"], rtol=1e-6)
    np.testing.assert_allclose(ours["batch_stats"]["var"], theirs["batch_stats"]["var"], rtol=1e-3)


def test_mlp_with_batch_norm_and_an_all_zero_mask_stays_finite():
    from dlcourse.models import MLP

    model = MLP(layer_sizes=(6, 5), num_outputs=3, batch_norm=True)
    x = _data((8, 4))
    variables = model.init(jax.random.key(0), x, train=True)
    for mask in (jnp.zeros(8), jnp.concatenate([jnp.ones(5), jnp.zeros(3)])):
        y, state = model.apply(variables, x, train=True, mask=mask, mutable=["batch_stats"])
        assert bool(jnp.all(jnp.isfinite(y)))
        assert all(bool(jnp.all(jnp.isfinite(s))) for s in jax.tree.leaves(state))
    # a partial mask equals running the unpadded rows alone (statistics from real examples only)
    y_masked, _ = model.apply(variables, x, train=True, mask=mask, mutable=["batch_stats"])
    y_alone, _ = model.apply(variables, x[:5], train=True, mutable=["batch_stats"])
    np.testing.assert_allclose(y_masked[:5], y_alone, rtol=1e-5, atol=1e-5)
