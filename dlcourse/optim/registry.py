"""The course's optimizers by name, built from hyperparameters in the config's naming.

============  ================================================  =================================
name          update rule                                       hyperparameters read
============  ================================================  =================================
``sgd``       W := W − α dW                                     learning_rate = α
``momentum``  v_dW = β v_dW + (1 − β) dW;  W := W − α v_dW      learning_rate, beta1 = β
``rmsprop``   s_dW = β s_dW + (1 − β) dW²;                      learning_rate, beta2 = β, eps = ε
              W := W − α dW / (√s_dW + ε)
``adam``      v_dW with β₁ and s_dW with β₂ as above;           learning_rate, beta1 = β₁,
              v̂ = v_dW / (1 − β₁ᵗ),  ŝ = s_dW / (1 − β₂ᵗ);      beta2 = β₂, eps = ε
              W := W − α v̂ / (√ŝ + ε)
``adamw``     W := W − α (v̂ / (√ŝ + ε) + λ W), v̂ and ŝ as adam  adam's, and weight_decay = λ
============  ================================================  =================================

Each is the factory of :mod:`.alias` of the same name (``beta1`` → ``b1`` or ``beta``, ``beta2``
→ ``b2`` or ``decay``); see there for conventions. There is no ``gd``: plain gradient descent is
``sgd``.

Why a sweep calls ``create_optimizer(name, hparams)`` inside the training function it traces,
rather than wrapping the factory with :func:`.inject_hyperparams`: under
``jax.jit(jax.vmap(train))`` the values in ``hparams`` are already traced arguments of the one
compiled program, which is exactly what ``inject_hyperparams`` achieves, and no trial's optimizer
state stores a second copy of each value. ``inject_hyperparams`` is the tool when values must
change between the steps of one compiled step function: schedules set from outside the program,
population-based training.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, NamedTuple

from dlcourse.optim import alias
from dlcourse.optim.base import GradientTransformation, ScalarOrSchedule


class _RegistryEntry(NamedTuple):
    """``factory`` and, for each hyperparameter it reads (config name), the factory's argument."""

    factory: Callable[..., GradientTransformation]
    factory_argument: Mapping[str, str]


_REGISTRY: dict[str, _RegistryEntry] = {
    "sgd": _RegistryEntry(alias.sgd, {"learning_rate": "learning_rate"}),
    "momentum": _RegistryEntry(alias.momentum, {"learning_rate": "learning_rate", "beta1": "beta"}),
    "rmsprop": _RegistryEntry(
        alias.rmsprop, {"learning_rate": "learning_rate", "beta2": "decay", "eps": "eps"}
    ),
    "adam": _RegistryEntry(
        alias.adam, {"learning_rate": "learning_rate", "beta1": "b1", "beta2": "b2", "eps": "eps"}
    ),
    "adamw": _RegistryEntry(
        alias.adamw,
        {"learning_rate": "learning_rate", "beta1": "b1", "beta2": "b2", "eps": "eps",
         "weight_decay": "weight_decay"},
    ),
}

OPTIMIZER_NAMES: tuple[str, ...] = tuple(_REGISTRY)
"""``("sgd", "momentum", "rmsprop", "adam", "adamw")``."""

OPTIMIZER_HPARAMS: frozenset[str] = frozenset(
    hparam for entry in _REGISTRY.values() for hparam in entry.factory_argument
)
"""Every hyperparameter some optimizer reads: learning_rate, beta1, beta2, eps, weight_decay."""


def _entry(name: str) -> _RegistryEntry:
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    known = ", ".join(map(repr, OPTIMIZER_NAMES))
    if isinstance(name, str) and name.lower() == "gd":
        raise ValueError(
            f"unknown optimizer {name!r}: plain gradient descent is called 'sgd' here; "
            f"known optimizers: {known}"
        )
    hint = ""
    if isinstance(name, str) and name.lower() in _REGISTRY:
        hint = f" (names are lower case: {name.lower()!r})"
    raise ValueError(f"unknown optimizer {name!r}{hint}; known optimizers: {known}")


def optimizer_hparams(name: str) -> tuple[str, ...]:
    """The numeric hyperparameters optimizer ``name`` reads, ``learning_rate`` first.

    E.g. ``optimizer_hparams("rmsprop") == ("learning_rate", "beta2", "eps")``. An unknown name
    raises ``ValueError`` listing the known ones.
    """
    return tuple(_entry(name).factory_argument)


def optimizer_defaults(name: str) -> dict[str, float]:
    """Default of each hyperparameter ``name`` reads, from its factory's signature.

    ``learning_rate`` has no default and is absent: ``optimizer_defaults("adam") ==
    {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}``.
    """
    entry = _entry(name)
    parameters = inspect.signature(entry.factory).parameters
    return {
        hparam: parameters[argument].default
        for hparam, argument in entry.factory_argument.items()
        if parameters[argument].default is not inspect.Parameter.empty
    }


def create_optimizer(
    name: str,
    hparams: Mapping[str, Any],
    *,
    learning_rate: ScalarOrSchedule | None = None,
    **options: Any,
) -> GradientTransformation:
    """Build optimizer ``name`` with the values in ``hparams`` (config names, e.g. ``beta1``).

    ``create_optimizer("adam", {"learning_rate": α, "beta1": β₁, "beta2": β₂, "eps": ε})`` is
    ``adam(α, b1=β₁, b2=β₂, eps=ε)``. Values are numbers, NumPy scalars or (traced) JAX arrays,
    passed as they are, so this works inside ``jit``/``vmap``. Keys the optimizer does not read
    (``l2``, ``keep_prob``, …) are ignored. Every hyperparameter it reads must be present — no
    defaults are filled in — else ``ValueError`` naming the missing ones; except that a
    ``learning_rate`` keyword (a number, or a schedule ``t ↦ α_t`` of the step count) replaces
    ``hparams["learning_rate"]``. ``options`` are structural arguments passed to the factory
    (``eps_in_sqrt`` for rmsprop, ``exponential_average`` and ``bias_correction`` for momentum,
    ``mask`` for adamw); any other name, or a hyperparameter's own argument, raises ``ValueError``.
    """
    entry = _entry(name)
    parameters = inspect.signature(entry.factory).parameters
    hparam_of = {argument: hparam for hparam, argument in entry.factory_argument.items()}
    structural = [p for p in parameters if p not in hparam_of]
    for option in options:
        if option in hparam_of:
            raise ValueError(
                f"{option!r} is {name}'s hyperparameter {hparam_of[option]!r}: give it in hparams, "
                "not as an option"
            )
        if option not in parameters:
            takes = (f"its options are {', '.join(map(repr, structural))}" if structural
                     else "it takes no options")
            raise ValueError(f"{name} takes no option {option!r}; {takes}")
    missing = [
        hparam
        for hparam in entry.factory_argument
        if hparam not in hparams and not (hparam == "learning_rate" and learning_rate is not None)
    ]
    if missing:
        raise ValueError(
            f"{name} reads {', '.join(map(repr, missing))}, missing from hparams "
            f"(which has {', '.join(sorted(map(repr, hparams.keys()))) or 'nothing'})"
        )
    arguments = {
        argument: hparams[hparam]
        for hparam, argument in entry.factory_argument.items()
        if hparam in hparams
    }
    if learning_rate is not None:
        arguments["learning_rate"] = learning_rate
    return entry.factory(**arguments, **options)
