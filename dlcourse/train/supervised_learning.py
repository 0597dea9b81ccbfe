"""Supervised learning as a :class:`Trainable`: model + data + loss + optimizer → pure training.

One optimizer step on a mini-batch of ``B`` examples minimizes the course's cost

    J^{t} = (1 / Σ w) Σ_e w_e L_e  +  (λ / 2m) Σ_l ‖W[l]‖²_F

where ``L_e`` are the loss's terms, one per *element* (per example for a classifier, per token
for a sequence model, per pixel for segmentation), ``w_e`` their weights (the data's mask where
it has one, times 0 for the padding rows of the last mini-batch), ``m`` the training-set size, and
the L2 term is present when ``'l2'`` is a hyperparameter (the penalty of the full-batch cost, so a
mini-batch gradient is an unbiased estimate of ``∇J`` and λ means the same for every batch size).
Then ``W := W + update(dW)`` with the optimizer built from the hyperparameters. Dropout (keep
probability ``'keep_prob'``, when a hyperparameter) and batch norm act in training mode;
evaluation uses the model in inference mode (no dropout, batch norm on its running averages).

An epoch shuffles the training set with the trial's key, optionally augments each mini-batch
inside the step (``augment(key, batch) -> batch``, with the step's own key, so every trial of a
population draws its own augmentations), ``lax.scan``s the step over ``[steps, B, ...]``
mini-batches (the last partial one padded and masked unless ``drop_remainder``), then evaluates in
mini-batches (:mod:`dlcourse.train.evaluation`) and reports

- ``train_loss``: the epoch's cost, ``Σ_t (Σ w)_t J^{t} / Σ_t (Σ w)_t`` (a weighted mean of the
  mini-batch costs during the epoch, L2 term included);
- ``train_<metric>`` (unless ``evaluate_train=False``), ``dev_loss``, ``dev_<metric>``: on the
  whole training and dev splits after the epoch (no L2 term in ``dev_loss``).

The :class:`Trainable` also gives ``test`` (the test split's loss and metrics, when the data has
one) and ``predict`` (the dev split's true and predicted classes, for a classifier with one label
per example). Each row also carries ``start_loss``, the cost of the epoch's first mini-batch before
its first step (in the first epoch: the loss at initialization, L2 term included), which the
divergence rule measures explosions against.

Models. Any Linen module called as ``apply(variables, inputs, ...)``; the keywords it declares
among ``train`` (bool), ``keep_prob`` (traced) and ``mask`` (``[B]``, 1 for a real example; for
batch norm to skip padding) are passed. Collections other than ``'params'`` that ``init``
creates (e.g. ``'batch_stats'``) are the model's state: mutable in training, carried from step to
step, averaged across devices through the model's ``axis_name`` under a mesh.

Optimizers by name (:mod:`dlcourse.optim.registry`): the builder keeps only the hyperparameters the
named optimizer reads; the others of the optimizers' names go to ``Trainable.unread`` (sweeping β₁
under ``sgd`` is refused instead of varying nothing). The optimizer is rebuilt from the traced
hyperparameters inside the step (see the registry's docstring for why that is not
``inject_hyperparams``).

With a ``mesh`` the gradient of each step is computed data-parallel (see
:mod:`dlcourse.train.parallel`); without dropout it equals the single-device one. With dropout it
does not: each device folds its index into the step's dropout key and draws its own masks for its
slice of the batch — equally valid draws, not the same numbers.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import losses, optim
from dlcourse.data.batching import num_steps, shuffled_batches
from dlcourse.data.examples import Examples, as_dataset, example_count
from dlcourse.metrics import Metric
from dlcourse.metrics import metric as named_metric
from dlcourse.train import parallel
from dlcourse.train.evaluation import element_weights, evaluator, predictor, weighted_sum
from dlcourse.train.trainable import KNOWN_DOMAINS, START_LOSS, Hparams, Trainable


class TrainState(NamedTuple):
    """Everything a supervised run carries from one epoch to the next.

    Attributes:
      params: the model's ``'params'`` collection.
      model_state: the model's other collections (e.g. ``{'batch_stats': …}``); ``{}`` if none.
      opt_state: the optimizer state.
      key: PRNG key for the next epoch's shuffle, augmentations and dropout masks.
      step: int32 number of optimizer steps taken.
    """

    params: Any
    model_state: Any
    opt_state: Any
    key: jax.Array
    step: jax.Array


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


def _with_batch_axis(model: nn.Module, mesh, has_model_state: bool) -> nn.Module:
    """The model with ``axis_name='data'`` when batch statistics must span the devices."""
    if mesh is None or not has_model_state:
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


def _optimizer_factory(optimizer, numeric: dict[str, float], unread: dict[str, str],
                       learning_rate_schedule, optimizer_options):
    """``hparams -> GradientTransformation``; drops what a named optimizer does not read."""
    if callable(optimizer) and not isinstance(optimizer, str):
        if learning_rate_schedule is not None or optimizer_options:
            raise ValueError("learning_rate_schedule and optimizer_options go with an optimizer given by "
                             "name; a callable optimizer builds its own")
        return optimizer
    if not isinstance(optimizer, str):
        raise ValueError(f"optimizer must be a name in {optim.OPTIMIZER_NAMES} or a callable "
                         f"hparams -> GradientTransformation, got {optimizer!r}")
    reads = optim.optimizer_hparams(optimizer)
    for name in sorted(set(numeric) & optim.OPTIMIZER_HPARAMS - set(reads)):
        unread[name] = f"optimizer={optimizer} does not read it (it reads {', '.join(reads)})"
        del numeric[name]
    if "learning_rate" not in numeric:
        raise ValueError(f"optimizer {optimizer!r} needs a 'learning_rate' hyperparameter")
    defaults = optim.optimizer_defaults(optimizer)
    options = dict(optimizer_options or {})

    def make(hparams):
        schedule = None if learning_rate_schedule is None else learning_rate_schedule(hparams)
        return optim.create_optimizer(optimizer, {**defaults, **hparams}, learning_rate=schedule, **options)

    return make


def _accepted_keywords(model: nn.Module) -> frozenset[str]:
    try:
        parameters = inspect.signature(type(model).__call__).parameters
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return frozenset({"train", "keep_prob", "mask"})
    return frozenset(parameters)


def supervised(
    model: nn.Module,
    data,
    *,
    optimizer: str | Callable[[Hparams], optim.GradientTransformation],
    hparams: Mapping[str, float],
    epochs: int,
    batch_size: int,
    loss: str | Callable[[Any, Any], jax.Array] = "softmax",
    metrics: Sequence[str | Metric] = ("accuracy",),
    eval_batch_size: int = 1024,
    evaluate_train: bool = True,
    augment: Callable[[jax.Array, Examples], Examples] | None = None,
    mesh=None,
    drop_remainder: bool = False,
    learning_rate_schedule: Callable[[Hparams], optim.Schedule] | None = None,
    optimizer_options: Mapping[str, Any] | None = None,
    unread: Mapping[str, str] | None = None,
) -> Trainable:
    """Builds the :class:`Trainable` that trains ``model`` on ``data`` (see the module docstring).

    Args:
      model: a Linen module (see the module docstring for how it is called).
      data: a :class:`dlcourse.data.Dataset` (pytrees of inputs and targets, optional per-element
        masks) or a :class:`dlcourse.data.Splits`; closed over as constants.
      optimizer: a name of :data:`dlcourse.optim.OPTIMIZER_NAMES`, or ``hparams ->
        GradientTransformation`` (called inside the traced functions, so its numbers may be traced
        hyperparameters).
      hparams: the numeric hyperparameters and their defaults. ``'l2'`` (λ) adds the L2 penalty,
        ``'keep_prob'`` feeds the model's dropout; the rest are for the optimizer and schedule.
      epochs: epochs that :meth:`Trainable.train` runs.
      batch_size: mini-batch size ``B``; ``>= m`` is full-batch gradient descent.
      loss: a name of :data:`dlcourse.losses.LOSSES` (``'softmax'``, ``'sigmoid'``,
        ``'squared_error'``) or ``(outputs, targets) -> terms`` with one term per element.
      metrics: names of :data:`dlcourse.metrics.METRICS` or :class:`Metric` s; the first is the
        objective a sweep ranks by.
      eval_batch_size: rows per evaluation batch.
      evaluate_train: also evaluate the whole training split after each epoch (``train_<metric>``).
      augment: optional ``(key, Examples) -> Examples`` applied to each training mini-batch inside
        the step (``Examples.mask`` is the data's per-element mask or None; keep every shape).
      mesh: optional mesh with a ``'data'`` axis for data-parallel steps and evaluation; ``B``
        must be divisible by its size (a full batch is padded to a multiple of it).
      drop_remainder: drop the last partial mini-batch of an epoch instead of padding it.
      learning_rate_schedule: with a named optimizer, ``hparams -> schedule`` of the step count
        used as its learning rate (e.g. ``optim.inverse_time_decay`` of ``hparams`` values).
      optimizer_options: with a named optimizer, structural keywords of its factory.
      unread: ``{name: reason}`` of the experiment's numeric hyperparameters this structure does not
        read (added to those of a named optimizer).

    Raises:
      ValueError: an unknown loss, metric or optimizer, bad ``epochs``/``batch_size``, a mesh
        without ``'data'``, a batch that does not split over its devices, data missing a split,
        or ``keep_prob`` with a model that takes no ``keep_prob``.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not isinstance(eval_batch_size, int) or eval_batch_size < 1:
        raise ValueError(f"eval_batch_size must be a positive int, got {eval_batch_size!r}")
    if isinstance(loss, str):
        if loss not in losses.LOSSES:
            raise ValueError(f"loss must be one of {sorted(losses.LOSSES)} or a function, got {loss!r}")
        loss_terms = losses.LOSSES[loss]
    elif callable(loss):
        loss_terms = loss
    else:
        raise ValueError(f"loss must be a name or a function, got {loss!r}")
    metric_list = tuple(named_metric(m) for m in metrics)
    if not metric_list:
        raise ValueError("supervised needs at least one metric (the first is the objective)")
    for m in metric_list:
        if m.statistics is None or m.value is None:
            raise ValueError(f"metric {m.name!r} has no statistics/value to compute it with")
    dataset = as_dataset(data)
    m = example_count(dataset.train)
    devices = parallel.data_axis_size(mesh)
    step_batch = _step_batch_size(batch_size, m, devices)
    drop = drop_remainder and step_batch <= m  # a full batch padded for the devices keeps its rows
    steps = num_steps(m, step_batch, drop)
    numeric = {k: float(v) for k, v in hparams.items()}
    unread_reasons = dict(unread or {})
    make_optimizer = _optimizer_factory(optimizer, numeric, unread_reasons, learning_rate_schedule,
                                        optimizer_options)
    # Host arrays: constants of the compiled programs, converted by nothing eager (no compile here).
    train_split = jax.tree.map(np.asarray, dataset.train)

    accepted = _accepted_keywords(model)
    if "keep_prob" in numeric and "keep_prob" not in accepted:
        raise ValueError(f"keep_prob is a hyperparameter but {type(model).__name__}.__call__ takes no keep_prob")
    sample = jax.tree.map(lambda a: a[:1], train_split.inputs)

    def keywords(hparams, train, mask=None):
        kwargs = {}
        if "train" in accepted:
            kwargs["train"] = train
        if "keep_prob" in accepted and "keep_prob" in hparams:
            kwargs["keep_prob"] = hparams["keep_prob"]
        if "mask" in accepted and mask is not None:
            kwargs["mask"] = mask
        return kwargs

    default_values = {k: np.float32(v) for k, v in numeric.items()}
    probe = jax.eval_shape(lambda: model.init({"params": jax.random.key(0), "dropout": jax.random.key(0)}, sample,
                                              **keywords(default_values, False)))
    state_collections = sorted(c for c in probe if c != "params")
    net = _with_batch_axis(model, mesh, bool(state_collections))

    def forward(params, model_state, hparams, inputs, mask):
        return net.apply({"params": params, **model_state}, inputs, **keywords(hparams, False, mask))

    # The shape of one example's loss terms: () per example, (T,) per token, (H, W) per pixel.
    element_shape = tuple(jax.eval_shape(
        lambda params, model_state: loss_terms(forward(params, model_state, default_values, sample, np.ones((1,))),
                                               jax.tree.map(lambda a: a[:1], train_split.targets)),
        probe["params"], {c: probe[c] for c in state_collections}).shape[1:])

    def init(hparams: Hparams, key: jax.Array) -> TrainState:
        init_key, dropout_key, train_key = jax.random.split(key, 3)
        variables = net.init({"params": init_key, "dropout": dropout_key}, sample,
                             **keywords(hparams, False))
        params = variables["params"]
        model_state = {c: variables[c] for c in state_collections}
        state = TrainState(params, model_state, make_optimizer(hparams).init(params), train_key,
                           jnp.zeros((), jnp.int32))
        return parallel.replicate(state, mesh)

    def slice_loss(params, model_state, inputs, targets, data_mask, example_mask, key, hparams, count):
        """``Σ_slice w L / count`` on this device's slice (count: Σ w of the whole batch)."""
        key = jax.random.fold_in(key, parallel.device_index(mesh))
        kwargs = keywords(hparams, True, example_mask)
        if state_collections:
            outputs, updates = net.apply({"params": params, **model_state}, inputs, rngs={"dropout": key},
                                         mutable=state_collections, **kwargs)
            model_state = {c: updates[c] for c in state_collections}
        else:
            outputs = net.apply({"params": params}, inputs, rngs={"dropout": key}, **kwargs)
        terms = loss_terms(outputs, targets)
        weights = element_weights(example_mask, data_mask, jnp.shape(terms))
        return weighted_sum(terms.astype(jnp.float32), weights) / count, model_state

    def slice_gradients(params, model_state, inputs, targets, data_mask, example_mask, key, hparams, count):
        (value, model_state), grads = jax.value_and_grad(slice_loss, has_aux=True)(
            params, model_state, inputs, targets, data_mask, example_mask, key, hparams, count)
        return (value, grads), model_state

    batch_gradients = parallel.sum_over_devices(slice_gradients, mesh, batch_argnums=(2, 3, 4, 5))

    def penalty(params, hparams):
        return losses.l2_penalty(params, hparams["l2"], m) if "l2" in hparams else jnp.zeros((), jnp.float32)

    evaluate_dev = evaluator(dataset.dev, forward, loss_terms, metric_list, batch_size=eval_batch_size,
                             mesh=mesh, prefix="dev")
    evaluate_train_split = evaluator(dataset.train, forward, loss_terms, metric_list,
                                     batch_size=eval_batch_size, mesh=mesh, prefix="train")

    def epoch(state: TrainState, hparams: Hparams):
        next_key, shuffle_key, step_key = jax.random.split(state.key, 3)
        batches = shuffled_batches(shuffle_key, train_split.inputs, (train_split.targets, train_split.mask),
                                   step_batch, drop)
        tx = make_optimizer(hparams)

        def train_step(carry, batch):
            params, model_state, opt_state, step = carry
            inputs, (targets, data_mask), example_mask, index = batch
            key = jax.random.fold_in(step_key, index)
            if augment is not None:
                augmented = augment(jax.random.fold_in(key, 1), Examples(inputs, targets, data_mask))
                inputs, targets, data_mask = augmented.inputs, augmented.targets, augmented.mask
            inputs, targets, data_mask, example_mask = parallel.shard_rows(
                (inputs, targets, data_mask, example_mask), mesh)
            count = jnp.sum(element_weights(example_mask, data_mask, example_mask.shape + element_shape))
            (cost, grads), model_state = batch_gradients(params, model_state, inputs, targets, data_mask,
                                                         example_mask, key, hparams, count)
            value, penalty_grads = jax.value_and_grad(penalty)(params, hparams)
            if "l2" in hparams:
                cost = cost + value
                grads = jax.tree.map(jnp.add, grads, penalty_grads)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optim.apply_updates(params, updates)
            return (params, model_state, opt_state, step + 1), (cost, count)

        carry = (state.params, state.model_state, state.opt_state, state.step)
        xs = (batches.x, batches.y, batches.mask, jnp.arange(steps))
        (params, model_state, opt_state, step), (costs, counts) = jax.lax.scan(train_step, carry, xs)
        row = {"train_loss": jnp.sum(costs * counts) / jnp.sum(counts), START_LOSS: costs[0]}
        if evaluate_train:
            row.update({k: v for k, v in evaluate_train_split(params, model_state, hparams).items()
                        if k != "train_loss"})
        row.update(evaluate_dev(params, model_state, hparams))
        new_state = parallel.replicate(TrainState(params, model_state, opt_state, next_key, step), mesh)
        return new_state, {k: jnp.asarray(v, jnp.float32) for k, v in row.items()}

    test = None
    if dataset.test is not None:
        evaluate_test = evaluator(dataset.test, forward, loss_terms, metric_list, batch_size=eval_batch_size,
                                  mesh=mesh, prefix="test")

        def test(state: TrainState, hparams: Hparams):
            return evaluate_test(state.params, state.model_state, hparams)

    predict = None
    if isinstance(loss, str) and loss in ("softmax", "sigmoid") and dataset.dev.mask is None \
            and not element_shape:
        predict_dev = predictor(dataset.dev, forward, batch_size=eval_batch_size, mesh=mesh)

        def predict(state: TrainState, hparams: Hparams):
            return predict_dev(state.params, state.model_state, hparams)

    domains = {name: KNOWN_DOMAINS[name] for name in numeric if name in KNOWN_DOMAINS}
    return Trainable(init=init, epoch=epoch, epochs=epochs, hparams=numeric, metrics=metric_list,
                     predict=predict, domains=domains, unread=unread_reasons, test=test,
                     mesh=mesh)
