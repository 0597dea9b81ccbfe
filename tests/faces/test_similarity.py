"""The binary similarity function: the logistic unit on |f_i − f_j| (or χ²), the siamese network."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import faces, models
from tests.faces.test_face_encoder import numpy_variables


@pytest.mark.parametrize("features", faces.SIMILARITY_FEATURES)
def test_head_is_a_logistic_unit_on_the_pair_features(features):
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(2, 3, 5)).astype(np.float32)
    head = faces.SimilarityHead(features)
    params = numpy_variables(head, first, second)
    logits = np.asarray(jax.jit(head.apply)(params, first, second))
    w = np.asarray(params["params"]["logistic"]["kernel"])[:, 0]
    b = float(params["params"]["logistic"]["bias"][0])
    if features == "absolute":
        phi = np.abs(first - second)
    else:
        phi = (first - second) ** 2 / (np.abs(first) + np.abs(second) + 1e-6)
    np.testing.assert_allclose(logits, phi @ w + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, np.asarray(jax.jit(head.apply)(params, second, first)), rtol=1e-6)


def test_chi_square_equals_the_course_form_on_non_negative_codes():
    first, second = jnp.asarray([[0.2, 0.5, 0.0]]), jnp.asarray([[0.6, 0.5, 0.3]])
    expected = np.array([[0.16 / 0.8, 0.0, 0.09 / 0.3]])
    np.testing.assert_allclose(faces.similarity_features(first, second, "chi_square"), expected, rtol=1e-4)
    with pytest.raises(ValueError, match="features must be one of"):
        faces.similarity_features(first, second, "cosine")


def test_siamese_network_shares_one_encoder_and_is_symmetric():
    network = faces.SiameseNetwork(models.FaceEncoder(embedding_size=6, features=(4,)))
    rng = np.random.default_rng(1)
    first, second = rng.random(size=(2, 3, 8, 8, 1)).astype(np.float32)
    params = numpy_variables(network, (first, second))["params"]
    assert sorted(params) == ["encoder", "head"]
    apply = jax.jit(network.apply)
    logits = apply({"params": params}, (first, second))
    np.testing.assert_allclose(logits, apply({"params": params}, (second, first)), rtol=1e-6)
    encoder = models.FaceEncoder(embedding_size=6, features=(4,))
    codes = [encoder.apply({"params": params["encoder"]}, x) for x in (first, second)]
    head = faces.SimilarityHead()
    np.testing.assert_allclose(logits, head.apply({"params": params["head"]}, *codes), rtol=1e-5, atol=1e-6)
