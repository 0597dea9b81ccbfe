"""Sliding windows as one convolution: a classifier trained on 14×14 windows runs over whole scenes in one pass.

The notes' window classifier (:class:`dlcourse.models.WindowClassifier`: conv 5×5×16, max pool
2×2, then its "fully connected" layers as a 5×5×400 and a 1×1×400 convolution, 1×1×4 logits) is
trained with the shared supervised builder on closely cropped 14×14 windows: generated one-object
scenes of 14×14 pixels (the object fills about half to all of it; class 1 + shape) and background
windows, 14×14 crops of larger scenes holding less than a quarter of an object (class 0). Then it
runs over ``scenes`` generated ``scene_size``×``scene_size`` scenes (28×28: an 8×8×4 grid, one
cell per window at stride 2) two ways — one convolutional pass, and the explicit sliding window
that crops each window and classifies it alone (:func:`dlcourse.models.sliding_window_logits`) —
checks that both give the same logits, and reports the time of each (best of ``repeats``, compiled
beforehand), the dev window accuracy, and on the scenes the accuracy of the cell whose window is
centred nearest each object and of the cells whose window holds no object pixel. With a workdir,
``sliding_windows.png`` shows scenes and their grid of predicted classes.

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``, ``l2``.
  structural: ``windows``, ``dev_windows``, ``scene_size``, ``scenes``, ``max_objects``, ``conv_features``,
    ``hidden_units``, ``epochs``, ``batch_size``, ``repeats``, ``pictures``, ``seed``, ``train_seed``.

    python experiments/sliding_windows.py --workdir=runs/sliding_windows
    python experiments/sliding_windows.py --config.scene_size=16          # the notes' 16×16 → 2×2×4
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, models, train

NUMERIC = ("learning_rate", "beta1", "beta2", "l2")
WINDOW = 14
STRIDE = 2
CLASS_NAMES = ("background",) + tuple(data.SCENE_CLASSES)
OBJECT_SCALES = (0.25, 0.45)  # of a scene: objects of 7 to 13 pixels in 28×28, within one window


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 1e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.l2 = 0.0
    # structural
    config.windows = 2048
    config.dev_windows = 512
    config.scene_size = 28
    config.scenes = 256
    config.max_objects = 2
    config.conv_features = 16
    config.hidden_units = 400
    config.epochs = 8
    config.batch_size = 64
    config.repeats = 3
    config.pictures = 4
    config.seed = 0
    config.train_seed = 0
    return config


def background_windows(m: int, scene_size: int, seed: int) -> np.ndarray:
    """``m`` 14×14 crops of one-object scenes (at least 28×28, objects as large as in ``scene_size``
    scenes), each at a random position holding less than a quarter of the object's pixels (the
    position holding the fewest when none does)."""
    size = max(scene_size, 2 * WINDOW)
    low, high = (scale * scene_size / size for scale in OBJECT_SCALES)
    scenes = data.make_scenes(m, size=size, min_objects=1, max_objects=1, min_scale=low, max_scale=high, seed=seed)
    inside = (scenes.pixel_classes > 0).astype(np.int64)
    integral = np.pad(inside.cumsum(1).cumsum(2), ((0, 0), (1, 0), (1, 0)))
    span = size - WINDOW + 1
    counts = (integral[:, WINDOW:, WINDOW:] - integral[:, :span, WINDOW:] - integral[:, WINDOW:, :span]
              + integral[:, :span, :span])  # object pixels in the window at (top, left): [m, span, span]
    allowed = counts < 0.25 * inside.sum(axis=(1, 2))[:, None, None]
    scores = np.where(allowed, np.random.default_rng(seed).random(counts.shape), -counts)
    tops, lefts = np.unravel_index(scores.reshape(m, -1).argmax(axis=1), (span, span))
    rows = tops[:, None] + np.arange(WINDOW)
    cols = lefts[:, None] + np.arange(WINDOW)
    return scenes.images[np.arange(m)[:, None, None], rows[:, :, None], cols[:, None, :]]


def windows(m: int, scene_size: int, seed: int) -> data.Examples:
    """``m`` labelled windows: three quarters closely cropped objects (class 1 + shape), the rest background."""
    objects = m - m // 4
    scale = (OBJECT_SCALES[0] * scene_size / WINDOW, min(1.0, OBJECT_SCALES[1] * scene_size / WINDOW))
    crops = data.make_scenes(objects, size=WINDOW, min_objects=1, max_objects=1, min_scale=scale[0],
                             max_scale=scale[1], seed=seed)
    images = np.concatenate([crops.images, background_windows(m - objects, scene_size, seed + 1)])
    labels = np.concatenate([crops.classes[:, 0] + 1, np.zeros(m - objects, np.int32)]).astype(np.int32)
    order = np.random.default_rng(seed + 2).permutation(m)
    return data.Examples(images[order], labels[order].reshape(m, 1, 1))  # one label per 1×1 output grid


def make_model(config) -> models.WindowClassifier:
    return models.WindowClassifier(num_classes=len(CLASS_NAMES), window_size=WINDOW,
                                   conv_features=config.conv_features, hidden_units=config.hidden_units)


def trainable_on(config, dataset: data.Dataset) -> train.Trainable:
    return train.supervised(make_model(config), dataset, optimizer="adam", hparams={k: config[k] for k in NUMERIC},
                            epochs=config.epochs, batch_size=config.batch_size, loss="softmax",
                            metrics=("accuracy",), eval_batch_size=512)


def load(config) -> data.Dataset:
    if config.scene_size < WINDOW:
        raise ValueError(f"scene_size must be at least the window, {WINDOW}; got {config.scene_size}")
    return data.Dataset(windows(config.windows, config.scene_size, config.seed),
                        windows(config.dev_windows, config.scene_size, config.seed + 10))


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return trainable_on(config, load(config))


def best_time(function, *args, repeats: int) -> float:
    """The shortest of ``repeats`` timed calls (after one untimed call)."""
    jax.block_until_ready(function(*args))
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        jax.block_until_ready(function(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def grid_accuracies(scenes: data.Scenes, predicted: np.ndarray) -> tuple[float, float]:
    """Accuracy of the cell whose window is centred nearest each object, and of the cells whose
    window holds no object pixel (predicted background)."""
    size, cells = scenes.images.shape[1], predicted.shape[1]
    hits = []
    for image in range(len(scenes.images)):
        for slot in np.flatnonzero(scenes.present[image]):
            centre_x, centre_y = scenes.centres[image, slot, :2] * size
            row, column = (int(np.clip(np.rint((c - WINDOW / 2) / STRIDE), 0, cells - 1)) for c in (centre_y, centre_x))
            hits.append(predicted[image, row, column] == scenes.classes[image, slot] + 1)
    empty = []
    for row in range(cells):
        for column in range(cells):
            top, left = row * STRIDE, column * STRIDE
            blank = ~np.any(scenes.pixel_classes[:, top:top + WINDOW, left:left + WINDOW] > 0, axis=(1, 2))
            empty.extend(predicted[blank, row, column] == 0)
    return float(np.mean(hits)), float(np.mean(empty)) if empty else float("nan")


def save_grids(path: str, images: np.ndarray, predicted: np.ndarray) -> None:
    """Each scene beside its grid of predicted classes (one cell per window at stride 2)."""
    from matplotlib.colors import ListedColormap

    from dlcourse.train.reporting import figure, place_axes, save_figure

    colours = ListedColormap(["#202020", "#e41a1c", "#377eb8", "#4daf4a"])
    rows = len(images)
    fig = figure(4.4, 2 * rows + 0.5)
    place_axes(fig, left=0.1, right=0.1, bottom=0.1, top=0.45, wspace=0.1, hspace=0.15)
    fig.suptitle("grid colours: " + ", ".join(f"{n} ({c})" for n, c in zip(CLASS_NAMES, ("black", "red", "blue",
                                                                                          "green"))), fontsize=7)
    for row in range(rows):
        axes = fig.add_subplot(rows, 2, 2 * row + 1)
        axes.imshow(np.clip(images[row], 0, 1))
        axes.set_xticks([])
        axes.set_yticks([])
        axes = fig.add_subplot(rows, 2, 2 * row + 2)
        axes.imshow(predicted[row], cmap=colours, vmin=0, vmax=len(CLASS_NAMES) - 1, interpolation="nearest")
        axes.set_xticks([])
        axes.set_yticks([])
        if row == 0:
            axes.set_title(f"{predicted.shape[1]}×{predicted.shape[2]} class grid", fontsize=8)
    save_figure(fig, path)


def main(config, workdir):
    """Trains the window classifier, then compares the convolutional pass with the explicit sliding window."""
    dataset = load(config)
    trainable = trainable_on(config, dataset)
    trainable.check_hparams()
    values = {k: jnp.asarray(v, jnp.float32) for k, v in trainable.hparams.items()}
    key = jax.random.key(config.train_seed)
    cli.say(f"sliding_windows: training the window classifier on {config.windows} windows; compiling")
    started = time.perf_counter()
    program = train.compile_lowered(jax.jit(trainable.train_with_state).lower(values, key))
    state, curves = jax.block_until_ready(program(values, key))
    cli.say(f"trained in {time.perf_counter() - started:.1f}s (compilation included); dev window accuracy "
            f"{float(curves['final_dev_accuracy']):.4f}")

    scenes = data.make_scenes(config.scenes, size=config.scene_size, min_objects=1, max_objects=config.max_objects,
                              min_scale=OBJECT_SCALES[0], max_scale=OBJECT_SCALES[1], seed=config.seed + 20)
    model = make_model(config)
    params = state.params
    images = jnp.asarray(scenes.images)
    one_pass = jax.jit(lambda params, images: model.apply({"params": params}, images))
    crop_by_crop = jax.jit(lambda params, images: models.sliding_window_logits(
        lambda crops: model.apply({"params": params}, crops)[:, 0, 0], images, WINDOW, STRIDE))
    conv_seconds = best_time(one_pass, params, images, repeats=config.repeats)
    crop_seconds = best_time(crop_by_crop, params, images, repeats=config.repeats)
    conv_logits, crop_logits = np.asarray(one_pass(params, images)), np.asarray(crop_by_crop(params, images))
    predicted = conv_logits.argmax(-1)
    centred, empty = grid_accuracies(scenes, predicted)
    grid = conv_logits.shape[1:]
    summary = {
        "dev_window_accuracy": float(curves["final_dev_accuracy"]),
        "train_window_accuracy": float(curves["final_train_accuracy"]),
        "grid": list(grid), "scenes": config.scenes,
        "conv_pass_seconds": round(conv_seconds, 5), "crop_by_crop_seconds": round(crop_seconds, 5),
        "speedup": round(crop_seconds / conv_seconds, 2),
        "max_abs_difference": float(np.max(np.abs(conv_logits - crop_logits))),
        "same_classes": bool(np.array_equal(predicted, crop_logits.argmax(-1))),
        "object_cell_accuracy": centred, "empty_cell_accuracy": empty,
        "config": config.to_dict(),
    }
    cli.print_table(("scenes", "output grid", "one conv pass (s)", "crop by crop (s)", "speed-up", "max |Δ logit|"),
                    [(config.scenes, "×".join(map(str, grid)), conv_seconds, crop_seconds, summary["speedup"],
                      summary["max_abs_difference"])])
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        count = min(config.pictures, config.scenes)
        save_grids(os.path.join(workdir, "sliding_windows.png"), scenes.images[:count], predicted[:count])
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
