"""Style-transfer costs: Gram matrices against einsum and AᵀA, hand-worked costs, their gradients in
closed form, and the gradient of J with respect to the image against finite differences."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import gradcheck
from dlcourse.models import VGG
from dlcourse.style import content_cost, gram_matrix, layer_style_cost, style_cost, style_transfer_cost, total_cost

# One image's activations, n_H = n_W = 2, n_C = 2: channel 0 is [[1, 2], [3, 4]], channel 1 [[0, 1], [1, 0]].
HAND = np.stack([np.asarray([[1.0, 2.0], [3.0, 4.0]]), np.asarray([[0.0, 1.0], [1.0, 0.0]])], axis=-1)


def test_gram_matrix_by_hand_against_einsum_and_unrolled_product():
    # G_00 = 1 + 4 + 9 + 16, G_01 = 0 + 2 + 3 + 0, G_11 = 0 + 1 + 1 + 0.
    np.testing.assert_allclose(gram_matrix(jnp.asarray(HAND)), [[30.0, 5.0], [5.0, 2.0]])
    a = np.random.default_rng(0).normal(size=(2, 4, 5, 3))
    gram = np.asarray(gram_matrix(jnp.asarray(a, jnp.float32)))
    np.testing.assert_allclose(gram, np.einsum("bijk,bijl->bkl", a, a), rtol=1e-5, atol=1e-5)
    unrolled = a[1].reshape(-1, 3)
    np.testing.assert_allclose(gram[1], unrolled.T @ unrolled, rtol=1e-5, atol=1e-5)
    assert gram.shape == (2, 3, 3) and np.allclose(gram, gram.transpose(0, 2, 1))


def test_costs_by_hand():
    ones = np.ones((1, 2, 2, 2), np.float32)
    assert float(content_cost(ones, 0 * ones)) == 4.0                          # ½ · 8
    assert float(content_cost(ones, 0 * ones, "assignment")) == 8 / (4 * 2 * 2 * 2)
    # Against zeros: Σ G(S)² = 30² + 2·5² + 2² = 954 over (2·2·2·2)² = 256.
    assert float(layer_style_cost(jnp.asarray(HAND), jnp.zeros((2, 2, 2)))) == pytest.approx(954 / 256)
    assert float(layer_style_cost(jnp.asarray(HAND), jnp.asarray(HAND))) == 0.0
    a_S = {"one": jnp.asarray(HAND), "two": jnp.asarray(2 * HAND)}
    a_G = {"one": jnp.zeros((2, 2, 2)), "two": jnp.asarray(HAND), "unused": jnp.ones((2, 2, 2))}
    # Layer "two": G(2a) = 4 G(a), so (4 − 1)² · 954 / 256.
    expected = 0.25 * 954 / 256 + 0.75 * 9 * 954 / 256
    assert float(style_cost(a_S, a_G, {"one": 0.25, "two": 0.75})) == pytest.approx(expected)
    assert float(total_cost(2.0, 3.0, alpha=10.0, beta=40.0)) == 140.0


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="normalization must be one of"):
        content_cost(HAND, HAND, "paper")
    with pytest.raises(ValueError, match="same shape"):
        layer_style_cost(HAND, HAND[:1])
    with pytest.raises(ValueError, match=r"\['three'\] are missing"):
        style_cost({"one": HAND}, {"one": HAND}, {"one": 1.0, "three": 1.0})
    with pytest.raises(ValueError, match="n_H, n_W, n_C"):
        gram_matrix(jnp.ones((3, 3)))


def test_cost_gradients_match_their_closed_forms():
    rng = np.random.default_rng(1)
    a_S, a_C = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    a_G = rng.normal(size=(3, 4, 5))

    def style_gradient(a):
        # ∂/∂A Σ (G(S) − AᵀA)² = −4 A (G(S) − G(G)), A the (n_H n_W) × n_C unrolled activations.
        unrolled = a.reshape(-1, 5)
        difference = unrolled.T @ unrolled - a_S.reshape(-1, 5).T @ a_S.reshape(-1, 5)
        return (4 * unrolled @ difference / (2 * 3 * 4 * 5) ** 2).reshape(a.shape)

    check = gradcheck.gradient_check(lambda a: layer_style_cost(a_S, a), a_G, grad_fn=style_gradient)
    assert check.difference < 1e-7, check.difference
    check = gradcheck.gradient_check(lambda a: content_cost(a_C, a), a_G, grad_fn=lambda a: a - a_C)
    assert check.difference < 1e-7, check.difference


def test_gradient_of_J_with_respect_to_the_image_against_finite_differences():
    model = VGG(stages=((3,), (4,)), include_top=False)
    rng = np.random.default_rng(2)
    content, style, image = (rng.uniform(0, 1, (4, 4, 3)) for _ in range(3))
    variables = {"params": {"conv1_1": {"kernel": rng.normal(0, 0.5, (3, 3, 3, 3)), "bias": rng.normal(0, 0.1, 3)},
                            "conv2_1": {"kernel": rng.normal(0, 0.5, (3, 3, 3, 4)), "bias": rng.normal(0, 0.1, 4)}}}

    def features(images):
        as64 = jax.tree.map(lambda w: w.astype(images.dtype), variables)
        return model.apply(as64, images, train=False, layers=("conv1_1", "conv2_1"))

    def J(g):
        cost = style_transfer_cost(features, content.astype(g.dtype), style.astype(g.dtype), content_layer="conv2_1",
                                   style_layers={"conv1_1": 0.7, "conv2_1": 0.3}, alpha=10.0,
                                   beta=40.0, content_normalization="assignment")
        return cost(g)[0]

    eps = 1e-6
    with jax.enable_x64(True):
        g = jnp.asarray(image, jnp.float64)
        gradient = np.asarray(jax.jit(jax.grad(J))(g)).ravel()
        basis = jnp.eye(g.size, dtype=jnp.float64).reshape(g.size, *g.shape) * eps
        numerical = np.asarray(jax.jit(jax.vmap(lambda step: (J(g + step) - J(g - step)) / (2 * eps)))(basis))
    assert gradcheck.relative_difference(gradient, numerical) < 1e-6
    assert np.linalg.norm(gradient) > 1e-3           # not a vacuous match of zeros
