"""VGG-19: parameter counts, activations by layer name, and weights read back from Keras .h5 and
torchvision .npz/.safetensors files written here, checked against a NumPy forward pass."""
import sys

import jax
import numpy as np
import pytest

from dlcourse.models import VGG, VGG16, VGG19, imagenet_normalize, load_vgg, read_keras_h5, vgg_layer_names

TINY_STAGES = ((3, 4), (5,))


def _count(model, size=32):
    shapes = jax.eval_shape(lambda key: model.init(key, np.zeros((1, size, size, 3), np.float32), train=False),
                            jax.random.key(0))
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(shapes))


def test_vgg19_has_the_published_parameter_count_and_sixteen_convolutions():
    assert _count(VGG19(), 224) == 143_667_240          # torchvision vgg19 / Keras VGG19
    # Without the top: Σ 9·n_C·n_C′ + n_C′ over the sixteen convolutions (Keras, include_top=False).
    stages = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256)] + [(256, 256)] * 3 + [(256, 512)] + \
        [(512, 512)] * 7
    assert _count(VGG19(include_top=False)) == sum(9 * a * b + b for a, b in stages) == 20_024_384
    assert _count(VGG16(), 224) == 138_357_544
    names = vgg_layer_names(VGG19().stages)
    assert sum(name.startswith("conv") for name in names) == 16 and names[-2:] == ("conv5_4", "pool5")


def _conv_same_hwio(x, kernel, bias):
    """'same' 3×3 cross-correlation of one [H, W, C] image, written out over the nine offsets."""
    height, width = x.shape[:2]
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((height, width, kernel.shape[-1]))
    for di in range(3):
        for dj in range(3):
            out += padded[di:di + height, dj:dj + width] @ kernel[di, dj]
    return out + bias


def _conv_same_oihw(x_chw, weight, bias):
    """The same in torchvision's layout: [C, H, W] image, [O, I, 3, 3] weight."""
    channels, height, width = x_chw.shape
    padded = np.pad(x_chw, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((weight.shape[0], height, width))
    for o in range(weight.shape[0]):
        for i in range(height):
            for j in range(width):
                out[o, i, j] = np.sum(padded[:, i:i + 3, j:j + 3] * weight[o]) + bias[o]
    return out


def _pool_hwc(x):
    h, w, c = x.shape
    return x.reshape(h // 2, 2, w // 2, 2, c).max(axis=(1, 3))


def _numpy_features_keras(x, weights, stages):
    """{layer: activation} of one [H, W, 3] image from Keras-named weights."""
    out = {}
    for stage, filters in enumerate(stages, start=1):
        for index in range(1, len(filters) + 1):
            name = f"block{stage}_conv{index}"
            x = np.maximum(_conv_same_hwio(x, weights[f"{name}/kernel"], weights[f"{name}/bias"]), 0)
            out[f"conv{stage}_{index}"] = x
        x = _pool_hwc(x)
        out[f"pool{stage}"] = x
    return out


def _random_keras_weights(stages, rng):
    weights, channels = {}, 3
    for stage, filters in enumerate(stages, start=1):
        for index, features in enumerate(filters, start=1):
            weights[f"block{stage}_conv{index}/kernel"] = rng.normal(0, 0.3, (3, 3, channels, features)).astype(
                np.float32)
            weights[f"block{stage}_conv{index}/bias"] = rng.normal(0, 0.1, features).astype(np.float32)
            channels = features
    return weights


def _write_keras_h5(path, weights, extra_layers=("input_1", "block1_pool")):
    """Keras 2's layout: layer_names on the root, weight_names per layer group, datasets 'layer/kernel:0'."""
    import h5py

    layers = sorted({key.split("/")[0] for key in weights}) + list(extra_layers)
    with h5py.File(path, "w") as handle:
        handle.attrs["layer_names"] = np.asarray([name.encode() for name in layers])
        handle.attrs["keras_version"] = b"2.1.5"
        for layer in layers:
            group = handle.create_group(layer)
            names = [f"{layer}/{leaf}:0" for leaf in ("kernel", "bias") if f"{layer}/{leaf}" in weights]
            group.attrs["weight_names"] = np.asarray([name.encode() for name in names], dtype="S")
            for name in names:
                group[name] = weights[name.split(":")[0]]


def test_keras_h5_round_trip_gives_the_numpy_forward_pass(tmp_path):
    rng = np.random.default_rng(0)
    weights = _random_keras_weights(TINY_STAGES, rng)
    _write_keras_h5(tmp_path / "vgg.h5", weights)
    read = read_keras_h5(tmp_path / "vgg.h5")
    assert read.keys() == weights.keys() and all(np.array_equal(read[k], weights[k]) for k in weights)
    model = VGG(stages=TINY_STAGES, include_top=False)
    variables = load_vgg(model, tmp_path / "vgg.h5")
    x = rng.uniform(0, 1, (1, 8, 8, 3)).astype(np.float32)
    layers = ("conv1_1", "conv1_2", "pool1", "conv2_1", "pool2")
    ours = model.apply(variables, x, train=False, layers=layers)
    expected = _numpy_features_keras(x[0].astype(np.float64), weights, TINY_STAGES)
    for name in layers:
        np.testing.assert_allclose(ours[name][0], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(model.apply(variables, x, train=False), ours["pool2"])   # include_top=False output
    # Only the layers asked for come back; an unknown name is refused.
    assert set(model.apply(variables, x, train=False, layers=["conv1_2"])) == {"conv1_2"}
    with pytest.raises(ValueError, match="unknown VGG layer"):
        model.apply(variables, x, train=False, layers=["block1_conv1"])


def test_keras_weights_in_a_whole_model_file_and_as_npz(tmp_path):
    import h5py

    weights = _random_keras_weights(TINY_STAGES, np.random.default_rng(1))
    _write_keras_h5(tmp_path / "part.h5", weights)
    with h5py.File(tmp_path / "part.h5", "r") as source, h5py.File(tmp_path / "model.h5", "w") as target:
        source.copy(source["/"], target, "model_weights")     # model.save('m.h5') nests them here
        target["model_weights"].attrs.update(source.attrs)
    model = VGG(stages=TINY_STAGES, include_top=False)
    from_model_file = load_vgg(model, tmp_path / "model.h5")
    np.savez(tmp_path / "vgg.npz", **{key + ":0": value for key, value in weights.items()})
    from_npz = load_vgg(model, tmp_path / "vgg.npz")
    jax.tree.map(np.testing.assert_array_equal, from_model_file, from_npz)
    np.testing.assert_array_equal(from_npz["params"]["conv2_1"]["kernel"], weights["block2_conv1/kernel"])


def _torchvision_state(stages, rng, top_classes=None):
    state, channels, index = {}, 3, 0
    for filters in stages:
        for features in filters:
            state[f"features.{index}.weight"] = rng.normal(0, 0.3, (features, channels, 3, 3)).astype(np.float32)
            state[f"features.{index}.bias"] = rng.normal(0, 0.1, features).astype(np.float32)
            channels, index = features, index + 2
        index += 1
    if top_classes:
        for name, shape in (("classifier.0", (4096, channels * 49)), ("classifier.3", (4096, 4096)),
                            ("classifier.6", (top_classes, 4096))):
            state[f"{name}.weight"] = rng.normal(0, 1 / np.sqrt(shape[1]), shape).astype(np.float32)
            state[f"{name}.bias"] = rng.normal(0, 0.1, shape[0]).astype(np.float32)
    return state


def test_torchvision_safetensors_round_trip_with_the_classifier(tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(2)
    stages = ((2, 3),)                     # 14×14 → pool → 7×7×3: FC6 sees 147 inputs, channel-first in torch
    state = _torchvision_state(stages, rng, top_classes=5)
    save_file(state, str(tmp_path / "vgg.safetensors"))
    model = VGG(stages=stages, num_classes=5)
    variables = load_vgg(model, tmp_path / "vgg.safetensors")
    x = rng.uniform(0, 1, (1, 14, 14, 3)).astype(np.float32)
    logits = model.apply(variables, x, train=False)
    # NumPy in torchvision's own layout: NCHW, OIHW, flatten channel-first, y = W x + b.
    a = x[0].transpose(2, 0, 1).astype(np.float64)
    for index in (0, 2):
        a = np.maximum(_conv_same_oihw(a, state[f"features.{index}.weight"], state[f"features.{index}.bias"]), 0)
    c, h, w = a.shape
    a = a.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4)).reshape(-1)
    for name in ("classifier.0", "classifier.3"):
        a = np.maximum(state[f"{name}.weight"] @ a + state[f"{name}.bias"], 0)
    expected = state["classifier.6.weight"] @ a + state["classifier.6.bias"]
    np.testing.assert_allclose(logits[0], expected, rtol=1e-3, atol=1e-4)
    # The body alone ignores the classifier's keys.
    body = load_vgg(VGG(stages=stages, include_top=False), tmp_path / "vgg.safetensors")
    assert set(body["params"]) == {"conv1_1", "conv1_2"}


def test_torchvision_npz_numbers_modules_across_pools(tmp_path):
    rng = np.random.default_rng(3)
    state = _torchvision_state(TINY_STAGES, rng)
    assert sorted(state)[-2:] == ["features.5.bias", "features.5.weight"]      # conv, ReLU, conv, ReLU, pool, conv
    np.savez(tmp_path / "vgg.npz", **state)
    variables = load_vgg(VGG(stages=TINY_STAGES, include_top=False), tmp_path / "vgg.npz")
    np.testing.assert_array_equal(variables["params"]["conv2_1"]["kernel"],
                                  state["features.5.weight"].transpose(2, 3, 1, 0))


def test_bad_weights_are_named(tmp_path, monkeypatch):
    rng = np.random.default_rng(4)
    model = VGG(stages=TINY_STAGES, include_top=False)
    weights = _random_keras_weights(TINY_STAGES, rng)
    with pytest.raises(ValueError, match="lack 2 key.*block2_conv1/bias"):
        load_vgg(model, {k: v for k, v in weights.items() if not k.startswith("block2")})
    with pytest.raises(ValueError, match="no place for: 'block3_conv1/kernel'"):
        load_vgg(model, {**weights, "block3_conv1/kernel": weights["block2_conv1/kernel"]})
    with pytest.raises(ValueError, match=r"'block1_conv2/kernel' has shape \(3, 3, 4, 3\); VGG needs \(3, 3, 3, 4\)"):
        load_vgg(model, {**weights, "block1_conv2/kernel": np.zeros((3, 3, 4, 3), np.float32)})
    with pytest.raises(ValueError, match="cannot tell the naming"):
        load_vgg(model, {"conv1_1.weight": np.zeros(3)})
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_keras_h5(tmp_path / "absent.h5")
    (tmp_path / "not.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="expected a Keras HDF5 weight file"):
        read_keras_h5(tmp_path / "not.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="pip install h5py"):
        read_keras_h5(tmp_path / "not.h5")


def test_imagenet_normalize_conventions():
    pixel = np.asarray([[1.0, 0.5, 0.0]], np.float32)    # R, G, B
    np.testing.assert_allclose(imagenet_normalize(pixel, "keras"), [[0 - 103.939, 127.5 - 116.779, 255 - 123.68]],
                               rtol=1e-6)
    np.testing.assert_allclose(imagenet_normalize(pixel, "torchvision"),
                               [[(1 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0 - 0.406) / 0.225]], rtol=1e-6)
    with pytest.raises(ValueError, match="convention must be one of"):
        imagenet_normalize(pixel, "caffe")
