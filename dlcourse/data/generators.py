"""Generated 2-D binary data sets: the planar flower, moons and circles.

Each generator draws ``m`` points with ``seed``, splits them with the same seed (stratified, see
`dlcourse.data.split_dataset`) and returns `Splits` with x float32 ``[m_split, 2]`` (rows are
points ``(x₁, x₂)``; the course's ``X`` is ``2 × m``), y int32 ``[m_split]`` in {0, 1} and
``num_classes = 2``.
"""

from __future__ import annotations

import numpy as np
import sklearn.datasets

from dlcourse.data.splits import Splits, split_dataset


def _check_size(m: int, noise: float) -> None:
    if not isinstance(m, (int, np.integer)) or m < 2:
        raise ValueError(f"m must be an int ≥ 2, got {m!r}")
    if not noise >= 0.0:
        raise ValueError(f"noise must be ≥ 0, got {noise!r}")


def make_flower(
    seed: int = 0,
    m: int = 400,
    *,
    radius: float = 4.0,
    noise: float = 0.2,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """The planar "flower": petals of two colours, not linearly separable.

    Class ``j ∈ {0, 1}`` has ``m/2`` points (class 0 takes the odd one out) on the rose
    ``r = a·sin(4θ)``, ``θ`` evenly spaced over ``[jπ, (j + 1)π]``, point ``(r sin θ, r cos θ)``.
    Both ``θ`` and ``r`` get Gaussian noise of standard deviation ``noise``; ``a = radius``.
    A negative ``r`` puts the point on the opposite petal, so the colours alternate petal by
    petal. The course draws 400 points with ``a = 4`` and noise 0.2.
    """
    _check_size(m, noise)
    if not radius > 0.0:
        raise ValueError(f"radius must be > 0, got {radius!r}")
    rng = np.random.default_rng(seed)
    sizes = ((m + 1) // 2, m // 2)
    points, labels = [], []
    for label, size in enumerate(sizes):
        theta = np.linspace(label * np.pi, (label + 1) * np.pi, size)
        theta = theta + noise * rng.standard_normal(size)
        r = radius * np.sin(4.0 * theta) + noise * rng.standard_normal(size)
        points.append(np.stack([r * np.sin(theta), r * np.cos(theta)], axis=1))
        labels.append(np.full(size, label))
    return split_dataset(np.concatenate(points), np.concatenate(labels), seed=seed,
                         dev_fraction=dev_fraction, test_fraction=test_fraction, num_classes=2)


def make_moons(
    seed: int = 0,
    m: int = 400,
    *,
    noise: float = 0.2,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Two interleaving half circles (scikit-learn's ``make_moons``), Gaussian noise ``noise``.

    Class 0 is the upper moon (centre (0, 0)), class 1 the lower one (centre (1, 0.5)),
    each of radius 1 before noise.
    """
    _check_size(m, noise)
    x, y = sklearn.datasets.make_moons(n_samples=m, noise=noise, random_state=seed)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=2)


def make_circles(
    seed: int = 0,
    m: int = 400,
    *,
    noise: float = 0.05,
    factor: float = 0.5,
    dev_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Splits:
    """Two concentric circles (scikit-learn's ``make_circles``), Gaussian noise ``noise``.

    Class 0 is the outer circle (radius 1), class 1 the inner one (radius ``factor`` < 1).
    """
    _check_size(m, noise)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    x, y = sklearn.datasets.make_circles(n_samples=m, noise=noise, factor=factor,
                                         random_state=seed)
    return split_dataset(x, y, seed=seed, dev_fraction=dev_fraction,
                         test_fraction=test_fraction, num_classes=2)
