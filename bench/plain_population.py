"""launch.py's default sweep as a plain, hand-written ``jax.jit(jax.vmap(train))`` script.

The peer of ``bench/sweep.py --whole-process`` that shows what the population costs without
dlcourse's training, sweep, store and report code: only ``flax.linen`` and ``optax``. From
dlcourse it takes the data and the trial values alone, so the comparison is like for like:

- the splits: ``dlcourse.data.load_digits(seed)`` (the ones ``deep_mlp.build`` trains on);
- the trials: ``dlcourse.sweep.sample_round(load_sweep(spec), search, seed, 0, 0, trials)``,
  the same (α, β₁) values launch.py samples.

The training program, written here:

- network ``[Dense → ReLU] × layers → Dense`` (default 64 × 2), kernels He-initialized
  ``N(0, 2/n_in)`` (untruncated), zero biases;
- cost: mean softmax cross-entropy over the real rows of a mini-batch of B (default 64); the
  last partial mini-batch is padded by repeating examples and the padding weighted 0, so an epoch
  is ⌈m / B⌉ steps over exactly the m examples, as in dlcourse;
- ``optax.adam(α, b1=β₁, b2=β₂, eps=1e-8)`` built from the trial's traced α and β₁;
- an epoch: a fresh ``jax.random.permutation`` of the training set, a ``lax.scan`` of the step
  over the mini-batches, then the dev accuracy; ``epochs`` (default 20) epochs as a ``lax.scan``;
- trial ``i``'s key is ``fold_in(PRNGKey(seed), id_i)``, split into the initialization key and
  one shuffle key per epoch;
- the whole population: ``jax.jit(jax.vmap(train))`` over ``α[n]``, ``β₁[n]`` and ``keys[n]``,
  compiled ahead of time (``lower().compile()``) and called once.

It does less per epoch than dlcourse (no training-set evaluation, no dev loss, no divergence
guard freezing a trial whose loss explodes) and writes nothing, so it is the lower bound of
what the same sweep costs in JAX. It uses no persistent compilation cache (JAX's default), so
every run compiles. It prints, last,

    compiled in 3.10 s
    trained 32 trials in 1.90 s (setup 1.20 s)
    best dev accuracy 0.9889 (trial 5); 0 diverged

(*setup*: from the first line of this file to the start of the compile: imports, data, samples.)

    python bench/plain_population.py [--trials 32] [--seed 0] [--sweep SPEC] [--search random]
        [--hidden 64] [--layers 2] [--epochs 20] [--batch-size 64] [--beta2 0.999] [--data-seed 0]
"""

from __future__ import annotations

import time

SETUP_START = time.perf_counter()

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from bench.flax_mlp import FlaxMLP  # noqa: E402
from dlcourse.data import load_digits  # noqa: E402
from dlcourse.sweep.search import sample_round  # noqa: E402
from dlcourse.sweep.spec import load_sweep  # noqa: E402

#: launch.DEFAULT_SWEEP when this was written; bench/sweep.py always passes the spec it measures.
DEFAULT_SWEEP = "learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1)"
ADAM_EPSILON = 1e-8


def make_train(splits, *, hidden: int, layers: int, epochs: int, batch_size: int, beta2: float):
    """``train(learning_rate, beta1, key) -> (dev_accuracy[epochs], train_loss[epochs])`` for one
    trial; pure, so ``jax.vmap`` makes it a population."""
    x_train, y_train = jnp.asarray(splits.x_train), jnp.asarray(splits.y_train)
    x_dev, y_dev = jnp.asarray(splits.x_dev), jnp.asarray(splits.y_dev)
    m = x_train.shape[0]
    batch_size = min(batch_size, m)
    steps = math.ceil(m / batch_size)
    padded = steps * batch_size
    weights = (jnp.arange(padded) < m).astype(jnp.float32).reshape(steps, batch_size)
    model = FlaxMLP(hidden, layers, int(splits.num_classes))

    def loss_function(params, x, y, w):
        logits = model.apply({"params": params}, x)
        return jnp.sum(w * optax.softmax_cross_entropy_with_integer_labels(logits, y)) / jnp.sum(w)

    def train(learning_rate, beta1, key):
        init_key, shuffle_key = jax.random.split(key)
        params = model.init(init_key, x_train[:1])["params"]
        optimizer = optax.adam(learning_rate, b1=beta1, b2=beta2, eps=ADAM_EPSILON)

        def step(carry, batch):
            params, optimizer_state = carry
            x, y, w = batch
            loss, grads = jax.value_and_grad(loss_function)(params, x, y, w)
            updates, optimizer_state = optimizer.update(grads, optimizer_state, params)
            return (optax.apply_updates(params, updates), optimizer_state), loss * jnp.sum(w)

        def epoch(carry, epoch_key):
            order = jax.random.permutation(epoch_key, m)
            order = jnp.concatenate([order, order[:padded - m]])  # pad the last batch (weight 0)
            batches = (x_train[order].reshape(steps, batch_size, -1),
                       y_train[order].reshape(steps, batch_size), weights)
            (params, optimizer_state), losses = jax.lax.scan(step, carry, batches)
            dev_predictions = jnp.argmax(model.apply({"params": params}, x_dev), axis=-1)
            dev_accuracy = jnp.mean(dev_predictions == y_dev)
            return (params, optimizer_state), (dev_accuracy, jnp.sum(losses) / m)

        carry = (params, optimizer.init(params))
        _, (dev_accuracy, train_loss) = jax.lax.scan(epoch, carry, jax.random.split(shuffle_key, epochs))
        return dev_accuracy, train_loss

    return train


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0, help="sweep seed (samples and trial keys)")
    parser.add_argument("--sweep", default=DEFAULT_SWEEP, help="spec of learning_rate and beta1")
    parser.add_argument("--search", default="random")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--beta2", type=float, default=0.999)
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the split (deep_mlp's seed)")
    args = parser.parse_args(argv)
    spaces = load_sweep(args.sweep)
    if set(spaces) != {"learning_rate", "beta1"}:
        parser.error(f"--sweep must sweep learning_rate and beta1 only, got {sorted(spaces)}")

    splits = load_digits(seed=args.data_seed)
    trials = sample_round(spaces, args.search, args.seed, 0, 0, args.trials)
    ids = np.asarray([t.id for t in trials], np.uint32)
    learning_rates = np.asarray([t.hparams["learning_rate"] for t in trials], np.float32)
    beta1s = np.asarray([t.hparams["beta1"] for t in trials], np.float32)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(args.seed), i))(ids)

    train = make_train(splits, hidden=args.hidden, layers=args.layers, epochs=args.epochs,
                       batch_size=args.batch_size, beta2=args.beta2)
    start = time.perf_counter()
    setup = start - SETUP_START
    population = jax.jit(jax.vmap(train)).lower(learning_rates, beta1s, keys).compile()
    compiled = time.perf_counter()
    dev_accuracy, train_loss = jax.block_until_ready(population(learning_rates, beta1s, keys))
    trained = time.perf_counter()

    dev_accuracy, train_loss = np.asarray(dev_accuracy), np.asarray(train_loss)
    finite = np.isfinite(train_loss)  # an epoch whose loss is NaN/inf does not count
    best_per_trial = np.where(finite, dev_accuracy, -np.inf).max(axis=1)
    best = int(np.argmax(best_per_trial))  # lowest index on ties
    diverged = int(np.sum(~finite.all(axis=1)))
    print(f"compiled in {compiled - start:.2f} s")
    print(f"trained {len(trials)} trials in {trained - compiled:.2f} s (setup {setup:.2f} s)")
    print(f"best dev accuracy {best_per_trial[best]:.4f} (trial {int(ids[best])}); {diverged} diverged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
