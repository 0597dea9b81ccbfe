"""scikit-learn's shipped data sets, split train/dev/test; nothing is downloaded.

Each loader reads the copy installed with scikit-learn, shuffles and splits it with ``seed``
(stratified, see `dlcourse.data.split_dataset`) and returns `Splits` with rows as examples.
Features other than digits are returned unscaled: pass the splits to
`dlcourse.data.standardize`, which takes its statistics from the training set only.

The CSV files are read straight from scikit-learn's installed ``datasets/data`` folder, found
without importing scikit-learn (which takes about half a second): the same numbers as
``sklearn.datasets.load_*``, at a fraction of the start-up cost of a run.
"""

from __future__ import annotations

import gzip
import importlib.util
import os

import numpy as np

from dlcourse.data.splits import Splits, split_dataset


def shipped_table(file_name: str, header: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one of scikit-learn's shipped CSV tables (the last column is the target).

    Raises:
      FileNotFoundError: scikit-learn (or the file) is not installed.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-learn is not installed; its shipped data sets are read from its package")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", file_name)
    with (gzip.open(path, "rt") if file_name.endswith(".gz") else open(path)) as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1 if header else 0, dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


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
    x, y = shipped_table("digits.csv.gz", header=False)
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
    x, y = shipped_table("breast_cancer.csv", header=True)
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
    x, y = shipped_table("iris.csv", header=True)
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
    x, y = shipped_table("wine_data.csv", header=True)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=3)
