"""Object localization and landmark detection on generated single-object scenes.

Scenes (:func:`dlcourse.detection.localization.make_localization_splits`): ``image_size``² images,
each holding one circle, square or triangle, or — a fraction ``empty_fraction`` of them — nothing, so
that ``p_c`` has something to learn. The target is the course's vector
``y = [p_c, b_x, b_y, b_h, b_w, c_1, c_2, c_3]`` followed, with ``landmarks=True``, by the object's four
landmarks ``l_1x, l_1y, …, l_4y`` (:mod:`dlcourse.data.scenes` says which points each shape has).
:class:`dlcourse.models.LocalizationNet` (3×3 conv + ReLU + 2×2 max pool stages of ``widths``
channels, a dense layer of ``hidden`` units, a linear output of ``5 + 3 (+ 8)``) is trained with the
shared supervised builder and Adam on

- ``loss = "squared"``: the course's loss, ``Σ_i (ŷ_i − y_i)²`` when ``p_c = 1``, ``(ŷ_1 − y_1)²`` otherwise;
- ``loss = "log"``: logistic loss on ``p_c``, softmax cross-entropy on the classes, squared error on the
  box (and landmarks).

Every epoch reports on the dev scenes ``box_iou`` (mean IoU of the predicted and true box over the
scenes with an object; the objective a sweep ranks by — ``launch.py`` sweeps ``learning_rate``,
``beta1``, ``beta2``), ``class_accuracy``, ``presence_accuracy``, ``localization_accuracy`` (right
presence, and for an object the right class with IoU ≥ 0.5) and, with landmarks, ``landmark_error``
(mean distance of a predicted landmark from the true one, in pixels). Run as a program it also
reports the test scenes and saves ``<workdir>/predictions.png``: ``show`` test scenes with the
predicted box, class, ``P(object)`` and landmarks (true box dashed).

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``.
  structural: ``loss``, ``landmarks``, ``train``, ``dev``, ``test``, ``empty_fraction``, ``image_size``,
    ``min_scale``, ``max_scale``, ``noise``, ``seed``, ``widths``, ``hidden``, ``epochs``, ``batch_size``,
    ``eval_batch_size``, ``train_seed``, ``show``.

    python experiments/localization.py --workdir=runs/localization [--config.loss=log] [--config.landmarks=False]
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, models, train
from dlcourse.detection import localization

NUMERIC = ("learning_rate", "beta1", "beta2")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 3e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    # structural: data
    config.loss = "squared"
    config.landmarks = True
    config.train = 2048
    config.dev = 256
    config.test = 256
    config.empty_fraction = 0.2
    config.image_size = 32
    config.min_scale = 0.25
    config.max_scale = 0.6
    config.noise = 0.03
    config.seed = 0
    # structural: model and training
    config.widths = (16, 32, 32)
    config.hidden = 64
    config.epochs = 10
    config.batch_size = 32
    config.eval_batch_size = 256
    config.train_seed = 0
    config.show = 8
    return config


def check_config(config) -> None:
    if config.loss not in localization.LOSS_KINDS:
        raise ValueError(f"loss must be one of {localization.LOSS_KINDS}, got {config.loss!r}")
    if config.show < 0:
        raise ValueError(f"show must be >= 0, got {config.show}")


def load(config) -> data.SceneSplits:
    return localization.make_localization_splits(
        config.train, config.dev, config.test, empty_fraction=config.empty_fraction, seed=config.seed,
        size=config.image_size, min_scale=config.min_scale, max_scale=config.max_scale, noise=config.noise)


def num_landmarks(config) -> int:
    return data.LANDMARKS_PER_OBJECT if config.landmarks else 0


def make_model(config, num_classes: int):
    return models.LocalizationNet(outputs=localization.target_size(num_classes, num_landmarks(config)),
                                  widths=tuple(config.widths), hidden=config.hidden)


def metrics(config, num_classes: int) -> list:
    chosen = [localization.box_iou_metric(), localization.class_accuracy_metric(num_classes),
              localization.presence_accuracy_metric(config.loss),
              localization.localization_accuracy_metric(num_classes, config.loss)]
    if config.landmarks:
        chosen.append(localization.landmark_error_metric(num_classes, num_landmarks(config),
                                                         image_size=config.image_size))
    return chosen


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    check_config(config)
    splits = load(config)
    examples = [data.Examples(part.images, localization.scene_localization_targets(part, landmarks=config.landmarks))
                for part in splits]
    num_classes = splits.train.num_classes
    return train.supervised(make_model(config, num_classes), data.Dataset(*examples), optimizer="adam",
                            hparams={k: config[k] for k in NUMERIC}, epochs=config.epochs,
                            batch_size=config.batch_size, loss=localization.localization_loss(config.loss, num_classes),
                            metrics=metrics(config, num_classes), eval_batch_size=config.eval_batch_size)


def plot_predictions(path: str, config, scenes: data.Scenes, outputs: np.ndarray) -> None:
    """``len(outputs)`` scenes with the predicted box, class, P(object) and landmarks (true box dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(outputs)
    columns = min(count, 4)
    rows = -(-count // columns)
    side = scenes.images.shape[1]
    num_classes = scenes.num_classes
    probability = np.asarray(localization.presence_probability(outputs, config.loss))
    found = np.asarray(localization.predicted_presence(outputs, config.loss))
    corners = np.asarray(localization.box_corners(outputs)) * side
    classes = np.argmax(outputs[:, 5:5 + num_classes], axis=-1)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.8 * rows), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index >= count:
            continue
        ax.imshow(scenes.images[index], extent=(0, side, side, 0))
        if scenes.present[index, 0]:
            x1, y1, x2, y2 = scenes.corners[index, 0] * side
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="white", ls="--", lw=0.8))
        label = f"P(object) {probability[index]:.2f}"
        if found[index]:
            x1, y1, x2, y2 = corners[index]
            ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="tab:red", lw=1.5))
            label = f"{data.SCENE_CLASSES[classes[index]]}, {label}"
            if config.landmarks:
                points = np.asarray(localization.landmark_points(outputs[index], num_classes,
                                                                 num_landmarks(config))) * side
                ax.scatter(points[:, 0], points[:, 1], s=12, c=["yellow", "cyan", "magenta", "lime"][:len(points)])
        ax.set_xlim(0, side)
        ax.set_ylim(side, 0)
        ax.set_title(label, fontsize=8)
    fig.suptitle(f"localization ({config.loss} loss) on test scenes; true box dashed")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(config, workdir=None) -> dict:
    from dlcourse.train.reporting import to_json_value

    check_config(config)
    trainable = build(config)
    values, key = trainable.default_hparams(), jax.random.key(config.train_seed)

    def run(values, key):
        state, curves = trainable.train_with_state(values, key)
        return state, curves, trainable.test(state, values)

    cli.say("localization: compiling")
    start = time.perf_counter()
    program = train.compile_lowered(jax.jit(run).lower(values, key))
    compile_seconds = time.perf_counter() - start
    cli.say(f"compiled in {compile_seconds:.1f}s; training {config.epochs} epochs")
    state, curves, test = jax.block_until_ready(program(values, key))
    seconds = time.perf_counter() - start - compile_seconds
    summary = {k: to_json_value(np.asarray(v)) for k, v in {**curves, **test}.items() if np.ndim(v) == 0}
    summary.update(dev_box_iou_curve=to_json_value(np.round(np.asarray(curves["dev_box_iou"], np.float64), 4)),
                   compile_seconds=round(compile_seconds, 2), train_seconds=round(seconds, 2))
    line = (f"test: box IoU {summary['test_box_iou']:.3f}, class accuracy {summary['test_class_accuracy']:.3f}, "
            f"presence accuracy {summary['test_presence_accuracy']:.3f}, "
            f"localization accuracy {summary['test_localization_accuracy']:.3f}")
    if config.landmarks:
        line += f", landmark error {summary['test_landmark_error']:.2f} px"
    cli.say(line + f" (trained in {seconds:.1f}s)")
    if workdir and config.show:
        test_scenes = load(config).test
        shown = test_scenes._replace(**{k: v[:config.show] for k, v in test_scenes._asdict().items()
                                        if k != "num_classes"})
        model = make_model(config, shown.num_classes)
        outputs = np.asarray(model.apply({"params": state.params}, jnp.asarray(shown.images)))
        os.makedirs(workdir, exist_ok=True)
        path = os.path.join(workdir, "predictions.png")
        plot_predictions(path, config, shown, outputs)
        cli.say(f"predictions: {path}")
    return {"localization": summary, "config": config.to_dict()}


if __name__ == "__main__":
    cli.run_experiment(get_config, build, main=main)
