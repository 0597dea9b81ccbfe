"""Bias and variance measured against human-level error, the proxy for Bayes error.

The gaps, in the course's order from left to right of the error ladder:

    human-level ──avoidable bias── train ──variance── train-dev ──data mismatch── dev
        ──overfitting to dev── test

Errors are fractions in [0, 1] (8% is 0.08). Without a training-dev set, variance is dev − train.
"""
from __future__ import annotations

import dataclasses
import math

__all__ = [
    "AVOIDABLE_BIAS",
    "VARIANCE",
    "DATA_MISMATCH",
    "DEV_OVERFITTING",
    "UNDETERMINED",
    "REMEDIES",
    "Diagnosis",
    "diagnose",
    "format_diagnosis",
]

AVOIDABLE_BIAS = "avoidable bias"
VARIANCE = "variance"
DATA_MISMATCH = "data mismatch"
DEV_OVERFITTING = "overfitting to the dev set"
UNDETERMINED = "undetermined"

REMEDIES: dict[str, tuple[str, ...]] = {
    AVOIDABLE_BIAS: (
        "train a bigger model",
        "train longer / use a better optimization algorithm (momentum, RMSprop, Adam)",
        "search NN architectures and hyperparameters (RNN, CNN, ...)",
    ),
    VARIANCE: (
        "get more training data",
        "regularization (L2, dropout, data augmentation)",
        "search NN architectures and hyperparameters",
    ),
    DATA_MISMATCH: (
        "carry out manual error analysis to understand how training and dev/test sets differ",
        "make the training data more similar to dev/test, or collect more data like dev/test",
        "artificial data synthesis",
    ),
    DEV_OVERFITTING: ("get a bigger dev set",),
    UNDETERMINED: (
        "no gap clearly dominates (human level surpassed, so avoidable bias is unknown, or no "
        "gap is positive): progress gets slower; use manual error analysis and look for a "
        "better estimate of Bayes error (e.g. a team of experts)",
    ),
}


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """The gaps between the errors, which one to attack first, and the course's remedies for it.

    A gap is None when the errors it needs were not given; ``avoidable_bias`` is None when
    training error is below human-level error (human level surpassed: the proxy no longer bounds
    Bayes error, so the avoidable bias cannot be estimated).
    """

    human_error: float
    train_error: float
    dev_error: float
    train_dev_error: float | None
    test_error: float | None
    avoidable_bias: float | None
    variance: float
    data_mismatch: float | None
    dev_overfitting: float | None
    surpassed_human_level: bool
    focus: str
    remedies: tuple[str, ...]

    def gaps(self) -> dict[str, float | None]:
        """The four gaps by name, in ladder order."""
        return {
            AVOIDABLE_BIAS: self.avoidable_bias,
            VARIANCE: self.variance,
            DATA_MISMATCH: self.data_mismatch,
            DEV_OVERFITTING: self.dev_overfitting,
        }


def _check_error(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} must be a fraction in [0, 1] (8% is 0.08), got {value}")
    return value


def diagnose(
    human_error: float,
    train_error: float,
    dev_error: float,
    train_dev_error: float | None = None,
    test_error: float | None = None,
) -> Diagnosis:
    """Avoidable bias, variance, data mismatch and dev overfitting, and where to focus.

    avoidable bias  = train − human          (None when train < human: human level surpassed)
    variance        = train-dev − train      (dev − train without a training-dev set)
    data mismatch   = dev − train-dev        (only with a training-dev set)
    dev overfitting = test − dev             (only with a test error)

    Focus is the largest positive gap. When human level is surpassed, avoidable bias is only
    known to lie in [0, train] (Bayes error ≥ 0), so another gap is chosen only if it exceeds
    train error; otherwise the focus is ``UNDETERMINED``. With no positive gap the focus is also
    ``UNDETERMINED``. Ties go to the earlier gap in ladder order.

    The course's cases: human 1%, train 8%, dev 10% → avoidable bias (7% vs 2%); human 7.5%,
    train 8%, dev 10% → variance (0.5% vs 2%); human 0.5%, train 0.3%, dev 0.4% → undetermined.
    """
    human_error = _check_error("human_error", human_error)
    train_error = _check_error("train_error", train_error)
    dev_error = _check_error("dev_error", dev_error)
    train_dev_error = _check_error("train_dev_error", train_dev_error)
    test_error = _check_error("test_error", test_error)

    surpassed = train_error < human_error
    avoidable_bias = None if surpassed else train_error - human_error
    if train_dev_error is None:
        variance, data_mismatch = dev_error - train_error, None
    else:
        variance, data_mismatch = train_dev_error - train_error, dev_error - train_dev_error
    dev_overfitting = None if test_error is None else test_error - dev_error

    measured = {
        AVOIDABLE_BIAS: avoidable_bias,
        VARIANCE: variance,
        DATA_MISMATCH: data_mismatch,
        DEV_OVERFITTING: dev_overfitting,
    }
    candidates = [(gap, name) for name, gap in measured.items() if gap is not None and gap > 0]
    focus = UNDETERMINED
    if candidates:
        largest_gap = max(gap for gap, _ in candidates)
        focus = next(name for gap, name in candidates if gap == largest_gap)
        if surpassed and largest_gap <= train_error:
            focus = UNDETERMINED
    return Diagnosis(
        human_error=human_error,
        train_error=train_error,
        dev_error=dev_error,
        train_dev_error=train_dev_error,
        test_error=test_error,
        avoidable_bias=avoidable_bias,
        variance=variance,
        data_mismatch=data_mismatch,
        dev_overfitting=dev_overfitting,
        surpassed_human_level=surpassed,
        focus=focus,
        remedies=REMEDIES[focus],
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def format_diagnosis(diagnosis: Diagnosis) -> str:
    """A few readable lines: the error ladder, the gaps, the focus and its remedies."""
    ladder = [("human-level", diagnosis.human_error), ("train", diagnosis.train_error)]
    if diagnosis.train_dev_error is not None:
        ladder.append(("train-dev", diagnosis.train_dev_error))
    ladder.append(("dev", diagnosis.dev_error))
    if diagnosis.test_error is not None:
        ladder.append(("test", diagnosis.test_error))
    lines = ["errors: " + ", ".join(f"{name} {_percent(value)}" for name, value in ladder)]
    for name, gap in diagnosis.gaps().items():
        if name == AVOIDABLE_BIAS and diagnosis.surpassed_human_level:
            text = "cannot be estimated (training error is below human level)"
        elif gap is None:
            continue
        else:
            text = _percent(gap)
        lines.append(f"  {name}: {text}")
    lines.append(f"focus: {diagnosis.focus}")
    lines.extend(f"  - {remedy}" for remedy in diagnosis.remedies)
    return "\n".join(lines)
