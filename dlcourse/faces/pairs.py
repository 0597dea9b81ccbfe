"""Pairs of images for verification: as many "same" pairs as "different" ones, drawn with a seed.

A "same" pair is two different images of one identity: an image drawn uniformly among the images
of identities that have at least two, then a second uniformly among the *other* images of its
identity. A "different" pair is an image drawn uniformly, then one drawn uniformly among the
images of every other identity. Pairs are drawn independently (one pair may occur twice), then
shuffled together; the same labels and seed give the same pairs (NumPy, on the host).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Pairs(NamedTuple):
    """Indices of the pairs' images and whether they are the same identity.

    Attributes:
      first, second: int32 ``[n]`` rows of the images the pairs were drawn from.
      same: int32 ``[n]``; 1 for the same identity, 0 for different ones.
    """

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray


def sample_pairs(labels, pairs_per_kind: int, seed: int = 0) -> Pairs:
    """``2 · pairs_per_kind`` pairs of rows of ``labels`` (identities ``[m]``), half "same" and
    half "different" (see the module docstring).

    Raises:
      ValueError: ``pairs_per_kind < 1``, no identity with two images (no "same" pair), or a
        single identity (no "different" pair).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be identities [m]; got shape {labels.shape}")
    if not isinstance(pairs_per_kind, (int, np.integer)) or isinstance(pairs_per_kind, bool) or pairs_per_kind < 1:
        raise ValueError(f"pairs_per_kind must be a positive int, got {pairs_per_kind!r}")
    identities, counts = np.unique(labels, return_counts=True)
    if not np.any(counts >= 2):
        raise ValueError(f"no identity among {len(identities)} has two images; a 'same' pair needs two")
    if len(identities) < 2:
        raise ValueError(f"only one identity ({identities[0]!r}); a 'different' pair needs two")
    rng = np.random.default_rng(seed)
    rows_of = {identity: np.flatnonzero(labels == identity) for identity in identities}

    with_partner = np.flatnonzero(np.isin(labels, identities[counts >= 2]))
    same_first = rng.choice(with_partner, pairs_per_kind)
    same_second = np.empty_like(same_first)
    for k, row in enumerate(same_first):
        candidates = rows_of[labels[row]]
        candidates = candidates[candidates != row]
        same_second[k] = candidates[rng.integers(len(candidates))]

    different_first = rng.integers(len(labels), size=pairs_per_kind)
    different_second = np.empty_like(different_first)
    for k, row in enumerate(different_first):
        candidates = np.flatnonzero(labels != labels[row])
        different_second[k] = candidates[rng.integers(len(candidates))]

    first = np.concatenate([same_first, different_first])
    second = np.concatenate([same_second, different_second])
    same = np.concatenate([np.ones(pairs_per_kind), np.zeros(pairs_per_kind)])
    order = rng.permutation(2 * pairs_per_kind)
    return Pairs(first[order].astype(np.int32), second[order].astype(np.int32), same[order].astype(np.int32))
