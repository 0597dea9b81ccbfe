"""What a deep network learns, seen through its units: the nine dataset patches that activate each
unit most (Zeiler & Fergus, 2013; the course's "Visualizing what a deep network is learning").

LeNet-5 (:class:`dlcourse.models.LeNet5`, max pooling, ReLU) is trained for ``epochs`` Adam epochs on
the handwritten digits as 32×32 images (:func:`dlcourse.data.load_digits_images`). Then, over the
training images, each chosen unit of ``conv1`` (field 5×5) and ``conv2`` (field 14×14: 5×5 conv,
2×2/2 pool, 5×5 conv) gets its ``k`` strongest activations, one per image
(:func:`dlcourse.style.top_activations`), and the receptive field of each is cut from its image
(:func:`dlcourse.style.crop_patches`). A layer-1 unit answers a stroke of one orientation or a
corner; a layer-2 unit a larger part of a digit. Written to the workdir: ``unit_patches_conv1.png``
and ``unit_patches_conv2.png`` (one row per unit, its patches strongest first). Reported per layer:
the receptive field, and how often a unit's ``k`` images share a digit (the mean over units of the
largest share of one label among them; 1/10 would be chance for a unit blind to the class).

Config (flat): ``epochs``, ``learning_rate``, ``batch_size``, ``units`` (the first ``units`` of each
layer, at most its channels: 6 and 16), ``k``, ``seed``.

    python experiments/unit_patches.py --workdir=runs/unit_patches [--config.units=16]
"""

from __future__ import annotations

import os
import time

import ml_collections
import numpy as np

from dlcourse import cli

# (f, s, p) of the convolutions and pools from LeNet-5's input to each layer.
LAYERS = {"conv1": [(5, 1, 0)], "conv2": [(5, 1, 0), (2, 2, 0), (5, 1, 0)]}
CHANNELS = {"conv1": 6, "conv2": 16}


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.epochs = 5
    config.learning_rate = 3e-3
    config.batch_size = 64
    config.units = 6
    config.k = 9
    config.seed = 0
    return config


def train_lenet(config):
    """``(model, variables, splits, dev accuracy)`` after ``config.epochs`` epochs on the digits."""
    import jax

    from dlcourse import data, models, train

    splits = data.load_digits_images(config.seed, size=32)
    model = models.LeNet5()
    trainable = train.supervised(model, splits, optimizer="adam", hparams={"learning_rate": config.learning_rate},
                                 epochs=config.epochs, batch_size=config.batch_size, evaluate_train=False)
    hparams, key = trainable.default_hparams(), jax.random.key(config.seed)
    state, figures = train.compile_lowered(jax.jit(trainable.train_with_state).lower(hparams, key))(hparams, key)
    return model, {"params": state.params}, splits, float(figures["final_dev_accuracy"])


def plot_patches(path: str, patches: np.ndarray, values: np.ndarray, title: str) -> None:
    """A grid: one row per unit, its patches strongest first, each titled by its activation."""
    from dlcourse.train.reporting import figure, place_axes, save_figure

    units, k = patches.shape[:2]
    fig = figure(0.9 * k + 0.6, 0.95 * units + 0.5)
    for unit in range(units):
        for index in range(k):
            axes = fig.add_subplot(units, k, unit * k + index + 1)
            axes.imshow(patches[unit, index, :, :, 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(f"{values[unit, index]:.2g}", fontsize=6, pad=1)
            if index == 0:
                axes.set_ylabel(f"unit {unit}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    place_axes(fig, left=0.3, right=0.1, bottom=0.1, top=0.4, wspace=0.1, hspace=0.35)
    save_figure(fig, path)


def main(config, workdir=None) -> dict:
    from dlcourse import style

    if config.epochs < 1 or config.k < 1 or config.units < 1:
        raise ValueError(f"epochs, k and units must be >= 1, got {config.epochs}, {config.k}, {config.units}")
    if config.units > min(CHANNELS.values()):
        raise ValueError(f"units={config.units} is more than conv1's {CHANNELS['conv1']} channels")
    start = time.perf_counter()
    model, variables, splits, dev_accuracy = train_lenet(config)
    cli.say(f"LeNet-5 on digits: dev accuracy {dev_accuracy:.3f} after {config.epochs} epochs "
            f"({time.perf_counter() - start:.1f} s)")
    images = splits.x_train
    if config.k > len(images):
        raise ValueError(f"k={config.k} is more than the {len(images)} training images")
    summary = {"dev_accuracy": dev_accuracy, "epochs": config.epochs, "layers": {}}
    for layer, layers in LAYERS.items():
        field = style.receptive_field(layers)
        activations = style.layer_activations(model, variables, images, layer, train=False)[..., :config.units]
        top = style.top_activations(activations, config.k)
        patches = np.asarray(style.crop_patches(images, top, field, fill=0.5))
        labels = splits.y_train[np.asarray(top.images)]                         # [units, k]
        shares = [np.bincount(row, minlength=10).max() / config.k for row in labels]
        summary["layers"][layer] = {
            "receptive_field": field.size, "jump": field.jump, "map_shape": list(activations.shape[1:3]),
            "mean_top_activation": float(np.mean(top.values)), "mean_label_share": float(np.mean(shares)),
            "top_labels": labels.tolist()}
        cli.say(f"{layer}: receptive field {field.size}×{field.size} (jump {field.jump}); "
                f"units' {config.k} images share a digit {np.mean(shares):.0%} of the time on average")
        if workdir:
            os.makedirs(workdir, exist_ok=True)
            plot_patches(os.path.join(workdir, f"unit_patches_{layer}.png"), patches, np.asarray(top.values),
                         f"LeNet-5 {layer}: the {config.k} training patches ({field.size}×{field.size}) "
                         f"that activate each unit most")
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
