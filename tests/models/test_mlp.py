import chex
import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import losses
from dlcourse.models import MLP


def _x(shape=(32, 6), seed=0):
    return jax.random.normal(jax.random.key(seed), shape)


def test_layer_shapes_and_he_variance():
    model = MLP(layer_sizes=(500, 400), num_outputs=3)
    params = model.init(jax.random.key(0), _x((2, 300)), train=False)["params"]
    assert [params[k]["kernel"].shape for k in ("dense_1", "dense_2", "output")] == [(300, 500), (500, 400), (400, 3)]
    assert float(jnp.var(params["dense_1"]["kernel"])) == pytest.approx(2 / 300, rel=0.03)
    assert float(jnp.var(params["dense_2"]["kernel"])) == pytest.approx(2 / 500, rel=0.03)
    np.testing.assert_array_equal(params["dense_1"]["bias"], 0)
    xavier = MLP((500,), 1, kernel_init="xavier").init(jax.random.key(1), _x((2, 300)), train=False)["params"]
    assert float(jnp.var(xavier["dense_1"]["kernel"])) == pytest.approx(1 / 300, rel=0.03)


def test_forward_equals_plain_flax_network():
    model = MLP(layer_sizes=(8, 5), num_outputs=2, activation="tanh")
    x = _x()
    params = model.init(jax.random.key(0), x, train=False)["params"]

    class Reference(flax_nn.Module):
        @flax_nn.compact
        def __call__(self, x):
            x = jnp.tanh(flax_nn.Dense(8, name="dense_1")(x))
            x = jnp.tanh(flax_nn.Dense(5, name="dense_2")(x))
            return flax_nn.Dense(2, name="output")(x)

    np.testing.assert_allclose(
        model.apply({"params": params}, x, train=False), Reference().apply({"params": params}, x), rtol=1e-6
    )
    probs = MLP((8, 5), 2, activation="tanh", output="softmax").apply({"params": params}, x, train=False)
    np.testing.assert_allclose(probs, jax.nn.softmax(Reference().apply({"params": params}, x)), rtol=1e-6)


def test_zeros_init_keeps_hidden_units_symmetric():
    model = MLP((4,), 1, kernel_init="zeros")
    x, y = _x((16, 3)), (jnp.arange(16) % 2).astype(jnp.float32)
    params = model.init(jax.random.key(0), x, train=False)["params"]
    grads = jax.grad(lambda p: losses.sigmoid_binary_cross_entropy(model.apply({"params": p}, x, train=False),
                                                                   y))(params)
    np.testing.assert_array_equal(grads["dense_1"]["kernel"], 0)  # nothing breaks the symmetry


def test_dropout_only_in_training_and_keep_prob_one_is_identity():
    model = MLP((16, 16), 2, dropout=True)
    x = _x()
    variables = model.init(jax.random.key(0), x, train=False)
    plain = model.apply(variables, x, train=False)
    rngs = {"dropout": jax.random.key(1)}
    same = model.apply(variables, x, train=True, keep_prob=jnp.float32(1.0), rngs=rngs)
    np.testing.assert_allclose(same, plain, rtol=1e-6)
    dropped = model.apply(variables, x, train=True, keep_prob=jnp.float32(0.5), rngs=rngs)
    assert not np.allclose(dropped, plain)
    np.testing.assert_array_equal(model.apply(variables, x, train=False, keep_prob=0.5), plain)


def test_batch_norm_layers_have_no_bias_and_update_stats():
    model = MLP((8,), 3, batch_norm=True)
    x = 5.0 + _x()
    variables = model.init(jax.random.key(0), x, train=False)
    assert "bias" not in variables["params"]["dense_1"]
    assert set(variables["batch_stats"]["batch_norm_1"]) == {"mean", "var"}
    out, state = model.apply(variables, x, train=True, mutable=["batch_stats"])
    z = np.asarray(x) @ np.asarray(variables["params"]["dense_1"]["kernel"])
    np.testing.assert_allclose(state["batch_stats"]["batch_norm_1"]["mean"], 0.01 * z.mean(0), rtol=1e-4, atol=1e-6)
    assert out.shape == (32, 3)


def test_jit_vmap_over_keep_prob_with_batch_norm_and_dropout_trains():
    model = MLP((32, 16), 3, batch_norm=True, dropout=True)
    x = _x((64, 6), 3)
    labels = jnp.argmax(x[:, :3], axis=1)
    variables = model.init(jax.random.key(0), x, train=False)
    optimizer = optax.adam(1e-2)

    def loss_fn(params, batch_stats, keep_prob, lam, key):
        logits, state = model.apply(
            {"params": params, "batch_stats": batch_stats}, x, train=True, keep_prob=keep_prob,
            rngs={"dropout": key}, mutable=["batch_stats"],
        )
        cost = losses.softmax_cross_entropy(logits, labels) + losses.l2_penalty(params, lam, x.shape[0])
        return cost, state["batch_stats"]

    def train(keep_prob, lam, key):
        def step(carry, key):
            params, batch_stats, opt_state = carry
            (cost, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                params, batch_stats, keep_prob, lam, key
            )
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), batch_stats, opt_state), cost

        carry = (variables["params"], variables["batch_stats"], optimizer.init(variables["params"]))
        carry, costs = jax.lax.scan(step, carry, jax.random.split(key, 40))
        logits = model.apply({"params": carry[0], "batch_stats": carry[1]}, x, train=False)
        return costs, jnp.mean(jnp.argmax(logits, -1) == labels)

    keep_probs = jnp.array([1.0, 0.8, 0.5])
    lams = jnp.array([0.0, 0.1, 0.0])
    keys = jax.random.split(jax.random.key(4), 3)
    traced = chex.assert_max_traces(train, n=1)
    costs, accuracy = jax.jit(jax.vmap(traced))(keep_probs, lams, keys)
    assert costs.shape == (3, 40) and bool(jnp.all(jnp.isfinite(costs)))
    assert bool(jnp.all(costs[:, -10:].mean(1) < costs[:, :5].mean(1)))
    assert bool(jnp.all(accuracy > 0.8)), accuracy
    # the traced keep_prob is used: dropout makes the training cost noisier and higher
    assert float(costs[2].mean()) > float(costs[0].mean())


def test_bad_structure():
    with pytest.raises(ValueError, match="probabilities"):
        MLP((4,), 2, output="probabilities").init(jax.random.key(0), _x(), train=False)
    with pytest.raises(ValueError, match="-3"):
        MLP((4, -3), 2).init(jax.random.key(0), _x(), train=False)
