"""Sliding windows as convolution: the notes' shapes (14×14×3 → 1×1×4, 16×16×3 → 2×2×4, 28×28×3 → 8×8×4),
the conv pass equal to the explicit crop-by-crop sliding window, and a dense layer equal to its
convolutional form on one window."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import models

MODEL = models.WindowClassifier()  # the notes' 16 / 400 / 400 / 4
SMALL = models.WindowClassifier(conv_features=4, hidden_units=8)  # the same windows, fewer units: quick


@pytest.fixture(scope="module")
def params():
    shapes = jax.eval_shape(lambda: SMALL.init(jax.random.key(0), jnp.zeros((1, 14, 14, 3))))["params"]
    rng = np.random.default_rng(3)  # random numbers, not the initializers: nothing to compile
    return jax.tree.map(lambda leaf: jnp.asarray(rng.normal(size=leaf.shape) * 0.3, jnp.float32), shapes)


def test_the_notes_layer_shapes():
    variables = jax.eval_shape(lambda: MODEL.init(jax.random.key(0), jnp.zeros((1, 14, 14, 3))))
    shapes = {name: layer["kernel"].shape for name, layer in variables["params"].items()}
    assert shapes == {"conv": (5, 5, 3, 16), "fc1": (5, 5, 16, 400), "fc2": (1, 1, 400, 400),
                      "output": (1, 1, 400, 4)}
    for size, grid in [(14, 1), (16, 2), (28, 8)]:
        out = jax.eval_shape(lambda v: MODEL.apply(v, jnp.zeros((1, size, size, 3))), variables)
        assert out.shape == (1, grid, grid, 4)


def test_one_convolutional_pass_equals_the_explicit_sliding_window(params):
    rng = np.random.default_rng(0)
    classify = lambda windows: SMALL.apply({"params": params}, windows)[:, 0, 0]  # noqa: E731
    whole = jax.jit(lambda images: SMALL.apply({"params": params}, images))
    for size, grid in [(16, 2), (28, 8)]:
        images = jnp.asarray(rng.random((2, size, size, 3)), jnp.float32)
        by_crops = jax.jit(lambda x: models.sliding_window_logits(classify, x, window_size=14, stride=2))(images)
        assert by_crops.shape == (2, grid, grid, 4)
        np.testing.assert_allclose(whole(images), by_crops, rtol=1e-4, atol=1e-5)
    # The top-right entry of the 16×16 grid is the crop starting at row 0, column 2 (the notes' picture).
    images = jnp.asarray(rng.random((1, 16, 16, 3)), jnp.float32)
    np.testing.assert_allclose(whole(images)[0, 0, 1], jax.jit(classify)(images[:, 0:14, 2:16])[0], rtol=1e-4,
                               atol=1e-5)


def test_a_dense_layer_is_its_convolution_on_one_window():
    rng = np.random.default_rng(1)
    volume = jnp.asarray(rng.normal(size=(3, 5, 5, 16)), jnp.float32)
    dense = nn.Dense(400)
    dense_params = {"kernel": jnp.asarray(rng.normal(size=(400, 400)) * 0.05, jnp.float32),
                    "bias": jnp.asarray(rng.normal(size=400), jnp.float32)}
    kernel = models.dense_kernel_as_conv(dense_params["kernel"], (5, 5, 16))
    assert kernel.shape == (5, 5, 16, 400)
    by_conv = nn.Conv(400, (5, 5), padding="VALID").apply({"params": {**dense_params, "kernel": kernel}}, volume)
    assert by_conv.shape == (3, 1, 1, 400)
    np.testing.assert_allclose(by_conv[:, 0, 0], dense.apply({"params": dense_params}, volume.reshape(3, -1)),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(models.conv_kernel_as_dense(kernel), dense_params["kernel"])


def test_the_classifier_read_with_flatten_and_dense_layers_is_the_conv_form(params):
    windows = jnp.asarray(np.random.default_rng(2).random((3, 14, 14, 3)), jnp.float32)
    np.testing.assert_allclose(jax.jit(models.fully_connected_logits)(params, windows),
                               jax.jit(SMALL.apply)({"params": params}, windows)[:, 0, 0], rtol=1e-4, atol=1e-5)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="at least 14×14"):
        jax.eval_shape(lambda: MODEL.init(jax.random.key(0), jnp.zeros((1, 12, 20, 3))))
    with pytest.raises(ValueError, match="even"):
        odd = models.WindowClassifier(window_size=13)
        jax.eval_shape(lambda: odd.init(jax.random.key(0), jnp.zeros((1, 13, 13, 3))))
    with pytest.raises(ValueError, match="dense kernel"):
        models.dense_kernel_as_conv(jnp.zeros((24, 2)), (5, 5, 1))
