"""Images that ship with the installed packages: digits for LeNet-5, photographs, faces; nothing is downloaded.

- :func:`load_digits_images`: scikit-learn's 1797 handwritten 8×8 digits as ``[m, size, size, 1]``
  images (each pixel repeated into a ``k × k`` block, ``k = ⌊size / 8⌋``, then zero-padded to
  ``size × size``: 32 × 32 for LeNet-5 is a 4× nearest-neighbour enlargement, no padding).
- :func:`load_photo`: one of scikit-image's sample photographs, ``[H, W, C]`` float32 in [0, 1].
- :func:`load_faces`: scikit-image's ``lfw_subset``, 100 faces and 100 non-faces of 25 × 25, as a
  binary classification (``y = 1`` face).

Files are read from the packages' own data folders, found without importing either package
(scikit-image's fetcher would download files that are not bundled; these ones all are).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from dlcourse.data.builtin import shipped_table
from dlcourse.data.splits import Splits, split_dataset

#: Photographs bundled with scikit-image: ``{name: file in skimage/data}``; each name is also the
#: ``skimage.data`` function that returns the same picture as uint8.
PHOTO_FILES = {
    "astronaut": "astronaut.png",
    "brick": "brick.png",
    "camera": "camera.png",
    "cell": "cell.png",
    "chelsea": "chelsea.png",
    "clock": "clock_motion.png",
    "coffee": "coffee.png",
    "coins": "coins.png",
    "colorwheel": "color.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "immunohistochemistry": "ihc.png",
    "microaneurysms": "microaneurysms.png",
    "moon": "moon.png",
    "page": "page.png",
    "retina": "retina.jpg",
    "rocket": "rocket.jpg",
    "text": "text.png",
}

DIGIT_SIDE = 8
FACES_FILE = "lfw_subset.npy"
NUM_FACES = 100


def skimage_data_path(file_name: str) -> str:
    """The path of ``file_name`` in scikit-image's bundled ``data`` folder.

    Raises:
      FileNotFoundError: scikit-image (or the file) is not installed.
    """
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-image is not installed; its sample images are read from its package")
    path = os.path.join(spec.submodule_search_locations[0], "data", file_name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"scikit-image's bundled file {path} is missing")
    return path


def enlarge_digits(digits: np.ndarray, size: int) -> np.ndarray:
    """``[m, 8, 8]`` digits → ``[m, size, size]``: each pixel repeated into a ``k × k`` block,
    ``k = ⌊size / 8⌋``, then zeros around it, ``⌊(size − 8k) / 2⌋`` rows/columns before and the rest after.

    Raises:
      ValueError: ``size`` is not an int ≥ 8.
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < DIGIT_SIDE:
        raise ValueError(f"size must be an int >= {DIGIT_SIDE} (the digits are 8×8), got {size!r}")
    factor = size // DIGIT_SIDE
    enlarged = np.repeat(np.repeat(digits, factor, axis=1), factor, axis=2)
    before = (size - DIGIT_SIDE * factor) // 2
    after = size - DIGIT_SIDE * factor - before
    return np.pad(enlarged, ((0, 0), (before, after), (before, after)))


def load_digits_images(
    seed: int = 0,
    *,
    size: int = 32,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Handwritten digits as images for a ConvNet: 1797 examples, 10 classes.

    Pixel values (0 … 16) are divided by 16, so x ∈ [0, 1]. Each 8×8 digit is enlarged by
    nearest-neighbour repetition (``k × k`` blocks, ``k = ⌊size / 8⌋``) and zero-padded to
    ``size × size`` (:func:`enlarge_digits`): ``size=32`` (LeNet-5's input) gives 4 × 4 blocks and no
    padding, ``size=28`` 3 × 3 blocks and 2 zero pixels on each side, ``size=8`` the digits as they are.

    Returns:
      `Splits` with x float32 ``[m, size, size, 1]``, y ``[m]`` in 0 … 9; ``num_classes = 10``;
      stratified by class (`dlcourse.data.split_dataset`).

    Raises:
      ValueError: ``size`` is not an int ≥ 8, or bad split fractions.
    """
    x, y = shipped_table("digits.csv.gz", header=False)
    digits = (x.astype(np.float32) / np.float32(16.0)).reshape(-1, DIGIT_SIDE, DIGIT_SIDE)
    images = enlarge_digits(digits, size)[..., None]
    return split_dataset(images, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=10)


def load_photo(name: str) -> np.ndarray:
    """One of scikit-image's sample photographs (:data:`PHOTO_FILES`), e.g. ``'camera'``,
    ``'astronaut'``, ``'coffee'``, ``'chelsea'``.

    Returns:
      float32 ``[H, W, C]`` in [0, 1]: ``skimage.data.<name>()`` divided by 255, with ``C = 1`` for
      a grey picture and ``C = 3`` for a colour one (``camera`` is ``[512, 512, 1]``, ``astronaut``
      ``[512, 512, 3]``, ``coffee`` ``[400, 600, 3]``, ``chelsea`` ``[300, 451, 3]``).

    Raises:
      ValueError: an unknown name.
    """
    if name not in PHOTO_FILES:
        raise ValueError(f"unknown photo {name!r}; choose one of {', '.join(sorted(PHOTO_FILES))}")
    from PIL import Image

    with Image.open(skimage_data_path(PHOTO_FILES[name])) as picture:
        if picture.mode not in ("L", "RGB"):
            raise ValueError(f"photo {name!r} has PIL mode {picture.mode!r}; expected 'L' or 'RGB'")
        pixels = np.asarray(picture)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return pixels.astype(np.float32) / np.float32(255.0)


def load_faces(
    seed: int = 0,
    *,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Faces vs non-faces: scikit-image's ``lfw_subset``, 200 grey 25 × 25 crops from Labeled Faces
    in the Wild.

    The file holds 100 faces followed by 100 patches of background from the same photographs,
    values in [0, 1]; y = 1 for a face (the first 100), y = 0 for a non-face.

    Returns:
      `Splits` with x float32 ``[m, 25, 25, 1]`` in [0, 1], y ``[m]`` in {0, 1}; ``num_classes = 2``;
      stratified by class.
    """
    images = np.load(skimage_data_path(FACES_FILE)).astype(np.float32)[..., None]
    labels = (np.arange(len(images)) < NUM_FACES).astype(np.int64)
    return split_dataset(images, labels, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=2)
