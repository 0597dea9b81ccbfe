"""dlcourse.nn.gradient_clipping: by value and by global norm on pytrees, worked by hand and equal to
optax.clip / optax.clip_by_global_norm / optax.tree.norm; thresholds may be traced (vmapped)."""
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import nn as dnn


def gradients():
    return {"W_aa": jnp.asarray([[3.0, -12.0], [0.5, 0.0]]), "b_a": jnp.asarray([-4.0, 2.0]),
            "layers": [jnp.asarray([1.5], jnp.float16)]}


def test_by_value_worked_by_hand_and_equal_to_optax_clip():
    clipped = dnn.clip_gradients_by_value(gradients(), 2.0)
    np.testing.assert_array_equal(clipped["W_aa"], [[2.0, -2.0], [0.5, 0.0]])
    np.testing.assert_array_equal(clipped["b_a"], [-2.0, 2.0])
    assert clipped["layers"][0].dtype == jnp.float16
    expected, _ = optax.clip(2.0).update(gradients(), optax.clip(2.0).init(gradients()))
    jax.tree.map(np.testing.assert_array_equal, clipped, expected)


def test_by_global_norm_worked_by_hand_and_equal_to_optax():
    small = {"a": jnp.asarray([3.0, 4.0])}
    assert dnn.global_norm(small) == 5.0
    np.testing.assert_allclose(dnn.clip_gradients_by_global_norm(small, 1.0)["a"], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(dnn.clip_gradients_by_global_norm(small, 5.5)["a"], [3.0, 4.0])  # below: unchanged
    np.testing.assert_allclose(dnn.global_norm(gradients()), optax.tree.norm(gradients()), rtol=1e-6)
    for max_norm in (0.5, 13.0, 100.0):  # the norm is about 13.35
        ours = dnn.clip_gradients_by_global_norm(gradients(), max_norm)
        tx = optax.clip_by_global_norm(max_norm)
        theirs, _ = tx.update(gradients(), tx.init(gradients()))
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3 if a.dtype == jnp.float16 else 1e-6),
                     ours, theirs)


def test_thresholds_are_traced_values():
    thresholds = jnp.asarray([1.0, 2.0, 20.0])
    norms = jax.jit(jax.vmap(lambda t: dnn.global_norm(dnn.clip_gradients_by_global_norm({"g": jnp.ones(4) * 3}, t))))(
        thresholds)
    np.testing.assert_allclose(norms, [1.0, 2.0, 6.0], rtol=1e-6)
    largest = jax.vmap(lambda t: dnn.clip_gradients_by_value(jnp.asarray([-5.0, 0.5, 5.0]), t))(thresholds)
    np.testing.assert_array_equal(largest[:, 2], [1.0, 2.0, 5.0])


def test_non_positive_thresholds_are_named():
    with pytest.raises(ValueError, match=r"max_value must lie in \(0.0, inf\), got 0.0"):
        dnn.clip_gradients_by_value(gradients(), 0.0)
    with pytest.raises(ValueError, match=r"max_norm must lie in \(0.0, inf\), got -1.0"):
        dnn.clip_gradients_by_global_norm(gradients(), -1.0)
