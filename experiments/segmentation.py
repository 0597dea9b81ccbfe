"""Semantic segmentation: a U-Net labels every pixel of generated scenes (background, circle, square, triangle).

The scenes (:func:`dlcourse.data.make_scene_splits`: up to ``max_objects`` shapes, occluding one
another, on a noisy background) give each pixel its class (``pixel_classes``: 0 background,
1 + the shape's class). :class:`dlcourse.models.UNet` (contracting path conv–conv–pool, expanding
path transposed-conv up-sampling, skip concatenation, conv–conv; ``depth`` levels from
``base_width`` channels) is trained with the shared supervised builder on the per-pixel softmax
loss ``(1 / Σ w) Σ_pixels w·(−log ŷ[y])``, Adam, and reports the mean IoU over the 4 classes (the
objective) and each class's IoU on the dev and test splits. ``ignore_boundaries=True`` gives
every pixel on the border between two classes the label 255 and weight 0
(:func:`dlcourse.losses.ignore_mask`): left out of the loss and the IoUs, as in PASCAL VOC.
With a workdir it saves ``segmentation.png`` (rows of test image / truth / prediction) and the
learning curve. Numeric (sweepable by launch.py): ``learning_rate``, ``beta1``, ``beta2``, ``l2``.

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``, ``l2``.
  structural: ``image_size``, ``train``, ``dev``, ``test``, ``max_objects``, ``depth``, ``base_width``,
    ``up_kernel_size``, ``batch_norm``, ``ignore_boundaries``, ``epochs``, ``batch_size``,
    ``eval_batch_size``, ``pictures``, ``seed``, ``train_seed``.

    python experiments/segmentation.py --workdir=runs/segmentation
    python experiments/segmentation.py --config.depth=3 --config.base_width=16 --config.epochs=30
    python launch.py --experiment=segmentation --sweep='learning_rate=log(1e-4,1e-2)' --trials=8
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, losses, metrics, models, train

NUMERIC = ("learning_rate", "beta1", "beta2", "l2")
CLASS_NAMES = ("background",) + tuple(data.SCENE_CLASSES)
IGNORE_INDEX = 255


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 3e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.l2 = 0.0
    # structural
    config.image_size = 32
    config.train = 512
    config.dev = 128
    config.test = 128
    config.max_objects = 3
    config.depth = 2
    config.base_width = 8
    config.up_kernel_size = 2
    config.batch_norm = False
    config.ignore_boundaries = False
    config.epochs = 15
    config.batch_size = 16
    config.eval_batch_size = 128
    config.pictures = 4
    config.seed = 0
    config.train_seed = 0
    return config


def class_boundaries(pixel_classes: np.ndarray) -> np.ndarray:
    """True where a pixel's class differs from one of its 4 neighbours' (``[m, H, W]`` → bool)."""
    edge = np.zeros(pixel_classes.shape, bool)
    vertical = pixel_classes[:, 1:] != pixel_classes[:, :-1]
    horizontal = pixel_classes[:, :, 1:] != pixel_classes[:, :, :-1]
    edge[:, 1:] |= vertical
    edge[:, :-1] |= vertical
    edge[:, :, 1:] |= horizontal
    edge[:, :, :-1] |= horizontal
    return edge


def examples(scenes: data.Scenes, ignore_boundaries: bool) -> data.Examples:
    """Images → pixel classes; boundary pixels labelled 255 with weight 0 when ignored."""
    labels = scenes.pixel_classes.astype(np.int32)
    if not ignore_boundaries:
        return data.Examples(scenes.images, labels)
    labels = np.where(class_boundaries(labels), IGNORE_INDEX, labels).astype(np.int32)
    return data.Examples(scenes.images, labels, np.asarray(losses.ignore_mask(labels, IGNORE_INDEX)))


def load(config) -> data.Dataset:
    splits = data.make_scene_splits(config.train, config.dev, config.test, seed=config.seed, size=config.image_size,
                                    max_objects=config.max_objects)
    if splits.train.num_classes + 1 != len(CLASS_NAMES):
        raise ValueError(f"the scenes have {splits.train.num_classes} classes; expected {len(CLASS_NAMES) - 1}")
    return data.Dataset(*(examples(split, config.ignore_boundaries) for split in splits))


def make_model(config) -> models.UNet:
    return models.UNet(num_classes=len(CLASS_NAMES), depth=config.depth, base_width=config.base_width,
                       up_kernel_size=config.up_kernel_size, batch_norm=config.batch_norm)


def segmentation_metrics() -> tuple[metrics.Metric, ...]:
    """Mean IoU (the objective) and the IoU of each class."""
    count = len(CLASS_NAMES)
    return (metrics.mean_iou(count), *(metrics.class_iou(count, c, name) for c, name in enumerate(CLASS_NAMES)))


def trainable_on(config, dataset: data.Dataset) -> train.Trainable:
    return train.supervised(make_model(config), dataset, optimizer="adam", hparams={k: config[k] for k in NUMERIC},
                            epochs=config.epochs, batch_size=config.batch_size, loss="softmax",
                            metrics=segmentation_metrics(), eval_batch_size=config.eval_batch_size)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return trainable_on(config, load(config))


def save_predictions(path: str, images: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> None:
    """One row per image: the image, the true class map and the predicted one (255 = ignored, white)."""
    from matplotlib.colors import ListedColormap

    from dlcourse.train.reporting import figure, place_axes, save_figure

    colours = ListedColormap(["#202020", "#e41a1c", "#377eb8", "#4daf4a", "#ffffff"])
    shown = lambda labels: np.where(labels == IGNORE_INDEX, len(CLASS_NAMES), labels)  # noqa: E731
    rows = len(images)
    fig = figure(6, 2 * rows + 0.5)
    place_axes(fig, left=0.1, right=0.1, bottom=0.1, top=0.45, wspace=0.05, hspace=0.1)
    fig.suptitle("classes: " + ", ".join(f"{name} ({colour})" for name, colour in zip(
        CLASS_NAMES + ("ignored",), ("black", "red", "blue", "green", "white"))), fontsize=7)
    for row in range(rows):
        for column, (title, picture) in enumerate((("image", images[row]), ("truth", shown(truth[row])),
                                                   ("prediction", shown(predicted[row])))):
            axes = fig.add_subplot(rows, 3, 3 * row + column + 1)
            if column == 0:
                axes.imshow(np.clip(picture, 0, 1))
            else:
                axes.imshow(picture, cmap=colours, vmin=0, vmax=len(CLASS_NAMES), interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title(title, fontsize=8)
    save_figure(fig, path)


def main(config, workdir):
    """Trains one trial, reports dev/test mean and per-class IoU, saves the prediction picture."""
    dataset = load(config)
    trainable = trainable_on(config, dataset)
    trainable.check_hparams()
    values = {k: jnp.asarray(v, jnp.float32) for k, v in trainable.hparams.items()}
    key = jax.random.key(config.train_seed)
    pictures = min(config.pictures, len(dataset.test.inputs))
    model = make_model(config)

    def run(values, key):
        state, curves = trainable.train_with_state(values, key)
        variables = {"params": state.params, **state.model_state}
        predicted = jnp.argmax(model.apply(variables, dataset.test.inputs[:pictures]), axis=-1)
        return curves, trainable.test(state, values), predicted

    cli.say(f"segmentation: U-Net depth {config.depth}, width {config.base_width}, {config.image_size}×"
            f"{config.image_size} scenes; compiling")
    started = time.perf_counter()
    program = train.compile_lowered(jax.jit(run).lower(values, key))
    compiled = time.perf_counter()
    curves, test, predicted = jax.block_until_ready(program(values, key))
    finished = time.perf_counter()
    cli.say(f"compiled in {compiled - started:.1f}s, trained {config.epochs} epochs in {finished - compiled:.1f}s")
    final = {k[len("final_"):]: float(v) for k, v in curves.items() if k.startswith("final_")}
    summary = {"dev_mean_iou": final["dev_mean_iou"], "test_mean_iou": float(test["test_mean_iou"]),
               "train_mean_iou": final["train_mean_iou"], "final_train_loss": final["train_loss"],
               "diverged": bool(curves["diverged"]),
               "dev_iou": {name: final[f"dev_iou_{name}"] for name in CLASS_NAMES},
               "test_iou": {name: float(test[f"test_iou_{name}"]) for name in CLASS_NAMES},
               "seconds": round(finished - started, 3), "compile_seconds": round(compiled - started, 3),
               "config": config.to_dict()}
    cli.print_table(("split", "mean IoU", *CLASS_NAMES),
                    [(split, summary[f"{split}_mean_iou"], *summary[f"{split}_iou"].values())
                     for split in ("dev", "test")])
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        rows = [{k: float(v[i]) for k, v in curves.items() if np.ndim(v) == 1} for i in range(config.epochs)]
        train.plot_learning_curve(rows, os.path.join(workdir, "learning_curve.png"), "U-Net per-pixel softmax cost")
        save_predictions(os.path.join(workdir, "segmentation.png"), np.asarray(dataset.test.inputs[:pictures]),
                         np.asarray(dataset.test.targets[:pictures]), np.asarray(predicted))
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
