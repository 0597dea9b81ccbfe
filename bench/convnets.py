"""Benchmark: ConvNet training throughput (images/s) on the CPU, dlcourse against PyTorch.

LeNet-5, ResNet-18 and MobileNetV2 at CPU-sized inputs, each as ``experiments/convnets.py``
builds it (loaded by path; ``make_model`` with the experiment's ``get_config()`` and the flags
below on top), trained on the same data, shapes, batch size and number of Adam steps by

- **dlcourse**: the ``Trainable`` that ``train.supervised`` builds with the arguments of
  ``convnets.build`` (softmax cross-entropy, Adam with the config's α, β₁, β₂ and ε = 1e-8, the
  config's L2 term at λ = 0 computed as the experiment does, batch norm with momentum 0.9 in
  Flax's convention, MobileNetV2's dropout at its default keep_prob 0.8), with two differences:
  the data (below) and ``evaluate_train=False``. Its steps are driven in one of two ways
  (``--dlcourse``):

  - ``epoch`` (default): the project's build path, ``jax.jit(trainable.epoch)``: one epoch is a
    ``lax.scan`` of the steps over mini-batches shuffled on the device, then the dev batch in
    inference mode.
  - ``step``: a jitted train step of the same model, loss and optimizer (the Trainable's ``init``
    state; ``model.apply`` in training mode with the same mask and dropout keys, the same cost,
    dlcourse's Adam), called once per mini-batch from Python; per run a jitted shuffle on the
    device before, and a jitted dev-batch evaluation after.

  Both give the same losses (up to rounding). The scan is as fast as the Python loop because the
  models' convolutions are :func:`dlcourse.nn.conv_general_dilated`: XLA's CPU backend does not
  canonicalize the convolutions JAX's autodiff emits for the gradients when they sit inside a
  loop body, and runs them in a naive loop nest (measured 20-50× slower); dlcourse writes both
  gradients as ordinary NHWC/HWIO convolutions. With ``lax.conv_general_dilated`` the epoch path
  trained ResNet-18 (width 0.5) at ~1 image/s.

  Every program is compiled ahead of time with the project's XLA options
  (``train.compile_lowered``); that compile (``init``'s included) is reported apart and
  excluded from the throughput. Each run continues from the previous run's state and ends with
  one host read of its losses.
- **PyTorch** (CPU; not a dependency of dlcourse): the same network written here in
  ``torch.nn``, NCHW, mirroring the dlcourse module's attributes layer by layer (same convolution
  shapes, strides and paddings, convolutions without bias before batch norm, batch norm with
  ε = 1e-5 and momentum 0.1 = 1 − 0.9, ReLU/ReLU6, dropout p = 0.2 in MobileNetV2, He-normal
  initialization like dlcourse's); the parameter counts are printed and asserted equal.
  ``torch.optim.Adam`` with the same α, β₁, β₂, ε. A run is a ``torch.randperm`` shuffle, the
  same number of steps (gather the batch, forward, ``cross_entropy``, ``zero_grad``, ``backward``,
  ``step``), then the dev batch in ``eval()`` mode under ``no_grad``, and one host read of the
  same quantities.

Data (the experiment's datasets): LeNet-5 trains on ``digits`` (scikit-learn's 8×8 digits
enlarged to ``--image-size``², 1 channel, 10 classes), ResNet-18 and MobileNetV2 on ``shapes``
(generated ``--image-size``² × 3 colour images, 3 classes). The training split is cut (or tiled)
to exactly ``steps · batch`` rows so that an epoch is ``--steps`` full batches; the dev split is
one batch. ResNet-18 uses the experiment's small stem (3×3, no max pool) at 32×32 and stage
widths scaled by ``--width`` (default 0.5: 32, 64, 128, 256); MobileNetV2 its width multiplier
(default 1.0).

Throughput is ``steps · batch / seconds`` of a whole run (shuffle, steps, dev batch, host
read). Each repetition runs every method once, interleaved in one process (the order rotates),
after one untimed warm-up run each; the table reports medians. The ratio is dlcourse's images/s
over PyTorch's (above 1: dlcourse is faster). The loss columns show each side's loss on its
first batch at initialization → its mean training loss over the last run.

Fairness. XLA's CPU backend uses every core; PyTorch gets ``--torch-threads`` intra-op threads
(default: the core count). On a machine busy with other work, multi-threaded PyTorch collapses
(its OpenMP workers wait at every operation's barrier for a descheduled thread: LeNet-5 ran at
~140 images/s with 2 threads and ~7,000 with 1 on the loaded 2-core development box), and XLA's
pool of one thread per core meets the same contention; compare on an idle machine, or pin both to
one thread (``--torch-threads 1`` and ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``).
XLA:CPU runs depthwise convolutions (``feature_group_count = channels``, all of MobileNetV2's
3×3 ones) far below its dense-convolution speed (measured 0.3-0.5 GFLOP/s against ~45 for a
dense 3×3 convolution), which dominates MobileNetV2's row.

Whole process (``--whole-process``): each side as a user feels it — a fresh Python process per
model and side, from spawn to exit, that imports what it needs, builds the data and the model,
compiles (dlcourse: JAX's persistent cache off, so every process compiles) and trains one run of
``--steps`` steps (dlcourse's scanned epoch, or PyTorch's loop); the median of ``--repeats``
processes per side, the sides alternating. The PyTorch process also imports JAX and Flax (this
benchmark builds both networks from the dlcourse module's attributes, and the data with
dlcourse), which a pure-PyTorch script would not: about 1.5 s in its favour not deducted here.

    python bench/convnets.py [--models lenet5,resnet18,mobilenet_v2] [--batch-size 64]
                             [--steps 10] [--repeats 3] [--image-size 32] [--width resnet18=0.5]
                             [--dlcourse epoch|step|both] [--torch-threads N] [--whole-process]
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import subprocess
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

from bench import timing  # noqa: E402
from dlcourse import data, losses, models, optim, train  # noqa: E402
from dlcourse.cli import load_experiment  # noqa: E402
from dlcourse.models.mobilenet import round_to_multiple_of_eight  # noqa: E402

convnets = load_experiment(str(REPO / "experiments" / "convnets.py")).module

MODELS = ("lenet5", "resnet18", "mobilenet_v2")
DATASETS = {"lenet5": "digits", "resnet18": "shapes", "mobilenet_v2": "shapes"}
LOOPS = ("epoch", "step")
LOOP_NAMES = {"step": "jit(step) loop", "epoch": "jit(epoch) scan"}
DEFAULT_WIDTHS = {"lenet5": 1.0, "resnet18": 0.5, "mobilenet_v2": 1.0}
ADAM_EPSILON = optim.optimizer_defaults("adam")["eps"]


# ----- data -------------------------------------------------------------------------------------


def rows(x: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` rows of ``x``, tiled when ``x`` has fewer."""
    return x[np.arange(n) % len(x)]


def bench_splits(config, steps: int, batch_size: int) -> data.Splits:
    """The experiment's data cut to ``steps · batch_size`` training rows and one dev batch."""
    if config.dataset == "shapes":  # enough images that the training split needs no tiling
        config.examples = max(config.examples, math.ceil(steps * batch_size / 0.6) + 16)
    splits = convnets.load(config)
    m, dev = steps * batch_size, min(batch_size, len(splits.x_dev))
    return data.Splits(x_train=rows(splits.x_train, m), y_train=rows(splits.y_train, m),
                       x_dev=splits.x_dev[:dev], y_dev=splits.y_dev[:dev],
                       x_test=splits.x_dev[:dev], y_test=splits.y_dev[:dev],
                       num_classes=int(splits.num_classes))


# ----- the PyTorch networks ---------------------------------------------------------------------


def torch_network(torch, model, in_channels: int, image_size: int, num_classes: int):
    """The ``torch.nn`` network of the dlcourse ``model`` (LeNet5, ResNet or MobileNetV2), NCHW."""
    nn = torch.nn

    class Residual(nn.Module):
        """``body(x) + shortcut(x)`` (the identity when ``shortcut`` is None), then ReLU if ``relu``."""

        def __init__(self, body, shortcut=None, relu=True):
            super().__init__()
            self.body, self.shortcut, self.relu = body, shortcut, relu

        def forward(self, x):
            y = self.body(x) + (x if self.shortcut is None else self.shortcut(x))
            return torch.relu(y) if self.relu else y

    def conv_bn(c_in, c_out, kernel, stride=1, groups=1, activation=nn.ReLU):
        """dlcourse's ``ConvBatchNorm``: conv without bias, padding ⌊(f − 1)/2⌋, BN, activation."""
        layers = [nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                  nn.BatchNorm2d(c_out, eps=model.batch_norm_epsilon, momentum=1.0 - model.batch_norm_momentum)]
        if activation is not None:
            layers.append(activation())
        return nn.Sequential(*layers)

    if isinstance(model, models.LeNet5):
        g = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[model.activation]
        pool = nn.MaxPool2d if model.pooling == "max" else nn.AvgPool2d
        side = ((image_size - 4) // 2 - 4) // 2
        network = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), g(), pool(2, 2), nn.Conv2d(6, 16, 5), g(), pool(2, 2),
            nn.Flatten(), nn.Linear(16 * side * side, 120), g(), nn.Linear(120, 84), g(),
            nn.Linear(84, num_classes))
    elif isinstance(model, models.ResNet):
        stem_width = model.stem_width or model.stage_widths[0]
        if model.stem == "imagenet":
            layers = [conv_bn(in_channels, stem_width, 7, 2), nn.MaxPool2d(3, 2, 1)]
        else:
            layers = [conv_bn(in_channels, stem_width, 3, 1)]
        channels = stem_width
        expansion = 4 if model.block == "bottleneck" else 1
        for stage, (size, width) in enumerate(zip(model.stage_sizes, model.stage_widths), start=1):
            for index in range(1, size + 1):
                stride = 2 if stage > 1 and index == 1 else 1
                out = width * expansion
                if model.block == "bottleneck":
                    body = nn.Sequential(conv_bn(channels, width, 1), conv_bn(width, width, 3, stride),
                                         conv_bn(width, out, 1, activation=None))
                else:
                    body = nn.Sequential(conv_bn(channels, width, 3, stride),
                                         conv_bn(width, width, 3, 1, activation=None))
                shortcut = (None if stride == 1 and channels == out
                            else conv_bn(channels, out, 1, stride, activation=None))
                layers.append(Residual(body, shortcut, relu=True))
                channels = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes)]
        network = nn.Sequential(*layers)
    elif isinstance(model, models.MobileNetV2):
        width = model.width_multiplier
        channels = round_to_multiple_of_eight(32 * width)
        layers = [conv_bn(in_channels, channels, 3, 2, activation=nn.ReLU6)]
        for expansion, c, repeats, first_stride in model.bottlenecks:
            out = round_to_multiple_of_eight(c * width)
            for repeat in range(repeats):
                stride = first_stride if repeat == 0 else 1
                hidden = channels * expansion
                body = ([conv_bn(channels, hidden, 1, activation=nn.ReLU6)] if expansion != 1 else []) + [
                    conv_bn(hidden, hidden, 3, stride, groups=hidden, activation=nn.ReLU6),
                    conv_bn(hidden, out, 1, activation=None)]
                body = nn.Sequential(*body)
                layers.append(Residual(body, None, relu=False) if stride == 1 and channels == out else body)
                channels = out
        last = model.last_features or round_to_multiple_of_eight(1280 * max(1.0, width))
        keep_prob = inspect.signature(type(model).__call__).parameters["keep_prob"].default
        layers += [conv_bn(channels, last, 1, activation=nn.ReLU6), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                   nn.Dropout(1.0 - keep_prob), nn.Linear(last, num_classes)]
        network = nn.Sequential(*layers)
    else:
        raise ValueError(f"no PyTorch twin for {type(model).__name__}")
    # dlcourse's initialization: He-normal N(0, 2/n_in) for convolutions and hidden dense layers,
    # N(0, 1/n_in) (Flax's LeCun normal, untruncated here) for the output layer, zero biases.
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                gain = 1.0 if module is linears[-1] else 2.0
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, math.sqrt(gain / fan_in))
                if module.bias is not None:
                    module.bias.zero_()
    return network


class TorchRun:
    """One PyTorch network trained ``steps`` Adam steps per call (see the module docstring)."""

    def __init__(self, torch, model, splits: data.Splits, config, steps: int, batch_size: int, seed: int):
        self.torch, self.steps, self.batch_size = torch, steps, batch_size
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        nchw = lambda x: torch.as_tensor(np.ascontiguousarray(np.transpose(np.asarray(x, np.float32),  # noqa: E731
                                                                              (0, 3, 1, 2))))
        self.x_train, self.x_dev = nchw(splits.x_train), nchw(splits.x_dev)
        self.y_train = torch.as_tensor(np.asarray(splits.y_train, np.int64))
        self.y_dev = torch.as_tensor(np.asarray(splits.y_dev, np.int64))
        self.network = torch_network(torch, model, splits.x_train.shape[-1], splits.x_train.shape[1],
                                     splits.num_classes)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=float(config.learning_rate),
                                          betas=(float(config.beta1), float(config.beta2)), eps=ADAM_EPSILON)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def run(self) -> dict:
        torch, network, optimizer = self.torch, self.network, self.optimizer
        cross_entropy = torch.nn.functional.cross_entropy
        order = torch.randperm(len(self.x_train), generator=self.generator)
        network.train()
        total = start_loss = None
        for step in range(self.steps):
            rows = order[step * self.batch_size:(step + 1) * self.batch_size]
            loss = cross_entropy(network(self.x_train[rows]), self.y_train[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.detach()
            start_loss = value if start_loss is None else start_loss
            total = value if total is None else total + value
        network.eval()
        with torch.no_grad():
            dev_logits = network(self.x_dev)
            dev_loss = cross_entropy(dev_logits, self.y_dev)
            dev_accuracy = (dev_logits.argmax(1) == self.y_dev).float().mean()
        values = torch.stack([total / self.steps, start_loss, dev_loss, dev_accuracy]).tolist()
        return dict(zip(("train_loss", "start_loss", "dev_loss", "dev_accuracy"), values))


# ----- dlcourse -----------------------------------------------------------------------------------


def compile_ahead(function, *args):
    """``function`` jitted and compiled ahead of time with the project's XLA options."""
    return train.compile_lowered(jax.jit(function).lower(*args))


class DlcourseRun:
    """The experiment's Trainable (``train.supervised`` with ``convnets.build``'s arguments) on the
    benchmark's data; ``loop`` picks how its steps are driven (see the module docstring)."""

    def __init__(self, model, splits: data.Splits, config, batch_size: int, steps: int, loop: str):
        self.loop, self.steps = loop, steps
        self.trainable = train.supervised(model, splits, optimizer="adam",
                                          hparams={k: config[k] for k in convnets.NUMERIC}, epochs=1,
                                          batch_size=batch_size, loss="softmax", eval_batch_size=batch_size,
                                          evaluate_train=False)
        self.hparams = self.trainable.default_hparams()
        key = jax.random.key(config.train_seed)
        start = time.perf_counter()
        self.state = jax.block_until_ready(compile_ahead(self.trainable.init, self.hparams, key)(self.hparams, key))
        if loop == "epoch":
            self.epoch = compile_ahead(self.trainable.epoch, self.state, self.hparams)
        else:
            self._compile_step(model, splits, batch_size)
        self.compile_seconds = time.perf_counter() - start
        self.parameter_count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(self.state.params))

    def _compile_step(self, model, splits: data.Splits, batch_size: int) -> None:
        """A jitted train step of the same model, loss and optimizer as the Trainable's epoch."""
        m, steps = len(splits.x_train), self.steps
        x_train, y_train = jax.device_put(splits.x_train), jax.device_put(splits.y_train)
        x_dev, y_dev = jax.device_put(splits.x_dev), jax.device_put(splits.y_dev)
        collections = sorted(self.state.model_state)
        accepts_mask = "mask" in inspect.signature(type(model).__call__).parameters
        softmax_terms = losses.LOSSES["softmax"]

        def make_optimizer(hparams):
            return optim.create_optimizer("adam", {**optim.optimizer_defaults("adam"), **{
                k: hparams[k] for k in ("learning_rate", "beta1", "beta2")}})

        def shuffle(key):  # the epoch's split of its key and its permutation, as [steps, B] rows
            next_key, shuffle_key, step_key = jax.random.split(key, 3)
            return next_key, jax.random.permutation(shuffle_key, m).reshape(steps, batch_size), step_key

        def step(state, order, step_key, index, hparams):
            rows = order[index]
            inputs, targets = x_train[rows], y_train[rows]
            key = jax.random.fold_in(jax.random.fold_in(step_key, index), 0)  # as the epoch: device 0
            mask = {"mask": jnp.ones((batch_size,), jnp.float32)} if accepts_mask else {}

            def cost(params):
                outputs, updates = model.apply({"params": params, **state.model_state}, inputs, train=True,
                                               rngs={"dropout": key}, mutable=collections, **mask)
                value = jnp.mean(softmax_terms(outputs, targets))
                return value + losses.l2_penalty(params, hparams["l2"], m), updates

            (value, updates), grads = jax.value_and_grad(cost, has_aux=True)(state.params)
            changes, opt_state = make_optimizer(hparams).update(grads, state.opt_state, state.params)
            params = optim.apply_updates(state.params, changes)
            return state._replace(params=params, model_state={c: updates[c] for c in collections},
                                  opt_state=opt_state, step=state.step + 1), value

        def evaluate(state):
            logits = model.apply({"params": state.params, **state.model_state}, x_dev, train=False)
            return (jnp.mean(softmax_terms(logits, y_dev)),
                    jnp.mean((jnp.argmax(logits, -1) == y_dev).astype(jnp.float32)))

        self.shuffle = compile_ahead(shuffle, self.state.key)
        _, order, step_key = self.shuffle(self.state.key)
        self.indices = [jnp.asarray(t, jnp.int32) for t in range(steps)]
        self.step = compile_ahead(step, self.state, order, step_key, self.indices[0], self.hparams)
        self.evaluate = compile_ahead(evaluate, self.state)

    def run(self) -> dict:
        if self.loop == "epoch":
            self.state, row = self.epoch(self.state, self.hparams)
            row = jax.device_get(row)
            return {k: float(row[k]) for k in ("train_loss", "start_loss", "dev_loss", "dev_accuracy")}
        next_key, order, step_key = self.shuffle(self.state.key)
        state, costs = self.state._replace(key=next_key), []
        for index in self.indices:
            state, value = self.step(state, order, step_key, index, self.hparams)
            costs.append(value)
        self.state = state
        costs, (dev_loss, dev_accuracy) = jax.device_get((costs, self.evaluate(state)))
        return {"train_loss": float(np.mean(costs)), "start_loss": float(costs[0]),
                "dev_loss": float(dev_loss), "dev_accuracy": float(dev_accuracy)}


# ----- the benchmark ------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, from {', '.join(MODELS)}")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size")
    parser.add_argument("--steps", type=int, default=10, help="Adam steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (median reported)")
    parser.add_argument("--image-size", type=int, default=32, help="image height and width (pixels)")
    parser.add_argument("--width", action="append", default=[], metavar="MODEL=W",
                        help="width multiplier of a model (the experiment's config.width); defaults: "
                             + ", ".join(f"{k}={v:g}" for k, v in DEFAULT_WIDTHS.items() if k != "lenet5"))
    parser.add_argument("--dlcourse", default="epoch", choices=LOOPS + ("both",),
                        help="how dlcourse drives its steps: 'epoch' (the Trainable's jitted lax.scan epoch, "
                             "the project's path), 'step' (a jitted train step from a Python loop) or both")
    parser.add_argument("--torch-threads", type=int, default=os.cpu_count() or 1,
                        help="PyTorch intra-op CPU threads (default: the core count; 0: PyTorch's default)")
    parser.add_argument("--whole-process", action="store_true",
                        help="time fresh processes, spawn to exit, instead of runs inside this one")
    parser.add_argument("--side", choices=("dlcourse", "torch"), help=argparse.SUPPRESS)  # one process's work
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    for name in args.models:
        if name not in MODELS:
            parser.error(f"--models: unknown model {name!r}; expected some of {', '.join(MODELS)}")
    for name in ("batch_size", "steps", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.image_size < 8:
        parser.error("--image-size must be >= 8")
    if "lenet5" in args.models and args.image_size < 16:
        parser.error("--image-size must be >= 16 for lenet5 (two 5×5 convolutions and two 2×2 pools)")
    widths = dict(DEFAULT_WIDTHS)
    for item in args.width:
        name, _, value = item.partition("=")
        try:
            width = float(value)
        except ValueError:
            parser.error(f"--width {item!r}: expected MODEL=NUMBER")
        if name not in MODELS or not width > 0:
            parser.error(f"--width {item!r}: expected MODEL=W with MODEL in {', '.join(MODELS)} and W > 0")
        widths[name] = width
    args.widths = widths
    args.loops = LOOPS if args.dlcourse == "both" else (args.dlcourse,)
    return args


def model_config(name: str, args):
    config = convnets.get_config()
    config.model, config.dataset = name, DATASETS[name]
    config.image_size, config.width = args.image_size, args.widths[name]
    config.batch_size, config.epochs = args.batch_size, 1
    return config


def loss_text(results: list[dict]) -> str:
    return f"{results[0]['start_loss']:.3f}→{results[-1]['train_loss']:.3f}"


def one_side(args) -> int:
    """The work of one ``--whole-process`` child: build, compile and train one run, print its loss."""
    name = args.models[0]
    config = model_config(name, args)
    splits = bench_splits(config, args.steps, args.batch_size)
    model = convnets.make_model(config, splits.num_classes, splits.x_train.shape[1])
    if args.side == "torch":
        torch = timing.peer_torch(args.torch_threads)
        run = TorchRun(torch, model, splits, config, args.steps, args.batch_size, config.train_seed)
    else:
        run = DlcourseRun(model, splits, config, args.batch_size, args.steps, "epoch")
    print(json.dumps({"train_loss": float(run.run()["train_loss"])}))
    return 0


def whole_process(args) -> int:
    """Fresh processes per model and side, spawn to exit; medians of ``--repeats``."""
    common = ["--batch-size", str(args.batch_size), "--steps", str(args.steps), "--image-size",
              str(args.image_size), "--torch-threads", str(args.torch_threads),
              *(f"--width={m}={w:g}" for m, w in args.widths.items() if m != "lenet5")]
    env = dict(os.environ, DLCOURSE_COMPILATION_CACHE="none", JAX_ENABLE_COMPILATION_CACHE="false")
    images = args.steps * args.batch_size
    print(f"# whole process: {', '.join(args.models)}; {args.steps} steps of {args.batch_size} images per "
          f"process; {args.repeats} processes per side, alternating; machine: {timing.machine_text()}", flush=True)
    rows = []
    for name in args.models:
        seconds = {"dlcourse": [], "torch": []}
        for repeat in range(args.repeats):
            for side in (("dlcourse", "torch") if repeat % 2 == 0 else ("torch", "dlcourse")):
                command = [sys.executable, __file__, "--models", name, "--side", side, *common]
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(REPO))
                seconds[side].append(time.perf_counter() - start)
                if done.returncode != 0:
                    print(done.stderr[-2000:], file=sys.stderr)
                    return done.returncode
        ours, theirs = timing.median(seconds["dlcourse"]), timing.median(seconds["torch"])
        rows.append([name, f"{ours:.1f}", f"{theirs:.1f}", f"{theirs / ours:.2f}",
                     f"{images / ours:,.0f}", f"{images / theirs:,.0f}"])
        print(f"# {name}: dlcourse {', '.join(f'{t:.1f}' for t in seconds['dlcourse'])} s; PyTorch "
              f"{', '.join(f'{t:.1f}' for t in seconds['torch'])} s", flush=True)
    print()
    print(timing.table(["model", "dlcourse process s", "PyTorch process s", "PyTorch s / dlcourse s",
                        "dlcourse images/s", "PyTorch images/s"], rows))
    print("\nseconds = one fresh process, spawn to exit (imports, data, model, compile, one run of the steps);"
          "\nPyTorch s / dlcourse s above 1: dlcourse is faster")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        return one_side(args)
    if args.whole_process:
        return whole_process(args)
    torch = timing.peer_torch(args.torch_threads)
    images = args.steps * args.batch_size
    print(f"# {', '.join(args.models)}: batch {args.batch_size}, {args.steps} Adam steps per run "
          f"({images:,} images), {args.image_size}x{args.image_size} inputs; widths "
          + ", ".join(f"{m}={args.widths[m]:g}" for m in args.models if m != "lenet5"))
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}, flax {flax.__version__}; "
          f"PyTorch {torch.__version__} on CPU ({torch.get_num_threads()} threads)")
    print(f"# machine: {timing.machine_text()}; 1 warm-up + {args.repeats} interleaved repeats, medians",
          flush=True)

    rows = []
    for name in args.models:
        config = model_config(name, args)
        splits = bench_splits(config, args.steps, args.batch_size)
        model = convnets.make_model(config, splits.num_classes, splits.x_train.shape[1])
        theirs = TorchRun(torch, model, splits, config, args.steps, args.batch_size, config.train_seed)
        methods = {f"dlcourse {loop}": DlcourseRun(model, splits, config, args.batch_size, args.steps, loop)
                   for loop in args.loops}
        counts = {method: run.parameter_count for method, run in methods.items()}
        print(f"# {name}: input {tuple(splits.x_train.shape[1:])} ({config.dataset}), {splits.num_classes} "
              f"classes; parameters " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
              + f", PyTorch {theirs.parameter_count:,}; compile " +
              ", ".join(f"{k} {run.compile_seconds:.1f} s" for k, run in methods.items()), flush=True)
        for method, count in counts.items():
            assert count == theirs.parameter_count, (
                f"{name}: the PyTorch twin has {theirs.parameter_count:,} parameters, {method} {count:,}")
        methods["torch"] = theirs
        results = {method: [run.run()] for method, run in methods.items()}  # warm-up, untimed

        def record(_repeat, method, _seconds, result):
            results[method].append(result)

        times, _ = timing.run_interleaved({method: run.run for method, run in methods.items()}, args.repeats,
                                          record)
        torch_rate = images / timing.median(times["torch"])
        for loop in args.loops:
            method = f"dlcourse {loop}"
            ours_rate = images / timing.median(times[method])
            rows.append([name, LOOP_NAMES[loop], f"{theirs.parameter_count:,}", f"{ours_rate:,.0f}",
                         f"{methods[method].compile_seconds:.1f}", f"{torch_rate:,.0f}",
                         f"{ours_rate / torch_rate:.2f}", loss_text(results[method]), loss_text(results["torch"])])
    print()
    print(timing.table(["model", "dlcourse path", "params", "dlcourse images/s", "dlcourse compile s",
                        "torch images/s", "dlcourse/torch", "dlcourse loss", "torch loss"], rows))
    print("\nimages/s = steps·batch / median seconds of a run (shuffle, steps, one dev batch, one host read);"
          "\ncompile = dlcourse's programs traced, lowered and compiled ahead of time (excluded above);"
          "\nloss = first batch at initialization → mean training loss of the last run; "
          "dlcourse/torch above 1: dlcourse is faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
