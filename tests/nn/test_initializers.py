import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.nn import fans, get_initializer

SHAPE = (400, 300)  # 120k draws: the sample variance is within ~1% of the truth


@pytest.mark.parametrize(
    "name, expected_variance",
    [
        ("random", 0.5**2),
        ("xavier", 1.0 / 400),
        ("glorot", 2.0 / (400 + 300)),
        ("he", 2.0 / 400),
    ],
)
def test_empirical_variance(name, expected_variance):
    w = np.asarray(get_initializer(name, scale=0.5)(jax.random.key(0), SHAPE))
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 0.02 * np.sqrt(expected_variance)
    assert w.var() == pytest.approx(expected_variance, rel=0.03)


def test_random_uses_scale():
    key = jax.random.key(1)
    small = get_initializer("random", 0.01)(key, (3, 4))
    large = get_initializer("random", 10.0)(key, (3, 4))
    np.testing.assert_allclose(large, 1000.0 * small, rtol=1e-5)


def test_zeros():
    w = get_initializer("zeros")(jax.random.key(0), (5, 2), jnp.float32)
    np.testing.assert_array_equal(w, np.zeros((5, 2)))


def test_conv_kernel_fan_in_counts_receptive_field():
    assert fans((3, 3, 8, 16)) == (72, 16)
    w = np.asarray(get_initializer("he")(jax.random.key(2), (5, 5, 16, 200)))
    assert w.var() == pytest.approx(2.0 / (5 * 5 * 16), rel=0.03)


def test_unknown_name_and_bad_shape():
    with pytest.raises(ValueError, match="lecun"):
        get_initializer("lecun")
    with pytest.raises(ValueError, match=r"\(7,\)"):
        get_initializer("he")(jax.random.key(0), (7,))
