"""Benchmark: ``deep_mlp`` training throughput (examples/s), dlcourse against its peers.

One trial of ``experiments/deep_mlp.py`` (digits, ``[LINEAR → RELU] × layers → LINEAR``, He
initialization, softmax cross-entropy, Adam), loaded by path
(``dlcourse.cli.load_experiment(launch.DEFAULT_CONFIG)``), with the configuration read from its
``get_config()`` at run time and the flags below on top, trained by

- **dlcourse**: ``jax.jit(trainable.train)`` — the ``Trainable`` built by ``deep_mlp.build``
  (``dlcourse.train.supervised``): epochs as a ``lax.scan`` whose body is the epoch, itself a
  ``lax.scan`` over mini-batches shuffled on the device. Compiled ahead of time
  (``lower().compile()``); the compile is reported apart and excluded from the throughput. A
  second row calls the jitted ``trainable.epoch`` from a Python loop over epochs (the babysat
  single-run path, with progress and checkpoints between epochs). A third, diagnostic row (not
  counted for the target) trains the same Trainable built without dropout layers
  (``models.MLP(dropout=False)`` through ``train.supervised`` with the same data, optimizer and
  hyperparameters): deep_mlp always builds them (keep_prob is a traced hyperparameter, 1 by
  default, so a population may vary it); at keep_prob = 1 each sits behind a ``lax.cond`` that
  skips the mask, so the row shows what the layers still cost (expected: about nothing).
- **flax+optax**: the same network as a plain ``flax.linen`` module, ``optax.adam``, a
  ``flax.training.train_state.TrainState``, and a jitted train step called once per mini-batch
  from Python (the Flax-examples style). Each epoch is shuffled on the host with a NumPy
  permutation; every batch is gathered from host arrays and transferred at its step.
- **PyTorch** (when installed; not a dependency): :func:`bench.peers.torch_train`, the same
  network (``nn.Linear``/``nn.ReLU``, weights ``N(0, 2/n_in)``, zero biases),
  ``torch.optim.Adam`` with the same α, β₁, β₂, ε, and a ``torch.randperm`` shuffle per epoch;
  ``--torch-device`` picks CPU or CUDA.

All see the same splits (``dlcourse.data.load_digits(seed=config.seed)``, as deep_mlp builds
them), the same batch size with the last partial batch kept (dlcourse pads and masks it,
the baselines run a smaller batch: the same examples), and after every epoch compute what
dlcourse's epoch reports: training-set accuracy, dev loss and dev accuracy. Throughput is
``epochs · m_train / seconds`` over a whole training run, that evaluation included. The flax
``TrainState`` is created outside the timed region; PyTorch's network and optimizer construction
(well under a millisecond) and dlcourse's ``init`` are inside.

Each repetition trains every method once, interleaved in one process (the order rotates); the
table reports medians after one untimed warm-up run each. Ratios are dlcourse's throughput over
each peer's (above 1: dlcourse is faster).

    python bench/train.py [--epochs 20] [--batch-size 64] [--hidden 64] [--layers 2]
                          [--repeats 9] [--torch-device cpu|cuda]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import flax  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax.training import train_state  # noqa: E402

import launch  # noqa: E402
from bench import timing  # noqa: E402
from bench.flax_mlp import FlaxMLP  # noqa: E402
from bench.peers import TorchData, torch_train  # noqa: E402
from bench.sweep_definition import ADAM_EPSILON, check_config  # noqa: E402
from dlcourse import data, models, train  # noqa: E402
from dlcourse.cli import load_experiment  # noqa: E402

deep_mlp = load_experiment(launch.DEFAULT_CONFIG).module


def load_splits(config):
    """The splits ``deep_mlp.build`` trains on."""
    return data.load_digits(seed=config.seed)


# ----- flax + optax, a Python loop per step ------------------------------------------------------


class FlaxLoop:
    """The Flax-examples training loop: a jitted ``train_step`` called per mini-batch."""

    def __init__(self, config, splits):
        self.config = config
        self.x_train = np.asarray(splits.x_train, np.float32)
        self.y_train = np.asarray(splits.y_train, np.int32)
        self.x_dev, self.y_dev = jnp.asarray(splits.x_dev), jnp.asarray(splits.y_dev)
        self.x_train_device, self.y_train_device = jnp.asarray(self.x_train), jnp.asarray(self.y_train)
        self.model = FlaxMLP(config.hidden, config.layers, int(splits.num_classes))
        m, l2 = len(self.x_train), float(config.l2)

        def loss_fn(params, x, y):
            logits = self.model.apply({"params": params}, x)
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
            if l2:
                kernels = [w for path, w in jax.tree_util.tree_leaves_with_path(params)
                           if path[-1].key == "kernel"]
                loss = loss + l2 / (2.0 * m) * sum(jnp.sum(w * w) for w in kernels)
            return loss

        @jax.jit
        def train_step(state, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(state.params, x, y)
            return state.apply_gradients(grads=grads), loss

        @jax.jit
        def evaluate(params, x_train, y_train, x_dev, y_dev):
            train_accuracy = jnp.mean(jnp.argmax(self.model.apply({"params": params}, x_train), -1) == y_train)
            dev_logits = self.model.apply({"params": params}, x_dev)
            dev_loss = optax.softmax_cross_entropy_with_integer_labels(dev_logits, y_dev).mean()
            return train_accuracy, dev_loss, jnp.mean(jnp.argmax(dev_logits, -1) == y_dev)

        self.train_step, self.evaluate = train_step, evaluate
        self.tx = optax.adam(config.learning_rate, b1=config.beta1, b2=config.beta2, eps=ADAM_EPSILON)
        self.init = jax.jit(lambda key: self.model.init(key, jnp.zeros((1, self.x_train.shape[1])))["params"])

    def new_state(self, seed: int):
        # One optax transformation for every run: TrainState keeps ``tx`` as static pytree
        # metadata, so a new ``optax.adam(...)`` per run would retrace and recompile the step.
        return train_state.TrainState.create(apply_fn=self.model.apply,
                                             params=self.init(jax.random.PRNGKey(seed)), tx=self.tx)

    def train(self, state, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        m, batch = len(self.x_train), self.config.batch_size
        dev_curve = []
        for _ in range(self.config.epochs):
            order = rng.permutation(m)
            losses = []
            for start in range(0, m, batch):
                rows = order[start:start + batch]
                state, loss = self.train_step(state, self.x_train[rows], self.y_train[rows])
                losses.append(loss * len(rows))
            metrics = self.evaluate(state.params, self.x_train_device, self.y_train_device,
                                    self.x_dev, self.y_dev)
            epoch_loss, (_, _, dev_accuracy) = jax.device_get((sum(losses) / m, metrics))
            if not math.isfinite(float(epoch_loss)):
                break
            dev_curve.append(float(dev_accuracy))
        return {"dev_accuracy": dev_curve, "best_dev_accuracy": max(dev_curve, default=float("nan"))}


# ----- the benchmark -------------------------------------------------------------------------------


def parse_args(argv=None):
    defaults = deep_mlp.get_config()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="epochs per training run")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size, help="mini-batch size")
    parser.add_argument("--hidden", type=int, default=defaults.hidden, help="units per hidden layer")
    parser.add_argument("--layers", type=int, default=defaults.layers, help="hidden layers")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per method (median reported)")
    parser.add_argument("--torch-device", default="cpu", help="PyTorch device: cpu, cuda, cuda:N")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch intra-op CPU threads (0: its default); see timing.configure_torch")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "hidden", "layers", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    config = deep_mlp.get_config()
    config.epochs, config.batch_size = args.epochs, args.batch_size
    config.hidden, config.layers = args.hidden, args.layers
    check_config(config)
    splits = load_splits(config)
    m = len(splits.x_train)
    examples = config.epochs * m
    torch = timing.import_torch()

    print(f"# deep_mlp on digits: m_train={m}, m_dev={len(splits.x_dev)}, hidden={config.hidden} x "
          f"{config.layers} layers, Adam(α={config.learning_rate}, β₁={config.beta1}, β₂={config.beta2}), "
          f"batch {config.batch_size}, {config.epochs} epochs, l2={config.l2}")
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}; flax {flax.__version__}, optax "
          f"{optax.__version__}; " + (f"PyTorch {torch.__version__}" if torch else
                                      "PyTorch not installed: its row is skipped"))
    print(f"# machine: {timing.machine_text()}; {args.repeats} interleaved repeats, medians")

    # dlcourse: the experiment's Trainable, compiled ahead of time.
    trainable = deep_mlp.build(config)
    hparams = trainable.default_hparams()
    key = jax.random.PRNGKey(config.train_seed)
    start = time.perf_counter()
    compiled_train = jax.jit(trainable.train).lower(hparams, key).compile()
    compile_train = time.perf_counter() - start
    start = time.perf_counter()
    init = jax.jit(trainable.init).lower(hparams, key).compile()
    state0 = init(hparams, key)
    compiled_epoch = jax.jit(trainable.epoch).lower(state0, hparams).compile()
    compile_epoch = time.perf_counter() - start

    def run_dlcourse():
        out = compiled_train(hparams, key)
        return float(jax.block_until_ready(out["best_dev_accuracy"]))

    # Diagnostic: deep_mlp's build with the dropout layers left out (same data, optimizer, hparams).
    plain = models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=splits.num_classes,
                       activation="relu", kernel_init="he", dropout=False)
    plain_trainable = train.supervised(plain, splits, optimizer=config.optimizer,
                                       hparams={name: config[name] for name in deep_mlp.NUMERIC},
                                       epochs=config.epochs, batch_size=config.batch_size, loss="softmax",
                                       metrics=("accuracy",))
    compiled_plain = jax.jit(plain_trainable.train).lower(hparams, key).compile()

    def run_dlcourse_plain():
        out = compiled_plain(hparams, key)
        return float(jax.block_until_ready(out["best_dev_accuracy"]))

    def run_dlcourse_epochs():
        state = init(hparams, key)
        best = -math.inf
        for _ in range(config.epochs):
            state, row = compiled_epoch(state, hparams)
            best = max(best, float(row["dev_accuracy"]))  # the per-epoch read a progress line makes
        return best

    flax_loop = FlaxLoop(config, splits)
    flax_seed = config.train_seed

    methods = {"dlcourse jit(train)": run_dlcourse,
               "dlcourse jit(epoch) per epoch": run_dlcourse_epochs,
               "(diagnostic) dlcourse, no dropout layers": run_dlcourse_plain}
    flax_times: list[float] = []

    def flax_method():
        state = flax_loop.new_state(flax_seed)
        jax.block_until_ready(state)
        start = time.perf_counter()
        best = flax_loop.train(state, flax_seed)["best_dev_accuracy"]
        flax_times.append(time.perf_counter() - start)
        return best

    methods["flax+optax step loop"] = flax_method
    torch_times: list[float] = []
    if torch is not None:
        device = timing.torch_device(torch, args.torch_device)
        timing.configure_torch(torch, args.torch_threads)
        tensors = TorchData(torch, device, splits)
        print(f"# PyTorch device: {timing.torch_device_text(torch, device)}")

        def torch_method():
            start = time.perf_counter()
            out = torch_train(torch, tensors, hidden=config.hidden, layers=config.layers,
                              epochs=config.epochs, batch_size=config.batch_size,
                              learning_rate=config.learning_rate, beta1=config.beta1,
                              beta2=config.beta2, l2=float(config.l2), seed=config.train_seed)
            timing.torch_synchronize(torch, device)
            torch_times.append(time.perf_counter() - start)
            return out["best_dev_accuracy"]

        methods["PyTorch step loop"] = torch_method

    # Warm-up: one untimed run each (compiles the flax step for both batch shapes, fills caches).
    for method in methods.values():
        method()
    flax_times.clear()
    torch_times.clear()
    times, results = timing.run_interleaved(methods, args.repeats)
    # The baselines time their training alone (state construction excluded).
    if flax_times:
        times["flax+optax step loop"] = flax_times
    if torch_times:
        times["PyTorch step loop"] = torch_times

    reference = timing.median(times["dlcourse jit(train)"])
    rows = []
    for name, values in times.items():
        seconds = timing.median(values)
        rows.append([name, f"{seconds * 1e3:.1f}", f"{min(values) * 1e3:.1f}", f"{examples / seconds:,.0f}",
                     f"{seconds / reference:.2f}", f"{results[name]:.4f}"])
    print()
    print(timing.table(["method", "median ms", "min ms", "examples/s", "time / dlcourse",
                        "best dev acc"], rows))
    print(f"\ndlcourse compile (excluded above): jit(train) {compile_train:.2f} s; "
          f"jit(init) + jit(epoch) {compile_epoch:.2f} s")
    print(f"one run = {config.epochs} epochs x {m} examples = {examples:,} examples, each epoch followed "
          f"by train accuracy + dev loss/accuracy")
    print("time / dlcourse = a row's median over dlcourse jit(train)'s median (above 1: dlcourse is faster)")
    missed = [r[0] for r in rows if float(r[4]) < 1.0 and not r[0].startswith(("dlcourse", "(diagnostic)"))]
    print("target (dlcourse at least as fast as each peer): " +
          ("met" if not missed else "MISSED against " + ", ".join(missed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
