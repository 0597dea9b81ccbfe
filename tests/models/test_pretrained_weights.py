"""torchvision state dicts (built here with torchvision's names and OIHW shapes) load into our
ResNet and MobileNetV2, and give the logits of a plain NumPy NCHW forward pass read straight from
the state dict."""

import chex
import jax
import ml_dtypes
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from safetensors.numpy import load_file, save_file

from dlcourse.data.files import MissingDataFileError
from dlcourse.models import MobileNetV2, ResNet, load_torchvision, read_state_dict, resnet18, resnet50

EPSILON = 1e-5  # torch.nn.BatchNorm2d's default
MOBILENET_V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                        (6, 320, 1, 1))  # torchvision's inverted_residual_setting (t, c, n, s)
SMALL_BOTTLENECK = dict(stage_sizes=(2, 1, 1, 1), widths=(4, 8, 8, 16), stem_width=8)


# ---- torchvision-shaped state dicts ------------------------------------------------------------------------------

class StateDictBuilder:
    """Adds torchvision's keys with random values (or zeros, for shape-only checks)."""

    def __init__(self, seed=0, zeros=False):
        self.rng, self.zeros, self.tensors = np.random.default_rng(seed), zeros, {}

    def conv(self, name, out_channels, in_channels, size):
        shape = (out_channels, in_channels, size, size)
        self.tensors[f"{name}.weight"] = (np.zeros(shape, np.float32) if self.zeros else
                                          self.rng.normal(0, np.sqrt(2 / (in_channels * size * size)),
                                                          shape).astype(np.float32))

    def batch_norm(self, name, channels):
        draw = (lambda low, high: np.zeros(channels, np.float32)) if self.zeros else (
            lambda low, high: self.rng.uniform(low, high, channels).astype(np.float32))
        self.tensors[f"{name}.weight"] = draw(0.5, 1.5)
        self.tensors[f"{name}.bias"] = draw(-0.2, 0.2)
        self.tensors[f"{name}.running_mean"] = draw(-0.2, 0.2)
        self.tensors[f"{name}.running_var"] = draw(0.5, 1.5)
        self.tensors[f"{name}.num_batches_tracked"] = np.array(1234, np.int64)

    def linear(self, name, out_features, in_features):
        if self.zeros:
            self.tensors[f"{name}.weight"] = np.zeros((out_features, in_features), np.float32)
            self.tensors[f"{name}.bias"] = np.zeros(out_features, np.float32)
            return
        self.tensors[f"{name}.weight"] = self.rng.normal(0, 1 / np.sqrt(in_features),
                                                         (out_features, in_features)).astype(np.float32)
        self.tensors[f"{name}.bias"] = self.rng.normal(0, 0.1, out_features).astype(np.float32)


def resnet_state_dict(stage_sizes, bottleneck, widths=(64, 128, 256, 512), stem_width=64, num_classes=1000,
                      **builder_options):
    """torchvision.models.ResNet's state dict: conv1/bn1, layer{s}.{i}.conv{k}/bn{k}/downsample.{0,1}, fc."""
    sd = StateDictBuilder(**builder_options)
    sd.conv("conv1", stem_width, 3, 7)
    sd.batch_norm("bn1", stem_width)
    inplanes, expansion = stem_width, 4 if bottleneck else 1
    for stage, (size, planes) in enumerate(zip(stage_sizes, widths), start=1):
        for index in range(size):
            stride, prefix = (2 if stage > 1 and index == 0 else 1), f"layer{stage}.{index}"
            if bottleneck:
                sd.conv(f"{prefix}.conv1", planes, inplanes, 1)
                sd.conv(f"{prefix}.conv2", planes, planes, 3)
                sd.conv(f"{prefix}.conv3", planes * 4, planes, 1)
            else:
                sd.conv(f"{prefix}.conv1", planes, inplanes, 3)
                sd.conv(f"{prefix}.conv2", planes, planes, 3)
            for k in range(1, 4 if bottleneck else 3):
                sd.batch_norm(f"{prefix}.bn{k}", planes * (4 if k == 3 else 1))
            if stride != 1 or inplanes != planes * expansion:
                sd.conv(f"{prefix}.downsample.0", planes * expansion, inplanes, 1)
                sd.batch_norm(f"{prefix}.downsample.1", planes * expansion)
            inplanes = planes * expansion
    sd.linear("fc", num_classes, inplanes)
    return sd.tensors


def make_divisible(value, divisor=8):
    """torchvision's _make_divisible with min_value = divisor."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenet_v2_blocks(width):
    """``(prefix, input channels, hidden channels, output channels, stride, expands)`` per InvertedResidual."""
    blocks, inp, n = [], make_divisible(32 * width), 1
    for t, c, repeats, s in MOBILENET_V2_SETTING:
        out = make_divisible(c * width)
        for i in range(repeats):
            blocks.append((f"features.{n}.conv", inp, int(round(inp * t)), out, s if i == 0 else 1, t != 1))
            inp, n = out, n + 1
    return blocks


def mobilenet_v2_state_dict(width=1.0, num_classes=1000, **builder_options):
    """torchvision.models.MobileNetV2's state dict: features.0 stem, features.1–17 blocks, features.18, classifier.1."""
    sd = StateDictBuilder(**builder_options)
    stem, last = make_divisible(32 * width), make_divisible(1280 * max(1.0, width))
    sd.conv("features.0.0", stem, 3, 3)
    sd.batch_norm("features.0.1", stem)
    blocks = mobilenet_v2_blocks(width)
    for prefix, inp, hidden, out, _, expands in blocks:
        if expands:
            sd.conv(f"{prefix}.0.0", hidden, inp, 1)
            sd.batch_norm(f"{prefix}.0.1", hidden)
        depthwise = int(expands)
        sd.conv(f"{prefix}.{depthwise}.0", hidden, 1, 3)
        sd.batch_norm(f"{prefix}.{depthwise}.1", hidden)
        sd.conv(f"{prefix}.{depthwise + 1}", out, hidden, 1)
        sd.batch_norm(f"{prefix}.{depthwise + 2}", out)
    n = len(blocks) + 1
    sd.conv(f"features.{n}.0", last, blocks[-1][3], 1)
    sd.batch_norm(f"features.{n}.1", last)
    sd.linear("classifier.1", num_classes, last)
    return sd.tensors


# ---- the NumPy NCHW reference forward pass -----------------------------------------------------------------------

def conv(x, weight, stride, padding, groups=1):
    """torch.nn.functional.conv2d: x ``(N, C, H, W)``, weight ``(O, C/groups, f, f)``, no bias."""
    f = weight.shape[-1]
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(x, (f, f), axis=(2, 3))[:, :, ::stride, ::stride]   # N, C, H', W', f, f
    n, c, h, w = windows.shape[:4]
    windows = windows.reshape(n, groups, c // groups, h, w, f, f)
    weight = weight.astype(np.float64).reshape(groups, -1, c // groups, f, f)
    return np.einsum("ngchwij,gocij->ngohw", windows, weight, optimize=True).reshape(n, -1, h, w)


def batch_norm(sd, name, x):
    """Inference-mode torch BatchNorm2d from running statistics."""
    per_channel = lambda key: sd[f"{name}.{key}"].astype(np.float64)[None, :, None, None]  # noqa: E731
    return ((x - per_channel("running_mean")) / np.sqrt(per_channel("running_var") + EPSILON)
            * per_channel("weight") + per_channel("bias"))


def relu(x):
    return np.maximum(x, 0)


def relu6(x):
    return np.clip(x, 0, 6)


def max_pool_3x3_stride_2_padding_1(x):
    x = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    return sliding_window_view(x, (3, 3), axis=(2, 3))[:, :, ::2, ::2].max(axis=(-2, -1))


def linear_head(sd, name, x):
    return x.mean(axis=(2, 3)) @ sd[f"{name}.weight"].astype(np.float64).T + sd[f"{name}.bias"]


def reference_resnet(sd, x, stage_sizes, bottleneck):
    y = max_pool_3x3_stride_2_padding_1(relu(batch_norm(sd, "bn1", conv(x, sd["conv1.weight"], 2, 3))))
    for stage, size in enumerate(stage_sizes, start=1):
        for index in range(size):
            stride, p = (2 if stage > 1 and index == 0 else 1), f"layer{stage}.{index}"
            if bottleneck:
                h = relu(batch_norm(sd, f"{p}.bn1", conv(y, sd[f"{p}.conv1.weight"], 1, 0)))
                h = relu(batch_norm(sd, f"{p}.bn2", conv(h, sd[f"{p}.conv2.weight"], stride, 1)))
                h = batch_norm(sd, f"{p}.bn3", conv(h, sd[f"{p}.conv3.weight"], 1, 0))
            else:
                h = relu(batch_norm(sd, f"{p}.bn1", conv(y, sd[f"{p}.conv1.weight"], stride, 1)))
                h = batch_norm(sd, f"{p}.bn2", conv(h, sd[f"{p}.conv2.weight"], 1, 1))
            if f"{p}.downsample.0.weight" in sd:
                y = batch_norm(sd, f"{p}.downsample.1", conv(y, sd[f"{p}.downsample.0.weight"], stride, 0))
            y = relu(h + y)
    return linear_head(sd, "fc", y)


def reference_mobilenet_v2(sd, x, width):
    y = relu6(batch_norm(sd, "features.0.1", conv(x, sd["features.0.0.weight"], 2, 1)))
    blocks = mobilenet_v2_blocks(width)
    for prefix, inp, hidden, out, stride, expands in blocks:
        h = y
        if expands:
            h = relu6(batch_norm(sd, f"{prefix}.0.1", conv(h, sd[f"{prefix}.0.0.weight"], 1, 0)))
        d = int(expands)
        h = relu6(batch_norm(sd, f"{prefix}.{d}.1", conv(h, sd[f"{prefix}.{d}.0.weight"], stride, 1, groups=hidden)))
        h = batch_norm(sd, f"{prefix}.{d + 2}", conv(h, sd[f"{prefix}.{d + 1}.weight"], 1, 0))
        y = y + h if stride == 1 and inp == out else h
    n = len(blocks) + 1
    y = relu6(batch_norm(sd, f"features.{n}.1", conv(y, sd[f"features.{n}.0.weight"], 1, 0)))
    return linear_head(sd, "classifier.1", y)


def images(n, size, seed=1):
    """``(NCHW float64, NHWC float32)`` views of the same images."""
    nchw = np.random.default_rng(seed).normal(size=(n, 3, size, size)).astype(np.float32)
    return nchw.astype(np.float64), nchw.transpose(0, 2, 3, 1)


def assert_logits_close(model, variables, x_nhwc, reference):
    logits = np.asarray(jax.jit(model.apply, static_argnames="train")(variables, x_nhwc, train=False))
    assert logits.shape == reference.shape
    np.testing.assert_allclose(logits, reference, rtol=1e-4, atol=1e-4 * np.abs(reference).max())


def save(tmp_path, name, sd):
    """The state dict as ``name.npz`` and ``name.safetensors``; returns both paths."""
    npz, safetensors = tmp_path / f"{name}.npz", tmp_path / f"{name}.safetensors"
    np.savez(npz, **sd)
    save_file(sd, str(safetensors))
    return npz, safetensors


@pytest.fixture(scope="module")
def resnet18_files(tmp_path_factory):
    sd = resnet_state_dict((2, 2, 2, 2), bottleneck=False, num_classes=10)
    return sd, *save(tmp_path_factory.mktemp("resnet18"), "resnet18", sd)


@pytest.fixture(scope="module")
def bottleneck_state_dict():
    return resnet_state_dict(SMALL_BOTTLENECK["stage_sizes"], bottleneck=True, widths=SMALL_BOTTLENECK["widths"],
                             stem_width=SMALL_BOTTLENECK["stem_width"], num_classes=7, seed=2)


def small_bottleneck_resnet(num_classes=7, **options):
    return ResNet(SMALL_BOTTLENECK["stage_sizes"], "bottleneck", num_classes, stage_widths=SMALL_BOTTLENECK["widths"],
                  stem_width=SMALL_BOTTLENECK["stem_width"], **options)


# ---- forward passes against the reference ------------------------------------------------------------------------

def test_resnet18_from_safetensors_gives_the_reference_logits(resnet18_files):
    sd, _, safetensors = resnet18_files
    x_nchw, x_nhwc = images(2, 32)
    model = resnet18(num_classes=10)
    assert_logits_close(model, load_torchvision(model, safetensors), x_nhwc,
                        reference_resnet(sd, x_nchw, (2, 2, 2, 2), bottleneck=False))


def test_bottleneck_resnet_from_npz_gives_the_reference_logits(tmp_path, bottleneck_state_dict):
    npz, _ = save(tmp_path, "bottleneck", bottleneck_state_dict)
    x_nchw, x_nhwc = images(2, 32, seed=3)
    model = small_bottleneck_resnet()
    assert_logits_close(model, load_torchvision(model, npz), x_nhwc,
                        reference_resnet(bottleneck_state_dict, x_nchw, SMALL_BOTTLENECK["stage_sizes"], True))


def test_mobilenet_v2_with_width_multiplier_gives_the_reference_logits(tmp_path):
    # Pre-activations pass 6 here: with ReLU in place of ReLU6 the reference logits change by ~1e3.
    sd = mobilenet_v2_state_dict(width=0.25, num_classes=6, seed=4)
    _, safetensors = save(tmp_path, "mobilenet_v2", sd)
    x_nchw, x_nhwc = images(2, 32, seed=5)
    reference = reference_mobilenet_v2(sd, x_nchw, 0.25)
    model = MobileNetV2(num_classes=6, width_multiplier=0.25)
    assert_logits_close(model, load_torchvision(model, safetensors), x_nhwc, reference)


def test_full_size_torchvision_resnet50_loads():
    sd = resnet_state_dict((3, 4, 6, 3), bottleneck=True, zeros=True)
    learned = sum(v.size for k, v in sd.items() if not k.endswith(("running_mean", "running_var", "batches_tracked")))
    assert learned == 25_557_032   # torchvision's published count: the builder has its structure
    variables = load_torchvision(resnet50(), sd)
    assert sum(leaf.size for leaf in jax.tree.leaves(variables["params"])) == 25_557_032


def test_full_size_torchvision_mobilenet_v2_loads():
    sd = mobilenet_v2_state_dict(zeros=True)
    learned = sum(v.size for k, v in sd.items() if not k.endswith(("running_mean", "running_var", "batches_tracked")))
    assert learned == 3_504_872
    variables = load_torchvision(MobileNetV2(), sd)
    assert variables["params"]["block17"]["depthwise"]["conv"]["kernel"].shape == (3, 3, 1, 960)


# ---- files -------------------------------------------------------------------------------------------------------

def test_npz_and_safetensors_give_identical_variables(resnet18_files):
    sd, npz, safetensors = resnet18_files
    model = resnet18(num_classes=10)
    from_safetensors = load_torchvision(model, safetensors)
    chex.assert_trees_all_equal(load_torchvision(model, npz), from_safetensors)
    chex.assert_trees_all_equal(load_torchvision(model, sd), from_safetensors)
    kernel = from_safetensors["params"]["stage2_block1"]["projection"]["conv"]["kernel"]
    np.testing.assert_array_equal(kernel, sd["layer2.0.downsample.0.weight"].transpose(2, 3, 1, 0))


def test_read_state_dict_agrees_with_the_safetensors_package(resnet18_files):
    _, npz, safetensors = resnet18_files
    ours, theirs = read_state_dict(safetensors), load_file(str(safetensors))
    assert ours.keys() == theirs.keys() == read_state_dict(npz).keys()
    for name in theirs:
        assert ours[name].dtype == theirs[name].dtype and ours[name].shape == theirs[name].shape, name
        np.testing.assert_array_equal(ours[name], theirs[name])
    assert ours["bn1.num_batches_tracked"].shape == () and ours["bn1.num_batches_tracked"] == 1234


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float64])
def test_half_and_double_precision_safetensors_load(tmp_path, bottleneck_state_dict, dtype):
    cast = {k: v.astype(dtype) if v.dtype == np.float32 else v for k, v in bottleneck_state_dict.items()}
    path = tmp_path / "cast.safetensors"
    save_file(cast, str(path))
    read = read_state_dict(path)
    for name, value in cast.items():
        assert read[name].dtype == value.dtype, name
        assert read[name].shape == value.shape and read[name].tobytes() == value.tobytes(), name
    model = small_bottleneck_resnet()
    rounded = {k: v.astype(np.float32) if v.dtype == dtype else v for k, v in cast.items()}
    variables = load_torchvision(model, path)
    chex.assert_trees_all_equal(variables, load_torchvision(model, rounded))
    assert all(leaf.dtype == np.float32 for leaf in jax.tree.leaves(variables))


def test_reading_a_missing_or_foreign_file_fails_with_the_path(tmp_path):
    with pytest.raises(MissingDataFileError, match="no_such.safetensors: no such file"):
        read_state_dict(tmp_path / "no_such.safetensors")
    (tmp_path / "weights.pth").write_bytes(b"\x80\x02")
    with pytest.raises(ValueError, match=r"weights.pth: expected a state dict saved as .safetensors or .npz"):
        read_state_dict(tmp_path / "weights.pth")
    (tmp_path / "short.safetensors").write_bytes((1000).to_bytes(8, "little") + b"{}")
    with pytest.raises(ValueError, match="short.safetensors: header length 1000"):
        read_state_dict(tmp_path / "short.safetensors")
    header = b'{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}'
    (tmp_path / "bad.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(12))
    with pytest.raises(ValueError, match=r"tensor 'w' \(F32, shape \[2, 2\]\) needs 16 bytes"):
        read_state_dict(tmp_path / "bad.safetensors")


# ---- mismatches --------------------------------------------------------------------------------------------------

def test_a_missing_key_is_named(bottleneck_state_dict):
    sd = {k: v for k, v in bottleneck_state_dict.items() if k != "layer1.1.bn2.running_var"}
    with pytest.raises(ValueError, match=r"lacks 1 key\(s\) ResNet needs: 'layer1.1.bn2.running_var'"):
        load_torchvision(small_bottleneck_resnet(), sd)


def test_an_unexpected_key_is_named(bottleneck_state_dict):
    sd = {**bottleneck_state_dict, "layer4.1.conv1.weight": np.zeros((16, 64, 1, 1), np.float32)}
    with pytest.raises(ValueError, match=r"1 key\(s\) ResNet has no place for: 'layer4.1.conv1.weight'"):
        load_torchvision(small_bottleneck_resnet(), sd)


def test_a_shape_mismatch_is_named(bottleneck_state_dict):
    with pytest.raises(ValueError, match=r"'conv1.weight' has shape \(8, 3, 7, 7\); ResNet needs \(8, 3, 3, 3\)"):
        load_torchvision(small_bottleneck_resnet(stem="small"), bottleneck_state_dict)
    hwio = {**bottleneck_state_dict,
            "layer2.0.conv2.weight": bottleneck_state_dict["layer2.0.conv2.weight"].transpose(2, 3, 1, 0)}
    with pytest.raises(ValueError, match=r"'layer2.0.conv2.weight' has shape \(3, 3, 8, 8\)"):
        load_torchvision(small_bottleneck_resnet(), hwio)
    with pytest.raises(ValueError, match=r"'fc.bias' has shape \(7,\); ResNet needs \(3,\)"):
        load_torchvision(small_bottleneck_resnet(num_classes=3), bottleneck_state_dict)


def test_without_the_head_the_body_loads_under_a_fresh_head(bottleneck_state_dict):
    model = small_bottleneck_resnet(num_classes=3)
    x_nchw, x_nhwc = images(1, 16, seed=6)
    shapes = jax.eval_shape(lambda x: model.init(jax.random.key(0), x, train=False), x_nhwc)
    rng = np.random.default_rng(7)   # stands in for model.init's values (whose random draws are slow to compile)
    fresh = jax.tree.map(lambda leaf: rng.normal(size=leaf.shape).astype(leaf.dtype), shapes)
    loaded = load_torchvision(model, bottleneck_state_dict, fresh, include_head=False)
    chex.assert_trees_all_equal(loaded["params"]["output"], fresh["params"]["output"])
    np.testing.assert_array_equal(loaded["params"]["stem"]["conv"]["kernel"],
                                  bottleneck_state_dict["conv1.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(loaded["batch_stats"]["stage3_block1"]["conv_bn3"]["batch_norm"]["var"],
                                  bottleneck_state_dict["layer3.0.bn3.running_var"])
    # The features before the head are torchvision's: the reference with our head in place of fc.
    head = {"fc.weight": fresh["params"]["output"]["kernel"].T, "fc.bias": fresh["params"]["output"]["bias"]}
    reference = reference_resnet({**bottleneck_state_dict, **head}, x_nchw, SMALL_BOTTLENECK["stage_sizes"], True)
    assert_logits_close(model, loaded, x_nhwc, reference)
    # The head keys may be absent; the variables may be traced (a model.init inside a jitted trial).
    body = {k: v for k, v in bottleneck_state_dict.items() if not k.startswith("fc.")}
    traced = jax.jit(lambda variables: load_torchvision(model, body, variables, include_head=False))(fresh)
    chex.assert_trees_all_equal(traced, loaded)
    with pytest.raises(ValueError, match="include_head=False keeps the head of `variables`"):
        load_torchvision(model, body, include_head=False)
