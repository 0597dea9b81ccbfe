"""What units see: receptive-field arithmetic by hand and against the support of a unit's gradient,
top activations against NumPy, patches against slicing, and activations read from a model by name."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.models import LeNet5
from dlcourse.style import (
    ReceptiveField,
    crop_patches,
    layer_activations,
    patch_boxes,
    receptive_field,
    top_activations,
)


def test_receptive_fields_by_hand():
    assert receptive_field([(5, 1, 0)]) == ReceptiveField(5, 1, 0)                       # LeNet-5 conv1
    assert receptive_field([(5, 1, 0), (2, 2, 0), (5, 1, 0)]) == ReceptiveField(14, 2, 0)  # 1 + 4 + 1 + 4·2
    # VGG conv2_1: 3×3 same, 3×3 same, 2×2/2 pool, 3×3 same → r = 1 + 2 + 2 + 1 + 2·2, P = 1 + 1 + 0 + 1·2.
    assert receptive_field([(3, 1, 1), (3, 1, 1), (2, 2, 0), (3, 1, 1)]) == ReceptiveField(10, 2, 4)
    np.testing.assert_array_equal(patch_boxes(jnp.asarray([0, 3]), jnp.asarray([1, 0]), ReceptiveField(10, 2, 4)),
                                  [[-4, -2, 6, 8], [2, -4, 12, 6]])
    with pytest.raises(ValueError, match=r"\(f, s, p\) = \(3, 0, 1\)"):
        receptive_field([(3, 0, 1)])


def test_receptive_field_is_the_support_of_the_units_gradient():
    layers = [(3, 1, 1), (2, 2, 0), (3, 2, 1)]            # conv, average pool, strided conv
    field = receptive_field(layers)

    def network(x):                                       # positive weights: no cancellation in the gradient
        x = jax.lax.conv_general_dilated(x, jnp.ones((3, 3, 1, 1)), (1, 1), ((1, 1), (1, 1)),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        x = jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4
        return jax.lax.conv_general_dilated(x, jnp.ones((3, 3, 1, 1)), (2, 2), ((1, 1), (1, 1)),
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    x = jnp.ones((1, 16, 16, 1))
    assert network(x).shape == (1, 4, 4, 1)
    for row, column in ((0, 0), (1, 2), (3, 3)):
        gradient = np.asarray(jax.grad(lambda x: network(x)[0, row, column, 0])(x))[0, :, :, 0]
        top, left, bottom, right = np.asarray(patch_boxes(row, column, field))
        expected = np.zeros((16, 16), bool)
        expected[max(top, 0):bottom, max(left, 0):right] = True
        np.testing.assert_array_equal(gradient > 0, expected, err_msg=f"unit at ({row}, {column})")


def test_top_activations_against_numpy():
    a = np.random.default_rng(0).normal(size=(7, 3, 4, 5)).astype(np.float32)
    top = top_activations(jnp.asarray(a), 4)
    for unit in range(5):
        per_image = a[..., unit].reshape(7, -1)
        images = np.argsort(-per_image.max(axis=1), kind="stable")[:4]
        positions = per_image.argmax(axis=1)[images]
        np.testing.assert_array_equal(top.images[unit], images)
        np.testing.assert_array_equal(top.rows[unit], positions // 4)
        np.testing.assert_array_equal(top.columns[unit], positions % 4)
        np.testing.assert_array_equal(top.values[unit], a[images, positions // 4, positions % 4, unit])
    anywhere = top_activations(jnp.asarray(a), 6, distinct_images=False)
    for unit in range(5):
        flat = np.argsort(-a[..., unit].ravel(), kind="stable")[:6]
        image, row, column = np.unravel_index(flat, (7, 3, 4))
        np.testing.assert_array_equal(anywhere.images[unit], image)
        np.testing.assert_array_equal(anywhere.rows[unit], row)
        np.testing.assert_array_equal(anywhere.columns[unit], column)
    with pytest.raises(ValueError, match=r"k must be in \[1, 7\]"):
        top_activations(jnp.asarray(a), 8)


def test_crop_patches_against_slicing_with_padding_filled():
    images = np.random.default_rng(1).uniform(size=(3, 9, 9, 2)).astype(np.float32)
    field = ReceptiveField(5, 2, 2)
    a = np.zeros((3, 5, 5, 2), np.float32)
    a[2, 0, 1, 0], a[1, 3, 4, 0], a[0, 2, 2, 1], a[2, 4, 0, 1] = 5, 4, 3, 2
    top = top_activations(jnp.asarray(a), 2)
    patches = np.asarray(crop_patches(jnp.asarray(images), top, field, fill=-1.0))
    assert patches.shape == (2, 2, 5, 5, 2)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), constant_values=-1.0)
    # Unit 0's strongest: image 2 at (0, 1) sees rows −2…2, columns 0…4; then image 1 at (3, 4): rows 4…8, cols 6…10.
    np.testing.assert_array_equal(patches[0, 0], padded[2, 0:5, 2:7])
    np.testing.assert_array_equal(patches[0, 1], padded[1, 6:11, 8:13])
    np.testing.assert_array_equal(patches[1, 0], padded[0, 4:9, 4:9])
    assert np.all(patches[0, 0, :2] == -1.0) and np.all(patches[0, 1, :, -2:] == -1.0)


def test_layer_activations_read_a_submodule_by_name_in_mini_batches():
    model = LeNet5()
    rng = np.random.default_rng(2)
    x = rng.uniform(size=(5, 32, 32, 1)).astype(np.float32)
    kernel = rng.normal(0, 0.2, (5, 5, 1, 6)).astype(np.float32)
    params = jax.tree.map(jnp.zeros_like, jax.eval_shape(lambda: model.init(jax.random.key(0), x[:1])))["params"]
    params = {**params, "conv1": {"kernel": jnp.asarray(kernel), "bias": jnp.full((6,), 0.5)}}
    ours = layer_activations(model, {"params": params}, x, "conv1", batch_size=2, train=False)
    expected = jax.lax.conv_general_dilated(x, kernel, (1, 1), "VALID",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC")) + 0.5
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
    assert ours.shape == (5, 28, 28, 6)
    with pytest.raises(ValueError, match="no submodule named 'conv9'"):
        layer_activations(model, {"params": params}, x, "conv9", train=False)
