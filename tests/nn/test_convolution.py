"""Convolution from windows against lax, the course's worked examples, backward passes, costs.

References are independent of the code under test: ``jax.lax.conv_general_dilated`` /
``conv_transpose`` for the forward passes, ``jax.vjp`` of the forward pass for the hand-written
backward pass, NumPy loops or hand arithmetic for the notes' examples. Comparisons run eagerly
(one jit compile per program would cost more than the tiny arrays).
"""

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.nn import (
    HORIZONTAL_EDGE_FILTER,
    SCHARR_HORIZONTAL_EDGE_FILTER,
    SCHARR_VERTICAL_EDGE_FILTER,
    SOBEL_HORIZONTAL_EDGE_FILTER,
    SOBEL_VERTICAL_EDGE_FILTER,
    VERTICAL_EDGE_FILTER,
    bottleneck_multiplications,
    conv1d,
    conv2d,
    conv2d_backward,
    conv2d_transpose,
    conv3d,
    conv_multiplications,
    conv_output_size,
    conv_parameter_count,
    conv_transpose_output_size,
    depthwise_conv2d,
    depthwise_multiplications,
    depthwise_separable_conv2d,
    depthwise_separable_cost_ratio,
    depthwise_separable_multiplications,
    max_pool,
    padding_pair,
    pointwise_conv2d,
    pointwise_multiplications,
    same_padding,
    zero_pad,
)

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def _normal(seed, shape):
    """Standard normal float32 data from NumPy (jax.random would compile once per shape)."""
    return jnp.asarray(np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def _course_same(f):
    """The course's "same" padding, p = (f − 1)/2, the odd zero after for an even f."""
    return ((f - 1) // 2, f // 2)


def _lax_conv(x, w, stride, pads, spec=("NHWC", "HWIO", "NHWC"), **kwargs):
    k = x.ndim - 2
    return jax.lax.conv_general_dilated(x, w, (stride,) * k, pads, dimension_numbers=spec,
                                        precision=jax.lax.Precision.HIGHEST, **kwargs)


# --- conv2d against lax -------------------------------------------------------------------------

# (m, n_H, n_W, n_C, f_H, f_W, n_C′, stride, padding)
CONV2D_CASES = [
    (2, 7, 6, 3, 3, 3, 4, 1, "valid"),
    (1, 8, 7, 2, 3, 3, 5, 1, "same"),
    (2, 8, 8, 3, 4, 4, 2, 1, "same"),   # even f: one more zero after than before
    (1, 9, 7, 2, 3, 3, 3, 2, "same"),   # stride 2: the course's p = 1, not TF's smaller padding
    (2, 9, 10, 1, 5, 5, 2, 3, 2),
    (1, 6, 5, 4, 1, 1, 6, 2, 0),        # 1×1 convolution, stride 2
    (1, 7, 8, 2, 3, 2, 3, 2, 1),        # rectangular filter
    (1, 5, 5, 3, 5, 5, 2, 1, "valid"),  # f = n: one output pixel
]


@pytest.mark.parametrize("m, n_H, n_W, n_C, f_H, f_W, n_C_out, stride, padding", CONV2D_CASES)
def test_conv2d_equals_lax_conv_general_dilated(m, n_H, n_W, n_C, f_H, f_W, n_C_out, stride, padding):
    x, w, b = _normal(1, (m, n_H, n_W, n_C)), _normal(2, (f_H, f_W, n_C, n_C_out)), _normal(3, (n_C_out,))
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = (_course_same(f_H), _course_same(f_W))
    else:
        pads = ((padding, padding),) * 2
    expected = _lax_conv(x, w, stride, pads) + b
    got = conv2d(x, w, b, stride=stride, padding=padding)
    assert got.shape == (m, conv_output_size(n_H, f_H, padding, stride), conv_output_size(n_W, f_W, padding, stride),
                         n_C_out)
    np.testing.assert_allclose(got, expected, **TOLERANCE)
    if padding == "same":
        # the output size is TF's "SAME" ⌈n/s⌉; at stride 1 the padding is the same too
        reference_same = _lax_conv(x, w, stride, "SAME") + b
        assert got.shape == reference_same.shape
        if stride == 1:
            np.testing.assert_allclose(got, reference_same, **TOLERANCE)


def test_same_padding_at_stride_two_differs_from_tf_same_in_placement():
    x, w = _normal(4, (1, 6, 6, 1)), _normal(5, (3, 3, 1, 1))
    ours, tf_same = conv2d(x, w, stride=2, padding="same"), _lax_conv(x, w, 2, "SAME")
    assert ours.shape == tf_same.shape == (1, 3, 3, 1)
    np.testing.assert_allclose(tf_same, _lax_conv(x, w, 2, ((0, 1), (0, 1))), **TOLERANCE)  # TF pads 0 before
    assert not np.allclose(ours, tf_same)


def test_conv2d_jits_with_static_stride_and_padding_and_takes_the_course_bias_shape():
    x, w, b = _normal(6, (2, 6, 6, 3)), _normal(7, (3, 3, 3, 2)), _normal(8, (1, 1, 1, 2))
    jitted = jax.jit(conv2d, static_argnames=("stride", "padding"))
    np.testing.assert_allclose(jitted(x, w, b, stride=2, padding="same"), conv2d(x, w, b.reshape(2), 2, "same"),
                               **TOLERANCE)


def test_output_size_formula_and_zero_pad():
    assert conv_output_size(6, 3) == 4                      # the notes: 6×6 * 3×3 → 4×4
    assert conv_output_size(6, 3, "same") == 6
    assert conv_output_size(6, 4, "same") == 6              # even f
    assert conv_output_size(7, 3, 0, 2) == 3                # ⌊(7 − 3)/2⌋ + 1
    assert conv_output_size(7, 3, 1, 2) == 4                # ⌊(7 + 2 − 3)/2⌋ + 1
    assert conv_output_size(8, 3, "same", 3) == 3           # ⌈8/3⌉
    assert (same_padding(3), same_padding(5), same_padding(4)) == ((1, 1), (2, 2), (1, 2))
    assert (padding_pair("VALID", 3), padding_pair(2, 3)) == ((0, 0), (2, 2))
    # the notes' "Neural network example": 32 → CONV f=5 → 28 → POOL f=2,s=2 → 14 → CONV → 10 → POOL → 5
    assert [conv_output_size(32, 5), conv_output_size(28, 2, 0, 2), conv_output_size(14, 5),
            conv_output_size(10, 2, 0, 2)] == [28, 14, 10, 5]
    x = _normal(9, (2, 3, 4, 2))
    padded = zero_pad(x, 2)
    assert padded.shape == (2, 7, 8, 2)
    np.testing.assert_array_equal(padded[:, 2:5, 2:6, :], x)
    assert float(jnp.abs(padded).sum()) == pytest.approx(float(jnp.abs(x).sum()), rel=1e-6)
    assert zero_pad(x, (0, 1)).shape == (2, 4, 5, 2)


def test_bad_arguments_raise_value_errors_naming_the_value():
    x, w = jnp.ones((1, 4, 4, 2)), jnp.ones((3, 3, 2, 1))
    with pytest.raises(ValueError, match="f=5"):
        conv_output_size(3, 5)
    with pytest.raises(ValueError, match="'full'"):
        conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="-1"):
        conv2d(x, w, padding=-1)
    with pytest.raises(ValueError, match="stride must be a positive int; got 0"):
        conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="3 input channels"):
        conv2d(x, jnp.ones((3, 3, 3, 1)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        conv2d(x, w, jnp.ones(3))
    with pytest.raises(ValueError, match=r"got shape \(4, 4, 2\)"):
        conv2d(x[0], w)
    with pytest.raises(ValueError, match="exceeds"):
        conv2d(x, jnp.ones((5, 5, 2, 1)))


# --- the course's worked examples and named filters ---------------------------------------------

def _conv_one_channel(image, kernel):
    image, kernel = np.asarray(image, np.float32), np.asarray(kernel, np.float32)
    return np.asarray(conv2d(image[None, :, :, None], kernel[:, :, None, None])[0, :, :, 0])


def test_the_notes_vertical_edge_example_exactly():
    image = [[3, 0, 1, 2, 7, 4], [1, 5, 8, 9, 3, 1], [2, 7, 2, 5, 1, 3],
             [0, 1, 3, 1, 7, 8], [4, 2, 1, 6, 2, 8], [2, 4, 5, 2, 3, 9]]
    np.testing.assert_array_equal(_conv_one_channel(image, VERTICAL_EDGE_FILTER),
                                  [[-5, -4, 0, 8], [-10, -2, 2, 3], [0, -2, -4, -7], [-3, -2, -3, -16]])
    bright_dark = np.repeat([[10, 10, 10, 0, 0, 0]], 6, axis=0)
    np.testing.assert_array_equal(_conv_one_channel(bright_dark, VERTICAL_EDGE_FILTER),
                                  np.repeat([[0, 30, 30, 0]], 4, axis=0))
    np.testing.assert_array_equal(_conv_one_channel(bright_dark[:, ::-1], VERTICAL_EDGE_FILTER),
                                  np.repeat([[0, -30, -30, 0]], 4, axis=0))


@pytest.mark.parametrize("vertical, horizontal", [(VERTICAL_EDGE_FILTER, HORIZONTAL_EDGE_FILTER),
                                                  (SOBEL_VERTICAL_EDGE_FILTER, SOBEL_HORIZONTAL_EDGE_FILTER),
                                                  (SCHARR_VERTICAL_EDGE_FILTER, SCHARR_HORIZONTAL_EDGE_FILTER)])
def test_edge_filter_orientation(vertical, horizontal):
    bright_left = np.repeat([[10, 10, 10, 0, 0, 0]], 6, axis=0)
    bright_top = bright_left.T
    column_sum = vertical[:, 0].sum()
    np.testing.assert_array_equal(_conv_one_channel(bright_left, vertical)[:, 1], 10 * column_sum)  # positive
    np.testing.assert_array_equal(_conv_one_channel(bright_left, horizontal), 0)
    np.testing.assert_array_equal(_conv_one_channel(bright_top, horizontal)[1], 10 * column_sum)
    np.testing.assert_array_equal(_conv_one_channel(bright_top, vertical), 0)
    np.testing.assert_array_equal(horizontal, vertical.T)
    assert vertical.shape == (3, 3) and not vertical.flags.writeable
    assert [SOBEL_VERTICAL_EDGE_FILTER[:, 0].tolist(), SCHARR_VERTICAL_EDGE_FILTER[:, 0].tolist()] == [[1, 2, 1],
                                                                                                     [3, 10, 3]]


# --- backward pass ------------------------------------------------------------------------------

@pytest.mark.parametrize("n_H, n_W, f, stride, padding", [(6, 5, 3, 1, "valid"),
                                                          (7, 8, 3, 2, "same"),   # 2 ∤ n + 2p − f: unused row
                                                          (8, 7, 2, 3, 1)])
def test_conv2d_backward_equals_vjp(n_H, n_W, f, stride, padding):
    x, w, b = _normal(10, (2, n_H, n_W, 3)), _normal(11, (f, f, 3, 4)), _normal(12, (4,))
    z, vjp = jax.vjp(lambda x, w, b: conv2d(x, w, b, stride, padding), x, w, b)
    dz = _normal(13, z.shape)
    for got, expected in zip(conv2d_backward(dz, x, w, stride, padding), vjp(dz)):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **TOLERANCE)
    with pytest.raises(ValueError, match="dz must have the output's shape"):
        conv2d_backward(dz[:, :-1], x, w, stride, padding)


# --- 1-D, 3-D, depthwise, pointwise, separable --------------------------------------------------

def test_conv1d_and_conv3d_equal_lax():
    x1, w1, b1 = _normal(20, (2, 11, 3)), _normal(21, (4, 3, 5)), _normal(22, (5,))
    np.testing.assert_allclose(conv1d(x1, w1, b1, stride=2, padding="same"),
                               _lax_conv(x1, w1, 2, (_course_same(4),), ("NWC", "WIO", "NWC")) + b1, **TOLERANCE)
    np.testing.assert_allclose(conv1d(x1, w1), _lax_conv(x1, w1, 1, "VALID", ("NWC", "WIO", "NWC")), **TOLERANCE)
    x3, w3, b3 = _normal(23, (1, 5, 6, 4, 2)), _normal(24, (3, 3, 3, 2, 3)), _normal(25, (3,))
    got = conv3d(x3, w3, b3, stride=1, padding="same")
    assert got.shape == (1, 5, 6, 4, 3)
    np.testing.assert_allclose(got, _lax_conv(x3, w3, 1, "SAME", ("NDHWC", "DHWIO", "NDHWC")) + b3, **TOLERANCE)
    np.testing.assert_allclose(conv3d(x3, w3, stride=2, padding=1),
                               _lax_conv(x3, w3, 2, ((1, 1),) * 3, ("NDHWC", "DHWIO", "NDHWC")), **TOLERANCE)


def test_depthwise_pointwise_and_separable_equal_lax():
    x = _normal(30, (2, 7, 6, 3))
    dw, db = _normal(31, (3, 3, 3)), _normal(32, (3,))
    pw, pb = _normal(33, (3, 5)), _normal(34, (5,))
    depthwise = depthwise_conv2d(x, dw, db, stride=2, padding="same")
    expected_depthwise = _lax_conv(x, dw[:, :, None, :], 2, (_course_same(3),) * 2, feature_group_count=3) + db
    np.testing.assert_allclose(depthwise, expected_depthwise, **TOLERANCE)
    # each channel alone is the one-channel conv2d with its own filter
    for c in range(3):
        np.testing.assert_allclose(depthwise[..., c:c + 1] - db[c],
                                   conv2d(x[..., c:c + 1], dw[:, :, c, None, None], stride=2, padding="same"),
                                   **TOLERANCE)
    pointwise = pointwise_conv2d(x, pw, pb)
    np.testing.assert_allclose(pointwise, _lax_conv(x, pw[None, None], 1, "VALID") + pb, **TOLERANCE)
    np.testing.assert_allclose(pointwise_conv2d(x, pw[None, None], pb), conv2d(x, pw[None, None], pb), **TOLERANCE)
    separable = depthwise_separable_conv2d(x, dw, pw, db, pb, stride=2, padding="same")
    assert separable.shape == (2, 4, 3, 5)
    np.testing.assert_allclose(separable, _lax_conv(expected_depthwise, pw[None, None], 1, "VALID") + pb,
                               **TOLERANCE)
    with pytest.raises(ValueError, match=r"\(f, f, n_C=3\)"):
        depthwise_conv2d(x, _normal(35, (3, 3, 2)))


# --- transposed convolution ---------------------------------------------------------------------

def test_transpose_convolution_on_the_notes_shapes():
    """The lecture's picture: 2×2 input, 3×3 filter, p = 1, s = 2 → 4×4 (output_padding = 1, see the module)."""
    x = jnp.array([[2.0, 1.0], [3.0, 2.0]]).reshape(1, 2, 2, 1)
    w = jnp.array([[1.0, 2.0, 1.0], [2.0, 0.0, 1.0], [0.0, 2.0, 1.0]]).reshape(3, 3, 1, 1)
    assert conv_transpose_output_size(2, 3, padding=1, stride=2, output_padding=1) == 4
    y = conv2d_transpose(x, w, stride=2, padding=1, output_padding=1)[0, :, :, 0]
    # By hand: each input pixel scales the filter, placed 2 apart on a 5×5 grid; cut the first row/column.
    # The centre (row 1, column 1 of y) is where all four copies overlap: 2·1 + 1·0 + 3·1 + 2·1 = 7.
    np.testing.assert_array_equal(y, [[0, 4, 0, 1], [10, 7, 6, 3], [0, 7, 0, 2], [6, 3, 4, 2]])
    # a NumPy scatter-add loop agrees
    full = np.zeros((6, 6))
    for i in range(2):
        for j in range(2):
            full[2 * i:2 * i + 3, 2 * j:2 * j + 3] += float(x[0, i, j, 0]) * np.asarray(w[:, :, 0, 0])
    np.testing.assert_array_equal(y, full[1:5, 1:5])


def test_transpose_convolution_overlapping_contributions_add():
    y = conv2d_transpose(jnp.ones((1, 2, 2, 1)), jnp.ones((3, 3, 1, 1)), stride=2)[0, :, :, 0]
    edge = np.array([1, 1, 2, 1, 1])
    np.testing.assert_array_equal(y, np.outer(edge, edge))  # 2 where two copies overlap, 4 where all four do


@pytest.mark.parametrize("n, f, stride, padding, output_padding", [(3, 3, 2, 1, 1), (4, 4, 2, 1, 0), (3, 2, 3, 0, 2),
                                                                   (5, 3, 1, 1, 0)])
def test_transpose_convolution_equals_lax_and_the_gradient_of_conv2d(n, f, stride, padding, output_padding):
    x, w, b = _normal(40, (2, n, n + 1, 3)), _normal(41, (f, f, 3, 2)), _normal(42, (2,))
    got = conv2d_transpose(x, w, b, stride, padding, output_padding)
    pads = ((f - 1 - padding, f - 1 - padding + output_padding),) * 2
    spec = ("NHWC", "HWIO", "NHWC")
    highest = jax.lax.Precision.HIGHEST
    by_transpose = jax.lax.conv_transpose(x, jnp.swapaxes(w, 2, 3), (stride,) * 2, pads, dimension_numbers=spec,
                                          transpose_kernel=True, precision=highest)
    np.testing.assert_allclose(got, by_transpose + b, **TOLERANCE)
    by_dilation = jax.lax.conv_general_dilated(x, w[::-1, ::-1], (1, 1), pads, lhs_dilation=(stride,) * 2,
                                               dimension_numbers=spec, precision=highest)
    np.testing.assert_allclose(got, by_dilation + b, **TOLERANCE)
    # the gradient of conv2d with respect to its input: conv2d maps n_out → n back with the swapped filter
    n_out_H, n_out_W = got.shape[1:3]
    v = jnp.swapaxes(w, 2, 3)
    probe = _normal(43, (2, n_out_H, n_out_W, 2))
    z, vjp = jax.vjp(lambda a: conv2d(a, v, stride=stride, padding=padding), probe)
    assert z.shape == x.shape
    np.testing.assert_allclose(got - b, vjp(x)[0], **TOLERANCE)


def test_transpose_convolution_rejects_bad_padding():
    with pytest.raises(ValueError, match="output_padding must be an int in \\[0, stride=2\\); got 2"):
        conv_transpose_output_size(2, 3, 1, 2, 2)
    with pytest.raises(ValueError, match="padding=3"):
        conv2d_transpose(jnp.ones((1, 2, 2, 1)), jnp.ones((3, 3, 1, 1)), stride=1, padding=3)
    with pytest.raises(ValueError, match="'same'"):
        conv_transpose_output_size(2, 3, "same")


# --- cost counters ------------------------------------------------------------------------------

def test_the_notes_cost_summary():
    # 6×6×3 input, 3×3 filters, 5 filters → 4×4×5
    n = conv_output_size(6, 3)
    normal = conv_multiplications(n, n, 3, 3, 5)
    depthwise, pointwise = depthwise_multiplications(n, n, 3, 3), pointwise_multiplications(n, n, 3, 5)
    assert (normal, depthwise, pointwise) == (2160, 432, 240)
    assert depthwise_separable_multiplications(n, n, 3, 3, 5) == 672
    ratio = depthwise_separable_cost_ratio(3, 5)
    assert ratio == Fraction(672, 2160) == Fraction(1, 5) + Fraction(1, 9)
    assert round(float(ratio), 2) == 0.31
    # the ratio formula holds for any sizes
    for size, f, n_C, n_C_out in [(7, 5, 4, 9), (28, 3, 32, 512)]:
        assert Fraction(depthwise_separable_multiplications(size, size, f, n_C, n_C_out),
                        conv_multiplications(size, size, f, n_C, n_C_out)) == depthwise_separable_cost_ratio(f, n_C_out)
    assert 8 < 1 / float(depthwise_separable_cost_ratio(3, 512)) < 10  # "~10 times cheaper"


def test_the_notes_inception_bottleneck_and_parameter_counts():
    direct = conv_multiplications(28, 28, 5, 192, 32)
    assert direct == 120_422_400 and round(direct / 1e6) == 120
    assert pointwise_multiplications(28, 28, 192, 16) == 2_408_448
    assert conv_multiplications(28, 28, 5, 16, 32) == 10_035_200
    through_bottleneck = bottleneck_multiplications(28, 28, 5, 192, 16, 32)
    assert through_bottleneck == 12_443_648 and round(through_bottleneck / 1e6, 1) == 12.4
    # the notes' "Neural network example": CONV1 (5×5, 3 → 6) 456 parameters, CONV2 (5×5, 6 → 16) 2,416
    assert (conv_parameter_count(5, 3, 6), conv_parameter_count(5, 6, 16)) == (456, 2416)
    with pytest.raises(ValueError, match="n_C_out must be a positive int; got 0"):
        conv_multiplications(4, 4, 3, 3, 0)
    with pytest.raises(ValueError, match="f must be a positive int; got 2.5"):
        conv_parameter_count(2.5, 3, 6)


def test_pooling_shapes_of_the_notes_network_example():
    # activation sizes of the notes' table: 4,704 → 1,176 → 1,600 → 400
    a1 = conv2d(jnp.zeros((1, 32, 32, 3)), jnp.zeros((5, 5, 3, 6)))
    p1 = max_pool(a1, 2, 2)
    a2 = conv2d(p1, jnp.zeros((5, 5, 6, 16)))
    p2 = max_pool(a2, 2, 2)
    assert [a.size for a in (a1, p1, a2, p2)] == [4704, 1176, 1600, 400]
