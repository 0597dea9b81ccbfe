"""Helpers for the optimizer tests: random nested pytrees, a scanned training loop, and the
comparison of two optimizers run side by side."""

import chex
import jax
import jax.numpy as jnp
import optax

from dlcourse import optim

STEPS = 100


def random_tree(key, scale=1.0):
    """A nested dict/tuple/list pytree of float32 leaves of several shapes (incl. a scalar)."""
    shapes = {
        "dense": {"kernel": (7, 5), "bias": (5,)},
        "conv": ((3, 3, 2, 4), [(4,), (2, 3, 1)]),
        "scalar": (),
    }
    leaves, treedef = jax.tree.flatten(shapes, is_leaf=lambda x: isinstance(x, tuple) and all(
        isinstance(d, int) for d in x))
    keys = jax.random.split(key, len(leaves))
    return treedef.unflatten(
        [scale * jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, leaves)]
    )


def run_steps(tx, params, grads_seq, apply_updates):
    """Apply ``tx`` for each gradient in the stacked ``grads_seq``; return final params and
    the stacked updates. One ``lax.scan`` under ``jit``."""

    @jax.jit
    def run(params, grads_seq):
        def body(carry, grads):
            params, state = carry
            updates, state = tx.update(grads, state, params)
            return (apply_updates(params, updates), state), updates

        (params, _), updates = jax.lax.scan(body, (params, tx.init(params)), grads_seq)
        return params, updates

    return run(params, grads_seq)


def assert_same_run(ours, theirs, tree_and_grads, *, rtol=1e-5, atol=1e-7, must_move=False):
    """Run ``ours`` (with our ``apply_updates``) and ``theirs`` (with optax's) over the same
    gradients; assert equal updates at every step and equal final params. With ``must_move`` also
    assert every parameter moved (so a no-op optimizer cannot pass). Returns our final params."""
    params, grads_seq = tree_and_grads
    ours_params, ours_updates = run_steps(ours, params, grads_seq, optim.apply_updates)
    theirs_params, theirs_updates = run_steps(theirs, params, grads_seq, optax.apply_updates)
    chex.assert_trees_all_close(ours_updates, theirs_updates, rtol=rtol, atol=atol)
    chex.assert_trees_all_close(ours_params, theirs_params, rtol=rtol, atol=atol)
    if must_move:
        moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), ours_params, params)
        assert min(jax.tree.leaves(moved)) > 1e-4
    return ours_params
