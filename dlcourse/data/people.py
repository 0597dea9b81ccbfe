"""Images of identities for face verification: a user's own folder of people, or digits as people.

A folder of people is laid out one subfolder per identity::

    people/
      ada/   1.jpg 2.jpg 3.png …
      alan/  a.jpg b.jpg …

Every visible subfolder is an identity (names in sorted order give the labels 0, 1, …); its
``.png``/``.jpg``/``.jpeg`` files are that person's images, all resized to ``size`` (bilinear).
An identity with a single image cannot form a "same" pair, so :func:`load_people` refuses it
unless ``min_images_per_identity=1`` (it can then only serve as a "different" one).

Without such a folder, :func:`load_digits_people` takes scikit-learn's handwritten digits as ten
"identities" ("0" … "9"): one-shot verification then asks whether two digits are the same digit.

:func:`split_identities` holds some identities out: the encoder trains on the others' images, and
the held-out identities — never seen in training — give the dev pairs (to choose the threshold)
and the test pairs.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from dlcourse.data.files import read_image_folder
from dlcourse.data.images import load_digits_images
from dlcourse.data.splits import Splits

#: Images a held-out identity needs: two for a "same" pair in dev and two in test.
MIN_HELD_OUT_IMAGES = 4


class People(NamedTuple):
    """Images of identities.

    Attributes:
      images: float32 ``[m, height, width, channels]`` in [0, 1].
      labels: int32 ``[m]`` identity indices into ``names``.
      names: the identities' names, in label order.
    """

    images: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]


def load_people(path, size=64, *, min_images_per_identity: int = 2) -> People:
    """Reads ``path/<NAME>/*.jpg|png`` (see the module docstring).

    Args:
      path: the folder of identity subfolders.
      size: ``(height, width)`` or an int for squares; every image is resized to it. None keeps
        the images' own size (they must then all agree).
      min_images_per_identity: fewer images than this in an identity's folder is an error (2: every
        identity can form a "same" pair; 1 keeps single-image identities as "different" ones only).

    Returns:
      :class:`People`; channels 1 when every image is grey, else 3.

    Raises:
      MissingDataFileError: ``path`` is not a folder.
      ValueError: no identity subfolders, a subfolder without images, an unreadable image, sizes
        that differ with ``size=None``, or an identity with fewer than ``min_images_per_identity``
        images (each such folder is named).
    """
    if not isinstance(min_images_per_identity, int) or min_images_per_identity < 1:
        raise ValueError(f"min_images_per_identity must be a positive int, got {min_images_per_identity!r}")
    images, labels, names = read_image_folder(path, size)
    counts = np.bincount(labels, minlength=len(names))
    few = [f"{names[k]!r} ({counts[k]})" for k in np.flatnonzero(counts < min_images_per_identity)]
    if few:
        raise ValueError(f"{path}: identities with fewer than {min_images_per_identity} images: {', '.join(few)}; "
                         f"a 'same' pair needs two images of one person (add images, or pass "
                         f"min_images_per_identity=1 to keep them as 'different' identities only)")
    return People(images, labels, names)


def load_digits_people(size: int = 16) -> People:
    """scikit-learn's 1797 digits as ten identities ``'0'`` … ``'9'``, images ``[m, size, size, 1]``
    as :func:`dlcourse.data.load_digits_images` makes them (in a fixed shuffled order)."""
    digits = load_digits_images(seed=0, size=size, dev_fraction=0.0, test_fraction=0.0)
    return People(digits.x_train, digits.y_train, tuple(str(d) for d in range(10)))


def split_identities(people: People, held_out: Sequence[int], *, seed: int = 0) -> Splits:
    """Training images of the identities not in ``held_out``; dev and test images of those in it.

    Each held-out identity's images are shuffled with ``seed`` and halved: ``⌊n/2⌋`` to dev, the
    rest to test. Labels stay the identities' indices into ``people.names`` in every split.

    Returns:
      :class:`Splits` (``num_classes = len(people.names)``), each split in shuffled order.

    Raises:
      ValueError: a held-out index out of range or repeated, fewer than two training identities,
        or a held-out identity with fewer than 4 images (two per split for a "same" pair).
    """
    count = len(people.names)
    held_out = [int(k) for k in held_out]
    if not held_out or len(set(held_out)) != len(held_out) or not all(0 <= k < count for k in held_out):
        raise ValueError(f"held_out must be distinct identity indices in [0, {count}), got {held_out}")
    training = [k for k in range(count) if k not in held_out]
    if len(training) < 2:
        raise ValueError(f"holding out {len(held_out)} of {count} identities leaves {len(training)} to train on; "
                         f"the triplet loss needs at least 2")
    labels = np.asarray(people.labels)
    rng = np.random.default_rng(seed)
    dev_rows, test_rows = [], []
    for k in held_out:
        rows = rng.permutation(np.flatnonzero(labels == k))
        if len(rows) < MIN_HELD_OUT_IMAGES:
            raise ValueError(f"held-out identity {people.names[k]!r} has {len(rows)} images; it needs at least "
                             f"{MIN_HELD_OUT_IMAGES} (two for a 'same' pair in dev and two in test)")
        dev_rows.append(rows[:len(rows) // 2])
        test_rows.append(rows[len(rows) // 2:])
    train_rows = rng.permutation(np.flatnonzero(np.isin(labels, training)))
    dev_rows, test_rows = (rng.permutation(np.concatenate(rows)) for rows in (dev_rows, test_rows))
    images = np.asarray(people.images, np.float32)
    labels = labels.astype(np.int32)
    return Splits(images[train_rows], labels[train_rows], images[dev_rows], labels[dev_rows],
                  images[test_rows], labels[test_rows], count)
