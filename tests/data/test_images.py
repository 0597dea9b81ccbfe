"""Tests for dlcourse.data.images: digits as images, scikit-image's photographs and faces."""

import collections

import numpy as np
import pytest
import skimage.data
import sklearn.datasets

from dlcourse import data


def _all_rows(splits):
    return (np.concatenate([splits.x_train, splits.x_dev, splits.x_test]),
            np.concatenate([splits.y_train, splits.y_dev, splits.y_test]))


def _multiset(x, y):
    """The (image bytes, label) pairs as a multiset: equal iff the same examples with the same labels."""
    return collections.Counter((row.tobytes(), int(label)) for row, label in zip(x, y))


@pytest.mark.parametrize("size, block, before", [(32, 4, 0), (28, 3, 2), (8, 1, 0), (35, 4, 1)])
def test_digits_images_are_sklearns_digits_enlarged_and_padded(size, block, before):
    s = data.load_digits_images(seed=3, size=size)
    x, y = _all_rows(s)
    reference = sklearn.datasets.load_digits()
    digits = reference.images.astype(np.float32) / np.float32(16.0)
    expected = np.zeros((len(digits), size, size, 1), np.float32)
    expected[:, before:before + 8 * block, before:before + 8 * block, 0] = np.kron(digits, np.ones((block, block),
                                                                                                     np.float32))
    assert s.num_classes == 10 and x.dtype == np.float32 and x.shape[1:] == (size, size, 1)
    assert x.min() == 0.0 and x.max() == 1.0
    assert _multiset(x, y) == _multiset(expected, reference.target)


def test_digits_images_are_stratified_deterministic_splits():
    first, second, other = (data.load_digits_images(seed=seed, size=16) for seed in (4, 4, 5))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.x_train, other.x_train)
    assert (len(first.y_train), len(first.y_dev), len(first.y_test)) == (1079, 359, 359)
    overall = np.bincount(_all_rows(first)[1]) / 1797
    for labels in (first.y_train, first.y_dev, first.y_test):
        assert np.abs(np.bincount(labels, minlength=10) / len(labels) - overall).max() < 0.01
    flat = data.load_digits(seed=4)
    eight = data.load_digits_images(seed=4, size=8)
    np.testing.assert_array_equal(eight.x_train.reshape(-1, 64), flat.x_train)


@pytest.mark.parametrize("size", [7, 32.0, True, "32"])
def test_digits_images_bad_size_is_named(size):
    with pytest.raises(ValueError, match=f"size must be an int >= 8.*{size!r}"):
        data.load_digits_images(size=size)


def test_every_photo_is_skimages_array_scaled():
    assert {"camera", "astronaut", "coffee", "chelsea"} <= set(data.PHOTO_FILES)
    for name in data.PHOTO_FILES:
        photo = data.load_photo(name)
        reference = getattr(skimage.data, name)()
        assert reference.dtype == np.uint8, name
        reference = reference if reference.ndim == 3 else reference[..., None]
        assert photo.dtype == np.float32 and photo.shape == reference.shape, name
        np.testing.assert_array_equal(photo, reference.astype(np.float32) / np.float32(255.0), err_msg=name)
        assert 0.0 <= photo.min() and photo.max() <= 1.0
    assert data.load_photo("camera").shape == (512, 512, 1)
    assert data.load_photo("coffee").shape == (400, 600, 3)


def test_unknown_photo_is_named():
    with pytest.raises(ValueError, match="unknown photo 'lena'.*astronaut"):
        data.load_photo("lena")


def test_faces_labels_follow_the_documented_first_hundred_faces_layout():
    s = data.load_faces(seed=0)
    x, y = _all_rows(s)
    reference = skimage.data.lfw_subset().astype(np.float32)
    assert reference.shape == (200, 25, 25)
    assert s.num_classes == 2 and x.shape == (200, 25, 25, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    index_of = {image.tobytes(): index for index, image in enumerate(reference)}
    assert len(index_of) == 200
    for image, label in zip(x, y):
        assert label == int(index_of[image[..., 0].tobytes()] < 100)
    for labels in (s.y_train, s.y_dev, s.y_test):
        assert np.bincount(labels, minlength=2)[0] == np.bincount(labels, minlength=2)[1]
    again = data.load_faces(seed=0)
    np.testing.assert_array_equal(again.x_dev, s.x_dev)
