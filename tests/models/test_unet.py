"""U-Net: output shapes for several depths from shapes alone, parameter counts checked by hand, bad sizes
refused; and the segmentation loss and IoUs it trains and is judged with (dlcourse.losses.
pixel_softmax_cross_entropy / ignore_mask, dlcourse.metrics.per_class_iou / class_iou / mean_iou)
against a hand-worked 4×4 map and NumPy references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import losses, metrics, models


def variables_of(model, shape):
    return jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros(shape)))


def count(tree):
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize("depth, width, up_kernel, size", [(1, 2, 2, 6), (2, 3, 3, 8), (3, 2, 2, 16), (4, 1, 3, 32)])
def test_output_is_one_logit_vector_per_pixel_at_every_depth(depth, width, up_kernel, size):
    model = models.UNet(num_classes=5, depth=depth, base_width=width, up_kernel_size=up_kernel)
    variables = variables_of(model, (2, size, size + 2 ** depth, 3))
    out = jax.eval_shape(lambda v: model.apply(v, jnp.zeros((2, size, size + 2 ** depth, 3))), variables)
    assert out.shape == (2, size, size + 2 ** depth, 5)
    params = variables["params"]
    assert params["bottom"]["conv2"]["kernel"].shape == (3, 3, width * 2 ** depth, width * 2 ** depth)
    for level in range(depth):  # up-sampling halves the channels; the skip concatenation doubles them again
        assert params[f"up_sampling{level}"]["kernel"].shape == (up_kernel, up_kernel, width * 2 ** (level + 1),
                                                                 width * 2 ** level)
        assert params[f"up{level}"]["conv1"]["kernel"].shape == (3, 3, 2 * width * 2 ** level, width * 2 ** level)


def test_parameter_count_by_hand():
    # depth 1, base width 2, RGB in, 4 classes:
    #   down0:       3×3×3×2 + 2 = 56,    3×3×2×2 + 2 = 38
    #   bottom:      3×3×2×4 + 4 = 76,    3×3×4×4 + 4 = 148
    #   up_sampling: 2×2×4×2 + 2 = 34
    #   up0:         3×3×(2+2)×2 + 2 = 74, 3×3×2×2 + 2 = 38
    #   output:      1×1×2×4 + 4 = 12                                   total 476
    assert count(variables_of(models.UNet(4, depth=1, base_width=2), (1, 8, 8, 3))["params"]) == 476
    # With batch norm the 3×3 convolutions lose their biases and gain γ, β (2 per channel):
    #   down0 54+4 + 36+4, bottom 72+8 + 144+8, up_sampling 34, up0 72+4 + 36+4, output 12 = 492;
    #   running means and variances: 2 × (2+2 + 4+4 + 2+2) = 32.
    variables = variables_of(models.UNet(4, depth=1, base_width=2, batch_norm=True), (1, 8, 8, 3))
    assert count(variables["params"]) == 492
    assert count(variables["batch_stats"]) == 32


def test_batch_norm_in_training_mode_leaves_masked_examples_out_of_the_statistics():
    model = models.UNet(3, depth=1, base_width=2, batch_norm=True)
    x = jnp.asarray(np.random.default_rng(1).normal(size=(2, 4, 4, 1)), jnp.float32)
    variables = variables_of(model, x.shape)
    variables = jax.tree.map(lambda leaf: jnp.full(leaf.shape, 0.1, leaf.dtype), variables)
    forward = jax.jit(lambda x: model.apply(variables, x, train=True, mask=jnp.array([1.0, 0.0]),
                                            mutable=["batch_stats"]))
    out, updates = forward(x)
    assert out.shape == (2, 4, 4, 3) and bool(jnp.all(jnp.isfinite(out)))
    assert jax.tree.structure(updates["batch_stats"]) == jax.tree.structure(variables["batch_stats"])
    np.testing.assert_allclose(forward(x.at[1].multiply(5.0))[0][0], out[0], rtol=1e-5, atol=1e-6)


def test_sizes_not_divisible_by_two_to_the_depth_are_refused():
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 4"):
        variables_of(models.UNet(2, depth=2, base_width=1), (1, 6, 8, 1))
    with pytest.raises(ValueError, match="depth"):
        variables_of(models.UNet(2, depth=0, base_width=1), (1, 8, 8, 1))


# --- per-pixel loss and IoU ----------------------------------------------------------------------

TRUTH = np.array([[0, 0, 1, 1],
                  [0, 0, 1, 1],
                  [2, 2, 2, 2],
                  [2, 2, 2, 2]])
PREDICTED = np.array([[0, 0, 0, 1],
                      [0, 1, 1, 1],
                      [2, 2, 2, 0],
                      [2, 2, 2, 2]])


def test_iou_of_the_hand_worked_4x4_map():
    # class 0: ∩ {(0,0),(0,1),(1,0)} = 3, ∪ = 4 + 5 − 3 = 6 → 1/2
    # class 1: ∩ {(0,3),(1,2),(1,3)} = 3, ∪ = 4 + 4 − 3 = 5 → 3/5
    # class 2: ∩ = 7 (all but (2,3)), ∪ = 8 → 7/8; mean (1/2 + 3/5 + 7/8)/3
    np.testing.assert_allclose(metrics.per_class_iou(PREDICTED, TRUTH, 3), [1 / 2, 3 / 5, 7 / 8], rtol=1e-6)
    # Ignoring pixel (2,3): class 0 loses a false positive (3/5), class 2 its only miss (7/7).
    weights = np.ones((4, 4)); weights[2, 3] = 0  # noqa: E702
    np.testing.assert_allclose(metrics.per_class_iou(PREDICTED, TRUTH, 3, weights), [3 / 5, 3 / 5, 1.0], rtol=1e-6)
    # The named metrics take logits; a class absent from both maps is NaN here and left out of the mean.
    logits = jax.nn.one_hot(PREDICTED[None], 4)
    whole = metrics.mean_iou(4)
    stats = whole.statistics(logits, TRUTH[None], jnp.ones((1, 4, 4)))
    np.testing.assert_allclose(whole.value(stats), (1 / 2 + 3 / 5 + 7 / 8) / 3, rtol=1e-6)
    assert np.isnan(metrics.per_class_iou(PREDICTED, TRUTH, 4)[3])
    one = metrics.class_iou(4, 1, "square")
    assert one.name == "iou_square"
    np.testing.assert_allclose(one.value(one.statistics(logits, TRUTH[None], jnp.ones((1, 4, 4)))), 3 / 5, rtol=1e-6)


def test_per_class_iou_equals_a_numpy_reference():
    rng = np.random.default_rng(0)
    predicted, truth = rng.integers(0, 4, (3, 5, 6)), rng.integers(0, 4, (3, 5, 6))
    weights = (rng.random((3, 5, 6)) > 0.3).astype(np.float32)
    expected = []
    for c in range(4):
        counted = weights > 0
        intersection = np.sum(counted & (predicted == c) & (truth == c))
        union = np.sum(counted & ((predicted == c) | (truth == c)))
        expected.append(intersection / union)
    np.testing.assert_allclose(metrics.per_class_iou(predicted, truth, 4, weights), expected, rtol=1e-6)


def test_pixel_loss_leaves_ignored_and_masked_pixels_out():
    rng = np.random.default_rng(2)
    logits = jnp.asarray(rng.normal(size=(2, 3, 4, 3)), jnp.float32)
    labels = rng.integers(0, 3, (2, 3, 4))
    labels[0, 1, 2] = labels[1, 0, 0] = 255
    mask = np.ones((2, 3, 4)); mask[1, 2, :] = 0  # noqa: E702
    z = np.asarray(logits, np.float64)
    log_probs = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
    counted = (labels != 255) & (mask > 0)
    picked = np.take_along_axis(log_probs, np.where(counted, labels, 0)[..., None], axis=-1)[..., 0]
    expected = -np.sum(np.where(counted, picked, 0.0)) / counted.sum()
    got, grad = jax.jit(jax.value_and_grad(
        lambda z: losses.pixel_softmax_cross_entropy(z, labels, mask, ignore_index=255)))(logits)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_array_equal(losses.ignore_mask(labels, 255, mask), counted.astype(np.float32))
    assert bool(jnp.all(jnp.isfinite(grad)))
    np.testing.assert_array_equal(np.asarray(grad)[~counted], 0.0)
    # One weight per image broadcasts over its pixels; nothing counted gives 0.
    np.testing.assert_allclose(losses.pixel_softmax_cross_entropy(logits, labels, np.array([1.0, 0.0]), 255),
                               -np.mean(picked[0][labels[0] != 255]), rtol=1e-5)
    assert float(losses.pixel_softmax_cross_entropy(logits, labels, np.zeros(2), 255)) == 0.0
