"""Helpers for the optimizer tests: random nested pytrees, a scanned training loop, and the
comparison of two optimizers run side by side."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from dlcourse import optim

STEPS = 100


SHAPES = {
    "dense": {"kernel": (7, 5), "bias": (5,)},
    "conv": ((3, 3, 2, 4), [(4,), (2, 3, 1)]),
    "scalar": (),
}
SMALL_SHAPES = {"dense": {"kernel": (3, 2), "bias": (2,)}, "scalar": ()}


def random_tree(seed, scale=1.0, *, steps=None, dtype=np.float32, shapes=SHAPES):
    """A nested pytree of normal leaves with the given ``shapes`` (by default a nested
    dict/tuple/list of several shapes, incl. a scalar).

    Drawn with NumPy (``seed`` an int), which is much faster here than eager ``jax.random`` calls.
    ``steps`` adds a leading axis of that length (a stack of gradients); a complex ``dtype`` gets
    independent real and imaginary parts.
    """
    leaves, treedef = jax.tree.flatten(shapes, is_leaf=lambda x: isinstance(x, tuple) and all(
        isinstance(d, int) for d in x))
    rng = np.random.default_rng(seed)
    lead = () if steps is None else (steps,)

    def draw(shape):
        x = rng.standard_normal(lead + shape)
        if np.issubdtype(dtype, np.complexfloating):
            x = x + 1j * rng.standard_normal(lead + shape)
        return jnp.asarray(scale * x, dtype)

    return treedef.unflatten([draw(s) for s in leaves])


def scan_updates(tx, apply_updates, params, grads_seq):
    """Apply ``tx`` for each gradient in the stacked ``grads_seq`` with one ``lax.scan`` (not
    jitted); return the final params and the stacked updates."""

    def body(carry, grads):
        params, state = carry
        updates, state = tx.update(grads, state, params)
        return (apply_updates(params, updates), state), updates

    (params, _), updates = jax.lax.scan(body, (params, tx.init(params)), grads_seq)
    return params, updates


def run_steps(tx, params, grads_seq, apply_updates):
    """:func:`scan_updates` under ``jit``."""
    return jax.jit(lambda p, g: scan_updates(tx, apply_updates, p, g))(params, grads_seq)


def assert_same_run(ours, theirs, tree_and_grads, *, rtol=1e-5, atol=1e-7, must_move=False):
    """Run ``ours`` (with our ``apply_updates``) and ``theirs`` (with optax's) over the same
    gradients; assert equal updates at every step and equal final params. With ``must_move`` also
    assert every parameter moved (so a no-op optimizer cannot pass). Returns our final params.
    Both runs are one compiled program (one compile is much cheaper than two)."""
    params, grads_seq = tree_and_grads

    @jax.jit
    def run_both(params, grads_seq):
        return (scan_updates(ours, optim.apply_updates, params, grads_seq),
                scan_updates(theirs, optax.apply_updates, params, grads_seq))

    (ours_params, ours_updates), (theirs_params, theirs_updates) = run_both(params, grads_seq)
    chex.assert_trees_all_close(ours_updates, theirs_updates, rtol=rtol, atol=atol)
    chex.assert_trees_all_close(ours_params, theirs_params, rtol=rtol, atol=atol)
    if must_move:
        moved = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), ours_params, params)
        assert min(jax.tree.leaves(moved)) > 1e-4
    return ours_params
