"""Evaluation of a split in mini-batches: its loss and named metrics, in inference mode.

A dev set of convnet images is not one forward pass. :func:`evaluator` cuts a split once, on the
host, into constant mini-batches (:func:`dlcourse.data.batching.sequential_batches`; the last
one padded and masked), and returns a pure function that ``lax.scan``s the forward pass over them
and sums, per batch, the weighted loss terms and every metric's sufficient statistics
(:class:`dlcourse.metrics.Metric`). The split's figures follow from the sums:

    loss = Σ_i w_i L_i / Σ_i w_i          metric = metric.value(Σ_batches statistics)

so they equal a single pass over the whole split (up to the order of floating-point additions).
Weights ``w`` are per element (example, token, pixel): the split's own mask, or 1 per example,
times 0 for padding. With a mesh each batch is split over the ``'data'`` devices and the sums are
``psum``-ed, so each device evaluates only its slice.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import jax
import jax.numpy as jnp

from dlcourse.data.batching import sequential_batches
from dlcourse.data.examples import Examples
from dlcourse.metrics import Metric
from dlcourse.nn.masked_means import guarded_divide
from dlcourse.train import parallel

#: ``(params, model_state, hparams, inputs, example_mask) -> outputs`` with the model in inference mode.
Forward = Callable[[Any, Any, Mapping[str, jax.Array], Any, jax.Array], Any]
#: ``(outputs, targets) -> per-element loss terms``.
LossTerms = Callable[[Any, Any], jax.Array]


def element_weights(example_mask: jax.Array, data_mask: Any, shape: tuple[int, ...]) -> jax.Array:
    """The weight of every element of a batch: the example mask ``[B]`` broadcast over the
    elements' ``shape`` (``[B, ...]``), times the data's own per-element mask when there is one."""
    if tuple(shape[:1]) != tuple(example_mask.shape):
        raise ValueError(f"the loss terms have shape {tuple(shape)}; their first axis must be the batch "
                         f"of {example_mask.shape[0]} examples")
    weights = jnp.broadcast_to(example_mask.reshape(example_mask.shape + (1,) * (len(shape) - 1)), shape)
    if data_mask is not None:
        data_mask = jnp.asarray(data_mask, jnp.float32)
        if data_mask.shape != tuple(shape):
            raise ValueError(f"the data's mask has shape {data_mask.shape} but the loss gives terms of "
                             f"shape {tuple(shape)}; they must agree (one weight per term)")
        weights = weights * data_mask
    return weights.astype(jnp.float32)


def weighted_sum(values: jax.Array, weights: jax.Array) -> jax.Array:
    """``Σ w·v`` over every element, leaving out elements of weight 0 (a NaN there stays out)."""
    return jnp.sum(jnp.where(weights != 0, weights * values, 0.0))


def batch_statistics(outputs, targets, weights, loss_terms: LossTerms,
                     metrics: Sequence[Metric]) -> dict[str, Any]:
    """The sums of one batch: ``loss`` (Σ w L), ``count`` (Σ w) and each metric's statistics."""
    terms = loss_terms(outputs, targets)
    stats = {"loss": weighted_sum(terms.astype(jnp.float32), weights), "count": jnp.sum(weights)}
    for metric in metrics:
        stats[metric.name] = metric.statistics(outputs, targets, weights)
    return stats


def figures(stats: Mapping[str, Any], metrics: Sequence[Metric], prefix: str) -> dict[str, jax.Array]:
    """``{prefix_loss, prefix_<metric>...}`` (float32) from summed statistics."""
    out = {f"{prefix}_loss": guarded_divide(stats["loss"], stats["count"])}
    for metric in metrics:
        out[f"{prefix}_{metric.name}"] = metric.value(stats[metric.name])
    return {k: jnp.asarray(v, jnp.float32) for k, v in out.items()}


def evaluator(examples: Examples, forward: Forward, loss_terms: LossTerms, metrics: Sequence[Metric], *,
              batch_size: int, mesh=None, prefix: str = "dev"
              ) -> Callable[[Any, Any, Mapping[str, jax.Array]], dict[str, jax.Array]]:
    """``(params, model_state, hparams) -> {prefix_loss, prefix_<metric>, ...}`` over ``examples``.

    Args:
      examples: the split (see :mod:`dlcourse.data.examples`); cut once here, closed over.
      forward: the model in inference mode (see :data:`Forward`).
      loss_terms: per-element losses; the figures' ``loss`` is their weighted mean (no penalty).
      metrics: named metrics with statistics.
      batch_size: rows per evaluation batch (rounded up to split evenly over the mesh devices).
      mesh: optional data-parallel mesh.
      prefix: names the figures, e.g. ``dev_accuracy``.
    """
    devices = parallel.data_axis_size(mesh)
    (inputs, targets, data_mask), example_mask = sequential_batches(
        (examples.inputs, examples.targets, examples.mask), batch_size, multiple_of=devices)
    batches = (inputs, targets, data_mask, example_mask)

    def slice_statistics(params, model_state, hparams, inputs, targets, data_mask, example_mask):
        outputs = forward(params, model_state, hparams, inputs, example_mask)
        weights = element_weights(example_mask, data_mask, jnp.shape(loss_terms(outputs, targets)))
        return batch_statistics(outputs, targets, weights, loss_terms, metrics), None

    summed = parallel.sum_over_devices(slice_statistics, mesh, batch_argnums=(3, 4, 5, 6))

    def evaluate(params, model_state, hparams):
        def body(totals, batch):
            inputs, targets, data_mask, example_mask = parallel.shard_rows(batch, mesh)
            stats, _ = summed(params, model_state, hparams, inputs, targets, data_mask, example_mask)
            return jax.tree.map(jnp.add, totals, stats), None

        first = jax.tree.map(lambda a: a[0], batches)
        shapes = jax.eval_shape(lambda: summed(params, model_state, hparams, *first)[0])
        zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        totals, _ = jax.lax.scan(body, zeros, batches)
        return figures(totals, metrics, prefix)

    return evaluate


def predictor(examples: Examples, forward: Forward, *, batch_size: int, mesh=None
              ) -> Callable[[Any, Any, Mapping[str, jax.Array]], tuple[jax.Array, jax.Array]]:
    """``(params, model_state, hparams) -> (true classes, predicted classes)``, int32 ``[m]`` each,
    of a classifier with one label per example (:func:`dlcourse.metrics.element_classes`)."""
    from dlcourse.data.examples import example_count
    from dlcourse.metrics import element_classes

    m = example_count(examples)
    devices = parallel.data_axis_size(mesh)
    (inputs, targets), example_mask = sequential_batches((examples.inputs, examples.targets), batch_size,
                                                         multiple_of=devices)

    def predict(params, model_state, hparams):
        def body(_, batch):
            inputs, targets, mask = parallel.shard_rows(batch, mesh)
            outputs = forward(params, model_state, hparams, inputs, mask)
            predicted, truth = element_classes(outputs, targets, mask.shape)
            return None, (truth, predicted)

        _, (truth, predicted) = jax.lax.scan(body, None, (inputs, targets, example_mask))
        return truth.reshape(-1)[:m], predicted.reshape(-1)[:m]

    return predict
