"""Inverted dropout with the keep probability as data.

Training, layer ``l``: ``d = (u < keep_prob)`` with ``u ~ U[0, 1)`` per unit, then
``a ← a · d / keep_prob``. Dividing by ``keep_prob`` keeps ``E[a]`` unchanged, so test time uses
the network as is (no dropout, no rescaling). ``keep_prob = 1`` is exactly the identity
(``u < 1`` always holds).

``keep_prob`` is a (possibly traced) array, never branched on in Python, so one compiled program
serves every value and ``jax.vmap`` can run a population over it. A concrete value outside
``(0, 1]`` raises ``ValueError``; a traced one cannot be checked.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def check_keep_prob(keep_prob) -> None:
    """Raises ``ValueError`` if a concrete ``keep_prob`` lies outside ``(0, 1]``; tracers pass."""
    if isinstance(keep_prob, jax.core.Tracer):
        return
    values = np.asarray(keep_prob)  # numpy: a jnp op here would be staged (a tracer) under jit
    if not bool(np.all((values > 0) & (values <= 1))):
        raise ValueError(f"keep_prob must lie in (0, 1]; got {keep_prob}")


def dropout(key: jax.Array, a: jax.Array, keep_prob) -> jax.Array:
    """Inverted dropout: ``a · d / keep_prob`` with ``d_ij ~ Bernoulli(keep_prob)``.

    Args:
      key: PRNG key for the mask.
      a: activations, any shape.
      keep_prob: probability of keeping a unit, a scalar (array or float) in ``(0, 1]``.

    With ``keep_prob = 1`` the result is ``a`` itself, and no mask is drawn: the draw sits in a
    ``lax.cond``, so a run (or a population whose trials share one ``keep_prob``) with dropout
    switched off by value pays nothing for it. Under ``vmap`` over ``keep_prob`` the cond becomes a
    select and both branches run.
    """
    check_keep_prob(keep_prob)
    keep_prob = jnp.asarray(keep_prob, a.dtype)

    def drop(a):
        keep = jax.random.uniform(key, a.shape) < keep_prob
        return jnp.where(keep, a / keep_prob, jnp.zeros_like(a))

    return jax.lax.cond(keep_prob < 1, drop, lambda a: a, a)


class Dropout(nn.Module):
    """Inverted dropout as a Linen layer; the mask key comes from the ``'dropout'`` rng stream.

    ``__call__(a, keep_prob, *, train)``: applies :func:`dropout` when ``train`` (structure,
    static), returns ``a`` unchanged otherwise. ``keep_prob`` may be traced.
    """

    @nn.compact
    def __call__(self, a: jax.Array, keep_prob, *, train: bool) -> jax.Array:
        if not train:
            return a
        return dropout(self.make_rng("dropout"), a, keep_prob)
