"""The experiment contract: a training run as pure functions of numeric hyperparameters.

An experiment's builder fixes the *structure* (data, model, optimizer kind, epochs) and returns a
:class:`Trainable`. Its two pure functions take the *numeric* hyperparameters as a dict of scalar
arrays, so one compiled program serves any values::

    state = trainable.init(hparams, key)                # params, optimizer state, key, ...
    state, row = trainable.epoch(state, hparams)        # one epoch; row holds scalars per epoch

``row`` must hold ``"train_loss"`` (mean training cost over the epoch), ``"train_metric"`` and
``"dev_metric"`` (the experiment's metric, e.g. accuracy, on the training and dev sets after the
epoch). :meth:`Trainable.train` chains them with ``lax.scan`` into one pure function
``(hparams, key) -> metrics``; ``jax.jit(jax.vmap(trainable.train))`` over stacked hyperparameters and
keys trains a whole population, and a single run can instead call ``epoch`` from a Python loop to log,
checkpoint and show progress between epochs. Both paths execute the same ``epoch``.
:meth:`Trainable.train_with_state` is the same scan returning the final state as well.

A classifier may also give ``predict``, for error analysis of a trained trial::

    labels, predictions = trainable.predict(state, hparams)   # int [m_dev] each: true, predicted class

on the dev set, with the model in inference mode (``None`` when the experiment has no classes).

Divergence: once any value of an epoch's row is NaN or ±inf (the training loss, a metric, or e.g. a
classifier's ``dev_loss``, which turns NaN when the epoch's last step made the parameters NaN
although the epoch's mean training loss is finite) the trial is *diverged*; the epoch's state is
dropped (the last finite state is kept), that epoch and later ones report NaN. Under ``vmap`` this
touches only that trial.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp

Hparams = Mapping[str, jax.Array]
State = Any
Row = dict[str, jax.Array]

REQUIRED_ROW_KEYS = ("train_loss", "train_metric", "dev_metric")
#: The scalars :func:`summarize` adds to the per-epoch curves.
SUMMARY_KEYS = ("final_dev_metric", "best_dev_metric", "final_train_metric", "final_train_loss",
                "diverged", "epochs_run")


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


class Trainable(NamedTuple):
    """A training run with its structure fixed and its numeric hyperparameters left free.

    Attributes:
      init: ``(hparams, key) -> state``; pure.
      epoch: ``(state, hparams) -> (state, row)``; pure; one pass over the training set.
      epochs: number of epochs :meth:`train` runs.
      hparams: the numeric hyperparameters ``init``/``epoch`` read, with their default values
        (taken from the experiment's config). A sweep may vary exactly these without recompiling.
      metric: name of the dev metric, e.g. ``"accuracy"`` (for reports).
      goal: ``"max"`` if a larger metric is better, else ``"min"``.
      predict: optional ``(state, hparams) -> (labels, predictions)``; pure; the dev set's true and
        predicted classes as int arrays ``[m_dev]`` (see the module docstring).
      domains: optional ``{name: Interval}``: the values each numeric hyperparameter may take; a
        sweep whose range leaves a domain is refused before anything runs.
    """

    init: Callable[[Hparams, jax.Array], State]
    epoch: Callable[[State, Hparams], tuple[State, Row]]
    epochs: int
    hparams: dict[str, float]
    metric: str = "accuracy"
    goal: str = "max"
    predict: Callable[[State, Hparams], tuple[jax.Array, jax.Array]] | None = None
    domains: Mapping[str, Interval] | None = None

    def default_hparams(self) -> dict[str, jax.Array]:
        """The defaults as float32 scalar arrays."""
        return {k: jnp.asarray(v, jnp.float32) for k, v in self.hparams.items()}

    def guarded_epoch(self, state: State, diverged: jax.Array, hparams: Hparams):
        """One epoch that keeps the old state, and reports NaN, once the trial has diverged.

        Returns ``(state, diverged, row)``; ``diverged`` becomes True when any value of this
        epoch's row is not finite (then the state before the epoch is kept).
        """
        new_state, row = self.epoch(state, hparams)
        missing = [k for k in REQUIRED_ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"Trainable.epoch must report {REQUIRED_ROW_KEYS}; missing {missing}")
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in row.values()]))
        now_diverged = jnp.logical_or(diverged, ~finite)
        keep = lambda new, old: jnp.where(now_diverged, old, new)  # noqa: E731
        state = jax.tree.map(keep, new_state, state)
        row = {k: jnp.where(now_diverged, jnp.nan, v.astype(jnp.float32)) for k, v in row.items()}
        return state, now_diverged, row

    def train(self, hparams: Hparams, key: jax.Array) -> dict[str, jax.Array]:
        """Trains ``epochs`` epochs; pure and jittable. Returns the metrics of the run.

        Keys: every row key as a per-epoch curve of shape ``[epochs]`` (NaN after divergence),
        and scalars ``final_dev_metric``, ``best_dev_metric``, ``final_train_metric``,
        ``final_train_loss`` (from the last finite epoch; NaN if none), ``diverged`` (bool) and
        ``epochs_run`` (int32, finite epochs).
        """
        return self.train_with_state(hparams, key)[1]

    def train_with_state(self, hparams: Hparams, key: jax.Array) -> tuple[State, dict[str, jax.Array]]:
        """:meth:`train` that also returns the final state: ``(state, metrics)``; pure and jittable.

        The state is the last finite one (a diverged trial keeps the state before its divergence),
        e.g. for a test-set evaluation or :attr:`predict`.
        """
        state = self.init(hparams, key)

        def body(carry, _):
            state, diverged = carry
            state, diverged, row = self.guarded_epoch(state, diverged, hparams)
            return (state, diverged), row

        (state, diverged), curves = jax.lax.scan(body, (state, jnp.asarray(False)), None,
                                                 length=self.epochs)
        return state, summarize(curves, diverged, self.goal)


def summarize(curves: Mapping[str, jax.Array], diverged: jax.Array, goal: str = "max") -> dict[str, jax.Array]:
    """Final and best values from per-epoch curves (last axis = epoch); NaN epochs are skipped."""
    finite = jnp.isfinite(curves["train_loss"])
    epochs_run = jnp.sum(finite, axis=-1).astype(jnp.int32)
    last = jnp.maximum(epochs_run - 1, 0)

    def at_last(curve):
        value = jnp.take_along_axis(curve, last[..., None], axis=-1)[..., 0]
        return jnp.where(epochs_run > 0, value, jnp.nan)

    dev = curves["dev_metric"]
    if goal == "max":
        best = jnp.max(jnp.where(finite, dev, -jnp.inf), axis=-1)
    elif goal == "min":
        best = jnp.min(jnp.where(finite, dev, jnp.inf), axis=-1)
    else:
        raise ValueError(f"goal must be 'max' or 'min', got {goal!r}")
    out = dict(curves)
    out.update(
        final_dev_metric=at_last(dev),
        best_dev_metric=jnp.where(epochs_run > 0, best, jnp.nan),
        final_train_metric=at_last(curves["train_metric"]),
        final_train_loss=at_last(curves["train_loss"]),
        diverged=diverged,
        epochs_run=epochs_run,
    )
    return out
