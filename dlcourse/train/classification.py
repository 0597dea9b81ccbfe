"""Supervised classification as a :class:`Trainable`: model + data + optimizer → pure training.

One optimizer step on a mini-batch ``t`` of ``B`` rows (``w`` the padding mask, ``Σ w`` its real
examples) minimizes the course's cost

    J^{t} = (1 / Σ w) Σ_i w_i L(ŷ^(i), y^(i))  +  (λ / 2m) Σ_l ‖W[l]‖²_F

with ``L`` the softmax or sigmoid cross-entropy of the logits, ``m`` the training-set size (the
L2 term, present when ``'l2'`` is a hyperparameter, is the penalty of the full-batch cost ``J``, so a
mini-batch gradient is an unbiased estimate of ``∇J`` and λ means the same for every batch size),
then ``W := W + update(dW)`` with the optimizer built from the hyperparameters. Dropout (keep
probability ``'keep_prob'``, when a hyperparameter) and batch norm act in training mode; the
evaluation after each epoch uses the model in inference mode (no dropout, running averages).

An epoch shuffles the training set with the trial's key, ``lax.scan``s the step over
``[steps, B, ...]`` mini-batches (see :mod:`dlcourse.data.batching`; the last partial batch is
padded and masked unless ``drop_remainder``), and reports

- ``train_loss``: the epoch's cost, ``Σ_t (Σ w)_t J^{t} / Σ_t (Σ w)_t`` (an example-weighted mean of
  the mini-batch costs during the epoch, L2 term included);
- ``train_metric``, ``dev_metric``: accuracy on the whole training and dev sets after the epoch;
- ``dev_loss``: the cross-entropy on the dev set after the epoch (no L2 term).

Its ``predict(state, hparams)`` gives the dev set's true and predicted classes (int32 ``[m_dev]``)
with the model in inference mode: ``ŷ = 1[z > 0]`` (``σ(z) > 0.5``) for sigmoid logits,
``argmax_j z_j`` for softmax logits (:func:`dlcourse.metrics.predicted_classes`).

Full-batch gradient descent is ``batch_size >= m``. With a ``mesh`` the gradient of each step is
computed data-parallel (see :mod:`dlcourse.train.parallel`). Without dropout it equals the
single-device one. With dropout it does not: each device folds its index into the step's dropout
key and draws its own masks for its slice of the batch, so the masks (hence the run) differ from a
one-device run with the same key — equally valid draws, not the same numbers.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from dlcourse import losses, metrics, optim
from dlcourse.data.batching import num_steps, shuffled_batches
from dlcourse.train import parallel
from dlcourse.train.trainable import KNOWN_DOMAINS, Hparams, Trainable

LOSSES = {
    "softmax": losses.softmax_cross_entropy,
    "sigmoid": losses.sigmoid_binary_cross_entropy,
}


class ClassifierState(NamedTuple):
    """Everything a classifier's training carries from one epoch to the next.

    Attributes:
      params: the model's ``'params'`` collection.
      batch_stats: the model's ``'batch_stats'`` (batch-norm running averages); ``{}`` if none.
      opt_state: the optimizer state.
      key: PRNG key for the next epoch's shuffle and dropout masks.
      step: int32 number of optimizer steps taken.
    """

    params: Any
    batch_stats: Any
    opt_state: Any
    key: jax.Array
    step: jax.Array


def _check_data(data) -> tuple[int, int]:
    for name in ("x_train", "y_train", "x_dev", "y_dev"):
        if not hasattr(data, name):
            raise ValueError(f"data must have x_train, y_train, x_dev, y_dev (like dlcourse.data.Splits); "
                             f"{type(data).__name__} has no {name!r}")
    m, m_dev = len(data.x_train), len(data.x_dev)
    if m < 1 or m_dev < 1:
        raise ValueError(f"need non-empty training and dev sets, got m_train={m}, m_dev={m_dev}")
    if len(data.y_train) != m or len(data.y_dev) != m_dev:
        raise ValueError(f"x and y row counts differ: train {m} vs {len(data.y_train)}, "
                         f"dev {m_dev} vs {len(data.y_dev)}")
    return m, m_dev


def _step_batch_size(batch_size: int, m: int, devices: int) -> int:
    """Rows per step: ``batch_size``, or ``m`` (rounded up to a multiple of the devices) if larger."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if batch_size >= m:  # full batch: one step per epoch, padded only to split evenly over devices
        return -(-m // devices) * devices
    if batch_size % devices:
        raise ValueError(f"batch_size={batch_size} must be divisible by the {devices} devices of the "
                         f"'{parallel.DATA_AXIS}' mesh axis")
    return batch_size


def _with_batch_axis(model: nn.Module, mesh: Mesh | None, has_batch_stats: bool) -> nn.Module:
    """The model with ``axis_name='data'`` when batch-norm statistics must span the devices."""
    if mesh is None or not has_batch_stats:
        return model
    if not hasattr(model, "axis_name"):
        raise ValueError(
            f"data-parallel batch norm needs a model with an axis_name attribute (to average batch "
            f"statistics over the '{parallel.DATA_AXIS}' axis); {type(model).__name__} has none")
    current = model.axis_name
    if current is None:
        return model.clone(axis_name=parallel.DATA_AXIS)
    if current != parallel.DATA_AXIS:
        raise ValueError(
            f"data-parallel batch norm needs the model to average statistics over the "
            f"'{parallel.DATA_AXIS}' axis: {type(model).__name__} has axis_name={current!r}")
    return model


def classifier(
    model: nn.Module,
    data,
    optimizer: Callable[[Hparams], optim.GradientTransformation],
    *,
    epochs: int,
    batch_size: int,
    hparams: Mapping[str, float],
    loss: str = "softmax",
    mesh: Mesh | None = None,
    drop_remainder: bool = False,
) -> Trainable:
    """Builds the :class:`Trainable` that trains ``model`` on ``data`` (see the module docstring).

    Args:
      model: a Linen module returning logits, called as every ``dlcourse.models`` module is:
        ``apply(variables, x, train=bool, keep_prob=…, mask=…, rngs=…, mutable=…)``.
      data: a ``dlcourse.data.Splits`` (or anything with ``x_train, y_train, x_dev, y_dev``);
        closed over as constants.
      optimizer: ``hparams -> GradientTransformation``, e.g.
        ``lambda h: optim.adam(h['learning_rate'])``; called inside the traced functions, so its
        numbers may be traced hyperparameters (a population over them needs no recompile).
      epochs: epochs that :meth:`Trainable.train` runs.
      batch_size: mini-batch size ``B``; ``>= m`` is full-batch gradient descent.
      hparams: the numeric hyperparameters and their defaults. ``'l2'`` (λ) adds the L2 penalty and
        ``'keep_prob'`` feeds dropout when present; the rest are for ``optimizer``.
      loss: ``'softmax'`` (``[B, C]`` logits, softmax cross-entropy) or ``'sigmoid'`` (``[B]`` or
        ``[B, 1]`` logits, binary cross-entropy).
      mesh: optional mesh with a ``'data'`` axis for data-parallel steps; ``B`` must be divisible by
        its size (a full batch is padded to a multiple of it).
      drop_remainder: drop the last partial mini-batch of an epoch instead of padding it.

    Raises:
      ValueError: unknown ``loss``, bad ``epochs``/``batch_size``, a mesh without ``'data'``, a batch
        that does not split over its devices, or data missing a split.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    loss_fn = LOSSES[loss]
    m, _ = _check_data(data)
    devices = parallel.data_axis_size(mesh)
    step_batch = _step_batch_size(batch_size, m, devices)
    drop = drop_remainder and step_batch <= m  # a full batch padded for the devices keeps its rows
    steps = num_steps(m, step_batch, drop)
    x_train, y_train = jnp.asarray(data.x_train), jnp.asarray(data.y_train)
    x_dev, y_dev = jnp.asarray(data.x_dev), jnp.asarray(data.y_dev)
    defaults = {k: float(v) for k, v in hparams.items()}

    def model_kwargs(hp, train, mask=None):
        kwargs = {"train": train}
        if "keep_prob" in hp:
            kwargs["keep_prob"] = hp["keep_prob"]
        if mask is not None:
            kwargs["mask"] = mask
        return kwargs

    probe = jax.eval_shape(lambda k: model.init(k, x_train[:1], train=False), jax.random.key(0))
    has_batch_stats = "batch_stats" in probe
    net = _with_batch_axis(model, mesh, has_batch_stats)

    def init(hp: Hparams, key: jax.Array) -> ClassifierState:
        init_key, dropout_key, train_key = jax.random.split(key, 3)
        variables = net.init({"params": init_key, "dropout": dropout_key}, x_train[:1],
                             **model_kwargs(hp, train=False))
        params = variables["params"]
        state = ClassifierState(params, variables.get("batch_stats", {}),
                                optimizer(hp).init(params), train_key, jnp.zeros((), jnp.int32))
        return parallel.replicate(state, mesh)

    def partial_loss(params, batch_stats, x, y, mask, key, hp, count):
        """``Σ_slice w L / count`` on this device's slice (count: real examples in the batch)."""
        key = jax.random.fold_in(key, parallel.device_index(mesh))
        kwargs = model_kwargs(hp, train=True, mask=mask)
        if has_batch_stats:
            logits, updates = net.apply({"params": params, "batch_stats": batch_stats}, x,
                                        rngs={"dropout": key}, mutable=["batch_stats"], **kwargs)
            batch_stats = updates["batch_stats"]
        else:
            logits = net.apply({"params": params}, x, rngs={"dropout": key}, **kwargs)
        # loss_fn gives the masked mean over the slice; × slice count / batch count = its share.
        return loss_fn(logits, y, mask) * (jnp.sum(mask) / count), batch_stats

    def slice_gradients(params, batch_stats, x, y, mask, key, hp, count):
        (value, batch_stats), grads = jax.value_and_grad(partial_loss, has_aux=True)(
            params, batch_stats, x, y, mask, key, hp, count)
        return (value, grads), batch_stats

    batch_gradients = parallel.sum_over_devices(slice_gradients, mesh, batch_argnums=(2, 3, 4))

    def inference_logits(params, batch_stats, hp, x):
        variables = {"params": params, **({"batch_stats": batch_stats} if has_batch_stats else {})}
        return net.apply(variables, x, **model_kwargs(hp, train=False))

    def evaluate(params, batch_stats, hp, x, y):
        logits = inference_logits(params, batch_stats, hp, x)
        return loss_fn(logits, y), metrics.accuracy(logits, y)

    def predict(state: ClassifierState, hp: Hparams) -> tuple[jax.Array, jax.Array]:
        logits = inference_logits(state.params, state.batch_stats, hp, x_dev)
        return metrics.true_classes(logits, y_dev), metrics.predicted_classes(logits)

    def epoch(state: ClassifierState, hp: Hparams):
        next_key, shuffle_key, dropout_key = jax.random.split(state.key, 3)
        batches = shuffled_batches(shuffle_key, x_train, y_train, step_batch, drop)
        batches = parallel.shard_rows(batches, mesh, axis=1)
        tx = optimizer(hp)

        def train_step(carry, batch):
            params, batch_stats, opt_state, step = carry
            x, y, mask, index = batch
            count = jnp.sum(mask)
            (cost, grads), batch_stats = batch_gradients(
                params, batch_stats, x, y, mask, jax.random.fold_in(dropout_key, index), hp, count)
            if "l2" in hp:
                penalty, penalty_grads = jax.value_and_grad(losses.l2_penalty)(params, hp["l2"], m)
                cost = cost + penalty
                grads = jax.tree.map(jnp.add, grads, penalty_grads)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optim.apply_updates(params, updates)
            return (params, batch_stats, opt_state, step + 1), (cost, count)

        carry = (state.params, state.batch_stats, state.opt_state, state.step)
        xs = (batches.x, batches.y, batches.mask, jnp.arange(steps))
        (params, batch_stats, opt_state, step), (costs, counts) = jax.lax.scan(train_step, carry, xs)
        _, train_accuracy = evaluate(params, batch_stats, hp, x_train, y_train)
        dev_loss, dev_accuracy = evaluate(params, batch_stats, hp, x_dev, y_dev)
        row = {
            "train_loss": jnp.sum(costs * counts) / jnp.sum(counts),
            "train_metric": train_accuracy,
            "dev_metric": dev_accuracy,
            "dev_loss": dev_loss,
        }
        new_state = parallel.replicate(ClassifierState(params, batch_stats, opt_state, next_key, step), mesh)
        return new_state, {k: v.astype(jnp.float32) for k, v in row.items()}

    domains = {name: KNOWN_DOMAINS[name] for name in defaults if name in KNOWN_DOMAINS}
    return Trainable(init=init, epoch=epoch, epochs=epochs, hparams=defaults,
                     metric="accuracy", goal="max", predict=predict, domains=domains)
