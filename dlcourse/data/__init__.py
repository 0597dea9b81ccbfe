"""Data without a network: built-in and generated sets, splits, scaling, local-file loaders.

Every loader takes a ``seed`` and split sizes as fractions (``dev_fraction``, ``test_fraction``),
is deterministic, and returns `Splits` with **examples as rows**: x float32 ``[m, ...]``,
y int32 ``[m]``. The course writes examples as columns (``X`` is ``n_x × m``); use ``x.T``
for that layout.
"""

from dlcourse.data.builtin import load_breast_cancer, load_digits, load_iris, load_wine
from dlcourse.data.files import (
    MissingDataFileError,
    load_image_folder,
    load_mnist,
    read_idx,
    read_image_folder,
)
from dlcourse.data.generators import make_circles, make_flower, make_moons
from dlcourse.data.scaling import (
    MinMaxStatistics,
    StandardizationStatistics,
    apply_min_max_scaling,
    apply_standardization,
    min_max_scale,
    standardize,
)
from dlcourse.data.splits import Splits, split_dataset

from dlcourse.data.batching import Batches, num_steps, shuffled_batches
__all__ = [
    "Splits",
    "split_dataset",
    "load_digits",
    "load_breast_cancer",
    "load_iris",
    "load_wine",
    "make_flower",
    "make_moons",
    "make_circles",
    "standardize",
    "apply_standardization",
    "StandardizationStatistics",
    "min_max_scale",
    "apply_min_max_scaling",
    "MinMaxStatistics",
    "load_mnist",
    "read_idx",
    "read_image_folder",
    "load_image_folder",
    "MissingDataFileError",
    "Batches",
    "num_steps",
    "shuffled_batches",
]
