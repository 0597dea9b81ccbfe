"""Counting a convolution's multiplications and parameters (pure Python ints), as the course does.

Each output value of an f×f convolution over n_C input channels is ``f·f·n_C`` multiplications, so
a layer with output ``n_H_out × n_W_out × n_C′`` costs ``n_H_out·n_W_out·n_C′ · f²·n_C``.

The notes' examples:

- "Cost Summary" (MobileNet): 6×6×3 input, 3×3 filters, 5 of them (output 4×4×5): normal
  convolution 2,160; depthwise 432 + pointwise 240 = 672; 672/2160 = 0.31 = 1/n_C′ + 1/f² = 1/5 + 1/9.
- "The problem of computational cost" / "Using 1x1 convolution" (inception): 28×28×192 → 28×28×32
  with 5×5 "same" filters is 120,422,400 ≈ 120 M; through a 1×1 bottleneck of 16 channels it is
  2,408,448 + 10,035,200 = 12,443,648 ≈ 12.4 M.
- "Neural network example" (LeNet-5-like): CONV1 (f = 5, 3 → 6 channels) has 456 parameters,
  CONV2 (f = 5, 6 → 16) 2,416.
"""

from __future__ import annotations

from fractions import Fraction

from dlcourse.nn.convolution import _check_positive_int


def conv_multiplications(n_H_out: int, n_W_out: int, f: int, n_C_in: int, n_C_out: int) -> int:
    """Multiplications of a normal f×f convolution: ``n_H_out · n_W_out · n_C′ · (f · f · n_C)``."""
    for name, value in (("n_H_out", n_H_out), ("n_W_out", n_W_out), ("f", f), ("n_C_in", n_C_in),
                        ("n_C_out", n_C_out)):
        _check_positive_int(name, value)
    return n_H_out * n_W_out * n_C_out * f * f * n_C_in


def depthwise_multiplications(n_H_out: int, n_W_out: int, f: int, n_C_in: int) -> int:
    """Multiplications of the depthwise step (one f×f filter per channel): ``n_H_out · n_W_out · n_C · f²``."""
    return conv_multiplications(n_H_out, n_W_out, f, 1, n_C_in)


def pointwise_multiplications(n_H_out: int, n_W_out: int, n_C_in: int, n_C_out: int) -> int:
    """Multiplications of a 1×1 (pointwise) convolution: ``n_H_out · n_W_out · n_C′ · n_C``."""
    return conv_multiplications(n_H_out, n_W_out, 1, n_C_in, n_C_out)


def depthwise_separable_multiplications(n_H_out: int, n_W_out: int, f: int, n_C_in: int, n_C_out: int) -> int:
    """Depthwise plus pointwise: ``n_H_out · n_W_out · n_C · (f² + n_C′)`` (the notes' 432 + 240 = 672)."""
    return (depthwise_multiplications(n_H_out, n_W_out, f, n_C_in)
            + pointwise_multiplications(n_H_out, n_W_out, n_C_in, n_C_out))


def depthwise_separable_cost_ratio(f: int, n_C_out: int) -> Fraction:
    """Depthwise-separable cost over normal cost, exactly: ``1/n_C′ + 1/f²`` (independent of n_H, n_W, n_C).

    The notes' example: f = 3, n_C′ = 5 gives 14/45 ≈ 0.31 (672/2160). Their next line,
    "1/512 + 1/(3² × 8)", is garbled; the standard form with the typical n_C′ = 512, f = 3 is
    1/512 + 1/9 ≈ 0.113, i.e. roughly 10 times cheaper.
    """
    _check_positive_int("f", f)
    _check_positive_int("n_C_out", n_C_out)
    return Fraction(1, n_C_out) + Fraction(1, f * f)


def bottleneck_multiplications(n_H_out: int, n_W_out: int, f: int, n_C_in: int, n_C_bottleneck: int,
                               n_C_out: int) -> int:
    """A 1×1 convolution down to ``n_C_bottleneck`` channels, then the f×f convolution to ``n_C′``.

    ``n_H_out · n_W_out · (n_C_bottleneck · n_C + n_C′ · f² · n_C_bottleneck)``, both at the output's
    height and width ("same" padding). The notes' inception example, 28×28×192 → 16 → 28×28×32 with
    f = 5: 2,408,448 + 10,035,200 = 12,443,648 (≈ 12.4 M, vs 120,422,400 without the bottleneck).
    """
    return (pointwise_multiplications(n_H_out, n_W_out, n_C_in, n_C_bottleneck)
            + conv_multiplications(n_H_out, n_W_out, f, n_C_bottleneck, n_C_out))


def conv_parameter_count(f: int, n_C_in: int, n_C_out: int) -> int:
    """Learned parameters of an f×f convolution layer: ``(f · f · n_C + 1) · n_C′`` (weights plus one bias per filter).

    Independent of the input's height and width — the course's "parameter sharing".
    """
    for name, value in (("f", f), ("n_C_in", n_C_in), ("n_C_out", n_C_out)):
        _check_positive_int(name, value)
    return (f * f * n_C_in + 1) * n_C_out
