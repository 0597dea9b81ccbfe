"""The numbers of course 4's first half that need no training: convolution costs, LeNet-5's table,
the classic architectures' sizes, and a grid of augmentations.

1. Cost counters (:mod:`dlcourse.nn.convolution_costs`): a normal against a depthwise-separable
   convolution on the notes' 6×6×3 input with 3×3 filters and 5 of them (2,160 against
   432 + 240 = 672 multiplications, ratio 1/n_C′ + 1/f² ≈ 0.31), and the inception module's
   bottleneck (28×28×192 → 28×28×32 with 5×5 filters: about 120 M multiplications directly,
   about 12.4 M through a 1×1 bottleneck of 16 channels).
2. LeNet-5 on a 32×32×3 input, layer by layer (:func:`dlcourse.models.summary`): output shapes,
   activation sizes and parameters, the notes' table.
3. Every architecture of :mod:`dlcourse.models` at its usual input with 1,000 classes: trainable
   parameters and multiplications per image, computed from shapes alone (nothing is compiled, so
   VGG-16 and ResNet-152 take a fraction of a second).
4. ``<workdir>/augmentations.png``: a photo and random mirrors, crops, rotations, shears, colour
   shifts and PCA colour shifts of it (:mod:`dlcourse.data.augment`), as the training step applies
   them.

Config (flat): ``photo`` (a name of :data:`dlcourse.data.PHOTO_FILES`, for the grid), ``image_size``
(the photo is resized to it), ``seed``.

    python experiments/convnet_figures.py --workdir=runs/convnet_figures
"""

from __future__ import annotations

import os

import ml_collections

from dlcourse import cli

#: (name, constructor, options, input side); 3 input channels, 1,000 classes (LeNet-5: 10).
ARCHITECTURES = (
    ("LeNet-5 (10 classes)", "LeNet5", {}, 32),
    ("AlexNet (paper, one tower)", "AlexNet", {}, 227),
    ("AlexNet (torchvision)", "AlexNet", {"variant": "torchvision"}, 224),
    ("VGG-16", "VGG16", {}, 224),
    ("ResNet-18", "resnet18", {}, 224),
    ("ResNet-34", "resnet34", {}, 224),
    ("ResNet-50", "resnet50", {}, 224),
    ("ResNet-101", "resnet101", {}, 224),
    ("ResNet-152", "resnet152", {}, 224),
    ("Inception v1 (GoogLeNet)", "InceptionV1", {}, 224),
    ("MobileNet v1", "MobileNetV1", {}, 224),
    ("MobileNet v2", "MobileNetV2", {}, 224),
)


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.photo = "chelsea"
    config.image_size = 128
    config.seed = 0
    return config


def cost_counters() -> dict:
    from dlcourse import nn

    normal = nn.conv_multiplications(4, 4, 3, 3, 5)
    depthwise = nn.depthwise_multiplications(4, 4, 3, 3)
    pointwise = nn.pointwise_multiplications(4, 4, 3, 5)
    ratio = nn.depthwise_separable_cost_ratio(3, 5)
    return {"normal": normal, "depthwise": depthwise, "pointwise": pointwise,
            "depthwise_separable": depthwise + pointwise, "ratio": f"{ratio} = {float(ratio):.4f}",
            "typical_ratio_f3_c512": round(float(nn.depthwise_separable_cost_ratio(3, 512)), 4),
            "inception_direct": nn.conv_multiplications(28, 28, 5, 192, 32),
            "inception_bottleneck": nn.bottleneck_multiplications(28, 28, 5, 192, 16, 32)}


def lenet5_table() -> list[dict]:
    from dlcourse import models

    return [{"layer": row.name, "kind": row.kind, "shape": list(row.output_shape),
             "activation_size": row.activation_size, "parameters": row.parameters}
            for row in models.summary(models.LeNet5(num_classes=10), (32, 32, 3))]


def architectures() -> dict:
    from dlcourse import models

    sizes = {}
    for name, constructor, options, side in ARCHITECTURES:
        classes = 10 if constructor == "LeNet5" else 1000
        rows = models.summary(getattr(models, constructor)(num_classes=classes, **options), (side, side, 3))
        sizes[name] = {"input": side, "parameters": sum(r.parameters for r in rows),
                       "multiplications": sum(r.multiplications for r in rows)}
    return sizes


def save_augmentations(path: str, config) -> None:
    import jax
    import numpy as np

    from dlcourse import data

    photo = data.load_photo(config.photo)
    side = min(photo.shape[:2])
    square = photo[:side, :side]
    image = np.asarray(jax.image.resize(square, (config.image_size, config.image_size, square.shape[-1]),
                                        "linear"), np.float32)
    transforms = [data.random_mirror(), data.random_crop(0.6), data.random_rotation(20.0), data.random_shear(0.2),
                  data.random_colour_shift(0.15), data.random_pca_colour_shift(data.pca_colour_basis(image[None]),
                                                                               2.0)]
    data.save_augmentation_grid(path, image, transforms, jax.random.key(config.seed), rows=3, cols=5,
                                title=f"{config.photo}: mirror, crop, rotation, shear, colour and PCA colour shifts")


def main(config, workdir=None) -> dict:
    if config.image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {config.image_size}")
    costs = cost_counters()
    cli.say(f"6×6×3 input, 3×3 filters, 5 of them: normal {costs['normal']:,} multiplications; depthwise "
            f"{costs['depthwise']:,} + pointwise {costs['pointwise']:,} = {costs['depthwise_separable']:,} "
            f"(ratio {costs['ratio']}; with 512 filters {costs['typical_ratio_f3_c512']})")
    cli.say(f"inception 28×28×192 → 28×28×32, 5×5: {costs['inception_direct']:,} multiplications directly, "
            f"{costs['inception_bottleneck']:,} through a 1×1 bottleneck of 16\n")
    table = lenet5_table()
    cli.say("LeNet-5 on 32×32×3:")
    cli.print_table(("layer", "kind", "shape", "activation size", "parameters"),
                    [(r["layer"], r["kind"], "×".join(map(str, r["shape"])), f"{r['activation_size']:,}",
                      f"{r['parameters']:,}") for r in table])
    sizes = architectures()
    cli.say("\nThe architectures at their usual input, 1,000 classes (LeNet-5: 10):")
    cli.print_table(("model", "input", "parameters", "multiplications"),
                    [(name, f"{s['input']}×{s['input']}×3", f"{s['parameters']:,}", f"{s['multiplications']:,}")
                     for name, s in sizes.items()])
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        save_augmentations(os.path.join(workdir, "augmentations.png"), config)
        cli.say(f"\naugmentations: {os.path.join(workdir, 'augmentations.png')}")
    return {"costs": costs, "lenet5": table, "architectures": sizes}


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
