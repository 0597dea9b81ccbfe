"""Benchmark: YOLO training throughput (images/s) and batched NMS latency, dlcourse against PyTorch.

**Training.** The small YOLO of ``experiments/yolo.py`` (loaded by path; its ``get_config()``
with ``--width`` and ``--convs-per-stage`` on top) on the experiment's generated 64×64 scenes, the
training split cut to ``steps · batch`` scenes and the dev split to one batch:

- **dlcourse**: the experiment's ``build`` — ``train.supervised`` with the YOLO loss
  (:func:`dlcourse.detection.yolo_loss`, λ_coord = 5, λ_noobj = 0.5), Adam, batch norm — with
  ``epochs=1`` and ``batch_size=--batch-size``; a run is ``jax.jit(trainable.epoch)`` compiled ahead of
  time (``train.compile_lowered``; compile reported apart): a ``lax.scan`` of the steps over
  mini-batches shuffled on the device, then the dev batch in inference mode with its loss and the
  additive mAP statistics (decoding, NMS, matching), and one host read of the row.
- **PyTorch** (CPU; not a dependency of dlcourse): the same network in ``torch.nn``, NCHW, layer by
  layer from the dlcourse module's attributes (3×3 convolutions without bias, padding 1, stride 2
  first in each stage; batch norm ε = 1e-5, momentum 0.1 = 1 − 0.9; leaky ReLU 0.1; a 1×1 head with
  bias; He-normal initialization, LeCun-normal for the head; parameter counts asserted equal), the
  same loss written in torch, ``torch.optim.Adam`` with the same α, β₁, β₂, ε. A run is a
  ``torch.randperm`` shuffle, the same steps, then the dev batch in ``eval()`` under ``no_grad``:
  its loss, decoding and ``torchvision.ops.batched_nms`` (no mAP matching: a little less work than
  dlcourse's dev step).

images/s = ``steps · batch`` / median seconds of a run.

**NMS.** ``--nms-batch`` images of ``N`` random boxes each, from two shapes: the experiment's
``S·S·A = 8·8·2 = 128`` boxes with 3 classes, and the notes' ``19·19·5 = 1805`` with 80 classes.
Scores are uniform in [0, 1), a box's class is uniform; boxes of score ``≤ 0.6`` are discarded,
then per-class NMS at IoU 0.5:

- **dlcourse**: :func:`dlcourse.detection.batched_non_max_suppression` with ``max_outputs = N`` (so
  nothing is cut), jitted and compiled ahead of time, one call for the batch, one host read;
- **torchvision**: ``torchvision.ops.batched_nms`` in one call for the batch (the class index
  offset by ``image · classes``, so boxes of different images or classes never suppress each other)
  after a boolean score filter; the kept boxes per image are checked equal to dlcourse's count.

Latency is the median over ``--repeats`` interleaved calls (after a warm-up).

**Whole process** (``--whole-process``): each figure again as a user feels it — one fresh Python
process per task and side, spawn to exit (imports, data, model or boxes, compile with JAX's
persistent cache off, one run), the median of ``--process-repeats`` processes, printed beside the
in-process figures. The PyTorch processes also import JAX and dlcourse (the scenes and boxes are
made with them), which a pure-PyTorch script would not.

PyTorch comes from wherever ``import torch`` finds it (e.g. ``PYTHONPATH=/path/to/site``); CPU
threads: ``--torch-threads`` (default 1, see :func:`bench.timing.configure_torch`). XLA uses every
core. On a loaded machine both sides slow down unevenly; compare on an idle one.

    python bench/detection.py [--batch-size 32] [--steps 8] [--repeats 5] [--nms-batch 8]
                              [--width 8] [--convs-per-stage 2] [--torch-threads 1] [--whole-process]
"""

from __future__ import annotations

import argparse
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

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from bench import timing  # noqa: E402
from dlcourse import detection, optim, train  # noqa: E402
from dlcourse.cli import load_experiment  # noqa: E402

yolo = load_experiment(str(REPO / "experiments" / "yolo.py")).module

NMS_SHAPES = {"yolo 8x8x2, 3 classes": (128, 3), "notes 19x19x5, 80 classes": (1805, 80)}
ADAM_EPSILON = optim.optimizer_defaults("adam")["eps"]


# ----- training ---------------------------------------------------------------------------------------


def bench_config(args):
    config = yolo.get_config()
    config.width, config.convs_per_stage = args.width, args.convs_per_stage
    config.train, config.dev, config.test = args.steps * args.batch_size, args.batch_size, args.batch_size
    config.batch_size, config.eval_batch_size, config.epochs = args.batch_size, args.batch_size, 1
    return config


def torch_network(torch, model):
    """The ``torch.nn`` twin of the dlcourse ``models.YOLO`` ``model`` (NCHW in, NHWC-ordered out)."""
    nn = torch.nn
    layers, channels = [], 3
    for width in model.widths:
        for index in range(model.convs_per_stage):
            layers += [nn.Conv2d(channels, width, 3, 2 if index == 0 else 1, 1, bias=False),
                       nn.BatchNorm2d(width, eps=1e-5, momentum=1.0 - model.batch_norm_momentum),
                       nn.LeakyReLU(0.1)]
            channels = width
    head = nn.Conv2d(channels, model.num_anchors * (5 + model.num_classes), 1)
    body = nn.Sequential(*layers, head)
    with torch.no_grad():
        for module in body.modules():
            if isinstance(module, nn.Conv2d):
                gain = 1.0 if module is head else 2.0
                module.weight.normal_(0.0, math.sqrt(gain / module.weight[0].numel()))
                if module.bias is not None:
                    module.bias.zero_()

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body

        def forward(self, x):
            z = self.body(x).permute(0, 2, 3, 1)
            return z.reshape(z.shape[:3] + (model.num_anchors, 5 + model.num_classes))

    return Network()


def torch_yolo_loss(torch, outputs, targets, anchors, coord_weight, no_object_weight):
    """The mean over the batch of :func:`dlcourse.detection.yolo_loss`, written in torch."""
    size = outputs.shape[1]
    has_object = targets[..., 0] > 0.5
    objectness = torch.sigmoid(outputs[..., 0])
    offsets = torch.sigmoid(outputs[..., 1:3])
    anchor_cells = anchors * size
    ratio = torch.where(has_object[..., None], targets[..., 3:5], anchor_cells) / anchor_cells
    coordinates = ((offsets - targets[..., 1:3]) ** 2).sum(-1) + ((outputs[..., 3:5] - torch.log(ratio)) ** 2).sum(-1)
    classes = -(targets[..., 5:] * torch.log_softmax(outputs[..., 5:], -1)).sum(-1)
    per_slot = torch.where(has_object, coord_weight * coordinates + (objectness - 1) ** 2 + classes,
                           no_object_weight * objectness ** 2)
    return per_slot.sum((1, 2, 3)).mean()


def torch_detect(torch, batched_nms, outputs, anchors, score_threshold, iou_threshold):
    """Decoding as :func:`dlcourse.detection.decode_outputs`, then one ``batched_nms`` call; the kept count."""
    batch, size, _, count, _ = outputs.shape
    rows = torch.arange(size, dtype=outputs.dtype)[:, None, None]
    columns = torch.arange(size, dtype=outputs.dtype)[None, :, None]
    b_x = (columns + torch.sigmoid(outputs[..., 1])) / size
    b_y = (rows + torch.sigmoid(outputs[..., 2])) / size
    b_h, b_w = anchors[:, 0] * torch.exp(outputs[..., 3]), anchors[:, 1] * torch.exp(outputs[..., 4])
    boxes = torch.stack([b_x - b_w / 2, b_y - b_h / 2, b_x + b_w / 2, b_y + b_h / 2], -1).reshape(batch, -1, 4)
    probabilities, classes = torch.softmax(outputs[..., 5:], -1).max(-1)
    scores = (torch.sigmoid(outputs[..., 0]) * probabilities).reshape(batch, -1)
    classes = classes.reshape(batch, -1) + (outputs.shape[-1] - 5) * torch.arange(batch)[:, None]
    keep = scores > score_threshold
    return batched_nms(boxes[keep], scores[keep], classes[keep], iou_threshold).numel()


class TorchTraining:
    def __init__(self, torch, model, splits, config, steps: int, batch_size: int, seed: int):
        from torchvision.ops import batched_nms

        self.torch, self.batched_nms, self.config = torch, batched_nms, config
        self.steps, self.batch_size = steps, batch_size
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        nchw = lambda x: torch.as_tensor(np.ascontiguousarray(np.transpose(np.asarray(x, np.float32), (0, 3, 1, 2))))  # noqa: E731
        dataset = yolo.examples(splits, config)
        self.x_train, self.y_train = nchw(splits.train.images), torch.as_tensor(np.array(dataset.train.targets["grid"]))
        self.x_dev, self.y_dev = nchw(splits.dev.images), torch.as_tensor(np.array(dataset.dev.targets["grid"]))
        self.anchors = torch.as_tensor(np.asarray(config.anchors, np.float32))
        self.network = torch_network(torch, model)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=float(config.learning_rate),
                                          betas=(float(config.beta1), float(config.beta2)), eps=ADAM_EPSILON)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.network.parameters())

    def loss(self, outputs, targets):
        return torch_yolo_loss(self.torch, outputs, targets, self.anchors, self.config.coord_weight,
                               self.config.no_object_weight)

    def run(self) -> dict:
        torch, network = self.torch, self.network
        order = torch.randperm(len(self.x_train), generator=self.generator)
        network.train()
        total = None
        for step in range(self.steps):
            rows = order[step * self.batch_size:(step + 1) * self.batch_size]
            loss = self.loss(network(self.x_train[rows]), self.y_train[rows])
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total = loss.detach() if total is None else total + loss.detach()
        network.eval()
        with torch.no_grad():
            outputs = network(self.x_dev)
            dev_loss = self.loss(outputs, self.y_dev)
            kept = torch_detect(torch, self.batched_nms, outputs, self.anchors, self.config.map_score_threshold,
                                self.config.iou_threshold)
        return {"train_loss": float(total) / self.steps, "dev_loss": float(dev_loss), "kept": kept}


class DlcourseTraining:
    def __init__(self, splits, config):
        self.trainable = yolo.build(config, splits)
        self.hparams = self.trainable.default_hparams()
        key = jax.random.key(config.train_seed)
        start = time.perf_counter()
        self.state = jax.block_until_ready(compile_ahead(self.trainable.init, self.hparams, key)(self.hparams, key))
        self.epoch = compile_ahead(self.trainable.epoch, self.state, self.hparams)
        self.compile_seconds = time.perf_counter() - start
        self.parameter_count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(self.state.params))

    def run(self) -> dict:
        self.state, row = self.epoch(self.state, self.hparams)
        row = jax.device_get(row)
        return {"train_loss": float(row["train_loss"]), "dev_loss": float(row["dev_loss"])}


def compile_ahead(function, *args):
    return train.compile_lowered(jax.jit(function).lower(*args))


def training_runs(torch, args):
    config = bench_config(args)
    splits = yolo.load(config)
    model = yolo.make_model(config, yolo.check_config(config))
    ours = DlcourseTraining(splits, config)
    theirs = TorchTraining(torch, model, splits, config, args.steps, args.batch_size, config.train_seed) \
        if torch is not None else None
    return ours, theirs


# ----- NMS -------------------------------------------------------------------------------------------


def random_detections(batch: int, count: int, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, (batch, count, 2))
    sizes = rng.uniform(0.05, 0.3, (batch, count, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], -1).astype(np.float32)
    return boxes, rng.uniform(0, 1, (batch, count)).astype(np.float32), rng.integers(0, classes, (batch, count))


class DlcourseNms:
    def __init__(self, boxes, scores, classes):
        self.inputs = tuple(jax.device_put(a) for a in (boxes, scores, classes.astype(np.int32)))
        count = boxes.shape[1]
        start = time.perf_counter()
        self.program = compile_ahead(lambda b, s, c: jnp.sum(detection.batched_non_max_suppression(
            b, s, c, max_outputs=count).valid, axis=1), *self.inputs)
        self.compile_seconds = time.perf_counter() - start

    def run(self):
        return np.asarray(self.program(*self.inputs))


class TorchNms:
    def __init__(self, torch, boxes, scores, classes):
        from torchvision.ops import batched_nms

        self.torch, self.batched_nms = torch, batched_nms
        batch, count = scores.shape
        self.boxes, self.scores = torch.as_tensor(boxes), torch.as_tensor(scores)
        self.groups = torch.as_tensor(classes) + int(classes.max() + 1) * torch.arange(batch)[:, None]
        self.image = torch.arange(batch)[:, None].expand(batch, count)

    def run(self):
        keep = self.scores > detection.SCORE_THRESHOLD
        kept = self.batched_nms(self.boxes[keep], self.scores[keep], self.groups[keep], detection.IOU_THRESHOLD)
        return np.bincount(self.image[keep][kept].numpy(), minlength=self.scores.shape[0])


# ----- processes ---------------------------------------------------------------------------------------


def one_side(args) -> int:
    """One ``--whole-process`` child: build, compile and run one task on one side."""
    torch = None
    if args.side == "torch":
        torch = timing.peer_torch(args.torch_threads)
    if args.task == "train":
        config = bench_config(args)
        splits = yolo.load(config)
        if torch is None:
            run = DlcourseTraining(splits, config)
        else:
            run = TorchTraining(torch, yolo.make_model(config, yolo.check_config(config)), splits, config, args.steps,
                                args.batch_size, config.train_seed)
    else:
        count, classes = NMS_SHAPES[args.task]
        inputs = random_detections(args.nms_batch, count, classes)
        run = DlcourseNms(*inputs) if torch is None else TorchNms(torch, *inputs)
    result = run.run()
    print(json.dumps({"done": True, "result": str(result)[:60]}))
    return 0


def whole_process(args) -> list[list[str]]:
    """Rows ``[task, dlcourse s, PyTorch s, ratio]``: medians of fresh processes, spawn to exit."""
    common = ["--batch-size", str(args.batch_size), "--steps", str(args.steps), "--nms-batch", str(args.nms_batch),
              "--width", str(args.width), "--convs-per-stage", str(args.convs_per_stage),
              "--torch-threads", str(args.torch_threads)]
    env = dict(os.environ, DLCOURSE_COMPILATION_CACHE="none", JAX_ENABLE_COMPILATION_CACHE="false")
    rows = []
    for task in ("train", *NMS_SHAPES):
        seconds = {"dlcourse": [], "torch": []}
        for repeat in range(args.process_repeats):
            for side in (("dlcourse", "torch") if repeat % 2 == 0 else ("torch", "dlcourse")):
                command = [sys.executable, __file__, "--side", side, "--task", task, *common]
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=str(REPO))
                seconds[side].append(time.perf_counter() - start)
                if done.returncode != 0:
                    raise SystemExit(f"{side} {task} process failed:\n{done.stderr[-2000:]}")
        ours, theirs = timing.median(seconds["dlcourse"]), timing.median(seconds["torch"])
        rows.append([task, f"{ours:.1f}", f"{theirs:.1f}", f"{theirs / ours:.2f}"])
        print(f"# whole process, {task}: dlcourse {', '.join(f'{t:.1f}' for t in seconds['dlcourse'])} s; PyTorch "
              f"{', '.join(f'{t:.1f}' for t in seconds['torch'])} s", flush=True)
    return rows


# ----- the benchmark -----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=32, help="training mini-batch size")
    parser.add_argument("--steps", type=int, default=8, help="Adam steps per timed training run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method (median reported)")
    parser.add_argument("--nms-batch", type=int, default=8, help="images per batched NMS call")
    parser.add_argument("--width", type=int, default=8, help="the experiment's config.width")
    parser.add_argument("--convs-per-stage", type=int, default=2, help="the experiment's config.convs_per_stage")
    parser.add_argument("--torch-threads", type=int, default=1, help="PyTorch intra-op threads (0: its default)")
    parser.add_argument("--whole-process", action="store_true", help="also time fresh processes, spawn to exit")
    parser.add_argument("--process-repeats", type=int, default=3, help="processes per side and task")
    parser.add_argument("--side", choices=("dlcourse", "torch"), help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=("train", *NMS_SHAPES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("batch_size", "steps", "repeats", "nms_batch", "width", "convs_per_stage", "process_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        return one_side(args)
    torch = timing.peer_torch(args.torch_threads)
    import torchvision

    images = args.steps * args.batch_size
    print(f"# YOLO (experiments/yolo.py, width {args.width}, {args.convs_per_stage} convs per stage): batch "
          f"{args.batch_size}, {args.steps} Adam steps per run ({images} scenes of 64x64); NMS: {args.nms_batch} "
          f"images per call, score > {detection.SCORE_THRESHOLD}, IoU >= {detection.IOU_THRESHOLD} suppressed")
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}; PyTorch {torch.__version__} + torchvision "
          f"{torchvision.__version__} on CPU ({torch.get_num_threads()} threads)")
    print(f"# machine: {timing.machine_text()}; 1 warm-up + {args.repeats} interleaved repeats, medians", flush=True)

    ours, theirs = training_runs(torch, args)
    assert ours.parameter_count == theirs.parameter_count, (ours.parameter_count, theirs.parameter_count)
    methods = {"dlcourse": ours.run, "torch": theirs.run}
    first = {name: run() for name, run in methods.items()}
    times, last = timing.run_interleaved(methods, args.repeats)
    ours_rate, theirs_rate = images / timing.median(times["dlcourse"]), images / timing.median(times["torch"])
    training_row = ["YOLO training", f"{ours_rate:,.0f} images/s", f"{theirs_rate:,.0f} images/s",
                    f"{ours_rate / theirs_rate:.2f}", f"{ours.compile_seconds:.1f}",
                    f"{first['dlcourse']['train_loss']:.2f}→{last['dlcourse']['train_loss']:.2f} / "
                    f"{first['torch']['train_loss']:.2f}→{last['torch']['train_loss']:.2f}"]
    print(f"# training: {ours.parameter_count:,} parameters each side", flush=True)

    rows = [training_row]
    for name, (count, classes) in NMS_SHAPES.items():
        inputs = random_detections(args.nms_batch, count, classes)
        mine, peer = DlcourseNms(*inputs), TorchNms(torch, *inputs)
        kept_ours, kept_theirs = mine.run(), peer.run()
        assert (kept_ours == kept_theirs).all(), (name, kept_ours, kept_theirs)
        times, _ = timing.run_interleaved({"dlcourse": mine.run, "torch": peer.run}, args.repeats)
        ours_ms, theirs_ms = 1e3 * timing.median(times["dlcourse"]), 1e3 * timing.median(times["torch"])
        rows.append([f"NMS {name}, {count} boxes", f"{ours_ms:.2f} ms", f"{theirs_ms:.2f} ms",
                     f"{theirs_ms / ours_ms:.2f}", f"{mine.compile_seconds:.1f}",
                     f"kept {kept_ours.mean():.0f} of {count} per image, equal"])
    print()
    print(timing.table(["in process", "dlcourse", "PyTorch", "dlcourse speed / PyTorch", "dlcourse compile s",
                        "check"], rows))
    print("\nabove 1: dlcourse is faster; training = shuffle, steps, dev batch, host read (loss: first run → last);"
          "\nNMS = one batched call and a host read of the kept counts; compile excluded")
    if args.whole_process:
        timing.print_whole_process(whole_process(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
