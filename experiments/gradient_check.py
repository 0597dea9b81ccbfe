"""Gradient checking of the hand-written L-layer network (:mod:`dlcourse.nn.step_by_step`).

The backward pass written by hand (``dZ[l] = dA[l] * g'(Z[l])``, ``dW[l] = (1/m) dZ[l] A[l−1]ᵀ``,
``db[l] = (1/m) Σ dZ[l]``, ``dA[l−1] = W[l]ᵀ dZ[l]``) is compared, in float64, with the two-sided
estimate ``(J(θ + ε e_i) − J(θ − ε e_i)) / 2ε`` (ε = 1e-7) of every component:

    difference = ‖dθ − dθ_approx‖₂ / (‖dθ‖₂ + ‖dθ_approx‖₂)

read as in the course: ≈ 1e-7 correct, ≈ 1e-5 look carefully, ≥ 1e-3 a bug.
``--config.plant_bug=True`` plants the course's two mistakes in the backward pass
(``dW2`` multiplied by 2, ``db1`` computed with 4/m instead of 1/m); the check reports a bug and
names the parameters whose components disagree most.

This is not a training experiment: there is no ``build``; :func:`check` does the work.

Config (flat):
  ``layer_dims`` (input size first), ``examples`` (m), ``activation`` (hidden), ``epsilon``,
  ``plant_bug``, ``seed``.

    python experiments/gradient_check.py --workdir=/tmp/gradcheck [--config.plant_bug=True]
"""

from __future__ import annotations

import time

import jax
import ml_collections
import numpy as np

from dlcourse import cli, gradcheck
from dlcourse.nn import step_by_step


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.layer_dims = (4, 5, 3, 1)
    config.examples = 3
    config.activation = "relu"
    config.epsilon = 1e-7
    config.plant_bug = False
    config.seed = 1
    return config


def problem(config):
    """Parameters (He-initialized) and a small batch ``X: (n[0], m)``, ``Y: (1, m)``."""
    dims = [int(n) for n in config.layer_dims]
    if len(dims) < 3 or dims[-1] != 1:
        raise ValueError(f"layer_dims must list an input, at least one hidden layer and one output "
                         f"unit, got {list(config.layer_dims)}")
    if config.examples < 1:
        raise ValueError(f"examples must be positive, got {config.examples}")
    init_key, x_key, y_key = jax.random.split(jax.random.key(config.seed), 3)
    parameters = step_by_step.initialize_parameters_deep(init_key, dims, initializer="he")
    X = jax.random.normal(x_key, (dims[0], config.examples))
    Y = jax.random.bernoulli(y_key, 0.5, (1, config.examples)).astype(X.dtype)
    return parameters, X, Y


def check(config) -> dict:
    """Runs the check; returns the difference, its reading and the worst-matching parameters."""
    parameters, X, Y = problem(config)
    activation = config.activation

    def gradients(params):
        grads = step_by_step.l_model_gradients(params, X, Y, activation)
        if config.plant_bug:  # the course's planted mistakes: 2 · dW2 and 4/m in db1
            grads = dict(grads, W2=grads["W2"] * 2, b1=grads["b1"] * 4)
        return grads

    start = time.perf_counter()
    result = gradcheck.gradient_check(
        lambda params: step_by_step.l_model_cost(params, X, Y, activation), parameters,
        eps=config.epsilon, grad_fn=gradients)
    seconds = time.perf_counter() - start

    # Per-parameter differences, in the order ravel_pytree flattens the dict (sorted keys).
    per_parameter, offset = {}, 0
    for name in sorted(parameters):
        size = int(np.prod(parameters[name].shape))
        per_parameter[name] = gradcheck.relative_difference(
            result.gradient[offset:offset + size], result.numerical_gradient[offset:offset + size])
        offset += size
    return {
        "experiment": "gradient_check",
        "plant_bug": bool(config.plant_bug),
        "difference": result.difference,
        "reading": result.reading,
        "bug_detected": result.reading == gradcheck.LIKELY_BUG,
        "per_parameter": per_parameter,
        "parameters": offset,
        "seconds": round(seconds, 3),
    }


def main(config, workdir=None) -> dict:
    summary = check(config)
    cli.print_table(("parameter", "relative difference"),
                    [(name, f"{value:.3e}") for name, value in summary["per_parameter"].items()])
    cli.say(f"\nwhole gradient ({summary['parameters']} components): difference "
            f"{summary['difference']:.3e} -> {summary['reading']}")
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
