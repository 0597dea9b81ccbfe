"""Helpers for the optimizer tests: random nested pytrees and a scanned training loop."""

import jax
import jax.numpy as jnp

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
