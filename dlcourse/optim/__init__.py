"""Hand-written, Optax-shaped optimizers, schedules and masking.

Every optimizer is a :class:`GradientTransformation` — ``init(params) -> state`` and
``update(updates, state, params=None) -> (updates, state)`` — interchangeable with optax's::

    from dlcourse import optim
    tx = optim.adam(1e-3)
    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = optim.apply_updates(params, updates)      # or optax.apply_updates

Modules: :mod:`.base` (the interface, ``chain``, ``apply_updates``), :mod:`.transforms` (the
composable pieces), :mod:`.alias` (sgd, momentum, rmsprop, adam, adamw), :mod:`.schedules`,
:mod:`.hyperparams` (``inject_hyperparams``), :mod:`.masking` (``masked``, ``set_to_zero``,
``partition``). optax is used only by the tests, as an oracle.
"""

from dlcourse.optim.alias import adam, adamw, momentum, rmsprop, sgd
from dlcourse.optim.base import (
    EmptyState,
    GradientTransformation,
    OptState,
    Params,
    Schedule,
    ScalarOrSchedule,
    Updates,
    apply_updates,
    chain,
    identity,
)
from dlcourse.optim.hyperparams import InjectHyperparamsState, inject_hyperparams, set_hyperparams
from dlcourse.optim.masking import (
    MaskedNode,
    MaskedState,
    PartitionState,
    masked,
    partition,
    set_to_zero,
)
from dlcourse.optim.schedules import (
    constant_schedule,
    exponential_decay,
    inverse_sqrt_decay,
    inverse_time_decay,
    piecewise_constant,
)
from dlcourse.optim.transforms import (
    AdamState,
    MomentumState,
    RmsState,
    ScheduleState,
    add_decayed_weights,
    clip_by_global_norm,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_momentum,
    scale_by_rms,
)

__all__ = [
    # interface
    "GradientTransformation",
    "EmptyState",
    "Params",
    "Updates",
    "OptState",
    "Schedule",
    "ScalarOrSchedule",
    "apply_updates",
    "chain",
    "identity",
    # transformations
    "scale_by_momentum",
    "scale_by_rms",
    "scale_by_adam",
    "scale_by_learning_rate",
    "add_decayed_weights",
    "clip_by_global_norm",
    "MomentumState",
    "RmsState",
    "AdamState",
    "ScheduleState",
    # optimizers
    "sgd",
    "momentum",
    "rmsprop",
    "adam",
    "adamw",
    # schedules
    "constant_schedule",
    "inverse_time_decay",
    "exponential_decay",
    "inverse_sqrt_decay",
    "piecewise_constant",
    # hyperparameters as data
    "inject_hyperparams",
    "set_hyperparams",
    "InjectHyperparamsState",
    # masking
    "masked",
    "set_to_zero",
    "partition",
    "MaskedNode",
    "MaskedState",
    "PartitionState",
]
