"""The course's optimizers, each a chain of the transformations in :mod:`.transforms`.

Every factory returns a :class:`GradientTransformation`; ``learning_rate`` is a number or a
schedule (evaluated at the number of updates already applied, 0 first). Use with
``apply_updates(params, updates)``: the updates already carry the minus sign.
"""

from __future__ import annotations

from typing import Any

import jax

from dlcourse.optim.base import GradientTransformation, ScalarOrSchedule, chain
from dlcourse.optim.transforms import (
    add_decayed_weights,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_momentum,
    scale_by_rms,
)


def sgd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    """Gradient descent: ``W := W − α dW``. Same as ``optax.sgd(α)`` and PyTorch ``SGD(lr=α)``."""
    return scale_by_learning_rate(learning_rate)


def momentum(
    learning_rate: ScalarOrSchedule,
    beta: float | jax.Array = 0.9,
    *,
    exponential_average: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    """Gradient descent with momentum (the course's form by default)::

        v_dW = β v_dW + (1 − β) dW,   W := W − α v_dW

    ``exponential_average=False`` gives ``v_dW = β v_dW + dW`` (PyTorch ``SGD(momentum=β)`` and
    ``optax.sgd(α, momentum=β)``); the default EMA form with rate α equals that one with rate
    α(1 − β). ``bias_correction=True`` steps with ``v_dW / (1 − βᵗ)``, t = 1 first. v_dW starts at 0.
    See :func:`scale_by_momentum`.
    """
    return chain(
        scale_by_momentum(
            beta, exponential_average=exponential_average, bias_correction=bias_correction
        ),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float | jax.Array = 0.9,
    eps: float | jax.Array = 1e-8,
    *,
    eps_in_sqrt: bool = False,
) -> GradientTransformation:
    """RMSprop::

        s_dW = β s_dW + (1 − β) dW²,   W := W − α dW / (√s_dW + ε)

    β = ``decay``; s_dW starts at 0, no bias correction. ε outside the root by default (the
    course, PyTorch); ``eps_in_sqrt=True`` uses ``dW / √(s_dW + ε)`` (TF/Keras, optax's default).
    Defaults differ: PyTorch α = 1e-2, β = 0.99, ε = 1e-8; Keras α = 1e-3, β = 0.9, ε = 1e-7.
    Equals ``optax.rmsprop(α, decay, eps, eps_in_sqrt=eps_in_sqrt)``. See :func:`scale_by_rms`.
    """
    return chain(
        scale_by_rms(decay, eps, eps_in_sqrt=eps_in_sqrt),
        scale_by_learning_rate(learning_rate),
    )


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float | jax.Array = 0.9,
    b2: float | jax.Array = 0.999,
    eps: float | jax.Array = 1e-8,
) -> GradientTransformation:
    """Adam::

        v_dW = β₁ v_dW + (1 − β₁) dW,   s_dW = β₂ s_dW + (1 − β₂) dW²
        v̂ = v_dW / (1 − β₁ᵗ),   ŝ = s_dW / (1 − β₂ᵗ),   W := W − α v̂ / (√ŝ + ε)

    t = 1 for the first update; ε outside the root, after bias correction. Same as
    ``optax.adam`` and PyTorch ``Adam`` (ε = 1e-8); Keras ``Adam`` defaults to ε = 1e-7 added to the
    uncorrected root ("epsilon hat"). See :func:`scale_by_adam`.
    """
    return chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(learning_rate))


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float | jax.Array = 0.9,
    b2: float | jax.Array = 0.999,
    eps: float | jax.Array = 1e-8,
    *,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: Any = None,
) -> GradientTransformation:
    """Adam with decoupled weight decay, as optax defines it::

        W := W − α (v̂ / (√ŝ + ε) + λ W)        (λ = ``weight_decay``; v̂, ŝ as in :func:`adam`)

    The decay is scaled by the learning rate α (so a schedule on α also schedules the decay) and
    uses W before the step. PyTorch ``AdamW`` computes the same (``W ← W − αλW`` first) but defaults
    to λ = 1e-2; Keras ``AdamW`` defaults to λ = 4e-3. Unlike L2 regularisation (PyTorch
    ``Adam(weight_decay=λ)``, which adds λW to dW before the moments), the decay is not divided by
    √ŝ. ``mask`` (pytree of bools or a function of params) limits the decay to the True leaves,
    as in ``optax.adamw``; λ may be a schedule (see :func:`add_decayed_weights`).
    ``weight_decay`` and ``mask`` are keyword-only: ``optax.adamw`` has ``eps_root`` and
    ``mu_dtype`` in those positions, so a positional call written for one would silently mean
    something else in the other.
    """
    return chain(
        scale_by_adam(b1, b2, eps),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
