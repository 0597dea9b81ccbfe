"""Convolutional networks on images that ship: any of the course's architectures, from flags.

The model (``lenet5``, ``alexnet``, ``vgg16``, ``resnet18``/``34``/``50``, ``inception``,
``mobilenet_v1``, ``mobilenet_v2``; :mod:`dlcourse.models`) is trained with the shared supervised
builder — softmax cross-entropy, Adam, the L2 penalty ``(λ/2m) Σ ‖W‖²`` over every kernel,
evaluation in mini-batches in inference mode (batch norm on its running averages) — on one of the
image sets of :mod:`dlcourse.data`:

- ``digits``: scikit-learn's 8×8 digits enlarged to ``image_size`` (32: LeNet-5's input), 10 classes;
- ``shapes``: generated images of circles, squares and triangles (``examples`` of them, seeded);
- ``faces``: scikit-image's 25×25 face / non-face subset (200 images), 2 classes.

``width`` scales every layer's channels (ResNet's stage widths, MobileNet's width multiplier,
Inception's width multiplier) and ``blocks`` sets ResNet's blocks per stage (0: the named depth)
so that a CPU can train them; ResNet on images of 32 pixels or fewer uses the small stem (3×3,
no max pool). ``augment=True`` adds random crops, small rotations and colour shifts inside the
compiled step (:mod:`dlcourse.data.augment`). ``data_parallel=True`` splits every mini-batch
over all of JAX's devices (``train.data_mesh()``; batch norm averages its statistics across them),
with the same results as one device up to float rounding. Run alone, the model is babysat:
progress per epoch, a checkpoint after each epoch in the workdir, and a killed or interrupted run
resumes from the last checkpoint when the same command runs again. The model is a structural key of a sweep; the
numbers (``learning_rate``, ``beta1``, ``beta2``, ``l2``) are traced.

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``, ``l2``.
  structural: ``model``, ``dataset``, ``image_size``, ``examples``, ``width``, ``blocks``,
    ``batch_norm_momentum``, ``augment``, ``data_parallel``, ``epochs``, ``batch_size``, ``eval_batch_size``,
    ``seed``, ``train_seed``.

    python experiments/convnets.py --workdir=runs/lenet                      # LeNet-5 on digits
    python experiments/convnets.py --config.model=resnet18 --config.width=0.25 --config.blocks=1
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train

MODELS = ("lenet5", "alexnet", "vgg16", "resnet18", "resnet34", "resnet50", "inception", "mobilenet_v1",
          "mobilenet_v2")
DATASETS = ("digits", "shapes", "faces")
NUMERIC = ("learning_rate", "beta1", "beta2", "l2")
RESNET_DEPTHS = {"resnet18": ((2, 2, 2, 2), "basic"), "resnet34": ((3, 4, 6, 3), "basic"),
                 "resnet50": ((3, 4, 6, 3), "bottleneck")}


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 2e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.l2 = 0.0
    # structural
    config.model = "lenet5"
    config.dataset = "digits"
    config.image_size = 32
    config.examples = 1000
    config.width = 1.0
    config.blocks = 0
    config.batch_norm_momentum = 0.9
    config.augment = False
    config.data_parallel = False
    config.epochs = 10
    config.batch_size = 64
    config.eval_batch_size = 256
    config.seed = 0
    config.train_seed = 0
    return config


def load(config) -> data.Splits:
    if config.dataset == "digits":
        return data.load_digits_images(seed=config.seed, size=config.image_size)
    if config.dataset == "shapes":
        return data.make_shapes(seed=config.seed, m=config.examples, size=config.image_size)
    if config.dataset == "faces":
        return data.load_faces(seed=config.seed)
    raise ValueError(f"dataset must be one of {DATASETS}, got {config.dataset!r}")


def make_model(config, num_classes: int, image_size: int):
    """The named architecture with ``num_classes`` outputs, scaled by ``width`` and ``blocks``."""
    if not config.width > 0:
        raise ValueError(f"width must be positive, got {config.width}")
    if config.blocks < 0:
        raise ValueError(f"blocks must be >= 0 (0: the named depth), got {config.blocks}")
    norm = {"batch_norm_momentum": config.batch_norm_momentum}
    scale = lambda channels: max(1, round(channels * config.width))  # noqa: E731
    if config.model == "lenet5":
        return models.LeNet5(num_classes=num_classes)
    if config.model == "alexnet":
        return models.AlexNet(num_classes=num_classes)
    if config.model == "vgg16":
        return models.VGG16(num_classes=num_classes)
    if config.model in RESNET_DEPTHS:
        stage_sizes, block = RESNET_DEPTHS[config.model]
        if config.blocks:
            stage_sizes = (config.blocks,) * len(stage_sizes)
        return models.ResNet(stage_sizes, block=block, num_classes=num_classes,
                             stage_widths=tuple(scale(w) for w in (64, 128, 256, 512)),
                             stem="small" if image_size <= 32 else "imagenet", **norm)
    if config.model == "inception":
        return models.InceptionV1(num_classes=num_classes, width_multiplier=config.width, **norm)
    if config.model == "mobilenet_v1":
        return models.MobileNetV1(num_classes=num_classes, width_multiplier=config.width, **norm)
    if config.model == "mobilenet_v2":
        return models.MobileNetV2(num_classes=num_classes, width_multiplier=config.width, **norm)
    raise ValueError(f"model must be one of {MODELS}, got {config.model!r}")


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    splits = load(config)
    image_size = splits.x_train.shape[1]
    model = make_model(config, splits.num_classes, image_size)
    augment = None
    if config.augment:
        augment = data.augment_images(data.random_crop(0.85), data.random_rotation(10.0),
                                      data.random_colour_shift(0.05))
    return train.supervised(model, splits, optimizer="adam", hparams={k: config[k] for k in NUMERIC},
                            epochs=config.epochs, batch_size=config.batch_size, loss="softmax",
                            eval_batch_size=config.eval_batch_size, augment=augment,
                            mesh=train.data_mesh() if config.data_parallel else None)


if __name__ == "__main__":
    cli.run_experiment(get_config, build, babysit=True)
