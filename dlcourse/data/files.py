"""Loaders for standard files a user already has: MNIST (IDX or .npz) and an image folder.

Nothing is downloaded. A missing file raises `MissingDataFileError` (both a FileNotFoundError
and a ValueError); a malformed one raises ValueError. Either message starts with the path and
says what was expected.
"""

from __future__ import annotations

import gzip
import pathlib
import zipfile
import zlib

import numpy as np
from PIL import Image

from dlcourse.data.splits import Splits, check_fractions, split_dataset

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions [m, rows, columns]
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension [m]
MNIST_FILE_NAMES = {
    "train images": "train-images-idx3-ubyte",
    "train labels": "train-labels-idx1-ubyte",
    "test images": "t10k-images-idx3-ubyte",
    "test labels": "t10k-labels-idx1-ubyte",
}
MNIST_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# IDX element type code (third byte of the magic number) → big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class MissingDataFileError(FileNotFoundError, ValueError):
    """A data file or folder that should exist does not; catchable as either base class."""


def _read_bytes(path: pathlib.Path) -> bytes:
    """The file's bytes, decompressed when the name ends in ``.gz``."""
    if not path.is_file():
        raise MissingDataFileError(f"{path}: no such file")
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: expected a gzip-compressed file, could not decompress it "
                         f"({error})") from None


def _parse_idx(data: bytes, path: pathlib.Path) -> np.ndarray:
    if len(data) < 4:
        raise ValueError(f"{path}: expected an IDX file of at least 4 bytes, got {len(data)}")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        magic = int.from_bytes(data[:4], "big")
        raise ValueError(f"{path}: expected an IDX magic number (0x0000TTDD with a known type "
                         f"code TT), got {magic} (0x{magic:08X})")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: expected {ndim} dimension sizes after the magic number, "
                         f"the file ends after {len(data)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: expected {expected} bytes for an IDX array of shape {shape} "
                         f"and type {dtype.str}, got {len(data)}")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Reads one IDX file (optionally ``.gz``) into an array of the shape its header gives.

    IDX layout: a big-endian magic number ``0x0000TTDD`` (``TT`` the element type, 0x08 for
    unsigned bytes; ``DD`` the number of dimensions), ``DD`` big-endian uint32 sizes, then the
    elements in row-major order.
    """
    path = pathlib.Path(path)
    return _parse_idx(_read_bytes(path), path)


def _read_mnist_idx(path: pathlib.Path, expected_magic: int, what: str) -> np.ndarray:
    data = _read_bytes(path)
    if len(data) >= 4:
        magic = int.from_bytes(data[:4], "big")
        if magic != expected_magic:
            raise ValueError(f"{path}: expected IDX magic {expected_magic} for {what}, "
                             f"got {magic}")
    return _parse_idx(data, path)


def _find_idx_file(directory: pathlib.Path, stem: str) -> pathlib.Path:
    dotted = stem[::-1].replace("-", ".", 1)[::-1]  # train-images.idx3-ubyte, an unzip variant
    candidates = [directory / name for base in (stem, dotted) for name in (base, base + ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MissingDataFileError(
        f"{directory}: expected the MNIST IDX file {stem} (or {stem}.gz) in this directory, "
        f"found none")


def _check_mnist_arrays(x: np.ndarray, y: np.ndarray, source: str, part: str) -> None:
    if x.ndim not in (3, 4):
        raise ValueError(f"{source}: expected {part} images shaped [m, height, width] or "
                         f"[m, height, width, channels], got shape {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"{source}: expected {x.shape[0]} {part} labels (one per image) in a "
                         f"vector, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{source}: expected integer {part} labels, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{source}: expected {part} labels in 0 … 9, got values from "
                         f"{int(y.min())} to {int(y.max())}")


def _load_mnist_npz(path: pathlib.Path):
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: expected a .npz archive with keys {', '.join(MNIST_NPZ_KEYS)},"
                         f" could not read it ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: expected a .npz archive with keys "
                         f"{', '.join(MNIST_NPZ_KEYS)}, got a single .npy array")
    with archive:
        missing = [key for key in MNIST_NPZ_KEYS if key not in archive.files]
        if missing:
            raise ValueError(f"{path}: expected keys {', '.join(MNIST_NPZ_KEYS)}, missing "
                             f"{', '.join(missing)} (found {', '.join(archive.files) or 'none'})")
        return tuple(archive[key] for key in MNIST_NPZ_KEYS)


def _load_mnist_idx(directory: pathlib.Path):
    arrays = []
    for part in ("train", "test"):
        images_path = _find_idx_file(directory, MNIST_FILE_NAMES[f"{part} images"])
        labels_path = _find_idx_file(directory, MNIST_FILE_NAMES[f"{part} labels"])
        arrays.append(_read_mnist_idx(images_path, IDX_IMAGES_MAGIC, "images"))
        labels = _read_mnist_idx(labels_path, IDX_LABELS_MAGIC, "labels")
        if labels.shape[0] != arrays[-1].shape[0]:
            raise ValueError(f"{labels_path}: expected {arrays[-1].shape[0]} labels to match "
                             f"{images_path}, got {labels.shape[0]}")
        arrays.append(labels)
    return tuple(arrays)


def _to_unit_interval(x: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer):
        return x.astype(np.float32) / np.float32(255.0)
    return x.astype(np.float32)


def load_mnist(
    path,
    *,
    seed: int = 0,
    dev_fraction: float = 0.1,
    flat: bool = False,
) -> Splits:
    """MNIST (or a file-compatible set such as Fashion-MNIST) from local files.

    ``path`` is either a directory holding the four standard IDX files
    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte``, each optionally ``.gz``), or one ``.npz`` archive with arrays
    ``x_train``, ``y_train``, ``x_test``, ``y_test``.

    The file's test set is the test split; the dev split is ``dev_fraction`` of the file's
    training set, drawn stratified with ``seed``. Integer pixels are divided by 255; float
    pixels are kept as they are.

    Returns:
      `Splits` with x float32 ``[m, 28, 28, 1]`` (``[m, 784]`` when ``flat``), y int32 ``[m]``
      in 0 … 9, ``num_classes = 10``.
    """
    check_fractions(dev_fraction, 0.0)
    path = pathlib.Path(path)
    if path.is_dir():
        x_train, y_train, x_test, y_test = _load_mnist_idx(path)
    elif path.is_file():
        x_train, y_train, x_test, y_test = _load_mnist_npz(path)
    else:
        raise MissingDataFileError(
            f"{path}: no such file or directory; expected a directory with the four MNIST IDX "
            f"files or a .npz archive with keys {', '.join(MNIST_NPZ_KEYS)}")
    _check_mnist_arrays(x_train, y_train, str(path), "train")
    _check_mnist_arrays(x_test, y_test, str(path), "test")
    if x_train.shape[1:3] != x_test.shape[1:3]:
        raise ValueError(f"{path}: expected train and test images of one size, got "
                         f"{x_train.shape[1:]} and {x_test.shape[1:]}")
    x_train, x_test = _to_unit_interval(x_train), _to_unit_interval(x_test)
    # each array gets its channel axis on its own: one file may store train [m, 28, 28] and
    # test [m, 28, 28, 1]
    x_train = x_train[..., None] if x_train.ndim == 3 else x_train
    x_test = x_test[..., None] if x_test.ndim == 3 else x_test
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"{path}: expected train and test images with the same channels, got "
                         f"{x_train.shape[1:]} and {x_test.shape[1:]}")
    if flat:
        x_train = x_train.reshape(x_train.shape[0], -1)
        x_test = x_test.reshape(x_test.shape[0], -1)
    train = split_dataset(x_train, y_train, seed=seed, dev_fraction=dev_fraction,
                          test_fraction=0.0, num_classes=10)
    return train._replace(x_test=x_test, y_test=y_test.astype(np.int32))


def _image_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (height, width) or an int, got {size!r}")
    return int(height), int(width)


def _read_image(path: pathlib.Path, size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 ``[height, width, 1]`` (grey) or ``[height, width, 3]`` (colour)."""
    try:
        with Image.open(path) as image:
            image.load()
            grey = image.mode in ("1", "L", "LA")
            image = image.convert("L" if grey else "RGB")
            if size is not None:
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{path}: expected a readable PNG or JPEG image ({error})") from None
    return pixels[..., None] if grey else pixels


def read_image_folder(path, size=None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Reads ``path/<class_name>/*.png|jpg|jpeg`` into arrays, classes in sorted name order.

    Args:
      path: the root folder; each visible subfolder is one class.
      size: ``(height, width)`` or an int for squares: resize every image (bilinear). None:
        every image must already have the same size.

    Returns:
      ``(x, y, class_names)``: x float32 ``[m, height, width, channels]`` in [0, 1] (channels 1
      when every image is grey, else 3 with grey images repeated), y int32 ``[m]`` indexing
      ``class_names``.
    """
    root = pathlib.Path(path)
    size = _image_size(size)
    if not root.is_dir():
        raise MissingDataFileError(f"{root}: no such directory; expected a folder of class "
                                   f"subfolders <class_name>/*.png|jpg")
    class_dirs = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                        key=lambda d: d.name)
    if not class_dirs:
        raise ValueError(f"{root}: expected class subfolders <class_name>/*.png|jpg, found none")
    images, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        files = sorted(f for f in class_dir.iterdir()
                       if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"{class_dir}: expected .png or .jpg images for class "
                             f"{class_dir.name!r}, found none")
        for file in files:
            pixels = _read_image(file, size)
            if images and pixels.shape[:2] != images[0][1].shape[:2]:
                raise ValueError(
                    f"{file}: expected {images[0][1].shape[0]}×{images[0][1].shape[1]} pixels "
                    f"like {images[0][0]}, got {pixels.shape[0]}×{pixels.shape[1]}; pass size= "
                    f"to resize")
            images.append((file, pixels))
            labels.append(label)
    channels = max(pixels.shape[2] for _, pixels in images)
    x = np.stack([np.broadcast_to(pixels, pixels.shape[:2] + (channels,))
                  for _, pixels in images]).astype(np.float32) / np.float32(255.0)
    return x, np.asarray(labels, dtype=np.int32), tuple(d.name for d in class_dirs)


def load_image_folder(
    path,
    size=None,
    *,
    seed: int = 0,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> tuple[Splits, tuple[str, ...]]:
    """`read_image_folder`, then a stratified train/dev/test split with ``seed``.

    Returns:
      ``(splits, class_names)``: `Splits` with x ``[m, height, width, channels]``, y indexing
      ``class_names``, ``num_classes = len(class_names)``.
    """
    x, y, class_names = read_image_folder(path, size)
    splits = split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                           test_fraction=test_fraction, num_classes=len(class_names))
    return splits, class_names

