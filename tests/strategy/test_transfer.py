"""Tests of dlcourse.strategy.transfer, with optax.partition / set_to_zero as the partition."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse.strategy import transfer


class _MLP(nn.Module):
    hidden: tuple = (8, 8, 8)
    outputs: int = 10

    @nn.compact
    def __call__(self, x):
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.outputs, name="head")(x)


@pytest.fixture(scope="module")
def params():
    return _MLP().init(jax.random.key(0), jnp.ones((1, 5)))["params"]


def _trainable_layers(labels):
    return sorted(
        name for name, subtree in labels.items() if set(jax.tree.leaves(subtree)) == {transfer.TRAINABLE}
    )


def test_freeze_all_but_head(params):
    labels = transfer.freeze_all_but_head(params)
    assert jax.tree.structure(labels) == jax.tree.structure(params)
    assert _trainable_layers(labels) == ["head"]
    assert set(jax.tree.leaves(labels["Dense_0"])) == {transfer.FROZEN}


def test_freeze_all_but_last_k(params):
    assert _trainable_layers(transfer.freeze_all_but_last(params, 2)) == ["Dense_2", "head"]
    assert _trainable_layers(transfer.freeze_all_but_last(params, 4)) == ["Dense_0", "Dense_1", "Dense_2", "head"]
    assert _trainable_layers(transfer.freeze_all_but_last(params, 0)) == []
    with pytest.raises(ValueError, match="num_trainable"):
        transfer.freeze_all_but_last(params, 5)


def test_layer_names_override_sorted_keys():
    many = {f"Dense_{index}": {"kernel": jnp.ones(1)} for index in range(12)}
    resorted = jax.tree.map(lambda leaf: leaf, many)  # keys now sorted: Dense_10 before Dense_2
    order = [f"Dense_{index}" for index in range(12)]
    labels = transfer.freeze_all_but_last(resorted, 2, layer_names=order)
    assert _trainable_layers(labels) == ["Dense_10", "Dense_11"]
    with pytest.raises(ValueError, match="layer_names"):
        transfer.freeze_all_but_last(resorted, 2, layer_names=order[:-1])


def test_label_errors(params):
    with pytest.raises(ValueError, match="nope"):
        transfer.layer_labels(params, ["nope"])
    with pytest.raises(ValueError, match=r"variables\['params'\]"):
        transfer.freeze_all_but_head({"params": params})


def test_partition_freezes_exactly_the_frozen_layers(params):
    labels = transfer.freeze_all_but_last(params, 2)
    optimizer = optax.partition({transfer.TRAINABLE: optax.sgd(0.1), transfer.FROZEN: optax.set_to_zero()}, labels)
    x = jax.random.normal(jax.random.key(1), (16, 5))
    y = jax.random.randint(jax.random.key(2), (16,), 0, 10)

    def loss(p):
        return optax.softmax_cross_entropy_with_integer_labels(_MLP().apply({"params": p}, x), y).mean()

    grads = jax.grad(loss)(params)
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    new_params = optax.apply_updates(params, updates)
    for name in ["Dense_0", "Dense_1"]:
        jax.tree.map(np.testing.assert_array_equal, new_params[name], params[name])
    for name in ["Dense_2", "head"]:
        jax.tree.map(
            lambda new, old, g: np.testing.assert_allclose(new, old - 0.1 * g, rtol=1e-6, atol=1e-7),
            new_params[name], params[name], grads[name],
        )


def test_frozen_layers_optimizer_uses_dlcourse_optim(params):
    try:
        from dlcourse.optim import partition, set_to_zero  # noqa: F401
    except ImportError:
        pytest.skip("dlcourse.optim.partition / set_to_zero not available yet")
    labels = transfer.freeze_all_but_head(params)
    optimizer = transfer.frozen_layers_optimizer(optax.sgd(1.0), labels)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, _ = optimizer.update(grads, optimizer.init(params), params)
    assert all(float(jnp.abs(leaf).max()) == 0.0 for leaf in jax.tree.leaves(updates["Dense_0"]))
    assert all(float(leaf.min()) == -1.0 for leaf in jax.tree.leaves(updates["head"]))


def test_replace_head_keeps_body_and_takes_fresh_head(params):
    fresh = _MLP(outputs=5).init(jax.random.key(7), jnp.ones((1, 5)))["params"]
    combined = transfer.replace_head(params, fresh)
    assert list(combined) == list(fresh)
    for name in ["Dense_0", "Dense_1", "Dense_2"]:
        jax.tree.map(np.testing.assert_array_equal, combined[name], params[name])
    assert combined["head"]["kernel"].shape == (8, 5)
    np.testing.assert_array_equal(combined["head"]["kernel"], fresh["head"]["kernel"])
    out = _MLP(outputs=5).apply({"params": combined}, jnp.ones((2, 5)))
    assert out.shape == (2, 5)


def test_replace_head_rejects_mismatched_body(params):
    other = _MLP(hidden=(8, 4, 8), outputs=5).init(jax.random.key(7), jnp.ones((1, 5)))["params"]
    with pytest.raises(ValueError, match="Dense_1"):
        transfer.replace_head(params, other)
    with pytest.raises(ValueError, match="missing"):
        transfer.replace_head(params, other, head_name="missing")


def test_check_sizes_per_class_names_the_bad_value():
    from dlcourse.strategy import check_sizes_per_class

    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    assert check_sizes_per_class([1, 2], labels, 3) == (1, 2)
    with pytest.raises(ValueError, match="positive integers"):
        check_sizes_per_class((0, 2), labels, 3)
    with pytest.raises(ValueError, match="the smallest class of the target task has only 2 training examples"):
        check_sizes_per_class((3,), labels, 3)
    with pytest.raises(ValueError, match="has only 0"):   # a class with no example at all
        check_sizes_per_class((1,), labels, 4)
