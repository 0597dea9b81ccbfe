"""summary: the course's LeNet-5 table, its cost examples, and the papers' mult-add counts."""

import flax.linen as nn
import pytest

from dlcourse.models import (
    VGG16,
    AlexNet,
    InceptionV1,
    LeNet5,
    MobileNetV1,
    MobileNetV2,
    format_summary,
    resnet18,
    resnet50,
    summary,
)
from tests.compilations import count_compilations


def test_lenet5_reproduces_the_course_table():
    rows = summary(LeNet5(), (32, 32, 3))
    # "Neural network example": activation shape, activation size, # parameters (biases counted).
    assert [(r.name, r.output_shape, r.activation_size, r.parameters) for r in rows] == [
        ("input", (32, 32, 3), 3_072, 0),
        ("conv1", (28, 28, 6), 4_704, 456),
        ("pool1", (14, 14, 6), 1_176, 0),
        ("conv2", (10, 10, 16), 1_600, 2_416),
        ("pool2", (5, 5, 16), 400, 0),
        ("fc3", (120,), 120, 48_120),
        ("fc4", (84,), 84, 10_164),
        ("output", (10,), 10, 850),
    ]
    assert [r.kind for r in rows] == ["Input", "Conv", "MaxPool", "Conv", "MaxPool", "Dense", "Dense", "Dense"]
    # n_H·n_W·n_C′·f·f·n_C for the convolutions, inputs × outputs for the dense layers.
    assert [r.multiplications for r in rows] == [0, 28 * 28 * 6 * 5 * 5 * 3, 0, 10 * 10 * 16 * 5 * 5 * 6, 0,
                                                 400 * 120, 120 * 84, 84 * 10]
    text = format_summary(rows)
    assert text.splitlines()[0].split() == ["layer", "kind", "activation", "shape", "activation", "size",
                                            "parameters", "multiplications"]
    assert "48,120" in text and text.splitlines()[-1].split()[:2] == ["total", "62,006"]


class _FiveByFive(nn.Module):
    bottleneck: int = 0

    @nn.compact
    def __call__(self, x):
        if self.bottleneck:
            x = nn.Conv(self.bottleneck, (1, 1), name="reduce")(x)
        return nn.Conv(32, (5, 5), padding="SAME", name="conv5x5")(x)


def test_one_by_one_bottleneck_cost_of_the_course():
    # "The problem of computational cost": 28×28×192 → 5×5 same conv, 32 → 28×28×32: ≈ 120 M.
    _, plain = summary(_FiveByFive(), (28, 28, 192))
    assert plain.multiplications == 120_422_400
    # With a 1×1 conv to 16 channels first: 2.4 M + 10.0 M ≈ 12.4 M.
    _, reduce, conv = summary(_FiveByFive(bottleneck=16), (28, 28, 192))
    assert (reduce.multiplications, conv.multiplications) == (2_408_448, 10_035_200)
    assert conv.output_shape == (28, 28, 32)


class _SeparableExample(nn.Module):
    @nn.compact
    def __call__(self, x):
        normal = nn.Conv(5, (3, 3), padding="VALID", name="normal")(x)
        depthwise = nn.Conv(3, (3, 3), padding="VALID", feature_group_count=3, name="depthwise")(x)
        pointwise = nn.Conv(5, (1, 1), name="pointwise")(depthwise)
        return normal + pointwise


def test_depthwise_separable_cost_of_the_course():
    # "Cost summary": 6×6×3 input, 3×3 filters, 5 output channels on 4×4: 2160 vs 432 + 240 = 672.
    _, normal, depthwise, pointwise = summary(_SeparableExample(), (6, 6, 3))
    assert (normal.multiplications, depthwise.multiplications, pointwise.multiplications) == (2160, 432, 240)
    assert (normal.parameters, depthwise.parameters, pointwise.parameters) == (3 * 3 * 3 * 5 + 5, 3 * 3 * 3 + 3,
                                                                              3 * 5 + 5)


def _totals(model, size):
    rows = summary(model, (size, size, 3))
    return sum(r.parameters for r in rows), sum(r.multiplications for r in rows)


@pytest.mark.parametrize("width, size, million_mult_adds, million_parameters", [
    (1.0, 224, 569, 4.2), (0.75, 224, 325, 2.6), (0.5, 224, 149, 1.3), (0.25, 224, 41, 0.5),
    (1.0, 192, 418, 4.2), (1.0, 160, 290, 4.2), (1.0, 128, 186, 4.2),
])
def test_mobilenet_v1_matches_the_papers_tables_6_and_7(width, size, million_mult_adds, million_parameters):
    parameters, multiplications = _totals(MobileNetV1(width_multiplier=width), size)
    assert abs(multiplications / 1e6 - million_mult_adds) < 1   # the paper rounds some figures, truncates others
    assert round(parameters / 1e6, 1) == million_parameters


def test_mult_adds_of_other_papers_and_references():
    assert abs(_totals(MobileNetV2(), 224)[1] / 1e6 - 300) < 1          # Sandler et al., Table 4
    assert round(_totals(resnet18(), 224)[1] / 1e9, 1) == 1.8           # He et al., Table 1
    assert round(_totals(resnet50(), 224)[1] / 1e9, 2) == 4.09          # torchvision (stride on the 3×3)
    assert round(_totals(VGG16(), 224)[1] / 1e9, 2) == 15.47            # torchvision


def test_output_shapes_follow_the_papers_tables():
    alexnet = {r.name: r.output_shape for r in summary(AlexNet(), (227, 227, 3))}
    assert [alexnet[n] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6")] == [
        (55, 55, 96), (27, 27, 96), (27, 27, 256), (13, 13, 256), (13, 13, 384), (13, 13, 384), (13, 13, 256),
        (6, 6, 256), (4096,)]
    googlenet = [(r.name, r.output_shape) for r in summary(InceptionV1(), (224, 224, 3), depth=1)]
    assert googlenet[1:] == [   # Szegedy et al., Table 1
        ("conv1", (112, 112, 64)), ("pool1", (56, 56, 64)), ("conv2", (56, 56, 64)), ("conv3", (56, 56, 192)),
        ("pool2", (28, 28, 192)), ("inception3a", (28, 28, 256)), ("inception3b", (28, 28, 480)),
        ("pool3", (14, 14, 480)), ("inception4a", (14, 14, 512)), ("inception4b", (14, 14, 512)),
        ("inception4c", (14, 14, 512)), ("inception4d", (14, 14, 528)), ("inception4e", (14, 14, 832)),
        ("pool4", (7, 7, 832)), ("inception5a", (7, 7, 832)), ("inception5b", (7, 7, 1024)), ("pool5", (1024,)),
        ("dropout", (1024,)), ("output", (1000,))]
    stages = {r.name: r.output_shape for r in summary(resnet50(), (224, 224, 3), depth=1)}
    assert [stages[f"stage{s}_block1"] for s in (1, 2, 3, 4)] == [   # He et al., Table 1
        (56, 56, 256), (28, 28, 512), (14, 14, 1024), (7, 7, 2048)]


def test_depth_groups_layers_into_their_modules():
    leaves = summary(resnet18(), (224, 224, 3))
    blocks = summary(resnet18(), (224, 224, 3), depth=1)
    assert [r.name for r in blocks] == ["input", "stem", "stem_pool"] + [
        f"stage{s}_block{b}" for s in (1, 2, 3, 4) for b in (1, 2)] + ["pool", "output"]
    assert sum(r.parameters for r in blocks) == sum(r.parameters for r in leaves) == 11_689_512
    assert sum(r.multiplications for r in blocks) == sum(r.multiplications for r in leaves)
    by_name = {r.name: r for r in blocks}
    assert by_name["stage2_block1"].output_shape == (28, 28, 128) and by_name["stage2_block1"].kind == "BasicBlock"
    # 3×3 conv 64→128 (s=2), 3×3 conv 128→128, 1×1 projection 64→128, three batch norms.
    assert by_name["stage2_block1"].parameters == 9 * 64 * 128 + 9 * 128 * 128 + 64 * 128 + 3 * 2 * 128
    # Leaves come in call order: the stem's convolution, its batch norm, then the max pool.
    assert [r.name for r in leaves[1:4]] == ["stem/conv", "stem/batch_norm", "stem_pool"]


def test_big_models_summarize_from_shapes_alone():
    # Nothing is compiled or run: VGG-16's 15 G multiplications cost nothing.
    with count_compilations() as compilations:
        rows = summary(VGG16(), (224, 224, 3))
    assert compilations == []
    assert rows[-1].output_shape == (1000,) and rows[-1].parameters == 4096 * 1000 + 1000
    assert {r.name: r.output_shape for r in rows}["pool5"] == (7, 7, 512)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match=r"\(32, 0, 3\)"):
        summary(LeNet5(), (32, 0, 3))
    with pytest.raises(ValueError, match="depth must be None or ≥ 1; got 0"):
        summary(LeNet5(), (32, 32, 3), depth=0)
