"""Gradient checking: compare a gradient with a two-sided numerical estimate, in float64.

For each component ``θ_i`` of the flattened parameters::

    dθ_approx[i] = (J(θ + ε e_i) − J(θ − ε e_i)) / (2ε)
    difference   = ‖dθ − dθ_approx‖₂ / (‖dθ‖₂ + ‖dθ_approx‖₂)

The course's reading, with ε = 1e-7: ≈ 1e-7 great; ≈ 1e-5 maybe fine but look carefully at the
components; ≈ 1e-3 or more, worry — probably a bug. :func:`read_difference` turns the number into
one of those words with thresholds 1e-6 and 1e-4 (geometric midpoints).

All arithmetic runs in float64 inside ``jax.enable_x64(True)`` (a context manager, so the global
setting is left as it was): parameters are cast to float64 and ``f`` is traced in that context
(float32 data it closes over is promoted by the float64 parameters). The 2N evaluations run as one
``jax.vmap`` over the perturbed copies, in chunks, so the check costs a few compilations rather than
2N Python calls. Meant for small models (the number of parameters times ``chunk_size``).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

GREAT = "great: the gradient is correct"
LOOK_CAREFULLY = "look carefully: possibly fine, check the components with the largest differences"
LIKELY_BUG = "worry: the gradient is very likely wrong"


class GradientCheckResult(NamedTuple):
    """``difference`` (a Python float), ``reading`` (the course's verdict), and the flat float64
    ``gradient`` and ``numerical_gradient`` (NumPy) for inspecting components."""

    difference: float
    reading: str
    gradient: np.ndarray
    numerical_gradient: np.ndarray


def read_difference(difference: float) -> str:
    """The course's reading: ``< 1e-6`` great, ``< 1e-4`` look carefully, otherwise likely a bug."""
    if not np.isfinite(difference):
        return LIKELY_BUG
    if difference < 1e-6:
        return GREAT
    if difference < 1e-4:
        return LOOK_CAREFULLY
    return LIKELY_BUG


def relative_difference(gradient, numerical_gradient) -> float:
    """``‖g − g_approx‖₂ / (‖g‖₂ + ‖g_approx‖₂)`` in float64 (0 when both are zero)."""
    g = np.asarray(gradient, np.float64).ravel()
    approx = np.asarray(numerical_gradient, np.float64).ravel()
    denominator = np.linalg.norm(g) + np.linalg.norm(approx)
    if denominator == 0:
        return 0.0
    return float(np.linalg.norm(g - approx) / denominator)


def gradient_check(
    f: Callable[[Any], jax.Array],
    params: Any,
    eps: float = 1e-7,
    grad_fn: Optional[Callable[[Any], Any]] = None,
    chunk_size: int = 256,
) -> GradientCheckResult:
    """Checks the gradient of the scalar cost ``f(params)`` against two-sided differences.

    Args:
      f: ``params -> scalar`` cost ``J``; pure, traceable by JAX.
      params: a pytree of floating arrays ``θ``.
      eps: ε of the two-sided difference (the course's 1e-7).
      grad_fn: ``params -> gradient`` pytree with the structure of ``params`` (e.g. a hand-written
        backward pass such as :func:`dlcourse.nn.step_by_step.l_model_gradients`); default
        ``jax.grad(f)``.
      chunk_size: how many perturbed copies of ``θ`` are evaluated per vmapped call.

    Returns:
      :class:`GradientCheckResult`.
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive; got {eps}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1; got {chunk_size}")
    with jax.enable_x64(True):
        params64 = jax.tree.map(lambda x: jnp.asarray(np.asarray(x, np.float64)), params)
        theta, unravel = ravel_pytree(params64)
        size = theta.shape[0]
        if size == 0:
            raise ValueError("params holds no parameters to check")

        cost_of_flat = lambda flat: jnp.asarray(f(unravel(flat)), jnp.float64)  # noqa: E731
        value = cost_of_flat(theta)
        if value.shape != ():
            raise ValueError(f"f must return a scalar cost; got shape {value.shape}")

        gradient_tree = grad_fn(params64) if grad_fn is not None else jax.grad(f)(params64)
        params_structure = jax.tree.structure(params64)
        gradient_structure = jax.tree.structure(gradient_tree)
        if gradient_structure != params_structure:
            raise ValueError(
                f"grad_fn must return a pytree structured like params; got {gradient_structure} "
                f"for params {params_structure}"
            )
        gradient_flat, _ = ravel_pytree(jax.tree.map(lambda g: jnp.asarray(g, jnp.float64), gradient_tree))
        if gradient_flat.shape != theta.shape:
            raise ValueError(f"grad_fn returned {gradient_flat.shape[0]} components for {size} parameters")
        gradient = np.asarray(gradient_flat, np.float64)

        @jax.jit
        def two_sided(theta, indices):
            def one(i):
                step = jnp.zeros_like(theta).at[i].set(eps)
                return (cost_of_flat(theta + step) - cost_of_flat(theta - step)) / (2 * eps)

            return jax.vmap(one)(indices)

        chunk = min(chunk_size, size)
        numerical = np.empty(size, np.float64)
        for start in range(0, size, chunk):
            indices = np.arange(start, min(start + chunk, size))
            padded = np.resize(indices, chunk)  # one shape for every chunk: one compilation
            numerical[indices] = np.asarray(two_sided(theta, jnp.asarray(padded)))[: len(indices)]

    difference = relative_difference(gradient, numerical)
    return GradientCheckResult(difference, read_difference(difference), gradient, numerical)
