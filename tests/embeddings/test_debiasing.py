"""Debiasing on constructed vectors where the answer is known exactly."""

import numpy as np
import pytest

from dlcourse import embeddings

# gender axis = the first coordinate; man and woman are unit vectors
MAN = np.array([-0.6, 0.48, 0.64], np.float32)
WOMAN = np.array([0.8, 0.36, 0.48], np.float32)
RECEPTIONIST = np.array([0.3, 0.9, -0.1], np.float32)


def random_rotation(seed, n):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    return q.astype(np.float32)


def test_bias_direction_is_the_average_difference_or_the_principal_axis():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(5, 4))
    offsets = np.array([1.0, 0.8, 1.2, 0.9, 1.1])[:, None] * np.array([0.0, 0.6, 0.0, 0.8])
    first, second = shared + offsets, shared - offsets
    np.testing.assert_allclose(embeddings.bias_direction(first, second), 2 * offsets.mean(axis=0), rtol=1e-5)
    noisy_first = first + 0.01 * rng.normal(size=first.shape)
    pca = np.asarray(embeddings.bias_direction(noisy_first, second, method="pca"))
    np.testing.assert_allclose(np.linalg.norm(pca), 1.0, rtol=1e-5)
    np.testing.assert_allclose(pca, [0.0, 0.6, 0.0, 0.8], atol=0.02)          # signed like woman − man
    flipped = np.asarray(embeddings.bias_direction(second, noisy_first, method="pca"))
    np.testing.assert_allclose(flipped, -pca, atol=1e-5)
    with pytest.raises(ValueError, match="method must be one of"):
        embeddings.bias_direction(first, second, method="median")


def test_neutralize_projects_receptionist_to_zero_on_the_gender_axis():
    g = WOMAN - MAN                                                           # [1.4, −0.12, −0.16]
    axis = np.array([1.0, 0.0, 0.0], np.float32)
    np.testing.assert_allclose(embeddings.neutralize(RECEPTIONIST, 3 * axis), [0.0, 0.9, -0.1], atol=1e-7)
    neutral = np.asarray(embeddings.neutralize(RECEPTIONIST, g))
    np.testing.assert_allclose(neutral @ g, 0.0, atol=1e-6)
    np.testing.assert_allclose(neutral, RECEPTIONIST - (RECEPTIONIST @ g) / (g @ g) * g, rtol=1e-5)
    batch = np.stack([RECEPTIONIST, MAN])
    np.testing.assert_allclose(embeddings.neutralize(batch, g)[0], neutral, rtol=1e-6)


def test_equalize_man_and_woman_exactly():
    axis = np.array([1.0, 0.0, 0.0], np.float32)
    man, woman = (np.asarray(v) for v in embeddings.equalize(MAN, WOMAN, axis))
    # μ⊥ = (0, 0.42, 0.56), ‖μ⊥‖² = 0.49, so the axis parts are ∓√0.51
    np.testing.assert_allclose(man, [-np.sqrt(0.51), 0.42, 0.56], rtol=1e-6)
    np.testing.assert_allclose(woman, [np.sqrt(0.51), 0.42, 0.56], rtol=1e-6)


def test_equalized_pair_is_symmetric_and_equidistant_from_a_neutral_word_in_any_basis():
    rotation = random_rotation(1, 3)
    man, woman, receptionist = MAN @ rotation, WOMAN @ rotation, RECEPTIONIST @ rotation
    g = np.array([2.0, 0.0, 0.0], np.float32) @ rotation
    new_man, new_woman = (np.asarray(v) for v in embeddings.equalize(man, woman, g))
    neutral = np.asarray(embeddings.neutralize(receptionist, g))
    np.testing.assert_allclose(np.linalg.norm(neutral - new_man), np.linalg.norm(neutral - new_woman), rtol=1e-5)
    np.testing.assert_allclose(new_man @ g, -(new_woman @ g), rtol=1e-5)
    np.testing.assert_allclose(new_man - new_man @ g / (g @ g) * g, new_woman - new_woman @ g / (g @ g) * g,
                               atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm([new_man, new_woman], axis=1), [1.0, 1.0], rtol=1e-5)
    before = abs(np.linalg.norm(neutral - man) - np.linalg.norm(neutral - woman))
    assert before > 0.05                                                      # it was not equidistant before
