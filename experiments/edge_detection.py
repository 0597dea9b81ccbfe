"""Edge detection with convolutions: the course's worked example, named filters on a photo, and a
filter learned by gradient descent.

1. The worked example: the 6×6 image of the notes convolved (cross-correlated, as the course's
   "convolution" is) with the vertical-edge filter ``[[1, 0, −1]] × 3`` gives the 4×4 map of the
   notes; the bright/dark and dark/bright images give columns 0, 30, 30, 0 and 0, −30, −30, 0.
2. The vertical, horizontal, Sobel and Scharr filters (:mod:`dlcourse.nn.edge_filters`) applied to
   a photograph that ships with scikit-image (``camera`` by default), the feature maps saved as
   ``<workdir>/edge_maps.png``.
3. "Learning to detect edges": a 3×3 filter ``W`` starting from zero is fitted by gradient descent
   (:func:`dlcourse.optim.adam`) to reproduce the vertical-edge map of the photo, minimizing
   ``J(W) = (1/n) Σ (conv2d(x, W) − conv2d(x, W_vertical))²``; it recovers the filter (the
   maximum absolute difference of the entries is reported).

Config (flat): ``photo`` (a name of :data:`dlcourse.data.images.PHOTO_FILES`), ``size`` (the photo
is cut to its central ``size × size`` pixels, 0 for all), ``steps`` and ``learning_rate`` of the
learned filter, ``seed``.

    python experiments/edge_detection.py --workdir=runs/edges [--config.photo=astronaut]
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np

from dlcourse import cli

WORKED_IMAGE = [[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3],
                [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]]
FILTERS = ("VERTICAL_EDGE_FILTER", "HORIZONTAL_EDGE_FILTER", "SOBEL_VERTICAL_EDGE_FILTER",
           "SOBEL_HORIZONTAL_EDGE_FILTER", "SCHARR_VERTICAL_EDGE_FILTER", "SCHARR_HORIZONTAL_EDGE_FILTER")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.photo = "camera"
    config.size = 256
    config.steps = 300
    config.learning_rate = 0.05
    config.seed = 0
    return config


def _single_channel(image: np.ndarray) -> np.ndarray:
    """``[1, H, W, 1]``: the photo's grey levels (the mean of its channels)."""
    return image.mean(axis=-1, keepdims=True)[None].astype(np.float32)


def _filter(name: str) -> np.ndarray:
    from dlcourse import nn

    return np.asarray(getattr(nn, name), np.float32).reshape(3, 3, 1, 1)


def worked_examples() -> dict:
    """The notes' three convolutions with the vertical-edge filter, computed."""
    from dlcourse import nn

    image = np.asarray(WORKED_IMAGE, np.float32)[None, :, :, None]
    bright_dark = np.repeat(np.asarray([[10, 10, 10, 0, 0, 0]], np.float32), 6, axis=0)[None, :, :, None]
    vertical = _filter("VERTICAL_EDGE_FILTER")
    return {name: np.asarray(nn.conv2d(x, vertical))[0, :, :, 0].tolist()
            for name, x in (("six_by_six", image), ("bright_dark", bright_dark),
                            ("dark_bright", bright_dark[:, :, ::-1, :]))}


def photo(config) -> np.ndarray:
    from dlcourse import data

    image = data.load_photo(config.photo)
    if config.size < 0:
        raise ValueError(f"size must be >= 0 (0: the whole photo), got {config.size}")
    if config.size:
        height, width = image.shape[:2]
        if config.size > min(height, width):
            raise ValueError(f"size={config.size} is larger than the photo ({height}×{width})")
        top, left = (height - config.size) // 2, (width - config.size) // 2
        image = image[top:top + config.size, left:left + config.size]
    return _single_channel(image)


def feature_maps(x: np.ndarray) -> dict[str, np.ndarray]:
    """Each named filter's map of ``x`` (``[1, H, W, 1]``), "same" padding."""
    from dlcourse import nn

    return {name: np.asarray(nn.conv2d(x, _filter(name), padding="same"))[0, :, :, 0] for name in FILTERS}


def learn_vertical_filter(x: np.ndarray, steps: int, learning_rate: float) -> dict:
    """Fits a 3×3 filter from zero to the vertical-edge map of ``x`` (see the module docstring)."""
    import jax
    import jax.numpy as jnp

    from dlcourse import nn, optim

    if steps < 1 or not learning_rate > 0:
        raise ValueError(f"steps must be >= 1 and learning_rate > 0, got {steps}, {learning_rate}")
    target = nn.conv2d(x, _filter("VERTICAL_EDGE_FILTER"))
    tx = optim.adam(learning_rate)

    def cost(w):
        return jnp.mean((nn.conv2d(x, w) - target) ** 2)

    def step(carry, _):
        w, state = carry
        value, grad = jax.value_and_grad(cost)(w)
        updates, state = tx.update(grad, state, w)
        return (optim.apply_updates(w, updates), state), value

    w0 = jnp.zeros((3, 3, 1, 1), jnp.float32)
    (w, _), costs = jax.jit(lambda w: jax.lax.scan(step, (w, tx.init(w)), None, length=steps))(w0)
    learned = np.asarray(w)[:, :, 0, 0]
    return {"learned": learned.round(4).tolist(), "first_cost": float(costs[0]), "final_cost": float(costs[-1]),
            "max_abs_difference": float(np.max(np.abs(learned - _filter("VERTICAL_EDGE_FILTER")[:, :, 0, 0])))}


def plot_maps(path: str, x: np.ndarray, maps: dict[str, np.ndarray], title: str) -> None:
    from dlcourse.train.reporting import figure, place_axes, save_figure

    fig = figure(10, 6.4)
    panels = [("photo", x[0, :, :, 0])] + list(maps.items())
    for index, (name, image) in enumerate(panels):
        axes = fig.add_subplot(2, 4, index + 1)
        axes.imshow(image, cmap="gray")
        axes.set_title(name.replace("_EDGE_FILTER", "").replace("_", " ").lower(), fontsize=9)
        axes.set_axis_off()
    fig.suptitle(title)
    place_axes(fig, left=0.1, right=0.1, bottom=0.1, top=0.5, wspace=0.05, hspace=0.2)
    save_figure(fig, path)


def main(config, workdir=None) -> dict:
    worked = worked_examples()
    cli.say("The notes' 6×6 image * vertical-edge filter:")
    cli.print_table(("", "col 1", "col 2", "col 3", "col 4"),
                    [(f"row {i + 1}", *map(int, row)) for i, row in enumerate(worked["six_by_six"])])
    cli.say(f"bright/dark image: columns {[int(v) for v in worked['bright_dark'][0]]}; "
            f"dark/bright: {[int(v) for v in worked['dark_bright'][0]]}")
    x = photo(config)
    maps = feature_maps(x)
    learned = learn_vertical_filter(x, config.steps, config.learning_rate)
    cli.say(f"\nfilter learned by gradient descent from zero ({config.steps} Adam steps): cost "
            f"{learned['first_cost']:.4g} -> {learned['final_cost']:.3g}, largest difference from the "
            f"vertical-edge filter {learned['max_abs_difference']:.2g}")
    cli.print_table(("", "col 1", "col 2", "col 3"),
                    [(f"row {i + 1}", *row) for i, row in enumerate(learned["learned"])])
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        plot_maps(os.path.join(workdir, "edge_maps.png"), x, maps, f"{config.photo}: edge filters")
    return {"worked_examples": worked, "learned_filter": learned, "photo": config.photo,
            "photo_shape": list(x.shape[1:3]),
            "mean_absolute_response": {name: float(np.mean(np.abs(m))) for name, m in maps.items()}}


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
