"""scikit-learn's shipped data sets, split train/dev/test; nothing is downloaded.

Each loader reads the copy installed with scikit-learn, shuffles and splits it with ``seed``
(stratified, see `dlcourse.data.split_dataset`) and returns `Splits` with rows as examples.
Features other than digits are returned unscaled: pass the splits to
`dlcourse.data.standardize`, which takes its statistics from the training set only.
"""

from __future__ import annotations

import numpy as np
import sklearn.datasets

from dlcourse.data.splits import Splits, split_dataset


def load_digits(
    seed: int = 0,
    *,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
    flat: bool = True,
) -> Splits:
    """Handwritten digits: 1797 grey 8×8 images, 10 classes.

    Pixel values (0 … 16) are divided by 16, so x ∈ [0, 1].

    Returns:
      `Splits` with x ``[m, 64]`` when ``flat`` (row-major pixels), else ``[m, 8, 8, 1]``
      (height, width, channels); y ``[m]`` in 0 … 9; ``num_classes = 10``.
    """
    x, y = sklearn.datasets.load_digits(return_X_y=True)
    x = x.astype(np.float32) / np.float32(16.0)
    if not flat:
        x = x.reshape(-1, 8, 8, 1)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=10)


def load_breast_cancer(
    seed: int = 0,
    *,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Wisconsin breast cancer: 569 examples, 30 real features, binary.

    Labels follow scikit-learn: y = 0 malignant (212), y = 1 benign (357).

    Returns:
      `Splits` with x ``[m, 30]`` (unscaled), y ``[m]`` in {0, 1}; ``num_classes = 2``.
    """
    x, y = sklearn.datasets.load_breast_cancer(return_X_y=True)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=2)


def load_iris(
    seed: int = 0,
    *,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Iris: 150 flowers, 4 measurements (cm), 3 species of 50 each.

    Returns:
      `Splits` with x ``[m, 4]`` (unscaled), y ``[m]`` in 0 … 2; ``num_classes = 3``.
    """
    x, y = sklearn.datasets.load_iris(return_X_y=True)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=3)


def load_wine(
    seed: int = 0,
    *,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Wine recognition: 178 wines, 13 chemical features, 3 cultivars (59 / 71 / 48).

    Returns:
      `Splits` with x ``[m, 13]`` (unscaled), y ``[m]`` in 0 … 2; ``num_classes = 3``.
    """
    x, y = sklearn.datasets.load_wine(return_X_y=True)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=3)
