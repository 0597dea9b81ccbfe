"""Trainable parameter counts equal the published ones; traced with ``jax.eval_shape`` (nothing compiles)."""

import jax
import jax.numpy as jnp
import pytest

from dlcourse.models import (
    VGG16,
    AlexNet,
    InceptionV1,
    LeNet5,
    MobileNetV1,
    MobileNetV2,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from dlcourse.models.inception import GOOGLENET_STAGES


def _shapes(model, size, channels=3):
    x = jax.ShapeDtypeStruct((1, size, size, channels), jnp.float32)
    return jax.eval_shape(lambda key, x: model.init(key, x, train=False), jax.random.key(0), x)


def _parameters(model, size=224, channels=3):
    return sum(leaf.size for leaf in jax.tree.leaves(_shapes(model, size, channels)["params"]))


# The 5×5 branches of GoogLeNet's modules (paper) have 16 more weights per (reduce, filter) pair
# than torchvision's 3×3 ones: 5·5 − 3·3 = 16.
_FIVE_BY_FIVE_EXTRA = 16 * sum(m[3] * m[4] for stage in GOOGLENET_STAGES for m in stage)

PUBLISHED = {
    # course's table: 456 + 2,416 + 48,120 + 10,164 + 850
    "lenet5 (course, 32×32×3)": (LeNet5(), 32, 62_006),
    # 34,944 + 614,656 + 885,120 + 1,327,488 + 884,992 + 37,752,832 + 16,781,312 + 4,097,000
    "alexnet (course, 227×227×3)": (AlexNet(), 227, 62_378_344),
    "alexnet (torchvision)": (AlexNet(variant="torchvision"), 224, 61_100_840),
    "vgg16 (torchvision)": (VGG16(), 224, 138_357_544),
    "vgg16_bn (torchvision)": (VGG16(batch_norm=True), 224, 138_365_992),
    "resnet18 (torchvision)": (resnet18(), 224, 11_689_512),
    "resnet34 (torchvision)": (resnet34(), 224, 21_797_672),
    "resnet50 (torchvision)": (resnet50(), 224, 25_557_032),
    "resnet101 (torchvision)": (resnet101(), 224, 44_549_160),
    "resnet152 (torchvision)": (resnet152(), 224, 60_192_808),
    "googlenet (torchvision, 3×3 branch)": (InceptionV1(large_kernel_size=3), 224, 6_624_904),
    "googlenet (torchvision, aux_logits=True)": (InceptionV1(large_kernel_size=3, side_classifiers=True), 224,
                                                 13_004_888),
    "googlenet (paper's 5×5 branch)": (InceptionV1(), 224, 6_624_904 + _FIVE_BY_FIVE_EXTRA),
    "mobilenet v1 (Keras, trainable)": (MobileNetV1(), 224, 4_231_976),
    "mobilenet_v2 (torchvision)": (MobileNetV2(), 224, 3_504_872),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_count_equals_the_published_one(name):
    model, size, published = PUBLISHED[name]
    assert _parameters(model, size) == published


def test_batch_norm_running_averages_are_state_not_parameters():
    shapes = _shapes(resnet50(), 224)
    # ResNet-50 has 26,560 batch-normalized channels: γ, β are params, running μ, σ² batch_stats.
    batch_norm_channels = sum(leaf.size for leaf in jax.tree.leaves(shapes["batch_stats"])) // 2
    assert batch_norm_channels == 26_560
    assert set(shapes) == {"params", "batch_stats"}


def test_classes_and_input_size_change_only_what_they_should():
    # Global average pooling: the count is the same at any resolution; the head scales with classes.
    assert _parameters(resnet18(10), 32) == 11_689_512 - 512 * 990 - 990
    assert _parameters(MobileNetV2(10), 32) == 3_504_872 - 1280 * 990 - 990
    # Adaptive pooling before VGG's classifier: 32×32 inputs keep FC6 at 7·7·512 inputs.
    assert _parameters(VGG16(), 32) == 138_357_544


def test_torchvision_width_rounding_of_mobilenet_v2():
    from dlcourse.models.mobilenet import round_to_multiple_of_eight

    # torchvision's _make_divisible(v, 8): nearest multiple of 8, ≥ 8, not below 90% of v.
    assert [round_to_multiple_of_eight(v) for v in (32 * 0.35, 16 * 0.35, 24 * 0.5, 1280 * 1.4, 3.0, 20.0)] == [
        16, 8, 16, 1792, 8, 24]
