"""YOLO on generated scenes: a small convolutional YOLO trained, then mAP@0.5 on held-out scenes.

Scenes (``dlcourse.data.make_scene_splits``): ``image_size``² images with 1 to ``max_objects``
circles, squares and triangles. Each is encoded as the ``S × S × A × (5 + C)`` target of
:mod:`dlcourse.detection.yolo` with ``S = grid_size`` and the ``anchors`` (``(p_h, p_w)`` fractions of
the image). :class:`dlcourse.models.YOLO` (stride-2 stages of ``width · 2^s`` channels down to the
grid) is trained with the shared supervised builder on the YOLO loss (λ_coord, λ_noobj: the config's
``coord_weight``, ``no_object_weight``) with Adam; every epoch reports ``dev_map``, mAP@0.5 in its
additive form (:func:`dlcourse.detection.mean_average_precision_metric`: scores on 1000 levels, so
it sums over evaluation batches and is a metric a sweep can rank by — ``launch.py`` sweeps
``learning_rate``, ``beta1``, ``beta2``). After training, the test scenes are detected (score
threshold ``map_score_threshold`` for mAP, a low one since AP integrates over the thresholds;
``score_threshold`` = 0.6, the notes' value, for the picture; per-class NMS at ``iou_threshold``,
at most ``max_outputs`` boxes per scene), ``test_map`` is their exact mAP@0.5
(:func:`dlcourse.detection.mean_average_precision`) with AP per class, and
``<workdir>/detections.png`` shows test scenes with the predicted boxes and class names (the true
boxes dashed). Run by ``launch.py``, the same build reports the additive ``test_map`` instead.

``--config.compare=True`` also trains the region-proposal baseline
(:mod:`dlcourse.detection.proposals`): square sliding windows of sides ``window_sizes`` every
``window_stride``, crops of ``crop_size``² classified by LeNet-5 (background + C classes), trained
``proposal_epochs`` on ``positives`` + ``negatives`` crops per training scene (a window is an object
at IoU ≥ 0.5 with it, background when its best IoU is below ``background_iou``, R-CNN's 0.3; Fast
R-CNN's 0.5 gave a lower mAP here, 0.14 against 0.28), then NMS; and compares
both on the test scenes: mAP@0.5 and images/s at inference (the jitted detection of the whole test
set, after a warm-up call).

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``.
  structural: ``train``, ``dev``, ``test``, ``image_size``, ``max_objects``, ``seed``, ``grid_size``,
    ``anchors``, ``width``, ``convs_per_stage``, ``coord_weight``, ``no_object_weight``, ``epochs``,
    ``batch_size``, ``eval_batch_size``, ``max_outputs``, ``score_threshold``, ``map_score_threshold``,
    ``iou_threshold``, ``train_seed``, ``compare``, ``window_sizes``, ``window_stride``, ``crop_size``,
    ``positives``, ``negatives``, ``background_iou``, ``proposal_epochs``, ``show``.

    python experiments/yolo.py --workdir=runs/yolo [--config.compare=True]
"""

from __future__ import annotations

import functools
import math
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, detection, models, train

NUMERIC = ("learning_rate", "beta1", "beta2")
NUM_CLASSES = len(data.SCENE_CLASSES)


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 1e-2
    config.beta1 = 0.9
    config.beta2 = 0.999
    # structural: data
    config.train = 512
    config.dev = 128
    config.test = 128
    config.image_size = 64
    config.max_objects = 3
    config.seed = 0
    # structural: YOLO
    config.grid_size = 8
    config.anchors = ((0.2, 0.2), (0.4, 0.4))
    config.width = 8
    config.convs_per_stage = 2
    config.coord_weight = detection.COORD_WEIGHT
    config.no_object_weight = detection.NO_OBJECT_WEIGHT
    config.epochs = 30
    config.batch_size = 32
    config.eval_batch_size = 128
    config.max_outputs = 10
    config.score_threshold = detection.SCORE_THRESHOLD
    config.map_score_threshold = 0.05
    config.iou_threshold = detection.IOU_THRESHOLD
    config.train_seed = 0
    # the region-proposal baseline
    config.compare = False
    config.window_sizes = (0.16, 0.24, 0.34, 0.45)
    config.window_stride = 0.0625
    config.crop_size = 16
    config.positives = 8
    config.negatives = 16
    config.background_iou = detection.NEGATIVE_IOU
    config.proposal_epochs = 10
    config.show = 8
    return config


def check_config(config) -> int:
    """Raises ``ValueError`` naming the first bad value; returns the number of stride-2 stages."""
    for name in ("train", "dev", "test", "max_objects", "grid_size", "width", "convs_per_stage", "epochs",
                 "batch_size", "eval_batch_size", "max_outputs", "crop_size", "positives", "negatives",
                 "proposal_epochs"):
        if config[name] < 1:
            raise ValueError(f"{name} must be at least 1, got {config[name]}")
    stages = math.log2(config.image_size / config.grid_size) if config.image_size % config.grid_size == 0 else 0.5
    if stages != int(stages) or stages < 1:
        raise ValueError(f"grid_size={config.grid_size} must be image_size={config.image_size} divided by a "
                         f"power of two (at least 2)")
    if not config.anchors or any(len(a) != 2 or not all(0 < s <= 1 for s in a) for a in config.anchors):
        raise ValueError(f"anchors must be (height, width) pairs in (0, 1], got {config.anchors}")
    for name in ("score_threshold", "map_score_threshold", "iou_threshold"):
        if not 0 <= config[name] < 1:
            raise ValueError(f"{name} must be in [0, 1), got {config[name]}")
    if not 0 <= config.show <= config.test:
        raise ValueError(f"show must be between 0 and test={config.test}, got {config.show}")
    return int(stages)


def load(config) -> data.SceneSplits:
    return data.make_scene_splits(config.train, config.dev, config.test, seed=config.seed, size=config.image_size,
                                  max_objects=config.max_objects)


def anchors(config) -> jax.Array:
    return jnp.asarray(config.anchors, jnp.float32)


def examples(splits: data.SceneSplits, config) -> data.Dataset:
    """Images as inputs; the YOLO target and the true boxes (for mAP) as targets. The three splits'
    targets are encoded in one call (one compiled program)."""
    encoded = detection.encode_targets(*(np.concatenate([getattr(s, name) for s in splits])
                                         for name in ("centres", "classes", "present")),
                                       anchors(config), grid_size=config.grid_size, num_classes=NUM_CLASSES)
    grids = np.split(np.asarray(encoded), np.cumsum([len(s.images) for s in splits])[:-1])
    return data.Dataset(*(data.Examples(s.images, {"grid": grid, "boxes": s.corners, "classes": s.classes,
                                                   "present": s.present}) for s, grid in zip(splits, grids)))


def make_model(config, stages: int) -> models.YOLO:
    return models.YOLO(num_classes=NUM_CLASSES, num_anchors=len(config.anchors),
                       widths=tuple(config.width * 2 ** s for s in range(stages)),
                       convs_per_stage=config.convs_per_stage, batch_norm_momentum=0.9)


def yolo_detect(config, score_threshold: float):
    return functools.partial(detection.detect, anchors=anchors(config), max_outputs=config.max_outputs,
                             score_threshold=score_threshold, iou_threshold=config.iou_threshold)


def build(config: ml_collections.ConfigDict, splits: data.SceneSplits | None = None) -> train.Trainable:
    """The YOLO's Trainable (on ``splits``, default ``load(config)``)."""
    stages = check_config(config)
    splits = load(config) if splits is None else splits
    loss = functools.partial(detection.yolo_loss, anchors=anchors(config), coord_weight=config.coord_weight,
                             no_object_weight=config.no_object_weight)
    metric = detection.mean_average_precision_metric(yolo_detect(config, config.map_score_threshold),
                                                     num_classes=NUM_CLASSES)
    return train.supervised(make_model(config, stages), examples(splits, config), optimizer="adam",
                            hparams={k: config[k] for k in NUMERIC}, epochs=config.epochs,
                            batch_size=config.batch_size, loss=lambda outputs, targets: loss(outputs, targets["grid"]),
                            metrics=(metric,), eval_batch_size=config.eval_batch_size, evaluate_train=False)


# ----- after training: detections of the test scenes ---------------------------------------------


def timed_detection(detect_all, images, repeats: int = 3) -> tuple[detection.Detections, float]:
    """``detect_all(images)`` compiled, then timed: (detections, images per second, best of ``repeats``)."""
    compiled = train.compile_lowered(jax.jit(detect_all).lower(images))
    detections = jax.block_until_ready(compiled(images))
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(images))
        seconds.append(time.perf_counter() - start)
    return detections, len(images) / min(seconds)


def exact_map(detections, scenes: data.Scenes) -> tuple[float, list[float]]:
    """The exact mAP@0.5 and AP per class of ``detections`` of ``scenes`` (one compiled program)."""
    value, per_class = jax.jit(functools.partial(detection.mean_average_precision, num_classes=NUM_CLASSES))(
        detections, scenes.corners, scenes.classes, scenes.present)
    return round(float(value), 4), [round(float(v), 4) for v in np.asarray(per_class)]


def above(detections, threshold: float, count: int):
    """The first ``count`` scenes' detections with score above ``threshold``. Greedy NMS decides a
    box from the boxes of higher scores only, so these are the detections a run at ``threshold``
    gives (the low threshold of mAP only adds boxes below it)."""
    first = jax.device_get(jax.tree.map(lambda a: a[:count], detections))
    return first._replace(valid=first.valid & (first.scores > threshold))


def train_yolo(config, splits: data.SceneSplits):
    """Trains one YOLO with ``config.train_seed``; returns (summary, function images -> raw outputs)."""
    from dlcourse.train.reporting import to_json_value

    trainable = build(config, splits)
    trainable.check_hparams()
    values, key = trainable.default_hparams(), jax.random.key(config.train_seed)

    def run(values, key):   # the test split is evaluated after (exactly), not by the Trainable's test
        return trainable.train_with_state(values, key)

    cli.say("yolo: compiling")
    start = time.perf_counter()
    program = train.compile_lowered(jax.jit(run).lower(values, key))
    compile_seconds = time.perf_counter() - start
    cli.say(f"compiled in {compile_seconds:.1f}s; training {config.epochs} epochs")
    state, metrics = jax.block_until_ready(program(values, key))
    seconds = time.perf_counter() - start - compile_seconds
    cli.say(f"trained in {seconds:.1f}s")
    summary = {k: to_json_value(np.asarray(v)) for k, v in metrics.items() if np.ndim(v) == 0}
    summary.update(dev_map_curve=to_json_value(np.round(np.asarray(metrics["dev_map"], np.float64), 4)),
                   compile_seconds=round(compile_seconds, 2), train_seconds=round(seconds, 2))
    model = make_model(config, check_config(config))
    variables = {"params": state.params, **state.model_state}
    return summary, lambda images: model.apply(variables, images, train=False)


def evaluate_yolo(config, forward, test: data.Scenes) -> dict:
    detect_map = yolo_detect(config, config.map_score_threshold)
    detections, rate = timed_detection(lambda images: detect_map(forward(images)), jnp.asarray(test.images))
    value, per_class = exact_map(detections, test)
    shown = above(detections, config.score_threshold, config.show)
    return {"test_map": value, "test_ap_per_class": per_class, "images_per_second": round(rate, 1),
            "shown": shown}


# ----- the region-proposal baseline ----------------------------------------------------------------


def train_proposals(config, splits: data.SceneSplits):
    """Trains LeNet-5 on window crops; returns (summary, windows, function images -> logits [m, N, 1 + C])."""
    windows = jnp.asarray(detection.sliding_windows([(s, s) for s in config.window_sizes], config.window_stride))
    options = {"crop_size": config.crop_size, "positives": config.positives, "negatives": config.negatives,
               "negative_iou": config.background_iou}

    both = [np.concatenate([getattr(s, name) for s in (splits.train, splits.dev)])
            for name in ("images", "corners", "classes", "present")]
    x, y = jax.device_get(jax.jit(functools.partial(detection.sample_window_examples, **options))(
        jax.random.key(config.train_seed), *both, windows))
    rows = len(splits.train.images) * (config.positives + config.negatives)
    (x_train, y_train), (x_dev, y_dev) = (x[:rows], y[:rows]), (x[rows:], y[rows:])
    model = models.LeNet5(num_classes=1 + splits.train.num_classes)
    dataset = data.Dataset(data.Examples(x_train, y_train), data.Examples(x_dev, y_dev))
    trainable = train.supervised(model, dataset, optimizer="adam", hparams={k: config[k] for k in NUMERIC},
                                 epochs=config.proposal_epochs, batch_size=64, evaluate_train=False,
                                 eval_batch_size=1024)
    values, key = trainable.default_hparams(), jax.random.key(config.train_seed)
    start = time.perf_counter()
    program = train.compile_lowered(jax.jit(trainable.train_with_state).lower(values, key))
    state, metrics = jax.block_until_ready(program(values, key))
    seconds = time.perf_counter() - start
    summary = {"windows": int(windows.shape[0]), "crops_per_scene": config.positives + config.negatives,
               "final_dev_crop_accuracy": round(float(metrics["final_dev_accuracy"]), 4),
               "train_seconds": round(seconds, 2)}
    crop = jax.vmap(lambda image: detection.crop_windows(image, windows, config.crop_size))

    def forward(images):
        pieces = crop(images)
        logits = model.apply({"params": state.params}, pieces.reshape((-1,) + pieces.shape[2:]))
        return logits.reshape(images.shape[0], windows.shape[0], -1)

    return summary, windows, forward


def evaluate_proposals(config, windows, forward, test: data.Scenes) -> dict:
    def detect(images, threshold):
        one = functools.partial(detection.windows_to_detections, windows, max_outputs=config.max_outputs,
                                score_threshold=threshold, iou_threshold=config.iou_threshold)
        return jax.vmap(one)(forward(images))

    detections, rate = timed_detection(lambda images: detect(images, config.map_score_threshold),
                                       jnp.asarray(test.images))
    value, per_class = exact_map(detections, test)
    return {"test_map": value, "test_ap_per_class": per_class, "images_per_second": round(rate, 1)}


# ----- the picture ---------------------------------------------------------------------------------


def plot_detections(path: str, scenes: data.Scenes, detections, title: str) -> None:
    """A row of test scenes with the predicted boxes (solid, class name and score) and the true
    boxes (dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(detections.scores)
    columns = min(count, 4)
    rows = -(-count // columns)
    colours = ("tab:red", "tab:cyan", "tab:olive")
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3 * rows), squeeze=False)
    side = scenes.images.shape[1]
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        ax.imshow(scenes.images[index], extent=(0, side, side, 0))
        for box, present in zip(scenes.corners[index], scenes.present[index]):
            if present:
                x1, y1, x2, y2 = box * side
                ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="white", ls="--", lw=0.8))
        for box, score, cls, valid in zip(detections.boxes[index], detections.scores[index],
                                          detections.classes[index], detections.valid[index]):
            if valid:
                x1, y1, x2, y2 = np.clip(box, 0, 1) * side
                colour = colours[int(cls) % len(colours)]
                ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=colour, lw=1.5))
                ax.text(x1, y1 - 1, f"{data.SCENE_CLASSES[int(cls)]} {score:.2f}", color=colour, fontsize=7,
                        va="bottom")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(config, workdir=None) -> dict:
    check_config(config)
    splits = load(config)
    summary, forward = train_yolo(config, splits)
    evaluation = evaluate_yolo(config, forward, splits.test)
    shown = evaluation.pop("shown")
    summary.update(evaluation)
    cli.say(f"YOLO test mAP@0.5 {summary['test_map']:.4f}; {summary['images_per_second']:.0f} images/s at inference")
    if workdir and config.show:
        os.makedirs(workdir, exist_ok=True)
        plot_detections(os.path.join(workdir, "detections.png"), splits.test, shown,
                        f"YOLO on test scenes (score > {config.score_threshold}); true boxes dashed")
        cli.say(f"detections: {os.path.join(workdir, 'detections.png')}")
    result = {"yolo": summary, "config": config.to_dict()}
    if config.compare:
        baseline, windows, proposal_forward = train_proposals(config, splits)
        baseline.update(evaluate_proposals(config, windows, proposal_forward, splits.test))
        result["proposals"] = baseline
        cli.print_table(("detector", "test mAP@0.5", "images/s", "train s"), [
            ("YOLO", summary["test_map"], summary["images_per_second"], summary["train_seconds"]),
            ("sliding windows + LeNet-5", baseline["test_map"], baseline["images_per_second"],
             baseline["train_seconds"])])
        result["speedup"] = round(summary["images_per_second"] / baseline["images_per_second"], 2)
    return result


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)   # launch.py sweeps build
