"""Identities for face verification: a people/NAME/*.jpg|png folder, digits as people, held-out splits."""

import numpy as np
import pytest
from PIL import Image

from dlcourse import data


def write_people(root, counts, size=(12, 10), mode="RGB"):
    """``root/<name>/<k>.png`` (``.jpg`` for odd k): ``counts[name]`` images each, distinct pixels."""
    rng = np.random.default_rng(0)
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for k in range(count):
            shape = size + ((3,) if mode == "RGB" else ())
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            Image.fromarray(pixels, mode).save(root / name / f"{k}.{'jpg' if k % 2 else 'png'}")
    return root


def test_each_folder_is_an_identity_in_sorted_order(tmp_path):
    root = write_people(tmp_path / "people", {"zoe": 2, "ada": 3, "bob": 2})
    (root / ".hidden").mkdir()
    (root / "ada" / "notes.txt").write_text("not an image")
    people = data.load_people(root, size=8)
    assert people.names == ("ada", "bob", "zoe")
    assert people.images.shape == (7, 8, 8, 3) and people.images.dtype == np.float32
    np.testing.assert_array_equal(people.labels, [0, 0, 0, 1, 1, 2, 2])
    assert 0.0 <= people.images.min() and people.images.max() <= 1.0
    # an image as PIL resizes it, divided by 255
    with Image.open(root / "bob" / "0.png") as image:
        expected = np.asarray(image.resize((8, 8), Image.Resampling.BILINEAR), np.float32) / 255
    np.testing.assert_allclose(people.images[3], expected, rtol=1e-6)


def test_grey_faces_have_one_channel(tmp_path):
    people = data.load_people(write_people(tmp_path / "p", {"a": 2, "b": 2}, mode="L"), size=(6, 5))
    assert people.images.shape == (4, 6, 5, 1)


def test_clear_errors(tmp_path):
    with pytest.raises(data.MissingDataFileError, match="no such directory"):
        data.load_people(tmp_path / "nobody")
    root = write_people(tmp_path / "people", {"ada": 2, "bob": 1, "cy": 1})
    with pytest.raises(ValueError, match=r"fewer than 2 images: 'bob' \(1\), 'cy' \(1\)"):
        data.load_people(root, size=8)
    assert data.load_people(root, size=8, min_images_per_identity=1).labels.tolist() == [0, 0, 1, 2]
    (root / "dee").mkdir()
    with pytest.raises(ValueError, match="dee: expected .png or .jpg images"):
        data.load_people(root, size=8)
    with pytest.raises(ValueError, match="expected class subfolders"):
        data.load_people((tmp_path / "empty").mkdir() or tmp_path / "empty")


def test_digits_as_ten_people():
    from sklearn.datasets import load_digits

    people = data.load_digits_people(size=8)
    digits = load_digits()
    assert people.names == tuple("0123456789") and people.images.shape == (1797, 8, 8, 1)
    np.testing.assert_array_equal(np.bincount(people.labels), np.bincount(digits.target))
    first = np.flatnonzero(np.all(digits.images / 16 == people.images[0, ..., 0], axis=(1, 2)))
    assert digits.target[first[0]] == people.labels[0]


def test_split_identities_holds_identities_out_and_halves_their_images():
    labels = np.repeat(np.arange(5), [6, 4, 5, 5, 7]).astype(np.int32)
    images = np.arange(len(labels), dtype=np.float32)[:, None, None, None]
    people = data.People(images, labels, tuple("abcde"))
    splits = data.split_identities(people, [3, 4], seed=1)
    assert sorted(splits.y_train.tolist()) == [0] * 6 + [1] * 4 + [2] * 5
    assert np.bincount(splits.y_dev, minlength=5).tolist() == [0, 0, 0, 2, 3]
    assert np.bincount(splits.y_test, minlength=5).tolist() == [0, 0, 0, 3, 4]
    every = np.concatenate([splits.x_train, splits.x_dev, splits.x_test]).ravel()
    assert sorted(every.tolist()) == list(range(len(labels)))           # each image in one split
    np.testing.assert_array_equal(labels[splits.x_dev.ravel().astype(int)], splits.y_dev)
    again = data.split_identities(people, [3, 4], seed=1)
    np.testing.assert_array_equal(again.x_dev, splits.x_dev)
    with pytest.raises(ValueError, match="'b' has 3 images; it needs at least 4"):
        data.split_identities(people._replace(labels=np.repeat(np.arange(5), [6, 3, 5, 5, 8])), [1])
    with pytest.raises(ValueError, match="leaves 1 to train on"):
        data.split_identities(people, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="distinct identity indices"):
        data.split_identities(people, [4, 4])
