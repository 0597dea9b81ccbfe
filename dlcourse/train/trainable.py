"""The experiment contract: a training run as pure functions of numeric hyperparameters.

An experiment's builder fixes the *structure* (data, model, optimizer kind, epochs) and returns a
:class:`Trainable`. Its two pure functions take the *numeric* hyperparameters as a dict of scalar
arrays, so one compiled program serves any values::

    state = trainable.init(hparams, key)                # params, optimizer state, key, ...
    state, row = trainable.epoch(state, hparams)        # one epoch; row holds scalars per epoch

The run reports named metrics (:class:`dlcourse.metrics.Metric`); the first of
``Trainable.metrics`` is the **objective** a sweep ranks by. ``row`` must hold ``"train_loss"``
(mean training cost over the epoch) and ``"dev_<objective>"`` (e.g. ``dev_accuracy``), and
usually ``train_<name>``/``dev_<name>`` of every metric and ``dev_loss``.
:meth:`Trainable.train` chains them with ``lax.scan`` into one pure function
``(hparams, key) -> metrics``; ``jax.jit(jax.vmap(trainable.train))`` over stacked hyperparameters and
keys trains a whole population, and a babysat run (:func:`dlcourse.train.babysit`) instead calls
the same epoch from a Python loop to log, checkpoint and show progress between epochs.

Optional parts: ``predict`` (the dev set's true and predicted classes, for error analysis),
``test`` (the test split's loss and metrics of a final state), ``domains`` (the values each numeric
hyperparameter may take), ``unread`` (numeric hyperparameters of the experiment that this
structure does not read, e.g. β₁ under plain SGD: sweeping or setting one would vary nothing, so it
is refused) and ``mesh``. A row may also hold ``"start_loss"``: the loss of the state the epoch
started from, on its first mini-batch (so the first epoch's is the loss at initialization); the
divergence rule reads it and it is not kept as a curve.

**Divergence.** A trial has *diverged* once an epoch's row holds a NaN or ±inf (the training
loss, a metric, or e.g. ``dev_loss``, which turns NaN when the epoch's last step made the parameters
NaN although the epoch's mean training loss is finite), or once it *explodes*: its training loss
exceeds ``divergence_factor`` (default :data:`DIVERGENCE_FACTOR` = 100) times the loss at
initialization (the first epoch's ``start_loss``; without one, the first epoch's training loss),
while that reference is positive. A loss of 1e11 at chance accuracy is an explosion, not a result. From the
diverging epoch on, the state before it is kept and the rows report NaN. Under ``vmap`` this
touches only that trial.

**Random streams.** Keys are JAX's default threefry keys (a lesson: ``jax.random.key(train_seed)``;
a sweep's trial: ``fold_in(PRNGKey(seed), trial id)``), whose bits are the same under ``vmap`` as
for each key alone — a population equals its trials run alone — and across backends. (JAX's
cheaper-to-compile ``"rbg"`` keys draw a whole vmapped batch from its first key, so trials would
depend on their neighbours; they are not used.)
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp

from dlcourse.metrics import ACCURACY, Metric

Hparams = Mapping[str, jax.Array]
State = Any
Row = dict[str, jax.Array]

#: A trial whose training loss rises above this many times its initial loss has diverged.
DIVERGENCE_FACTOR = 100.0
#: The row key of the loss an epoch started from (see the module docstring); not a curve.
START_LOSS = "start_loss"


class Interval(NamedTuple):
    """The values a numeric hyperparameter may take: ``low``…``high``, each end open or closed."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return bool(above and below)

    def __str__(self) -> str:
        return (("(" if self.low_open else "[") + f"{self.low:g}, {self.high:g}"
                + (")" if self.high_open else "]"))


#: Domains of the hyperparameter names the course uses; a builder attaches those it reads.
KNOWN_DOMAINS = {
    "learning_rate": Interval(0.0, float("inf"), low_open=True, high_open=True),   # α > 0
    "beta1": Interval(0.0, 1.0, high_open=True),        # β₁ ∈ [0, 1)
    "beta2": Interval(0.0, 1.0, high_open=True),        # β₂ ∈ [0, 1)
    "eps": Interval(0.0, float("inf"), low_open=True, high_open=True),
    "l2": Interval(0.0, float("inf"), high_open=True),  # λ ≥ 0
    "keep_prob": Interval(0.0, 1.0, low_open=True),     # keep probability ∈ (0, 1]
    "decay_rate": Interval(0.0, float("inf"), high_open=True),
    "weight_decay": Interval(0.0, float("inf"), high_open=True),
}


class Guard(NamedTuple):
    """What a run carries from epoch to epoch besides its state, to detect divergence.

    Attributes:
      diverged: bool scalar; True from the diverging epoch on.
      exploded: bool scalar; True when the divergence was a finite loss above the limit.
      reference_loss: float32 scalar; the loss the limit is measured against (NaN until known).
    """

    diverged: jax.Array
    exploded: jax.Array
    reference_loss: jax.Array


class Trainable(NamedTuple):
    """A training run with its structure fixed and its numeric hyperparameters left free.

    Attributes:
      init: ``(hparams, key) -> state``; pure.
      epoch: ``(state, hparams) -> (state, row)``; pure; one pass over the training set.
      epochs: number of epochs :meth:`train` runs.
      hparams: the numeric hyperparameters ``init``/``epoch`` read, with their default values
        (taken from the experiment's config). A sweep may vary exactly these without recompiling.
      metrics: the named metrics the rows report; the first is the objective.
      predict: optional ``(state, hparams) -> (labels, predictions)``; pure; the dev set's true and
        predicted classes as int arrays ``[m_dev]``.
      domains: optional ``{name: Interval}``: the values each numeric hyperparameter may take; a
        value or a swept range outside it is refused before anything runs.
      unread: optional ``{name: reason}``: numeric hyperparameters of the experiment that this
        structure does not read (see the module docstring).
      test: optional ``(state, hparams) -> {"test_loss": …, "test_<name>": …}``; pure.
      mesh: the data-parallel mesh the functions shard their batches over, if any (a population
        of such a Trainable runs on that mesh's devices).
      divergence_factor: the explosion limit (see the module docstring).
    """

    init: Callable[[Hparams, jax.Array], State]
    epoch: Callable[[State, Hparams], tuple[State, Row]]
    epochs: int
    hparams: dict[str, float]
    metrics: tuple[Metric, ...] = (ACCURACY,)
    predict: Callable[[State, Hparams], tuple[jax.Array, jax.Array]] | None = None
    domains: Mapping[str, Interval] | None = None
    unread: Mapping[str, str] | None = None
    test: Callable[[State, Hparams], Row] | None = None
    mesh: Any = None
    divergence_factor: float = DIVERGENCE_FACTOR

    @property
    def objective(self) -> Metric:
        """The metric a sweep ranks trials by: the first of :attr:`metrics`."""
        return self.metrics[0]

    def default_hparams(self) -> dict[str, jax.Array]:
        """The defaults as float32 scalar arrays."""
        return {k: jnp.asarray(v, jnp.float32) for k, v in self.hparams.items()}

    def check_hparams(self, values: Mapping[str, float] | None = None) -> None:
        """Raises ``ValueError`` naming the first value (default: :attr:`hparams`) that is not a
        finite number, lies outside its domain, or names a hyperparameter this run does not read."""
        values = self.hparams if values is None else values
        for name, value in values.items():
            if name not in self.hparams:
                reason = (self.unread or {}).get(name)
                raise ValueError(f"{name} is not read by this run: {reason}" if reason else
                                 f"{name} is not a numeric hyperparameter of this run "
                                 f"(it reads {', '.join(sorted(self.hparams))})")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{name}={value!r} is not a number") from None
            if not math.isfinite(number):
                raise ValueError(f"{name}={value!r} is not a finite number")
            domain = (self.domains or {}).get(name)
            if domain is not None and not domain.contains(number):
                raise ValueError(f"{name}={value!r} is outside {name}'s domain {domain}")

    def start(self, hparams: Hparams, key: jax.Array) -> tuple[State, Guard]:
        """``init`` and the guard of a fresh run (its reference loss not known yet)."""
        false = jnp.asarray(False)
        return self.init(hparams, key), Guard(false, false, jnp.asarray(jnp.nan, jnp.float32))

    def guarded_epoch(self, state: State, guard: Guard, hparams: Hparams) -> tuple[State, Guard, Row]:
        """One epoch that keeps the old state, and reports NaN, once the trial has diverged.

        Returns ``(state, guard, row)``; see the module docstring for when ``guard.diverged``
        becomes True (then the state before the epoch is kept).
        """
        new_state, row = self.epoch(state, hparams)
        row = dict(row)
        start_loss = row.pop(START_LOSS, None)
        required = ("train_loss", f"dev_{self.objective.name}")
        missing = [k for k in required if k not in row]
        if missing:
            raise ValueError(f"Trainable.epoch must report {required}; missing {missing}")
        loss = jnp.asarray(row["train_loss"], jnp.float32)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in row.values()]))
        first = loss if start_loss is None else jnp.asarray(start_loss, jnp.float32)
        reference = jnp.where(jnp.isnan(guard.reference_loss), first, guard.reference_loss)
        explodes = finite & (reference > 0) & (loss > self.divergence_factor * reference)
        diverged = guard.diverged | ~finite | explodes
        exploded = guard.exploded | (~guard.diverged & explodes)
        keep = lambda new, old: jnp.where(diverged, old, new)  # noqa: E731
        state = jax.tree.map(keep, new_state, state)
        row = {k: jnp.where(diverged, jnp.nan, jnp.asarray(v, jnp.float32)) for k, v in row.items()}
        return state, Guard(diverged, exploded, reference), row

    def train(self, hparams: Hparams, key: jax.Array) -> dict[str, jax.Array]:
        """Trains ``epochs`` epochs; pure and jittable. Returns the metrics of the run
        (:func:`summarize`: per-epoch curves and their summary)."""
        return self.train_with_state(hparams, key)[1]

    def train_with_state(self, hparams: Hparams, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
        """:meth:`train` that also returns the final state: ``(state, metrics)``; pure and jittable.

        The state is the last finite one (a diverged trial keeps the state before its divergence),
        e.g. for :attr:`test` or :attr:`predict`.
        """
        state, guard = self.start(hparams, key)

        def body(carry, _):
            state, guard = carry
            state, guard, row = self.guarded_epoch(state, guard, hparams)
            return (state, guard), row

        (state, guard), curves = jax.lax.scan(body, (state, guard), None, length=self.epochs)
        return state, summarize(curves, guard, self.objective)


def summarize(curves: Mapping[str, jax.Array], guard: Guard, objective: Metric) -> dict[str, jax.Array]:
    """Final and best values from per-epoch curves (last axis = epoch); NaN epochs are skipped.

    Returns the curves and, for every curve ``k``, ``final_<k>`` (its value at the last finite
    epoch; NaN if none), ``best_dev_<objective>`` (best over the finite epochs by the objective's
    goal), ``diverged`` and ``exploded`` (bool) and ``epochs_run`` (int32, finite epochs).
    """
    finite = jnp.isfinite(curves["train_loss"])
    epochs_run = jnp.sum(finite, axis=-1).astype(jnp.int32)
    last = jnp.maximum(epochs_run - 1, 0)

    def at_last(curve):
        value = jnp.take_along_axis(curve, last[..., None], axis=-1)[..., 0]
        return jnp.where(epochs_run > 0, value, jnp.nan)

    dev = curves[f"dev_{objective.name}"]
    if objective.goal == "max":
        best = jnp.max(jnp.where(finite, dev, -jnp.inf), axis=-1)
    elif objective.goal == "min":
        best = jnp.min(jnp.where(finite, dev, jnp.inf), axis=-1)
    else:
        raise ValueError(f"goal must be 'max' or 'min', got {objective.goal!r}")
    out = dict(curves)
    out.update({f"final_{k}": at_last(v) for k, v in curves.items()})
    out[f"best_dev_{objective.name}"] = jnp.where(epochs_run > 0, best, jnp.nan)
    out.update(diverged=guard.diverged, exploded=guard.exploded, epochs_run=epochs_run)
    return out
