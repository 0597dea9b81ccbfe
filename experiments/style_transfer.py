"""Neural style transfer: paint the content of one photograph in the style of another.

The generated image ``G`` starts as the content photo plus noise and takes ``steps`` clipped Adam
steps on ``J(G) = α J_content(C, G) + β J_style(S, G)`` (:func:`dlcourse.style.transfer_style`):
``J_content`` on ``content_layer``, ``J_style`` on ``style_layers`` with equal weights
``λ^[l] = 1/L``. The activations come from one of three networks of VGG's shape (stages of 3×3
convolutions ending in 2×2 max pools, layers named ``conv{stage}_{index}``):

- ``features=random``: ``layout`` (``vgg11``: VGG's configuration A, eight convolutions, which has
  every layer the default costs read; or ``vgg19``) at ``width`` × its filters, randomly initialized
  (He: ``W ~ N(0, 2/n_in)``, ``b = 0``, NumPy's generator seeded with ``seed``) — random
  convolutional features capture some texture;
- ``features=trained``: the same network trained here for ``train_epochs`` epochs on
  ``train_examples`` generated coloured shapes, classified by shape and colour
  (:func:`dlcourse.data.make_shapes`, 32×32, 9 classes), under a global average pool and a dense layer;
- ``features=vgg19``: the published VGG-19 from a file the user has, ``weights=PATH`` (Keras ``.h5``,
  or a torchvision/Keras-named ``.npz``/``.safetensors``; :func:`dlcourse.models.load_vgg`), full width,
  inputs normalized as those weights expect.

Photos are scikit-image's (:data:`dlcourse.data.PHOTO_FILES`; grey ones repeated to RGB), cut to
their central square and resized to ``size × size``. Written to the workdir: ``style_transfer.png``
(content | style | result) and ``style_costs.png`` (J, J_content, J_style against the step).

Config (flat): ``content``, ``style`` (photo names), ``size``, ``features``, ``weights``, ``layout``,
``width``, ``train_examples``, ``train_epochs``, ``train_batch_size``, ``content_layer``,
``style_layers`` (comma-separated), ``content_normalization`` (``assignment``: ``1/(4 n_H n_W n_C)``,
or ``course``: ½), ``alpha``, ``beta``, ``learning_rate``, ``noise``, ``steps``, ``seed``.

    python experiments/style_transfer.py --workdir=runs/style [--config.features=trained]
    python experiments/style_transfer.py --workdir=runs/style_vgg --config.features=vgg19 \
        --config.weights=vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 --config.size=128
"""

from __future__ import annotations

import os
import time

import ml_collections
import numpy as np

from dlcourse import cli

FEATURES = ("random", "trained", "vgg19")
# Filters per stage of the networks built here: VGG-11 (configuration A: conv1_1, conv2_1, conv3_1-2,
# conv4_1-2, conv5_1-2, so it has every layer the default costs read) and VGG-19 (configuration E).
LAYOUTS = {"vgg11": ((64,), (128,), (256, 256), (512, 512), (512, 512)),
           "vgg19": ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)}
SHAPE_SIZE = 32


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.content = "astronaut"
    config.style = "immunohistochemistry"
    config.size = 64
    config.features = "random"
    config.weights = ""
    config.layout = "vgg11"
    config.width = 0.25
    config.train_examples = 600
    config.train_epochs = 6
    config.train_batch_size = 16
    config.content_layer = "conv4_2"
    config.style_layers = "conv1_1,conv2_1,conv3_1,conv4_1,conv5_1"
    config.content_normalization = "assignment"
    config.alpha = 10.0
    config.beta = 40.0
    config.learning_rate = 0.02
    config.noise = 0.1
    config.steps = 200
    config.seed = 0
    return config


def load_square_photo(name: str, size: int) -> np.ndarray:
    """``[size, size, 3]`` in [0, 1]: the photo's central square, resized (antialiased)."""
    import jax

    from dlcourse import data

    image = data.load_photo(name)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top:top + side, left:left + side]
    return np.clip(np.asarray(jax.image.resize(square, (size, size, 3), "linear", antialias=True)), 0.0, 1.0)


def _stages(config) -> tuple:
    if config.layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {tuple(LAYOUTS)}, got {config.layout!r}")
    if not config.width > 0:
        raise ValueError(f"width must be positive, got {config.width}")
    return tuple(tuple(max(1, round(f * config.width)) for f in stage) for stage in LAYOUTS[config.layout])


def train_features(config) -> tuple[dict, dict]:
    """The body of a VGG-19-shaped classifier trained on coloured shapes; returns its variables and figures."""
    import jax

    from dlcourse import data, style, train

    splits = data.make_shapes(config.seed, m=config.train_examples, size=SHAPE_SIZE, classes="shape_and_colour")
    model = style.FeatureClassifier(_stages(config), int(splits.y_train.max()) + 1)
    trainable = train.supervised(model, splits, optimizer="adam", hparams={"learning_rate": 2e-3},
                                 epochs=config.train_epochs, batch_size=config.train_batch_size, evaluate_train=False)
    start = time.perf_counter()
    hparams, key = trainable.default_hparams(), jax.random.key(config.seed)
    state, figures = train.compile_lowered(jax.jit(trainable.train_with_state).lower(hparams, key))(hparams, key)
    return ({"params": state.params["body"]},
            {"dev_accuracy": float(figures["final_dev_accuracy"]), "classes": model.num_classes,
             "seconds": time.perf_counter() - start})


def feature_network(config):
    """``(model, variables, input convention, description)`` for ``config.features``."""
    import jax
    import jax.numpy as jnp

    from dlcourse import models

    if config.features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}, got {config.features!r}")
    if config.features == "vgg19":
        if not config.weights:
            raise ValueError("features=vgg19 needs --config.weights=PATH (a VGG-19 .h5, .npz or .safetensors)")
        model = models.VGG19(include_top=False)
        weights = models.read_vgg_weights(config.weights)
        variables = models.load_vgg(model, weights)
        convention = models.weights_convention(weights)
        return model, variables, convention, {"weights": config.weights, "convention": convention}
    model = models.VGG(stages=_stages(config), include_top=False)
    if config.features == "random":
        # He initialization, W ~ N(0, 2 / (3·3·n_C)) and b = 0, drawn with NumPy: no compilation per shape.
        shapes = jax.eval_shape(lambda key: model.init(key, jnp.zeros((1, 32, 32, 3)), train=False), jax.random.key(0))
        rng = np.random.default_rng(config.seed)
        variables = jax.tree.map(lambda leaf: np.zeros(leaf.shape, np.float32) if leaf.ndim == 1 else
                                 (rng.standard_normal(leaf.shape) * np.sqrt(2 / np.prod(leaf.shape[:-1])))
                                 .astype(np.float32), shapes)
        return model, variables, None, {"layout": config.layout, "width": config.width}
    variables, training = train_features(config)
    return model, variables, None, {"layout": config.layout, "width": config.width, "training": training}


def plot_images(path: str, images, titles, title: str) -> None:
    from dlcourse.train.reporting import figure, place_axes, save_figure

    fig = figure(3 * len(images), 3.4)
    for index, (image, name) in enumerate(zip(images, titles)):
        axes = fig.add_subplot(1, len(images), index + 1)
        axes.imshow(np.clip(image, 0, 1), interpolation="nearest")
        axes.set_title(name, fontsize=10)
        axes.set_axis_off()
    fig.suptitle(title, fontsize=10)
    place_axes(fig, left=0.05, right=0.05, bottom=0.05, top=0.55, wspace=0.05)
    save_figure(fig, path)


def plot_costs(path: str, costs: dict, title: str) -> None:
    from dlcourse.train.reporting import figure, log_axis, place_axes, save_figure

    fig = figure(6, 4)
    axes = fig.add_subplot()
    for name, label in (("J", "J = α J_content + β J_style"), ("J_content", "J_content"), ("J_style", "J_style")):
        axes.plot(np.arange(len(costs[name])), costs[name], label=label)
    axes.set_yscale("log")
    log_axis(axes.yaxis)
    axes.set_xlabel("Adam step")
    axes.set_ylabel("cost")
    axes.set_title(title, fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.legend()
    place_axes(fig)
    save_figure(fig, path)


def main(config, workdir=None) -> dict:
    import jax

    from dlcourse import style, train

    if config.size < 16:
        raise ValueError(f"size must be at least 16 (VGG halves it four times before conv5_1), got {config.size}")
    if config.features == "trained" and (config.train_examples < 50 or config.train_epochs < 1):
        raise ValueError(f"train_examples must be >= 50 and train_epochs >= 1, got {config.train_examples}, "
                         f"{config.train_epochs}")
    if config.steps < 1:
        raise ValueError(f"steps must be >= 1, got {config.steps}")
    style_layers = [name.strip() for name in config.style_layers.split(",") if name.strip()]
    if not style_layers:
        raise ValueError(f"style_layers must name at least one layer, got {config.style_layers!r}")
    content, style_image = load_square_photo(config.content, config.size), load_square_photo(config.style, config.size)
    model, variables, convention, network = feature_network(config)

    def run(variables, key, **numbers):
        # The weights are an argument, not constants of the program: XLA would fold them at compile time.
        features = style.vgg_features(model, variables, (config.content_layer, *style_layers), convention)
        return style.transfer_style(features, content, style_image, key, steps=config.steps,
                                    content_layer=config.content_layer,
                                    style_layers={name: 1.0 / len(style_layers) for name in style_layers},
                                    content_normalization=config.content_normalization, **numbers)

    numbers = {name: np.float32(config[name]) for name in ("alpha", "beta", "learning_rate", "noise")}
    start = time.perf_counter()
    compiled = train.compile_lowered(jax.jit(run).lower(variables, jax.random.key(config.seed), **numbers))
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = jax.block_until_ready(compiled(variables, jax.random.key(config.seed), **numbers))
    seconds = time.perf_counter() - start
    costs = {name: np.asarray(curve, np.float64) for name, curve in result.costs.items()}
    image = np.asarray(result.image)
    if "training" in network:
        cli.say(f"features trained on shapes: dev accuracy {network['training']['dev_accuracy']:.3f} "
                f"in {network['training']['seconds']:.1f} s")
    cli.say(f"{config.features} features, {config.steps} Adam steps ({compile_seconds:.1f} s compile, "
            f"{seconds:.1f} s run):")
    cli.print_table(("cost", "start", "end"), [(name, float(curve[0]), float(curve[-1]))
                                               for name, curve in costs.items()])
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        title = (f"{config.features} features: {config.content} in the style of {config.style} "
                 f"({config.size} px, {config.steps} steps)")
        plot_images(os.path.join(workdir, "style_transfer.png"), (content, style_image, image),
                    (f"content: {config.content}", f"style: {config.style}", "generated"), title)
        plot_costs(os.path.join(workdir, "style_costs.png"), costs,
                   f"{config.features} features: {config.content} + {config.style} style, {config.size} px")
    return {"features": config.features, "network": network, "size": config.size, "steps": config.steps,
            **{f"first_{name}": float(curve[0]) for name, curve in costs.items()},
            **{f"final_{name}": float(curve[-1]) for name, curve in costs.items()},
            "mean_absolute_change_from_content": float(np.mean(np.abs(image - content))),
            "compile_seconds": compile_seconds, "seconds": seconds}


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
