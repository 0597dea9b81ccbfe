import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse import losses
from dlcourse.models import MLP
from dlcourse.nn import step_by_step


def _logits(shape, seed=0, scale=4.0):
    return scale * jax.random.normal(jax.random.key(seed), shape)


def test_softmax_cross_entropy_matches_optax():
    logits = _logits((10, 4))
    labels = jax.random.randint(jax.random.key(1), (10,), 0, 4)
    expected = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, labels), expected, rtol=1e-6)
    one_hot = jax.nn.one_hot(labels, 4)
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, one_hot), expected, rtol=1e-6)


def test_sigmoid_binary_cross_entropy_matches_optax_and_course_formula():
    logits = _logits((20,))
    y = (jax.random.uniform(jax.random.key(2), (20,)) > 0.5).astype(jnp.float32)
    expected = optax.sigmoid_binary_cross_entropy(logits, y).mean()
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(logits, y), expected, rtol=1e-6)
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(logits[:, None], y), expected, rtol=1e-6)
    a = np.asarray(jax.nn.sigmoid(logits), np.float64)
    course = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
    np.testing.assert_allclose(losses.sigmoid_binary_cross_entropy(logits, y), course, rtol=1e-5)


def test_sigmoid_cross_entropy_is_stable_for_huge_logits():
    logits = jnp.array([200.0, -200.0, 200.0])
    y = jnp.array([1.0, 0.0, 0.0])
    value = losses.sigmoid_binary_cross_entropy(logits, y)
    np.testing.assert_allclose(value, 200.0 / 3, rtol=1e-6)
    assert np.all(np.isfinite(jax.grad(losses.sigmoid_binary_cross_entropy)(logits, y)))


def test_mask_ignores_padded_examples():
    logits = _logits((8, 3), 3)
    labels = jnp.array([0, 1, 2, 0, 1, 2, 0, 1])
    mask = jnp.array([1, 1, 1, 1, 1, 0, 0, 0])
    np.testing.assert_allclose(
        losses.softmax_cross_entropy(logits, labels, mask),
        losses.softmax_cross_entropy(logits[:5], labels[:5]),
        rtol=1e-6,
    )
    y = labels % 2
    np.testing.assert_allclose(
        losses.sigmoid_binary_cross_entropy(logits[:, 0], y, mask),
        losses.sigmoid_binary_cross_entropy(logits[:5, 0], y[:5]),
        rtol=1e-6,
    )
    assert float(losses.softmax_cross_entropy(logits, labels, jnp.zeros(8))) == 0.0


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\(4,\)"):
        losses.softmax_cross_entropy(jnp.zeros((3, 2)), jnp.zeros((4,), jnp.int32))
    with pytest.raises(ValueError, match="does not match"):
        losses.sigmoid_binary_cross_entropy(jnp.zeros((3,)), jnp.zeros((4,)))


def test_l2_penalty_counts_kernels_only():
    model = MLP(layer_sizes=(6, 5), num_outputs=2, batch_norm=True)
    variables = model.init(jax.random.key(0), jnp.ones((3, 4)), train=False)
    params = variables["params"]
    kernels = [params["dense_1"]["kernel"], params["dense_2"]["kernel"], params["output"]["kernel"]]
    squared = sum(float(np.sum(np.square(np.asarray(w, np.float64)))) for w in kernels)
    lam, m = jnp.float32(0.7), 50
    np.testing.assert_allclose(losses.l2_penalty(params, lam, m), 0.7 / (2 * 50) * squared, rtol=1e-5)
    # biases and batch-norm γ/β don't count
    shifted = jax.tree.map(lambda x: x, params)
    shifted["output"]["bias"] = shifted["output"]["bias"] + 5.0
    shifted["batch_norm_1"]["scale"] = shifted["batch_norm_1"]["scale"] * 3.0
    np.testing.assert_allclose(losses.l2_penalty(shifted, lam, m), losses.l2_penalty(params, lam, m))


def test_l2_penalty_step_by_step_layout_and_gradient_is_weight_decay():
    parameters = step_by_step.initialize_parameters_deep(jax.random.key(1), [3, 4, 1], "he")
    value = losses.l2_penalty(parameters, 0.5, 10)
    expected = 0.5 / 20 * (np.sum(np.square(parameters["W1"])) + np.sum(np.square(parameters["W2"])))
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    grad = jax.grad(losses.l2_penalty)(parameters, 0.5, 10)
    np.testing.assert_allclose(grad["W1"], 0.5 / 10 * parameters["W1"], rtol=1e-6)
    np.testing.assert_array_equal(grad["b1"], 0)


def test_l2_penalty_vmaps_over_lambda():
    params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.ones(2)}}
    values = jax.vmap(lambda lam: losses.l2_penalty(params, lam, 4))(jnp.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="no weight matrices"):
        losses.l2_penalty({"bias": jnp.ones(2)}, 1.0, 1)


def test_sigmoid_cross_entropy_gradient_at_zero_logit_is_sigma_minus_y():
    """At z = 0 the gradient must be σ(0) − y = 0.5 − y (a max(z, 0) form gets this wrong)."""
    y = jnp.array([0.0, 1.0, 1.0, 0.0])
    grad = jax.grad(lambda z: losses.sigmoid_binary_cross_entropy(z, y))(jnp.zeros(4))
    np.testing.assert_allclose(grad, (0.5 - y) / 4, rtol=1e-6)


def test_integer_one_hot_labels_are_told_apart_by_shape():
    logits = _logits((6, 4))
    classes = jnp.array([0, 3, 1, 2, 2, 0])
    one_hot = np.eye(4, dtype=np.int32)[np.asarray(classes)]
    expected = optax.softmax_cross_entropy(logits, one_hot.astype(np.float32)).mean()
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, one_hot), expected, rtol=1e-6)
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, classes), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="integer classes"):
        losses.softmax_cross_entropy(logits, classes.astype(jnp.float32))


@pytest.mark.parametrize("bad", [4, -1])
def test_out_of_range_class_labels(bad):
    logits = _logits((3, 4))
    labels = jnp.array([0, bad, 2])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        losses.softmax_cross_entropy(logits, labels)
    # a padding row may carry any label: it is masked out, checked or traced
    mask = jnp.array([1.0, 0.0, 1.0])
    expected = optax.softmax_cross_entropy_with_integer_labels(
        logits[jnp.array([0, 2])], jnp.array([0, 2])).mean()
    np.testing.assert_allclose(losses.softmax_cross_entropy(logits, labels, mask), expected,
                               rtol=1e-6)
    jitted = jax.jit(losses.softmax_cross_entropy)
    np.testing.assert_allclose(jitted(logits, labels, mask), expected, rtol=1e-6)
    grad = jax.grad(jitted)(logits, labels, mask)
    assert bool(jnp.all(jnp.isfinite(grad)))
    # traced and unmasked it cannot be checked: NaN, not a silently wrapped class
    assert bool(jnp.isnan(jitted(logits, labels)))
