"""A model's layers as a table: output shape, activation size, parameters, multiplications.

Computed from shapes alone: ``jax.eval_shape`` traces ``model.init`` on one abstract example
(nothing is compiled or run, so VGG-16 takes a fraction of a second) while
``flax.linen.intercept_methods`` records the output of every module call.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, NamedTuple, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class LayerSummary(NamedTuple):
    """One row of :func:`summary`.

    Attributes:
      name: the module's path, ``'/'``-joined (``'stage1_block1/conv_bn1/conv'``); ``'input'`` for
        the input row.
      kind: the module's class name (``'Conv'``, ``'Dense'``, ``'MaxPool'``, ``'BatchNorm'``, …);
        ``'Input'``.
      output_shape: the output of one example, without the batch axis (``(28, 28, 6)``).
      activation_size: ``∏ output_shape``, the number of values the layer outputs per example.
      parameters: trainable parameters (the ``'params'`` collection: weights and biases, batch
        norm's γ and β; not batch norm's running averages).
      multiplications: per example, see :func:`summary`.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    activation_size: int
    parameters: int
    multiplications: int


class _Call(NamedTuple):
    path: tuple[str, ...]
    kind: str
    output: Any


def _first_array(output):
    leaves = jax.tree.leaves(output)
    return leaves[0] if leaves else None


def _subtree(tree, path):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return {}
        tree = tree[key]
    return tree


def _count(tree) -> int:
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(tree))


def _multiplications(params, output) -> int:
    """``∏ output.shape[1:-1] · ∏ kernel.shape`` for a layer with a ``kernel``; 0 otherwise."""
    kernel = params.get("kernel") if isinstance(params, dict) else None
    if kernel is None or output is None or getattr(kernel, "ndim", 0) < 2:
        return 0
    return math.prod(output.shape[1:-1]) * math.prod(kernel.shape)


def summary(model: nn.Module, input_shape: Sequence[int], *, depth: Optional[int] = None,
            dtype=jnp.float32, **call_keywords) -> list[LayerSummary]:
    """The table of ``model``'s layers on one example of shape ``input_shape``, in call order.

    Args:
      model: a Linen module called as ``model.init(key, x, **call_keywords)``.
      input_shape: one example's shape, ``(n_H, n_W, n_C)`` for an image (``(features,)`` for a
        row model); the model sees a batch of one, ``(1, *input_shape)``.
      depth: ``None`` lists every leaf module (one with no submodules: a convolution, a dense
        layer, a pool, a batch norm, a dropout). An integer ``d`` lists the modules whose path has
        length ``d`` (``d = 1``: the model's direct submodules, e.g. ResNet's blocks) and the leaves
        above that, each row summing the parameters and multiplications of the leaves inside it.
      dtype: the input's dtype.
      **call_keywords: passed to the model's ``__call__``; ``train=False`` is added when the
        model takes ``train`` and it is not given.

    Returns:
      ``[LayerSummary]``: first the input row, then one row per module call.

    Multiplications, per example: a layer with a weight ``kernel`` (Flax's ``Conv``, ``Dense``)
    costs ``∏(output spatial shape) · ∏(kernel shape)``. For a convolution with output
    ``n_H × n_W × n_C′``, ``f × f`` filters over ``n_C`` channels that is the course's
    ``n_H·n_W·n_C′·f·f·n_C`` (a depthwise convolution, ``n_C / groups = 1``:
    ``n_H·n_W·n_C·f·f``); for a dense layer, ``inputs × outputs``. Every multiplication pairs with
    one addition, so this also counts the "mult-adds" of papers (MobileNet's 569 M). Bias
    additions, batch norm, activations, pooling and additions of shortcuts are element-wise
    (``O(activation size)``) and counted as 0. Parameters count biases, as the course's tables do
    (LeNet-5's FC3 is ``400·120 + 120 = 48,120``).

    Raises:
      ValueError: if ``input_shape`` is empty or has a non-positive entry, or ``depth < 1``.
    """
    input_shape = tuple(input_shape)
    if not input_shape or any(int(n) != n or n < 1 for n in input_shape):
        raise ValueError(f"input_shape must be positive integers, e.g. (n_H, n_W, n_C); got {input_shape}")
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be None or ≥ 1; got {depth}")
    try:
        accepted = inspect.signature(type(model).__call__).parameters
    except (TypeError, ValueError):
        accepted = {}
    if "train" in accepted and "train" not in call_keywords:
        call_keywords["train"] = False

    calls: list[_Call] = []

    def record(next_function, args, kwargs, context):
        output = next_function(*args, **kwargs)
        if context.method_name == "__call__" and context.module.path:
            calls.append(_Call(tuple(context.module.path), type(context.module).__name__, output))
        return output

    def initialize(key, x):
        with nn.intercept_methods(record):
            return model.init(key, x, **call_keywords)

    example = jax.ShapeDtypeStruct((1, *input_shape), dtype)
    key = jax.eval_shape(lambda: jax.random.key(0))   # abstract too: not even the key is computed
    variables = jax.eval_shape(initialize, {"params": key, "dropout": key}, example)
    params = variables.get("params", {})
    # Interception happens at exit, children before their parent: order calls by first entry instead.
    first_seen: dict[tuple[str, ...], int] = {}
    for call in calls:
        for length in range(1, len(call.path) + 1):
            first_seen.setdefault(call.path[:length], len(first_seen))
    is_parent = {call.path[:length] for call in calls for length in range(1, len(call.path))}
    leaves = [call for call in calls if call.path not in is_parent]

    def selected(path):
        if depth is None:
            return path not in is_parent
        return len(path) == depth or (len(path) < depth and path not in is_parent)

    rows = [LayerSummary("input", "Input", input_shape, math.prod(input_shape), 0, 0)]
    counted: set[tuple[str, ...]] = set()
    for call in sorted((c for c in calls if selected(c.path)), key=lambda c: first_seen[c.path]):
        array = _first_array(call.output)
        shape = tuple(array.shape[1:]) if array is not None else ()
        inside = [leaf for leaf in leaves if leaf.path[:len(call.path)] == call.path]
        multiplications = sum(_multiplications(_subtree(params, leaf.path), _first_array(leaf.output))
                              for leaf in inside)
        parameters = 0 if call.path in counted else _count(_subtree(params, call.path))
        counted.add(call.path)   # a module called twice shares its parameters: count them once
        rows.append(LayerSummary("/".join(call.path), call.kind, shape, math.prod(shape), parameters,
                                 multiplications))
    return rows


def format_summary(rows: Sequence[LayerSummary]) -> str:
    """``rows`` as an aligned text table with thousands separators and a totals line.

    Columns: layer, kind, activation shape, activation size, parameters, multiplications.
    """
    header = ("layer", "kind", "activation shape", "activation size", "parameters", "multiplications")
    table = [header] + [
        (row.name, row.kind, "(" + ", ".join(str(n) for n in row.output_shape) + ")", f"{row.activation_size:,}",
         f"{row.parameters:,}", f"{row.multiplications:,}")
        for row in rows
    ]
    table.append(("total", "", "", "", f"{sum(r.parameters for r in rows):,}",
                  f"{sum(r.multiplications for r in rows):,}"))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]

    def line(cells):
        left = [cell.ljust(width) for cell, width in zip(cells[:3], widths[:3])]
        right = [cell.rjust(width) for cell, width in zip(cells[3:], widths[3:])]
        return "  ".join(left + right).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(table[0]), rule, *(line(cells) for cells in table[1:-1]), rule, line(table[-1])])
