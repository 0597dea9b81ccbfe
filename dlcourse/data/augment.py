"""Data augmentation: random distortions of a mini-batch of images, drawn inside the jitted step.

A **transform** is a pure function ``(key, images) -> images`` of a PRNG key and a batch
``[N, H, W, C]`` of float images (values in [0, 1]); it returns the same shape and dtype, each image
distorted with its own random parameters. It is jittable, and ``jax.vmap`` over keys gives every
trial of a population its own draws. The ``random_*`` factories build transforms; the functions
without the prefix apply one distortion with given parameters. :func:`compose_transforms` chains
transforms, and :func:`augment_images` turns them into the training builder's hook
``augment(key, Examples) -> Examples``.

Geometry. Pixel ``(i, j)`` (row i, column j) has its centre at ``(y, x) = (i, j)``; the image centre
is ``c = ((H − 1) / 2, (W − 1) / 2)``. A geometric transform gives each output pixel ``p`` a source
point ``q`` in the input and reads it by **bilinear interpolation**,
``x(q) = Σ_{i, j} max(0, 1 − |q_y − i|) · max(0, 1 − |q_x − j|) · x[i, j]``,
so a source point on a pixel centre reads that pixel exactly. Source points outside the image read
per ``fill_mode``: ``'nearest'`` clamps ``q`` into ``[0, H − 1] × [0, W − 1]`` (edges repeat),
``'constant'`` reads ``fill_value`` for every neighbour outside the image.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.data.examples import Examples

Transform = Callable[[jax.Array, jax.Array], jax.Array]
FILL_MODES = ("nearest", "constant")


class ColourBasis(NamedTuple):
    """Principal components of a data set's pixel colours (:func:`pca_colour_basis`).

    Attributes:
      eigenvalues: float32 ``[C]``, ``λ_1 ≥ … ≥ λ_C``, the variances along the components.
      eigenvectors: float32 ``[C, C]``; column ``i`` is the unit eigenvector ``p_i``.
    """

    eigenvalues: jax.Array
    eigenvectors: jax.Array


def _check_images(images) -> None:
    if jnp.ndim(images) != 4:
        raise ValueError(f"images must be a batch [N, H, W, C], got shape {jnp.shape(images)}")
    if not jnp.issubdtype(jnp.result_type(images), jnp.floating):
        raise ValueError(f"images must be floating point (values in [0, 1]), got dtype {jnp.result_type(images)}")


def _check_number(name: str, value, low: float, high: float) -> None:
    """Checks a Python number; traced or array hyperparameters pass unchecked (they are data)."""
    if isinstance(value, numbers.Real) and not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def _check_fill_mode(fill_mode: str) -> None:
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")


@functools.partial(jax.jit, static_argnames=("fill_mode",))
def sample_bilinear(images: jax.Array, source_y: jax.Array, source_x: jax.Array, fill_mode: str = "nearest",
                    fill_value: float = 0.0) -> jax.Array:
    """Reads each image of ``[N, H, W, C]`` at its source points ``(source_y[n], source_x[n])`` (each
    ``[N, H', W']``) by bilinear interpolation (module docstring); returns ``[N, H', W', C]``."""
    _check_images(images)
    _check_fill_mode(fill_mode)
    count, height, width, channels = images.shape
    if fill_mode == "nearest":
        source_y = jnp.clip(source_y, 0, height - 1)
        source_x = jnp.clip(source_x, 0, width - 1)
    top, left = jnp.floor(source_y), jnp.floor(source_x)
    weight_y, weight_x = (source_y - top)[..., None], (source_x - left)[..., None]
    top, left = top.astype(jnp.int32), left.astype(jnp.int32)
    pixels = images.reshape(count * height * width, channels)
    first_pixel = (jnp.arange(count, dtype=jnp.int32) * (height * width))[:, None, None]

    def read(rows, columns):
        flat = first_pixel + jnp.clip(rows, 0, height - 1) * width + jnp.clip(columns, 0, width - 1)
        value = jnp.take(pixels, flat, axis=0, mode="clip")
        if fill_mode == "nearest":
            return value
        inside = (rows >= 0) & (rows < height) & (columns >= 0) & (columns < width)
        return jnp.where(inside[..., None], value, jnp.asarray(fill_value, images.dtype))

    upper = (1 - weight_x) * read(top, left) + weight_x * read(top, left + 1)
    lower = (1 - weight_x) * read(top + 1, left) + weight_x * read(top + 1, left + 1)
    return ((1 - weight_y) * upper + weight_y * lower).astype(images.dtype)


def _pixel_grid(height: int, width: int) -> tuple[jax.Array, jax.Array]:
    """Row and column index of every pixel, float32 ``[H, W]`` each."""
    rows, columns = jnp.meshgrid(jnp.arange(height, dtype=jnp.float32), jnp.arange(width, dtype=jnp.float32),
                                 indexing="ij")
    return rows, columns


@jax.jit
def mirror(images: jax.Array) -> jax.Array:
    """Horizontal flip of ``[N, H, W, C]``: ``out[n, i, j] = x[n, i, W − 1 − j]``."""
    _check_images(images)
    return images[:, :, ::-1, :]


@functools.partial(jax.jit, static_argnames=("fill_mode",))
def affine_warp(images: jax.Array, matrices: jax.Array, fill_mode: str = "nearest",
                fill_value: float = 0.0) -> jax.Array:
    """Warps each image about its centre: output pixel ``p`` reads the source point
    ``q = c + A_n (p − c)`` (points as ``(y, x)``; ``A_n = matrices[n]`` ``[2, 2]`` is the *inverse*
    of the distortion), by bilinear interpolation. ``A = I`` is the identity."""
    _check_images(images)
    _check_fill_mode(fill_mode)
    height, width = images.shape[1], images.shape[2]
    rows, columns = _pixel_grid(height, width)
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    offset_y, offset_x = rows - centre_y, columns - centre_x
    a = jnp.asarray(matrices, jnp.float32)[:, :, :, None, None]   # [N, 2, 2, 1, 1]
    source_y = centre_y + a[:, 0, 0] * offset_y + a[:, 0, 1] * offset_x
    source_x = centre_x + a[:, 1, 0] * offset_y + a[:, 1, 1] * offset_x
    return sample_bilinear(images, source_y, source_x, fill_mode, fill_value)


@functools.partial(jax.jit, static_argnames=("fill_mode",))
def rotate(images: jax.Array, radians: jax.Array, fill_mode: str = "nearest", fill_value: float = 0.0) -> jax.Array:
    """Rotates image ``n`` counter-clockwise (as displayed, rows downwards) by ``radians[n]`` about its
    centre: ``q_x = c_x + cos θ (p_x − c_x) − sin θ (p_y − c_y)``,
    ``q_y = c_y + sin θ (p_x − c_x) + cos θ (p_y − c_y)``. θ = π/2 on a square image is
    ``jnp.rot90(image)``."""
    cos, sin = jnp.cos(radians), jnp.sin(radians)
    matrices = jnp.stack([jnp.stack([cos, sin], -1), jnp.stack([-sin, cos], -1)], -2)
    return affine_warp(images, matrices, fill_mode, fill_value)


@functools.partial(jax.jit, static_argnames=("fill_mode",))
def shear(images: jax.Array, factors: jax.Array, fill_mode: str = "nearest", fill_value: float = 0.0) -> jax.Array:
    """Horizontal shear of image ``n`` by ``s = factors[n]`` about its centre row: the point
    ``(y, x)`` moves to ``(y, x + s (y − c_y))`` (rows below the centre move right for s > 0), so
    output pixel ``p`` reads ``q = (p_y, p_x − s (p_y − c_y))``."""
    factors = jnp.asarray(factors, jnp.float32)
    ones, zeros = jnp.ones_like(factors), jnp.zeros_like(factors)
    matrices = jnp.stack([jnp.stack([ones, zeros], -1), jnp.stack([-factors, ones], -1)], -2)
    return affine_warp(images, matrices, fill_mode, fill_value)


@jax.jit
def crop_and_resize(images: jax.Array, boxes: jax.Array) -> jax.Array:
    """Crops box ``n`` out of image ``n`` and resizes it back to ``H × W`` (bilinear, half-pixel centres).

    ``boxes[n] = (top, left, height, width)`` as fractions of the image's height and width
    (``0 ≤ top``, ``top + height ≤ 1``, likewise across). Output pixel ``(i, j)`` reads
    ``q_y = H·top + (i + ½)·height − ½``, ``q_x = W·left + (j + ½)·width − ½`` (edges repeat
    within half a pixel of the box); the box ``(0, 0, 1, 1)`` is the identity.
    """
    _check_images(images)
    image_height, image_width = images.shape[1], images.shape[2]
    rows, columns = _pixel_grid(image_height, image_width)
    boxes = jnp.asarray(boxes, jnp.float32)[:, :, None, None]   # [N, 4, 1, 1]
    source_y = image_height * boxes[:, 0] + (rows + 0.5) * boxes[:, 2] - 0.5
    source_x = image_width * boxes[:, 1] + (columns + 0.5) * boxes[:, 3] - 0.5
    return sample_bilinear(images, source_y, source_x, "nearest")


@functools.partial(jax.jit, static_argnames=("clip",))
def shift_colours(images: jax.Array, offsets: jax.Array, clip: bool = True) -> jax.Array:
    """Adds ``offsets[n]`` (``[N, C]``) to every pixel of image ``n``: ``out = x + δ_n``, clipped to
    [0, 1] when ``clip``."""
    _check_images(images)
    shifted = images + jnp.asarray(offsets, images.dtype)[:, None, None, :]
    return jnp.clip(shifted, 0.0, 1.0) if clip else shifted


def pca_colour_basis(images) -> ColourBasis:
    """Principal components of the colours of every pixel of ``images`` (``[..., C]``), for
    AlexNet's PCA colour augmentation.

    With the pixels as rows ``v_k ∈ R^C`` (k = 1 … K, every pixel of every image) and mean ``v̄``,
    the covariance is ``Σ = 1/(K − 1) Σ_k (v_k − v̄)(v_k − v̄)ᵀ`` and ``Σ p_i = λ_i p_i``. Computed
    once on the host in float64; eigenvalues in descending order, each eigenvector's sign chosen
    so that its largest-magnitude component is positive.

    Raises:
      ValueError: fewer than two pixels.
    """
    pixels = np.asarray(images, dtype=np.float64)
    pixels = pixels.reshape(-1, pixels.shape[-1]) if pixels.ndim else pixels.reshape(0, 0)
    if pixels.shape[0] < 2:
        raise ValueError(f"need at least two pixels [..., C] to estimate a covariance, got shape {np.shape(images)}")
    covariance = np.atleast_2d(np.cov(pixels, rowvar=False))
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = np.maximum(eigenvalues[order], 0.0), eigenvectors[:, order]
    largest = eigenvectors[np.argmax(np.abs(eigenvectors), axis=0), np.arange(eigenvectors.shape[1])]
    eigenvectors = eigenvectors * np.where(largest < 0, -1.0, 1.0)
    return ColourBasis(jnp.asarray(eigenvalues, jnp.float32), jnp.asarray(eigenvectors, jnp.float32))


@jax.jit
def pca_colour_offsets(basis: ColourBasis, alphas: jax.Array) -> jax.Array:
    """AlexNet's colour offsets: ``δ_n = Σ_i α_ni λ_i p_i = P (α_n ⊙ λ)`` for ``alphas`` ``[N, C]``;
    returns ``[N, C]``."""
    return (jnp.asarray(alphas, jnp.float32) * basis.eigenvalues) @ basis.eigenvectors.T


def random_mirror(probability: float = 0.5) -> Transform:
    """Flips each image horizontally (:func:`mirror`) with probability ``p``:
    ``flip = jax.random.bernoulli(key, p, (N,))``."""
    _check_number("probability", probability, 0.0, 1.0)

    def transform(key, images):
        _check_images(images)
        flip = jax.random.bernoulli(key, probability, (images.shape[0],))
        return jnp.where(flip[:, None, None, None], mirror(images), images)

    return transform


def random_crop(min_fraction: float = 0.6) -> Transform:
    """Crops a random box of each image and resizes it back (:func:`crop_and_resize`).

    The box keeps the image's aspect ratio: with ``u = jax.random.uniform(key, (N, 3))``, side
    fraction ``f = min_fraction + (1 − min_fraction) u_0 ~ U(min_fraction, 1)``, ``top = (1 − f) u_1``,
    ``left = (1 − f) u_2``, so the box lies inside the image. ``min_fraction = 1`` is the identity.
    """
    if isinstance(min_fraction, numbers.Real) and not 0 < min_fraction <= 1:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction!r}")

    def transform(key, images):
        _check_images(images)
        uniform = jax.random.uniform(key, (images.shape[0], 3))
        fraction = min_fraction + (1 - min_fraction) * uniform[:, 0]
        top, left = (1 - fraction) * uniform[:, 1], (1 - fraction) * uniform[:, 2]
        return crop_and_resize(images, jnp.stack([top, left, fraction, fraction], axis=-1))

    return transform


def random_rotation(max_degrees: float = 15.0, fill_mode: str = "nearest", fill_value: float = 0.0) -> Transform:
    """Rotates each image (:func:`rotate`) by ``θ ~ U(−max_degrees, max_degrees)`` degrees:
    ``θ = jax.random.uniform(key, (N,), minval=−θ_max, maxval=θ_max)`` (in radians)."""
    _check_number("max_degrees", max_degrees, 0.0, 180.0)
    _check_fill_mode(fill_mode)

    def transform(key, images):
        _check_images(images)
        limit = max_degrees * (math.pi / 180)
        radians = jax.random.uniform(key, (images.shape[0],), minval=-limit, maxval=limit)
        return rotate(images, radians, fill_mode, fill_value)

    return transform


def random_shear(max_shear: float = 0.2, fill_mode: str = "nearest", fill_value: float = 0.0) -> Transform:
    """Shears each image horizontally (:func:`shear`) by ``s ~ U(−max_shear, max_shear)``:
    ``s = jax.random.uniform(key, (N,), minval=−s_max, maxval=s_max)``."""
    _check_number("max_shear", max_shear, 0.0, math.inf)
    _check_fill_mode(fill_mode)

    def transform(key, images):
        _check_images(images)
        factors = jax.random.uniform(key, (images.shape[0],), minval=-max_shear, maxval=max_shear)
        return shear(images, factors, fill_mode, fill_value)

    return transform


def random_colour_shift(max_shift: float = 0.1, clip: bool = True) -> Transform:
    """Colour shifting: adds a random offset per image and channel (:func:`shift_colours`),
    ``δ = jax.random.uniform(key, (N, C), minval=−max_shift, maxval=max_shift)``,
    ``out = clip(x + δ, 0, 1)``."""
    _check_number("max_shift", max_shift, 0.0, math.inf)

    def transform(key, images):
        _check_images(images)
        offsets = jax.random.uniform(key, (images.shape[0], images.shape[-1]), minval=-max_shift, maxval=max_shift)
        return shift_colours(images, offsets, clip)

    return transform


def random_pca_colour_shift(basis: ColourBasis, standard_deviation: float = 0.1, clip: bool = True) -> Transform:
    """AlexNet's PCA colour augmentation (Krizhevsky et al., 2012): every pixel of image ``n`` gets
    ``δ_n = Σ_i α_ni λ_i p_i`` (:func:`pca_colour_offsets`) with
    ``α = σ · jax.random.normal(key, (N, C))``; ``out = clip(x + δ_n, 0, 1)``.

    ``λ_i`` are the eigenvalues of the pixel covariance in the images' own units (variances of
    values in [0, 1], so shifts are small: scale σ to taste).
    """
    _check_number("standard_deviation", standard_deviation, 0.0, math.inf)
    channels = int(np.shape(basis.eigenvalues)[0])

    def transform(key, images):
        _check_images(images)
        if images.shape[-1] != channels:
            raise ValueError(f"the colour basis has {channels} channels, the images {images.shape[-1]}")
        alphas = standard_deviation * jax.random.normal(key, (images.shape[0], channels))
        return shift_colours(images, pca_colour_offsets(basis, alphas), clip)

    return transform


def compose_transforms(*transforms: Transform) -> Transform:
    """Applies ``transforms`` in order, the k-th with ``jax.random.split(key, K)[k]``."""
    if not all(callable(t) for t in transforms):
        raise ValueError(f"every transform must be a function (key, images) -> images, got {transforms!r}")

    def transform(key, images):
        if not transforms:
            return images
        for sub_key, step in zip(jax.random.split(key, len(transforms)), transforms):
            images = step(sub_key, images)
        return images

    return transform


def augment_images(*transforms: Transform) -> Callable[[jax.Array, Examples], Examples]:
    """The training builder's hook ``augment(key, batch) -> batch``: ``batch.inputs`` (``[B, H, W, C]``)
    replaced by ``compose_transforms(*transforms)(key, batch.inputs)``; targets and mask unchanged.

    Geometric transforms move input pixels only: with per-pixel targets or masks use colour
    transforms alone.
    """
    composed = compose_transforms(*transforms)

    def augment(key: jax.Array, batch: Examples) -> Examples:
        if not isinstance(batch.inputs, (jax.Array, np.ndarray)):
            raise ValueError(f"augment_images transforms an inputs array [B, H, W, C], got inputs of type "
                             f"{type(batch.inputs).__name__}")
        return batch._replace(inputs=composed(key, batch.inputs))

    return augment
