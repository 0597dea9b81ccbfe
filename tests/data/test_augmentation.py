"""Tests for dlcourse.data.augment: each transform's defining property, jit, vmap and the hook."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
import sklearn.decomposition

from dlcourse import data

KEY = jax.random.key(0)


def _images(shape=(4, 10, 10, 3), seed=0):
    return jnp.asarray(np.random.default_rng(seed).uniform(size=shape).astype(np.float32))


def test_mirror_twice_is_the_identity_and_random_mirror_flips_by_its_draw():
    x = _images()
    np.testing.assert_array_equal(data.mirror(x), np.asarray(x)[:, :, ::-1])
    np.testing.assert_array_equal(data.mirror(data.mirror(x)), x)
    flip = data.random_mirror(0.5)
    once = flip(KEY, x)
    np.testing.assert_array_equal(flip(KEY, once), x)            # the same key flips the same images back
    drawn = jax.random.bernoulli(KEY, 0.5, (4,))
    for image, out, flipped in zip(x, once, drawn):
        np.testing.assert_array_equal(out, image[:, ::-1] if flipped else image)
    np.testing.assert_array_equal(data.random_mirror(1.0)(KEY, x), data.mirror(x))
    np.testing.assert_array_equal(data.random_mirror(0.0)(KEY, x), x)


def test_crop_of_the_whole_image_is_the_identity_and_a_box_matches_jax_resampling():
    x = _images((2, 16, 20, 2))
    np.testing.assert_array_equal(data.crop_and_resize(x, jnp.tile(jnp.array([0.0, 0.0, 1.0, 1.0]), (2, 1))), x)
    np.testing.assert_array_equal(data.random_crop(1.0)(KEY, x), x)
    top, left, height, width = 0.25, 0.1, 0.5, 0.6
    out = data.crop_and_resize(x, jnp.array([[top, left, height, width]] * 2))
    resample = jax.jit(jax.image.scale_and_translate, static_argnums=(1, 2, 5, 6))
    reference = resample(x[1], (16, 20, 2), (0, 1), jnp.array([1 / height, 1 / width]),
                         jnp.array([-top * 16 / height, -left * 20 / width]), "linear", False)
    np.testing.assert_allclose(out[1], reference, atol=1e-6)


def test_random_crop_boxes_stay_inside_the_image_and_keep_the_aspect_ratio():
    """On a ramp image (value = pixel coordinate) bilinear resampling returns the source coordinate,
    so each output reveals its box: q = side·start + (index + ½)·fraction − ½."""
    rows, columns = np.meshgrid(np.arange(16.0), np.arange(16.0), indexing="ij")
    ramp = jnp.asarray(np.broadcast_to(np.stack([rows, columns], -1), (64, 16, 16, 2)).astype(np.float32))
    out = np.asarray(data.random_crop(0.5)(KEY, ramp))
    fraction_y = (out[:, 14, 8, 0] - out[:, 1, 8, 0]) / 13
    fraction_x = (out[:, 8, 14, 1] - out[:, 8, 1, 1]) / 13
    top = (out[:, 1, 8, 0] - 1.5 * fraction_y + 0.5) / 16
    left = (out[:, 8, 1, 1] - 1.5 * fraction_x + 0.5) / 16
    np.testing.assert_allclose(fraction_y, fraction_x, atol=1e-5)
    assert np.all(fraction_x >= 0.5 - 1e-5) and np.all(fraction_x <= 1 + 1e-5)
    assert np.all(top >= -1e-5) and np.all(top + fraction_y <= 1 + 1e-5)
    assert np.all(left >= -1e-5) and np.all(left + fraction_x <= 1 + 1e-5)
    assert fraction_x.std() > 0.05 and left.std() > 0.02    # the boxes differ between images
    assert out.min() >= 0 and out.max() <= 15


def test_rotation_and_shear_by_zero_are_the_identity_and_a_quarter_turn_is_rot90():
    x = _images((3, 9, 9, 3))
    zeros = jnp.zeros(3)
    np.testing.assert_allclose(data.rotate(x, zeros), x, atol=1e-6)
    np.testing.assert_allclose(data.shear(x, zeros), x, atol=1e-6)
    np.testing.assert_allclose(data.random_rotation(0.0)(KEY, x), x, atol=1e-6)
    np.testing.assert_allclose(data.random_shear(0.0)(KEY, x), x, atol=1e-6)
    np.testing.assert_allclose(data.rotate(x, jnp.full(3, np.pi / 2)), jnp.rot90(x, axes=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(data.rotate(x, jnp.full(3, -np.pi / 2), "constant"), jnp.rot90(x, -1, axes=(1, 2)),
                               atol=1e-5)


@pytest.mark.parametrize("fill_mode, scipy_mode", [("nearest", "nearest"), ("constant", "grid-constant")])
def test_rotation_and_shear_match_scipy_bilinear_affine_transform(fill_mode, scipy_mode):
    x = _images((2, 9, 12, 1))
    angle, factor = 0.3, -0.4
    centre = np.array([4.0, 5.5])
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    shearing = np.array([[1.0, 0.0], [-factor, 1.0]])      # output (y, x) reads (y, x − s (y − c_y))
    for out, matrix in ((data.rotate(x, jnp.full(2, angle), fill_mode, 0.25), rotation),
                        (data.shear(x, jnp.full(2, factor), fill_mode, 0.25), shearing)):
        reference = scipy.ndimage.affine_transform(np.asarray(x[1, ..., 0], np.float64), matrix,
                                                   offset=centre - matrix @ centre, order=1, mode=scipy_mode,
                                                   cval=0.25)
        np.testing.assert_allclose(out[1, ..., 0], reference, atol=1e-5)


def test_random_rotation_draws_its_documented_angles():
    x = _images((4, 8, 8, 3))
    limit = np.deg2rad(20.0)
    angles = jax.random.uniform(KEY, (4,), minval=-limit, maxval=limit)
    np.testing.assert_allclose(data.random_rotation(20.0)(KEY, x), data.rotate(x, angles), atol=1e-6)


def test_colour_shift_adds_exactly_the_drawn_offsets_before_clipping():
    middle = jnp.full((5, 6, 6, 3), 0.5, jnp.float32) + _images((5, 6, 6, 3)) * 0.1
    offsets = jax.random.uniform(KEY, (5, 3), minval=-0.2, maxval=0.2)
    out = data.random_colour_shift(0.2)(KEY, middle)
    np.testing.assert_allclose(out - middle, jnp.broadcast_to(offsets[:, None, None, :], middle.shape), atol=1e-6)
    bright = jnp.full((5, 6, 6, 3), 0.95, jnp.float32)
    out = data.random_colour_shift(0.2)(KEY, bright)
    np.testing.assert_allclose(out, jnp.clip(bright + offsets[:, None, None, :], 0, 1), atol=1e-7)
    assert float(out.max()) == 1.0
    unclipped = data.random_colour_shift(0.2, clip=False)(KEY, bright)
    assert float(unclipped.max()) > 1.0


def test_pca_colour_basis_matches_sklearn_pca():
    x = _images((6, 5, 5, 3), seed=1) * jnp.array([1.0, 0.5, 0.2]) + _images((6, 5, 5, 1), seed=2) * 0.5
    basis = data.pca_colour_basis(x)
    pca = sklearn.decomposition.PCA().fit(np.asarray(x, np.float64).reshape(-1, 3))
    np.testing.assert_allclose(basis.eigenvalues, pca.explained_variance_, rtol=1e-5)
    signs = np.sign(np.sum(np.asarray(basis.eigenvectors) * pca.components_.T, axis=0))
    np.testing.assert_allclose(basis.eigenvectors, pca.components_.T * signs, atol=1e-5)
    np.testing.assert_allclose(basis.eigenvectors.T @ basis.eigenvectors, np.eye(3), atol=1e-6)


def test_pca_shift_lies_in_the_span_of_the_components_with_scale_alpha_lambda():
    # Colours with blue = red have rank 2: λ_3 = 0 and every shift must keep blue − red unchanged.
    rng = np.random.default_rng(3)
    red_green = rng.uniform(0.3, 0.7, size=(8, 4, 4, 2)).astype(np.float32)
    basis = data.pca_colour_basis(np.concatenate([red_green, red_green[..., :1]], -1))
    assert float(basis.eigenvalues[2]) < 1e-7 < float(basis.eigenvalues[1])
    middle = jnp.full((200, 2, 2, 3), 0.5, jnp.float32)
    sigma = 2.0
    out = data.random_pca_colour_shift(basis, sigma)(KEY, middle)
    shift = np.asarray(out - middle)[:, 0, 0, :]
    np.testing.assert_allclose(np.asarray(out - middle), np.broadcast_to(shift[:, None, None], middle.shape),
                               atol=1e-6)
    np.testing.assert_allclose(shift[:, 2], shift[:, 0], atol=1e-6)        # no component along p_3
    alphas = sigma * jax.random.normal(KEY, (200, 3))
    projection = shift @ np.asarray(basis.eigenvectors)                      # p_iᵀ δ = α_i λ_i
    np.testing.assert_allclose(projection[:, :2], (alphas * basis.eigenvalues)[:, :2], atol=1e-6)
    estimated = projection[:, :2] / np.asarray(basis.eigenvalues[:2])
    np.testing.assert_allclose(estimated.std(axis=0), sigma, rtol=0.15)
    np.testing.assert_allclose(data.pca_colour_offsets(basis, alphas), shift, atol=1e-6)


def _pipeline(basis):
    return data.compose_transforms(data.random_mirror(), data.random_crop(0.7), data.random_rotation(15.0),
                                   data.random_shear(0.2), data.random_colour_shift(0.1),
                                   data.random_pca_colour_shift(basis, 0.5))


def test_composed_transforms_are_jittable_and_vmap_over_keys_like_separate_calls():
    """A population: every trial has its own key and its own mini-batch."""
    batches = _images((4, 3, 8, 8, 3))
    x = batches[0]
    pipeline = _pipeline(data.pca_colour_basis(batches))
    keys = jax.random.split(KEY, 4)
    population = jax.jit(jax.vmap(pipeline))(keys, jnp.stack([x, x, batches[2], batches[3]]))
    single = jax.jit(pipeline)
    assert population.shape == batches.shape and population.dtype == jnp.float32
    for key, images, out in zip(keys, [x, x, batches[2], batches[3]], population):
        np.testing.assert_allclose(out, single(key, images), atol=1e-5)
    assert not np.allclose(population[0], population[1])
    assert 0.0 <= float(population.min()) and float(population.max()) <= 1.0
    steps = [data.random_mirror(), data.random_colour_shift(0.1)]
    first, second = jax.random.split(KEY, 2)
    np.testing.assert_array_equal(data.compose_transforms(*steps)(KEY, x), steps[1](second, steps[0](first, x)))
    np.testing.assert_array_equal(data.compose_transforms()(KEY, x), x)


def test_hook_keeps_the_examples_structure_and_shapes():
    x = _images((3, 8, 8, 3))
    batch = data.Examples(x, jnp.arange(3), jnp.ones(3))
    hook = data.augment_images(data.random_mirror(), data.random_colour_shift(0.1))
    out = jax.jit(hook)(KEY, batch)
    assert isinstance(out, data.Examples)
    assert jax.tree.structure(out) == jax.tree.structure(batch)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(batch)):
        assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(out.targets, batch.targets)
    np.testing.assert_array_equal(out.mask, batch.mask)
    expected = data.compose_transforms(data.random_mirror(), data.random_colour_shift(0.1))(KEY, x)
    np.testing.assert_allclose(out.inputs, expected, atol=1e-6)
    assert data.augment_images(data.random_mirror())(KEY, data.Examples(x, jnp.arange(3))).mask is None


@pytest.mark.parametrize("make, message", [
    (lambda: data.random_mirror(1.5), "probability must be in \\[0.0, 1.0\\], got 1.5"),
    (lambda: data.random_crop(0.0), "min_fraction must be in \\(0, 1\\], got 0.0"),
    (lambda: data.random_crop(1.5), "min_fraction must be in \\(0, 1\\], got 1.5"),
    (lambda: data.random_rotation(10.0, fill_mode="wrap"), "fill_mode must be one of .*'wrap'"),
    (lambda: data.random_colour_shift(-0.1), "max_shift must be in .*-0.1"),
    (lambda: data.random_mirror()(KEY, jnp.zeros((8, 8, 3))), "images must be a batch \\[N, H, W, C\\].*\\(8, 8, 3\\)"),
    (lambda: data.mirror(jnp.zeros((1, 8, 8, 3), jnp.uint8)), "floating point.*uint8"),
    (lambda: data.compose_transforms(data.random_mirror(), 3), "every transform must be a function"),
    (lambda: data.augment_images(data.random_mirror())(KEY, data.Examples((jnp.zeros((2, 4, 4, 1)),) * 2,
                                                                          jnp.zeros(2))),
     "inputs array \\[B, H, W, C\\], got inputs of type tuple"),
    (lambda: data.random_pca_colour_shift(data.pca_colour_basis(np.eye(3)))(KEY, jnp.zeros((1, 4, 4, 1))),
     "colour basis has 3 channels, the images 1"),
    (lambda: data.pca_colour_basis(np.zeros((1, 3))), "at least two pixels"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_hyperparameters_may_be_traced_arrays():
    x = _images((2, 6, 6, 3))

    @jax.jit
    def augment(key, strength):
        return data.compose_transforms(data.random_mirror(strength), data.random_rotation(30.0 * strength),
                                       data.random_colour_shift(0.1 * strength))(key, x)

    np.testing.assert_allclose(augment(KEY, jnp.float32(0.0)), x, atol=1e-6)
    assert not np.allclose(augment(KEY, jnp.float32(1.0)), x)


def test_augmentation_grid_is_a_png_of_the_original_and_its_draws(tmp_path):
    photo = data.load_photo("chelsea")[::12, ::12]
    path = tmp_path / "grid.png"
    augmented = data.save_augmentation_grid(path, photo, [data.random_mirror(), data.random_colour_shift(0.2)],
                                            KEY, rows=2, cols=3, title="chelsea")
    assert augmented.shape == (5,) + photo.shape
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]
    grey = data.load_photo("camera")[::32, ::32]
    assert data.save_augmentation_grid(tmp_path / "camera.png", grey, data.random_rotation(10.0), KEY, 1, 2).shape \
        == (1,) + grey.shape
    with pytest.raises(ValueError, match="rows \\* cols must be at least 2"):
        data.save_augmentation_grid(tmp_path / "none.png", photo, data.random_mirror(), KEY, rows=1, cols=1)
    with pytest.raises(ValueError, match="image must be \\[H, W, C\\].*\\(16, 16\\)"):
        data.save_augmentation_grid(tmp_path / "none.png", np.zeros((16, 16)), data.random_mirror(), KEY)
