"""masked, set_to_zero and partition against optax's; frozen parameters do not move."""

import chex
import jax
import jax.numpy as jnp
import optax
import pytest

from dlcourse import optim

from .trees import STEPS, assert_same_run, random_tree

MASK = {"dense": {"kernel": True, "bias": False}, "conv": (False, [True, True]), "scalar": False}
# a prefix of the params' structure: one bool for a whole subtree
PREFIX_MASK = {"dense": True, "conv": False, "scalar": True}
LABELS = {"dense": {"kernel": "train", "bias": "frozen"}, "conv": ("frozen", ["train", "train"]),
          "scalar": "frozen"}


def labels_fn(params):
    return jax.tree.map(lambda x: "train" if x.ndim >= 2 else "frozen", params)


@pytest.mark.parametrize("mask", [MASK, PREFIX_MASK, lambda p: MASK], ids=["full", "prefix", "fn"])
def test_masked_matches_optax(mask, tree_and_grads):
    mask_value = mask if not callable(mask) else MASK
    assert_same_run(optim.masked(optim.adam(1e-2), mask),
                    optax.masked(optax.adam(1e-2), mask_value), tree_and_grads)


def test_masked_out_updates_pass_through_unchanged():
    params = {"a": jnp.ones(2), "b": jnp.ones(3)}
    grads = {"a": jnp.asarray([1.0, 2.0]), "b": jnp.asarray([3.0, 4.0, 5.0])}
    tx = optim.masked(optim.momentum(0.1, 0.5), {"a": True, "b": False})
    state = tx.init(params)
    # the inner state holds a velocity for "a" only
    assert [x.shape for x in jax.tree.leaves(state) if x.ndim] == [(2,)]
    updates, _ = tx.update(grads, state, params)
    chex.assert_trees_all_close(updates, {"a": -0.1 * 0.5 * grads["a"], "b": grads["b"]})


def test_set_to_zero():
    params = {"a": jnp.ones(2), "b": (jnp.ones((2, 2)),)}
    tx = optim.set_to_zero()
    updates, _ = tx.update(params, tx.init(params))
    chex.assert_trees_all_equal(updates, jax.tree.map(jnp.zeros_like, params))


@pytest.mark.parametrize("labels", [LABELS, labels_fn], ids=["tree", "fn"])
def test_partition_matches_optax_and_frozen_params_do_not_move(labels, tree_and_grads):
    ours = optim.partition({"train": optim.adam(1e-2), "frozen": optim.set_to_zero()}, labels)
    theirs = optax.partition({"train": optax.adam(1e-2), "frozen": optax.set_to_zero()}, labels)
    final = assert_same_run(ours, theirs, tree_and_grads)
    params = tree_and_grads[0]
    label_tree = labels(params) if callable(labels) else labels
    for label, before, after in zip(jax.tree.leaves(label_tree), jax.tree.leaves(params),
                                    jax.tree.leaves(final)):
        if label == "frozen":
            chex.assert_trees_all_equal(before, after)  # bitwise: not moved at all
        else:
            assert float(jnp.max(jnp.abs(before - after))) > 1e-3


def test_partition_keeps_state_only_for_its_leaves():
    params = {"big": jnp.ones((100,)), "small": jnp.ones((2,))}
    tx = optim.partition({"train": optim.adam(1e-3), "frozen": optim.set_to_zero()},
                         {"big": "frozen", "small": "train"})
    state = tx.init(params)
    sizes = [x.size for x in jax.tree.leaves(state) if x.ndim > 0]
    assert sizes == [2, 2]  # Adam's two moments for "small" only


def test_partition_with_an_unknown_label_raises():
    tx = optim.partition({"train": optim.sgd(0.1)}, {"a": "train", "b": "fronzen"})
    with pytest.raises(ValueError, match="fronzen"):
        tx.init({"a": jnp.ones(1), "b": jnp.ones(1)})


def test_adamw_mask_matches_optax(tree_and_grads):
    decay_mask = lambda p: jax.tree.map(lambda x: x.ndim >= 2, p)  # noqa: E731
    assert_same_run(optim.adamw(1e-2, weight_decay=0.3, mask=decay_mask),
                    optax.adamw(1e-2, weight_decay=0.3, mask=decay_mask), tree_and_grads)


def test_masked_inside_optax_chain():
    params = {"a": jnp.ones(2), "b": jnp.ones(3)}
    grads = {"a": jnp.asarray([1.0, 2.0]), "b": jnp.asarray([3.0, 4.0, 5.0])}
    mask = {"a": False, "b": True}
    ours = optax.chain(optim.masked(optim.scale_by_adam(), mask), optax.scale(-0.1))
    theirs = optax.chain(optax.masked(optax.scale_by_adam(), mask), optax.scale(-0.1))
    chex.assert_trees_all_close(ours.update(grads, ours.init(params), params)[0],
                                theirs.update(grads, theirs.init(params), params)[0], rtol=1e-6)


@jax.tree_util.register_pytree_node_class
class CallableTree:
    """A registered pytree node (a mapping, as flax's FrozenDict) that is also callable."""

    def __init__(self, tree):
        self.tree = tree

    def __call__(self, *args):
        raise AssertionError("a mask that is a pytree node must be used as a tree, not called")

    def tree_flatten(self):
        return (self.tree,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        del aux
        return cls(children[0])


@pytest.fixture(scope="module")
def callable_tree_and_grads():
    return CallableTree(random_tree(20)), CallableTree(random_tree(21, scale=0.5, steps=STEPS))


def test_mask_that_is_a_callable_pytree_node_is_a_mask(callable_tree_and_grads):
    mask = CallableTree(PREFIX_MASK)
    assert callable(mask)
    assert_same_run(optim.masked(optim.adam(1e-2), mask), optax.masked(optax.adam(1e-2), mask),
                    callable_tree_and_grads)


class LabelsFunction(CallableTree):
    """A callable pytree node that, called on the params, returns the labels."""

    def __call__(self, tree):
        return CallableTree(LABELS)


def test_partition_calls_callable_labels_as_optax_does(callable_tree_and_grads):
    """optax.partition treats any callable ``param_labels`` as a function (unlike masked's rule for
    masks); dlcourse matches it, even for a callable pytree node."""
    labels = LabelsFunction(LABELS)
    ours = optim.partition({"train": optim.adam(1e-2), "frozen": optim.set_to_zero()}, labels)
    theirs = optax.partition({"train": optax.adam(1e-2), "frozen": optax.set_to_zero()}, labels)
    assert_same_run(ours, theirs, callable_tree_and_grads)
