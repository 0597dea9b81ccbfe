"""Tests for dlcourse.data.files: MNIST IDX/NPZ and image folders, round trips and errors."""

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from dlcourse import data

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _idx_bytes(array, type_code=0x08, big_endian_dtype=">u1"):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=big_endian_dtype).tobytes()


def _fake_mnist(seed=0, train=60, test=20, side=6):
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, size=(train, side, side), dtype=np.uint8),
        "train_labels": (np.arange(train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, size=(test, side, side), dtype=np.uint8),
        "test_labels": (np.arange(test) % 10).astype(np.uint8),
    }


def _write_idx_dir(directory, arrays, compress=False):
    directory.mkdir(exist_ok=True)
    for key, array in arrays.items():
        payload = _idx_bytes(array)
        name = IDX_NAMES[key] + (".gz" if compress else "")
        (directory / name).write_bytes(gzip.compress(payload) if compress else payload)
    return directory


def _check_round_trip(s, arrays, flat=False):
    side = arrays["train_images"].shape[1]
    expected_test = arrays["test_images"].astype(np.float32) / 255.0
    shape = (side * side,) if flat else (side, side, 1)
    assert s.num_classes == 10 and s.x_test.shape == (len(expected_test),) + shape
    assert s.x_train.dtype == np.float32 and s.y_train.dtype == np.int32
    np.testing.assert_array_equal(s.x_test.reshape(expected_test.shape), expected_test)
    np.testing.assert_array_equal(s.y_test, arrays["test_labels"])
    # train + dev is the file's training set, rows intact, labels with them.
    x = np.concatenate([s.x_train, s.x_dev]).reshape(-1, side * side)
    y = np.concatenate([s.y_train, s.y_dev])
    source = arrays["train_images"].reshape(-1, side * side).astype(np.float32) / 255.0
    lookup = {row.tobytes(): label for row, label in zip(source, arrays["train_labels"])}
    assert len(x) == len(source)
    assert sorted(row.tobytes() for row in x) == sorted(lookup)
    assert all(lookup[row.tobytes()] == label for row, label in zip(x, y))


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx_directory_round_trip(tmp_path, compress):
    arrays = _fake_mnist()
    directory = _write_idx_dir(tmp_path / "mnist", arrays, compress=compress)
    s = data.load_mnist(directory, seed=0, dev_fraction=0.1)
    assert len(s.y_dev) == 6 and len(s.y_train) == 54
    _check_round_trip(s, arrays)
    again = data.load_mnist(directory, seed=0, dev_fraction=0.1)
    for a, b in zip(s, again):
        np.testing.assert_array_equal(a, b)


def test_mnist_npz_round_trip_and_flat(tmp_path):
    arrays = _fake_mnist(seed=1)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=arrays["train_images"], y_train=arrays["train_labels"],
             x_test=arrays["test_images"], y_test=arrays["test_labels"])
    _check_round_trip(data.load_mnist(path, seed=3, flat=True), arrays, flat=True)


def test_read_idx_other_element_types(tmp_path):
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    (tmp_path / "a.idx").write_bytes(_idx_bytes(values, 0x0C, ">i4"))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.idx"), values)
    floats = np.linspace(0, 1, 5)
    (tmp_path / "b.idx").write_bytes(_idx_bytes(floats, 0x0E, ">f8"))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "b.idx"), floats)


def test_missing_paths_raise_naming_them(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(data.MissingDataFileError, match="nowhere: no such file or directory"):
        data.load_mnist(missing)
    with pytest.raises(FileNotFoundError):
        data.load_mnist(missing)
    arrays = _fake_mnist()
    directory = _write_idx_dir(tmp_path / "mnist", arrays)
    (directory / IDX_NAMES["test_labels"]).unlink()
    with pytest.raises(ValueError, match=r"mnist: expected the MNIST IDX file "
                                         r"t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\)"):
        data.load_mnist(directory)


def test_wrong_magic_names_file_and_numbers(tmp_path):
    directory = _write_idx_dir(tmp_path / "mnist", _fake_mnist())
    bad = directory / IDX_NAMES["train_images"]
    content = bytearray(bad.read_bytes())
    content[:4] = struct.pack(">I", 1234)
    bad.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: expected IDX magic 2051 for "
                                         "images, got 1234"):
        data.load_mnist(directory)
    labels = directory / IDX_NAMES["train_labels"]
    bad.write_bytes(labels.read_bytes())  # a labels file where images belong
    with pytest.raises(ValueError, match="expected IDX magic 2051 for images, got 2049"):
        data.load_mnist(directory)


def test_truncated_and_mismatched_files(tmp_path):
    arrays = _fake_mnist()
    directory = _write_idx_dir(tmp_path / "mnist", arrays)
    images = directory / IDX_NAMES["test_images"]
    images.write_bytes(images.read_bytes()[:-5])
    expected = 16 + 20 * 6 * 6
    with pytest.raises(ValueError, match=rf"t10k-images-idx3-ubyte: expected {expected} bytes for "
                                         rf"an IDX array of shape \(20, 6, 6\).*got {expected - 5}"):
        data.load_mnist(directory)
    _write_idx_dir(directory, {**arrays, "test_labels": arrays["test_labels"][:-1]})
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: expected 20 labels to match"):
        data.load_mnist(directory)
    (directory / IDX_NAMES["train_labels"]).write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="expected an IDX file of at least 4 bytes, got 2"):
        data.load_mnist(directory)


def test_bad_gzip_and_out_of_range_labels(tmp_path):
    arrays = _fake_mnist()
    directory = _write_idx_dir(tmp_path / "gz", arrays, compress=True)
    (directory / (IDX_NAMES["train_images"] + ".gz")).write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz: expected a gzip-compressed"):
        data.load_mnist(directory)
    labels = arrays["train_labels"].copy()
    labels[3] = 12
    directory = _write_idx_dir(tmp_path / "plain", {**arrays, "train_labels": labels})
    with pytest.raises(ValueError, match="expected train labels in 0 … 9, got values from 0 to 12"):
        data.load_mnist(directory)


def test_bad_npz_files(tmp_path):
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=np.zeros((2, 4, 4), np.uint8), y_train=np.zeros(2, np.uint8))
    with pytest.raises(ValueError, match="partial.npz: expected keys x_train, y_train, x_test, "
                                         "y_test, missing x_test, y_test"):
        data.load_mnist(partial)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x01\x02 definitely not a zip archive")
    with pytest.raises(ValueError, match="junk.npz: expected a .npz archive"):
        data.load_mnist(junk)
    flat = tmp_path / "flat.npz"
    np.savez(flat, x_train=np.zeros((2, 16)), y_train=np.zeros(2, int),
             x_test=np.zeros((2, 16)), y_test=np.zeros(2, int))
    with pytest.raises(ValueError, match=r"expected train images shaped .*got shape \(2, 16\)"):
        data.load_mnist(flat)


def _write_png(path, pixels):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def test_image_folder_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    written = {}
    for name, count in (("cat", 4), ("non_cat", 3)):
        for i in range(count):
            pixels = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
            _write_png(tmp_path / name / f"{i}.png", pixels)
            written[(name, i)] = pixels
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    x, y, names = data.read_image_folder(tmp_path)
    assert names == ("cat", "non_cat")
    assert x.shape == (7, 5, 7, 3) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 1, 1, 1])
    expected = np.stack([written[("cat", i)] for i in range(4)]
                        + [written[("non_cat", i)] for i in range(3)]) / np.float32(255.0)
    np.testing.assert_array_equal(x, expected.astype(np.float32))


def test_image_folder_grey_colour_mix_and_resize(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    _write_png(tmp_path / "a" / "g.png", grey)
    _write_png(tmp_path / "b" / "c.png", np.zeros((4, 5, 3), np.uint8))
    x, _, _ = data.read_image_folder(tmp_path)
    assert x.shape == (2, 4, 5, 3)
    np.testing.assert_array_equal(x[0], np.repeat(grey[..., None], 3, axis=2) / np.float32(255))
    (tmp_path / "b" / "c.png").unlink()
    _write_png(tmp_path / "b" / "c.png", np.zeros((9, 3), np.uint8))
    x, _, _ = data.read_image_folder(tmp_path, size=(2, 6))
    assert x.shape == (2, 2, 6, 1)


def test_load_image_folder_splits(tmp_path):
    for name in ("a", "b", "c"):
        for i in range(10):
            _write_png(tmp_path / name / f"{i}.png", np.full((3, 3), i * 20, np.uint8))
    s, names = data.load_image_folder(tmp_path, seed=0, dev_fraction=0.2, test_fraction=0.2)
    assert names == ("a", "b", "c") and s.num_classes == 3
    for ys in (s.y_dev, s.y_test):
        np.testing.assert_array_equal(np.bincount(ys, minlength=3), [2, 2, 2])
    assert s.x_train.shape == (18, 3, 3, 1)


def test_image_folder_errors(tmp_path):
    with pytest.raises(data.MissingDataFileError, match="absent: no such directory"):
        data.read_image_folder(tmp_path / "absent")
    with pytest.raises(ValueError, match="expected class subfolders"):
        data.read_image_folder(tmp_path)
    _write_png(tmp_path / "a" / "0.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty: expected .png or .jpg images for class 'empty'"):
        data.read_image_folder(tmp_path)
    (tmp_path / "empty").rmdir()
    _write_png(tmp_path / "b" / "0.png", np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError, match=r"0.png: expected 4×4 pixels like .*got 4×6; pass size="):
        data.read_image_folder(tmp_path)
    (tmp_path / "b" / "1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match="1.jpg: expected a readable PNG or JPEG image"):
        data.read_image_folder(tmp_path, size=4)


@pytest.mark.parametrize("with_channel", ["train", "test"])
def test_mnist_npz_channel_axis_is_decided_per_array(tmp_path, with_channel):
    arrays = _fake_mnist(seed=2)
    x_train, x_test = arrays["train_images"], arrays["test_images"]
    if with_channel == "train":
        x_train = x_train[..., None]
    else:
        x_test = x_test[..., None]
    path = tmp_path / "mixed.npz"
    np.savez(path, x_train=x_train, y_train=arrays["train_labels"],
             x_test=x_test, y_test=arrays["test_labels"])
    s = data.load_mnist(path, seed=0)
    _check_round_trip(s, arrays)
    assert s.x_train.ndim == 4 and s.x_test.ndim == 4
