"""The convolutional models run: small versions init, train a forward pass and infer on the CPU.

Each small model is one compiled program (init, a training forward, an inference forward) built
with dlcourse's CPU compiler options, and run several times with different inputs. Drawing each
random kernel at init costs XLA a separate compiled loop, so the big models (ResNet-50) run with
weights drawn by NumPy instead.
"""

import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.models import (
    VGG16,
    AlexNet,
    BasicBlock,
    BottleneckBlock,
    InceptionModule,
    InceptionOutputs,
    InceptionV1,
    InvertedResidual,
    LeNet5,
    MobileNetV1,
    MobileNetV2,
    ResNet,
    resnet50,
)
from dlcourse.nn import BatchNorm
from dlcourse.train.compilation import compile_lowered


def _compiled(function, *args):
    return compile_lowered(jax.jit(function).lower(*args))


def _init_train_and_infer(model):
    def program(key, x, mask):
        variables = model.init(key, x, train=False)
        train_logits, state = model.apply(variables, x, train=True, mask=mask, mutable=["batch_stats"],
                                          rngs={"dropout": key})
        return variables, train_logits, state, model.apply(variables, x, train=False)

    return program


def _numpy_variables(model, x, **keywords):
    """Variables of ``model`` without running its init: He-scaled N(0, 2/n_in) kernels, BN's initial values."""
    shapes = jax.eval_shape(lambda key, x: model.init(key, x, **keywords), jax.random.key(0), x)
    rng = np.random.default_rng(0)

    def draw(path, leaf):
        name = path[-1].key
        if name in ("scale", "var"):
            return np.ones(leaf.shape, np.float32)
        if name in ("bias", "mean"):
            return np.zeros(leaf.shape, np.float32)
        return (rng.standard_normal(leaf.shape) * math.sqrt(2 / math.prod(leaf.shape[:-1]))).astype(np.float32)

    return jax.tree_util.tree_map_with_path(draw, shapes)


def _images(channels=3, size=32, batch=2, seed=0):
    return 1.0 + 2.0 * jax.random.normal(jax.random.key(seed), (batch, size, size, channels))


def test_lenet5_runs_on_one_channel_images():
    x = _images(channels=1)
    program = _compiled(_init_train_and_infer(LeNet5()), jax.random.key(0), x, jnp.ones(2))
    variables, train_logits, state, logits = program(jax.random.key(0), x, jnp.ones(2))
    assert variables["params"]["conv1"]["kernel"].shape == (5, 5, 1, 6)
    assert logits.shape == (2, 10) and not state   # no batch norm, no dropout: training = inference
    np.testing.assert_array_equal(train_logits, logits)


SMALL_MODELS = {
    "resnet (basic blocks)": ResNet((1, 1), num_classes=10, stage_widths=(8, 16), stem="small"),
    "mobilenet_v2": MobileNetV2(10, width_multiplier=0.25, last_features=32,
                                bottlenecks=((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 1, 2))),
    "inception": InceptionV1(10, stage_sizes=(1, 0, 0), width_multiplier=0.125),
}


@pytest.mark.parametrize("name", list(SMALL_MODELS))
def test_small_model_trains_and_infers_and_padding_leaves_batch_statistics_alone(name):
    model = SMALL_MODELS[name]
    x, padded = _images(), jnp.array([1.0, 0.0])
    program = _compiled(_init_train_and_infer(model), jax.random.key(0), x, padded)
    variables, train_logits, state, logits = program(jax.random.key(0), x, padded)
    assert train_logits.shape == logits.shape == (2, 10)
    assert np.isfinite(train_logits).all() and np.isfinite(logits).all()
    # Training mode updates every running mean (the inputs have mean 1, so none stays at 0).
    before, after = variables["batch_stats"], state["batch_stats"]
    assert jax.tree.structure(before) == jax.tree.structure(after)
    moved = jax.tree.leaves(jax.tree.map(lambda old, new: bool(np.any(old != new)), before, after))
    assert all(moved)
    # The padded example (mask 0) is anything at all: the statistics and the real example's logits
    # do not change; counted as real (mask 1), it does change them.
    other = x.at[1].set(50.0 * jax.random.normal(jax.random.key(7), x.shape[1:]))
    _, other_train_logits, other_state, _ = program(jax.random.key(0), other, padded)
    chex.assert_trees_all_close(other_state, state, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(other_train_logits[0], train_logits[0], rtol=1e-4, atol=1e-5)
    _, _, unmasked_state, _ = program(jax.random.key(0), other, jnp.ones(2))
    assert not all(jax.tree.leaves(jax.tree.map(np.allclose, unmasked_state, state)))


def test_stem_statistics_are_the_real_examples_own():
    model = SMALL_MODELS["resnet (basic blocks)"]
    x, padded = _images(), jnp.array([1.0, 0.0])
    variables, _, state, _ = _compiled(_init_train_and_infer(model), jax.random.key(0), x, padded)(
        jax.random.key(0), x, padded)
    kernel = np.asarray(variables["params"]["stem"]["conv"]["kernel"], np.float64)
    image = np.pad(np.asarray(x[0], np.float64), ((1, 1), (1, 1), (0, 0)))
    z = sum(image[i:i + 32, j:j + 32] @ kernel[i, j] for i in range(3) for j in range(3))  # 3×3 same conv
    stats = state["batch_stats"]["stem"]["batch_norm"]
    np.testing.assert_allclose(stats["mean"], 0.01 * z.mean(axis=(0, 1)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stats["var"], 0.99 + 0.01 * z.var(axis=(0, 1)), rtol=1e-4)


def _block_program(block, x):
    variables = _numpy_variables(block, x, train=False)
    return variables, _compiled(lambda v, x: block.apply(v, x, train=False), variables, x)(variables, x)


def test_residual_blocks_with_a_silenced_last_batch_norm_pass_their_shortcut():
    # γ = β = 0 in the last batch norm: a[l+2] = ReLU(0 + shortcut(a[l])): the identity is easy to learn.
    x = _images(channels=8, size=6)
    for block in (BasicBlock(8), BottleneckBlock(2)):
        variables = _numpy_variables(block, x, train=False)
        last = "conv_bn2" if isinstance(block, BasicBlock) else "conv_bn3"
        variables["params"][last]["batch_norm"]["scale"][:] = 0
        out = _compiled(lambda v, x: block.apply(v, x, train=False), variables, x)(variables, x)
        np.testing.assert_allclose(out, np.maximum(x, 0), rtol=1e-6, err_msg=type(block).__name__)
    # Stride 2 and 16 channels: the shortcut is BN(W_s ∗ a[l]) with a 1×1, stride-2 conv.
    block = BasicBlock(16, strides=2)
    variables = _numpy_variables(block, x, train=False)
    variables["params"]["conv_bn2"]["batch_norm"]["scale"][:] = 0
    out = _compiled(lambda v, x: block.apply(v, x, train=False), variables, x)(variables, x)
    projection = variables["params"]["projection"]["conv"]["kernel"][0, 0]
    expected = np.maximum(np.asarray(x)[:, ::2, ::2] @ projection / np.sqrt(1 + 1e-5), 0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_inverted_residual_adds_its_input_only_when_shapes_match():
    x = _images(channels=8, size=6)
    for block, residual in ((InvertedResidual(8, 6), True), (InvertedResidual(8, 6, strides=2), False),
                            (InvertedResidual(16, 1), False)):
        variables = _numpy_variables(block, x, train=False)
        variables["params"]["project"]["batch_norm"]["scale"][:] = 0   # the block's own path outputs 0
        out = _compiled(lambda v, x: block.apply(v, x, train=False), variables, x)(variables, x)
        np.testing.assert_allclose(out, x if residual else np.zeros(out.shape), atol=1e-6)
    shapes = jax.eval_shape(lambda key, x: InvertedResidual(16, 1).init(key, x, train=False), jax.random.key(0), x)
    assert "expand" not in shapes["params"]   # t = 1: depthwise then projection
    assert shapes["params"]["depthwise"]["conv"]["kernel"].shape == (3, 3, 1, 8)


def test_inception_module_concatenates_the_courses_branches():
    # The course's module: 28×28×192 → 64 + 128 + 32 + 32 = 256 channels, all "same".
    module = InceptionModule(64, 96, 128, 16, 32, 32)
    x = jax.ShapeDtypeStruct((1, 28, 28, 192), jnp.float32)
    shapes = jax.eval_shape(lambda key, x: module.init_with_output(key, x, train=False), jax.random.key(0), x)
    out, variables = shapes
    assert out.shape == (1, 28, 28, 256)
    kernels = {name: p["conv"]["kernel"].shape for name, p in variables["params"].items()}
    assert kernels == {"conv1x1": (1, 1, 192, 64), "reduce3x3": (1, 1, 192, 96), "conv3x3": (3, 3, 96, 128),
                       "reduce5x5": (1, 1, 192, 16), "conv5x5": (5, 5, 16, 32), "pool_projection": (1, 1, 192, 32)}


def test_side_classifiers_in_training_only():
    model = InceptionV1(10, side_classifiers=True)
    x = jax.ShapeDtypeStruct((2, 224, 224, 3), jnp.float32)
    variables = jax.eval_shape(lambda key, x: model.init(key, x, train=False), jax.random.key(0), x)
    assert {"side_classifier1", "side_classifier2"} <= set(variables["params"])
    keys = {"dropout": jax.random.key(0)}
    outputs, _ = jax.eval_shape(lambda v, x: model.apply(v, x, train=True, mask=jnp.ones(2), rngs=keys,
                                                         mutable=["batch_stats"]), variables, x)
    assert isinstance(outputs, InceptionOutputs)
    assert outputs.logits.shape == (2, 10) and [s.shape for s in outputs.side_logits] == [(2, 10), (2, 10)]
    assert jax.eval_shape(lambda v, x: model.apply(v, x, train=False), variables, x).shape == (2, 10)
    with pytest.raises(ValueError, match=r"stage_sizes\[1\] must be ≥ 4; got stage_sizes=\(2, 3, 2\)"):
        InceptionV1(side_classifiers=True, stage_sizes=(2, 3, 2)).init(jax.random.key(0), jnp.ones((1, 32, 32, 3)),
                                                                      train=False)


def test_resnet50_runs_one_small_image():
    model = resnet50(num_classes=10)
    x = _images(size=32, batch=1)
    variables = _numpy_variables(model, x, train=False)
    logits = _compiled(lambda v, x: model.apply(v, x, train=False), variables, x)(variables, x)
    assert logits.shape == (1, 10) and np.isfinite(logits).all()


@pytest.mark.parametrize("model, size", [(resnet50(), 224), (VGG16(batch_norm=True), 32), (AlexNet(), 227),
                                         (MobileNetV1(), 64), (MobileNetV2(), 96)])
def test_big_models_trace_a_training_step_at_their_size(model, size):
    x = jax.ShapeDtypeStruct((2, size, size, 3), jnp.float32)
    variables = jax.eval_shape(lambda key, x: model.init(key, x, train=False), jax.random.key(0), x)
    keys = {"dropout": jax.random.key(0)}
    logits, state = jax.eval_shape(lambda v, x: model.apply(v, x, train=True, mask=jnp.ones(2), rngs=keys,
                                                            mutable=["batch_stats"]), variables, x)
    assert logits.shape == (2, 1000)
    assert jax.tree.structure(state) == jax.tree.structure({c: v for c, v in variables.items() if c != "params"})


@pytest.mark.parametrize("model", [ResNet((1, 1), block="bottleneck", stage_widths=(4, 8)), VGG16(batch_norm=True),
                                   InceptionV1(side_classifiers=True), MobileNetV1(), MobileNetV2()],
                         ids=lambda model: type(model).__name__)
def test_axis_name_and_batch_norm_settings_reach_every_batch_norm(model):
    # What a data-parallel trainer does: clone with the mesh axis; every BatchNorm must average over it.
    model = model.clone(axis_name="data", batch_norm_momentum=0.9, batch_norm_epsilon=1e-3)
    settings = []

    def record(next_function, args, kwargs, context):
        if isinstance(context.module, BatchNorm):
            settings.append((context.module.axis_name, context.module.momentum, context.module.epsilon))
        return next_function(*args, **kwargs)

    with nn.intercept_methods(record):
        jax.eval_shape(lambda key, x: model.init(key, x, train=False), jax.random.key(0),
                       jax.ShapeDtypeStruct((1, 64, 64, 3), jnp.float32))
    assert settings and set(settings) == {("data", 0.9, 1e-3)}


def test_bad_structure_names_the_value():
    x = jnp.ones((1, 32, 32, 3))
    with pytest.raises(ValueError, match="unknown block 'wide'"):
        ResNet((1,), block="wide", stage_widths=(8,)).init(jax.random.key(0), x, train=False)
    with pytest.raises(ValueError, match=r"stage_sizes=\(1, 1\), stage_widths=\(8,\)"):
        ResNet((1, 1), stage_widths=(8,)).init(jax.random.key(0), x, train=False)
    with pytest.raises(ValueError, match="unknown AlexNet variant 'caffe'"):
        AlexNet(variant="caffe").init(jax.random.key(0), x, train=False)
    with pytest.raises(ValueError, match="unknown pooling 'min'"):
        LeNet5(pooling="min").init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="needs n_H, n_W ≥ 3; got input of shape"):
        jax.eval_shape(lambda key, x: AlexNet().init(key, x, train=False), jax.random.key(0),
                       jax.ShapeDtypeStruct((1, 64, 64, 3), jnp.float32))
    with pytest.raises(ValueError, match="width_multiplier must be positive; got 0"):
        MobileNetV2(width_multiplier=0).init(jax.random.key(0), x, train=False)
