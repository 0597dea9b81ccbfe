"""The course's worked numbers, computed here rather than typed in.

1. Computation graph: ``u = bc``, ``v = a + u``, ``J = 3v`` at (a, b, c) = (5, 3, 2) → J = 33, and
   ``dJ/da = 3``, ``dJ/db = 3c = 6``, ``dJ/dc = 3b = 9`` by automatic differentiation (``jax.grad``).
2. The model ``y = W·x`` against the desired ``y = 2x`` for x = 0, 1, 2: squared errors 0, 1, 4
   with W = 3 and 0, 4, 16 with W = 4 (a larger W, a larger error).
3. Vectorization: the dot product of two random vectors of 10⁶ entries as one call (NumPy
   ``np.dot`` and a jitted ``jnp.dot``) vs a Python ``for`` loop; the course saw 1.5 ms vs 474 ms
   (~300×). Timings are ours, best of a few repeats, so they vary with the machine and its load.
4. Learning-rate decay ``α = α₀ / (1 + decay_rate · epoch)`` from
   :func:`dlcourse.optim.inverse_time_decay` with α₀ = 0.2, decay_rate = 1, epochs 1 … 4:
   0.1, 0.0667, 0.05, 0.04.

Ends with one JSON line of every figure (also ``<workdir>/metrics.json`` with ``--workdir``).

Config (flat): ``vector_size`` (10⁶), ``repeats`` (timing repeats of the vectorized calls),
``seed``.

    python experiments/worked_examples.py [--workdir=/tmp/worked]
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, optim


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.vector_size = 1_000_000
    config.repeats = 5
    config.seed = 0
    return config


def computation_graph(a: float = 5.0, b: float = 3.0, c: float = 2.0) -> dict:
    """J = 3(a + bc) and its gradient with respect to (a, b, c), by ``jax.grad``."""

    def cost(a, b, c):
        u = b * c
        v = a + u
        return 3.0 * v

    J, (dJ_da, dJ_db, dJ_dc) = jax.value_and_grad(cost, argnums=(0, 1, 2))(a, b, c)
    return {"a": a, "b": b, "c": c, "J": float(J),
            "dJ_da": float(dJ_da), "dJ_db": float(dJ_db), "dJ_dc": float(dJ_dc)}


def weight_table(weights=(3.0, 4.0), inputs=(0.0, 1.0, 2.0), desired_slope: float = 2.0) -> dict:
    """For each W: model outputs ``W·x``, absolute and squared errors against ``y = 2x``."""
    x = jnp.asarray(inputs)
    desired = desired_slope * x
    table = {"inputs": list(inputs), "desired": [float(v) for v in desired]}
    for w in weights:
        output = w * x
        table[f"W={w:g}"] = {
            "output": [float(v) for v in output],
            "absolute_error": [float(v) for v in jnp.abs(output - desired)],
            "squared_error": [float(v) for v in jnp.square(output - desired)],
        }
    return table


def _best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def vectorization(size: int, repeats: int, seed: int) -> dict:
    """Dot product of two random ``size``-vectors: NumPy, jitted JAX, and a Python loop."""
    if size < 1 or repeats < 1:
        raise ValueError(f"vector_size and repeats must be positive, got {size}, {repeats}")
    rng = np.random.default_rng(seed)
    a, b = rng.random(size), rng.random(size)

    def python_loop():
        c = 0.0
        for i in range(size):
            c += a[i] * b[i]
        return c

    jitted = jax.jit(jnp.dot)
    a_device, b_device = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    jitted(a_device, b_device).block_until_ready()  # compile outside the timing

    numpy_seconds = _best_time(lambda: np.dot(a, b), repeats)
    jax_seconds = _best_time(lambda: jitted(a_device, b_device).block_until_ready(), repeats)
    start = time.perf_counter()
    loop_value = python_loop()
    loop_seconds = time.perf_counter() - start
    return {
        "size": size,
        "value_numpy": float(np.dot(a, b)),
        "value_loop": float(loop_value),
        "numpy_ms": 1000 * numpy_seconds,
        "jax_jit_ms": 1000 * jax_seconds,
        "loop_ms": 1000 * loop_seconds,
        "speedup_numpy": loop_seconds / numpy_seconds,
        "speedup_jax": loop_seconds / jax_seconds,
        "course_speedup": 474.29513931274414 / 1.5027523040771484,
    }


def decay_table(initial: float = 0.2, decay_rate: float = 1.0, epochs: int = 4) -> dict:
    """α at epochs 1 … ``epochs`` from :func:`dlcourse.optim.inverse_time_decay` (one step per
    epoch, so the step count is the epoch number)."""
    schedule = optim.inverse_time_decay(initial, decay_rate)
    return {"alpha0": initial, "decay_rate": decay_rate,
            "alpha": {epoch: float(schedule(epoch)) for epoch in range(1, epochs + 1)}}


def compute(config) -> dict:
    return {
        "experiment": "worked_examples",
        "computation_graph": computation_graph(),
        "weight_table": weight_table(),
        "vectorization": vectorization(config.vector_size, config.repeats, config.seed),
        "learning_rate_decay": decay_table(),
    }


def show(figures: dict) -> None:
    graph = figures["computation_graph"]
    print("Computation graph  J = 3(a + bc),  u = bc, v = a + u, J = 3v")
    cli.print_table(("a", "b", "c", "J", "dJ/da", "dJ/db", "dJ/dc"),
                       [tuple(graph[k] for k in ("a", "b", "c", "J", "dJ_da", "dJ_db", "dJ_dc"))])
    table = figures["weight_table"]
    print("\ny = W·x against the desired y = 2x")
    cli.print_table(
        ("input", "desired", "W=3 output", "abs error", "sq error", "W=4 output", "sq error"),
        [(x, d, table["W=3"]["output"][i], table["W=3"]["absolute_error"][i],
          table["W=3"]["squared_error"][i], table["W=4"]["output"][i], table["W=4"]["squared_error"][i])
         for i, (x, d) in enumerate(zip(table["inputs"], table["desired"]))])
    v = figures["vectorization"]
    print(f"\nDot product of two vectors of {v['size']:,} entries")
    cli.print_table(("version", "time (ms)", "loop / version"), [
        ("np.dot", v["numpy_ms"], v["speedup_numpy"]),
        ("jax.jit(jnp.dot), float32", v["jax_jit_ms"], v["speedup_jax"]),
        ("python for loop", v["loop_ms"], 1.0),
        ("course: np.dot vs loop", 1.5027523040771484, v["course_speedup"]),
    ])
    decay = figures["learning_rate_decay"]
    print(f"\nLearning-rate decay  α = α₀ / (1 + decay_rate · epoch),  α₀ = {decay['alpha0']:g}, "
          f"decay_rate = {decay['decay_rate']:g}")
    cli.print_table(("epoch", "alpha"), [(epoch, alpha) for epoch, alpha in decay["alpha"].items()])
    print()


def main(config, workdir=None) -> dict:
    figures = compute(config)
    show(figures)
    return figures


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
