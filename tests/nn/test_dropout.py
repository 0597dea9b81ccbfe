import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.nn import Dropout, dropout


def test_keep_prob_one_is_identity():
    a = jax.random.normal(jax.random.key(0), (50, 20))
    np.testing.assert_array_equal(dropout(jax.random.key(1), a, 1.0), a)
    np.testing.assert_array_equal(dropout(jax.random.key(1), a, jnp.float32(1.0)), a)


def test_expectation_and_keep_fraction():
    a = jnp.full((400, 500), 3.0)
    out = np.asarray(dropout(jax.random.key(2), a, jnp.float32(0.8)))
    kept = out != 0
    assert kept.mean() == pytest.approx(0.8, abs=0.005)
    np.testing.assert_allclose(out[kept], 3.0 / 0.8, rtol=1e-6)  # survivors scaled by 1/keep_prob
    assert out.mean() == pytest.approx(3.0, rel=0.01)  # inverted dropout keeps E[a]


def test_traced_keep_prob_under_vmap():
    a = jnp.ones((1000,))
    keep = jnp.array([0.25, 0.5, 1.0])
    out = jax.jit(jax.vmap(lambda p: dropout(jax.random.key(3), a, p)))(keep)
    np.testing.assert_allclose((out != 0).mean(axis=1), keep, atol=0.05)
    np.testing.assert_array_equal(out[2], a)


def test_bad_keep_prob():
    with pytest.raises(ValueError, match="1.5"):
        dropout(jax.random.key(0), jnp.ones(3), 1.5)
    with pytest.raises(ValueError, match="keep_prob"):
        dropout(jax.random.key(0), jnp.ones(3), 0.0)


def test_module_uses_dropout_rng_and_is_identity_at_test_time():
    layer = Dropout()
    a = jnp.ones((4, 6))
    out = layer.apply({}, a, 0.5, train=True, rngs={"dropout": jax.random.key(5)})
    assert out.shape == a.shape
    assert set(np.unique(np.asarray(out))) == {0.0, 2.0}
    again = layer.apply({}, a, 0.5, train=True, rngs={"dropout": jax.random.key(5)})
    np.testing.assert_array_equal(out, again)  # the mask is a function of the key
    np.testing.assert_array_equal(layer.apply({}, a, 0.5, train=False), a)


def test_dropout_accepts_python_float_under_jit():
    a = jnp.ones((4, 5))
    out = jax.jit(lambda key, a: dropout(key, a, 0.5))(jax.random.key(0), a)
    assert set(np.unique(np.asarray(out))) <= {0.0, 2.0}


def test_dropout_at_keep_prob_one_is_the_identity_under_vmap_and_jit():
    a = jax.random.normal(jax.random.key(1), (3, 4))
    out = jax.jit(jax.vmap(lambda k: dropout(k, a, jnp.float32(1.0))))(jax.random.split(jax.random.key(0), 2))
    np.testing.assert_array_equal(out, np.broadcast_to(a, (2, 3, 4)))
    half = jax.jit(jax.vmap(lambda k, p: dropout(k, a, p)))(jax.random.split(jax.random.key(0), 2),
                                                            jnp.float32([1.0, 0.5]))
    np.testing.assert_array_equal(half[0], a)
    assert (half[1] == 0).any()
