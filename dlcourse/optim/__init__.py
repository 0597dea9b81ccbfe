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
``partition``), :mod:`.registry` (optimizers by name: ``create_optimizer("adam", hparams)``).
optax is used only by the tests, as an oracle.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["adam", "adamw", "momentum", "rmsprop", "sgd"], "alias"),
    **dict.fromkeys(["EmptyState", "GradientTransformation", "OptState", "Params", "ScalarOrSchedule", "Schedule",
                     "Updates", "apply_updates", "chain", "identity"], "base"),
    **dict.fromkeys(["InjectHyperparamsState", "inject_hyperparams", "set_hyperparams"], "hyperparams"),
    **dict.fromkeys(["MaskedNode", "MaskedState", "PartitionState", "masked", "partition", "set_to_zero"], "masking"),
    **dict.fromkeys(["OPTIMIZER_HPARAMS", "OPTIMIZER_NAMES", "create_optimizer", "optimizer_defaults",
                     "optimizer_hparams"], "registry"),
    **dict.fromkeys(["constant_schedule", "exponential_decay", "inverse_sqrt_decay", "inverse_time_decay",
                     "piecewise_constant"], "schedules"),
    **dict.fromkeys(["AdamState", "MomentumState", "RmsState", "ScheduleState", "add_decayed_weights",
                     "clip_by_global_norm", "scale_by_adam", "scale_by_learning_rate", "scale_by_momentum",
                     "scale_by_rms"], "transforms"),
})
