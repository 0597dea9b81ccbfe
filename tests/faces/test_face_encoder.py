"""The face encoder: unit-length codes of the configured size; the faces package's lazy names."""

import importlib
import pkgutil

import jax
import numpy as np
import pytest

from dlcourse import faces, models


def numpy_variables(module, *inputs, seed=0):
    """Variables of ``module`` drawn with NumPy (N(0, 0.3²)) in the shapes its ``init`` gives."""
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(module.init, jax.random.key(0), *inputs)
    return jax.tree.map(lambda s: (0.3 * rng.normal(size=s.shape)).astype(np.float32), shapes)


def test_codes_are_unit_vectors_of_the_configured_size():
    encoder = models.FaceEncoder(embedding_size=10, features=(4, 8, 8))
    images = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    variables = numpy_variables(encoder, images)
    codes = np.asarray(jax.jit(encoder.apply)(variables, images))
    assert codes.shape == (3, 10)
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, rtol=1e-5)
    assert sorted(variables["params"]) == ["conv1", "conv2", "conv3", "embedding"]
    # 8 → 4 → 2 → 1 pixels: three pools, so the dense layer sees 1·1·8 features
    assert variables["params"]["embedding"]["kernel"].shape == (8, 10)


def test_default_code_has_the_course_128_entries_and_bad_input_is_named():
    shapes = jax.eval_shape(lambda x: models.FaceEncoder().init_with_output(jax.random.key(0), x)[0],
                            jax.ShapeDtypeStruct((2, 16, 16, 3), np.float32))
    assert shapes.shape == (2, 128)
    with pytest.raises(ValueError, match="needs images"):
        models.FaceEncoder().init(jax.random.key(0), np.zeros((2, 16, 16)))


def test_faces_names_resolve_and_none_is_hidden_by_a_submodule():
    submodules = {info.name for info in pkgutil.iter_modules(faces.__path__)}
    for name in faces.__all__:
        assert getattr(faces, name) is not importlib.import_module(f"dlcourse.faces.{name}") if name in submodules \
            else getattr(faces, name) is not None
    assert not set(faces.__all__) & submodules
