"""Benchmark: one jitted optimizer step of each dlcourse optimizer against its optax twin.

The parameters are a ResNet-50-shaped pytree (~25.6M float32 parameters: HWIO conv kernels,
batch-norm scales and biases, the final 2048×1000 dense layer). A step is
``updates, state = tx.update(grads, state, params); params = apply_updates(params, updates)``,
jitted with params and optimizer state donated, identically for both libraries. Runs alternate in
one process — each repetition times a block of steps for dlcourse then optax (the order flips every
repetition) — and the table reports medians over repetitions, their ratio (dlcourse / optax;
below 1 means dlcourse is faster) and ``paired``, the median of the per-repetition ratios (each
pair timed back to back, so it is the figure least moved by other load on the machine).

    python bench/optim.py [--repetitions 31] [--steps 2] [--optimizers adam,adamw]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

from dlcourse import optim  # noqa: E402

LEARNING_RATE = 1e-3
BETA = 0.9


def resnet50_shapes() -> dict:
    """Parameter shapes of ResNet-50 (ImageNet, 1000 classes), nested like a Flax model."""

    def batch_norm(c):
        return {"scale": (c,), "bias": (c,)}

    shapes = {"stem": {"conv": (7, 7, 3, 64), "bn": batch_norm(64)}}
    in_channels = 64
    for stage, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
        for block in range(blocks):
            out = 4 * width
            b = {
                "conv1": (1, 1, in_channels, width), "bn1": batch_norm(width),
                "conv2": (3, 3, width, width), "bn2": batch_norm(width),
                "conv3": (1, 1, width, out), "bn3": batch_norm(out),
            }
            if block == 0:
                b["projection"] = {"conv": (1, 1, in_channels, out), "bn": batch_norm(out)}
            shapes[f"stage{stage + 1}_block{block + 1}"] = b
            in_channels = out
    shapes["head"] = {"kernel": (2048, 1000), "bias": (1000,)}
    return shapes


def make_tree(shapes, key):
    leaves, treedef = jax.tree.flatten(shapes, is_leaf=lambda x: isinstance(x, tuple))
    keys = jax.random.split(key, len(leaves))
    return treedef.unflatten(
        [0.05 * jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, leaves)]
    )


def pairs():
    """(name, dlcourse transformation, optax twin)."""
    return [
        ("sgd", optim.sgd(LEARNING_RATE), optax.sgd(LEARNING_RATE)),
        (
            "momentum",
            optim.momentum(LEARNING_RATE, BETA),
            optax.sgd(LEARNING_RATE * (1 - BETA), momentum=BETA),
        ),
        (
            "rmsprop",
            optim.rmsprop(LEARNING_RATE),
            optax.rmsprop(LEARNING_RATE, eps_in_sqrt=False),
        ),
        ("adam", optim.adam(LEARNING_RATE), optax.adam(LEARNING_RATE)),
        ("adamw", optim.adamw(LEARNING_RATE), optax.adamw(LEARNING_RATE)),
        (
            "adam+inject",
            optim.inject_hyperparams(optim.adam)(learning_rate=LEARNING_RATE),
            optax.inject_hyperparams(optax.adam)(learning_rate=LEARNING_RATE),
        ),
    ]


def make_step(tx, apply_updates):
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return apply_updates(params, updates), state

    return jax.jit(step, donate_argnums=(0, 1))


class Runner:
    """One library's compiled step and its own (donated, recycled) buffers."""

    def __init__(self, tx, apply_updates, params, grads):
        self.step = make_step(tx, apply_updates)
        self.params = jax.tree.map(jnp.copy, params)
        self.state = tx.init(self.params)
        self.grads = grads

    def run(self, steps: int) -> float:
        """Run ``steps`` steps; return seconds per step."""
        start = time.perf_counter()
        for _ in range(steps):
            self.params, self.state = self.step(self.params, self.state, self.grads)
        jax.block_until_ready((self.params, self.state))
        return (time.perf_counter() - start) / steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repetitions", type=int, default=31,
                        help="timed blocks per library and optimizer (median is reported)")
    parser.add_argument("--steps", type=int, default=2, help="steps per timed block")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps after compiling")
    parser.add_argument("--optimizers", default="",
                        help="comma-separated subset of: " + ",".join(n for n, _, _ in pairs()))
    args = parser.parse_args(argv)
    if args.repetitions < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--repetitions and --steps must be >= 1, --warmup >= 0")
    chosen = pairs()
    if args.optimizers:
        wanted = args.optimizers.split(",")
        unknown = set(wanted) - {n for n, _, _ in chosen}
        if unknown:
            parser.error(f"unknown optimizers {sorted(unknown)}")
        chosen = [p for p in chosen if p[0] in wanted]

    params = make_tree(resnet50_shapes(), jax.random.key(0))
    grads = make_tree(resnet50_shapes(), jax.random.key(1))
    n = sum(x.size for x in jax.tree.leaves(params))
    print(f"# {n / 1e6:.2f}M float32 parameters in {len(jax.tree.leaves(params))} leaves; "
          f"{jax.devices()[0].platform} x{jax.device_count()}, jax {jax.__version__}, "
          f"optax {optax.__version__}; {args.repetitions} repetitions x {args.steps} steps")
    print(f"{'optimizer':<12} {'dlcourse ms':>12} {'optax ms':>10} {'ratio':>7} {'paired':>7}")
    for name, ours_tx, theirs_tx in chosen:
        ours = Runner(ours_tx, optim.apply_updates, params, grads)
        theirs = Runner(theirs_tx, optax.apply_updates, params, grads)
        for runner in (ours, theirs):
            runner.run(max(args.warmup, 1))
        times = {id(ours): [], id(theirs): []}
        for r in range(args.repetitions):
            order = (ours, theirs) if r % 2 == 0 else (theirs, ours)
            for runner in order:
                times[id(runner)].append(runner.run(args.steps))
        t_ours = statistics.median(times[id(ours)])
        t_theirs = statistics.median(times[id(theirs)])
        paired = statistics.median(a / b for a, b in zip(times[id(ours)], times[id(theirs)]))
        print(f"{name:<12} {1e3 * t_ours:>12.2f} {1e3 * t_theirs:>10.2f} "
              f"{t_ours / t_theirs:>7.3f} {paired:>7.3f}", flush=True)
        del ours, theirs, runner, order  # free this pair's buffers before the next
        gc.collect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
