"""Published VGG weights (VGG-16, VGG-19) from files a user already has, mapped onto our :class:`VGG` by layer name.

Two namings are recognised from the keys (nothing is downloaded):

* Keras (``keras.applications.VGG19``; a ``.h5`` file read by :func:`read_keras_h5`, or a
  ``.npz``/``.safetensors`` of the same keys): ``block{s}_conv{i}/kernel``, ``/bias`` →
  ``conv{s}_{i}``; ``fc1``, ``fc2``, ``predictions`` → ``fc6``, ``fc7``, ``output``. Kernels are
  already in our layout (HWIO, ``(in, out)``). A trailing ``:0`` is dropped.
* torchvision (``torchvision.models.vgg19().state_dict()`` as ``.safetensors``/``.npz``, see
  :mod:`dlcourse.models.pretrained_weights`): ``features.{n}`` numbers every module of the body in
  order (conv, [batch norm,] ReLU per convolution, then a pool per stage: ``features.0`` is
  ``conv1_1``, ``features.2`` ``conv1_2``, ``features.5`` ``conv2_1`` … ``features.34`` ``conv5_4``
  in VGG-19); ``classifier.0``, ``.3``, ``.6`` → ``fc6``, ``fc7``, ``output``. Convolutions are
  OIHW (``W.transpose(2, 3, 1, 0)``), linear layers ``(out, in)``; FC6's inputs are the 7×7×512 map
  flattened channel-first (``c·49 + h·7 + w``), ours row-first (``(h·7 + w)·512 + c``), so its
  columns are permuted, not just transposed.

The two expect different inputs (:func:`imagenet_normalize`): Keras's "caffe" convention (BGR, 0–255,
mean subtracted), torchvision's (RGB in [0, 1], standardized by the ImageNet mean and deviation).
"""

from __future__ import annotations

import os
import pathlib
from typing import Mapping, Union

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util

from dlcourse.models.keras_weights import read_keras_h5
from dlcourse.models.pretrained_weights import read_state_dict
from dlcourse.models.vgg import VGG

CONVENTIONS = ("keras", "torchvision")
# ImageNet statistics each convention normalizes by.
KERAS_BGR_MEAN = (103.939, 116.779, 123.68)            # on 0–255, in B, G, R order
TORCHVISION_MEAN = (0.485, 0.456, 0.406)              # on [0, 1], R, G, B
TORCHVISION_STD = (0.229, 0.224, 0.225)
_KERAS_HEAD = {"fc6": "fc1", "fc7": "fc2", "output": "predictions"}
_TORCHVISION_HEAD = {"fc6": "classifier.0", "fc7": "classifier.3", "output": "classifier.6"}
_SHOWN_KEYS = 5


def imagenet_normalize(images: jax.Array, convention: str) -> jax.Array:
    """The input VGG weights of ``convention`` expect, from RGB ``images`` in [0, 1] (``[..., 3]``).

    ``'keras'``: ``255·x`` with channels reversed to BGR, minus :data:`KERAS_BGR_MEAN`.
    ``'torchvision'``: ``(x − μ) / σ`` per RGB channel (:data:`TORCHVISION_MEAN`, :data:`TORCHVISION_STD`).
    """
    if convention == "keras":
        return 255.0 * images[..., ::-1] - jnp.asarray(KERAS_BGR_MEAN, images.dtype)
    if convention == "torchvision":
        return (images - jnp.asarray(TORCHVISION_MEAN, images.dtype)) / jnp.asarray(TORCHVISION_STD, images.dtype)
    raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def vgg_weight_names(model: VGG, convention: str) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{their key: (our flattened variable path, kind)}`` for ``model`` under ``convention``.

    ``kind``: ``'same'`` (copied as is), ``'conv'`` (OIHW → HWIO), ``'linear'`` (transposed),
    ``'flattened_linear'`` (FC6 of torchvision, see the module docstring) or ``'vector'``.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if convention == "keras" and model.batch_norm:
        raise ValueError("Keras publishes no batch-normalized VGG; use torchvision's vgg*_bn names")
    names, index = {}, 0
    for stage, filters in enumerate(model.stages, start=1):
        for position in range(1, len(filters) + 1):
            ours = f"conv{stage}_{position}"
            if convention == "keras":
                names[f"block{stage}_conv{position}/kernel"] = (("params", ours, "kernel"), "same")
                names[f"block{stage}_conv{position}/bias"] = (("params", ours, "bias"), "same")
                continue
            names[f"features.{index}.weight"] = (("params", ours, "kernel"), "conv")
            names[f"features.{index}.bias"] = (("params", ours, "bias"), "vector")
            if model.batch_norm:
                norm = f"batch_norm{stage}_{position}"
                for theirs, path in (("weight", ("params", norm, "scale")), ("bias", ("params", norm, "bias")),
                                     ("running_mean", ("batch_stats", norm, "mean")),
                                     ("running_var", ("batch_stats", norm, "var"))):
                    names[f"features.{index + 1}.{theirs}"] = (path, "vector")
            index += 3 if model.batch_norm else 2
        index += 1  # the stage's pool
    if model.include_top:
        for ours, theirs in (_KERAS_HEAD if convention == "keras" else _TORCHVISION_HEAD).items():
            if convention == "keras":
                names[f"{theirs}/kernel"] = (("params", ours, "kernel"), "same")
                names[f"{theirs}/bias"] = (("params", ours, "bias"), "same")
            else:
                names[f"{theirs}.weight"] = (("params", ours, "kernel"),
                                             "flattened_linear" if ours == "fc6" else "linear")
                names[f"{theirs}.bias"] = (("params", ours, "bias"), "vector")
    return names


def _their_shape(kind: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    if kind == "conv":
        return (shape[3], shape[2], shape[0], shape[1])
    return (shape[1], shape[0]) if kind in ("linear", "flattened_linear") else tuple(shape)


def _to_ours(kind: str, array: np.ndarray) -> np.ndarray:
    if kind == "conv":
        return np.transpose(array, (2, 3, 1, 0))
    if kind == "linear":
        return array.T
    if kind == "flattened_linear":
        out, inputs = array.shape
        channels = inputs // 49
        return array.reshape(out, channels, 7, 7).transpose(2, 3, 1, 0).reshape(inputs, out)
    return array


def _key_list(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(repr(key) for key in keys[:_SHOWN_KEYS])
    return shown + (f" and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else "")


def read_vgg_weights(path: Union[str, os.PathLike]) -> dict[str, np.ndarray]:
    """``{key: array}`` from a Keras ``.h5`` (:func:`read_keras_h5`) or a ``.npz``/``.safetensors`` state dict."""
    path = pathlib.Path(path)
    return read_keras_h5(path) if path.suffix in (".h5", ".hdf5") else read_state_dict(path)


def weights_convention(weights: Mapping[str, np.ndarray]) -> str:
    """``'torchvision'`` when a key starts with ``features.``, ``'keras'`` when one starts with ``block1_conv1``."""
    if any(key.startswith("features.") for key in weights):
        return "torchvision"
    if any(key.startswith("block1_conv1") for key in weights):
        return "keras"
    raise ValueError(f"cannot tell the naming of these VGG weights (keys {_key_list(weights)}); expected "
                     f"torchvision's 'features.0.weight' … or Keras's 'block1_conv1/kernel' …")


def load_vgg(model: VGG, weights: Union[Mapping[str, np.ndarray], str, os.PathLike], variables=None) -> dict:
    """Our variables for ``model`` (a :class:`VGG`, e.g. ``VGG19(include_top=False)``) from published weights.

    Args:
      model: its ``stages`` must match the file's (VGG-16 or VGG-19).
      weights: ``{key: array}`` or a path for :func:`read_vgg_weights`; the naming (Keras or
        torchvision) is read from the keys. A model without its top ignores the file's classifier.
      variables: the tree to fill; ``None`` takes its shapes from ``jax.eval_shape`` of
        ``model.init`` on a 32×32×3 image (then every leaf is loaded).

    Returns:
      ``{'params': …}`` (and ``'batch_stats'`` for a batch-normalized model) in our layout.

    Raises:
      ValueError: naming the keys, when the weights lack one the model needs, have one it has no
        place for (other than a classifier the model leaves out and torchvision's
        ``num_batches_tracked``), or a value of another shape (in the file's layout) or not a float.
    """
    if not isinstance(model, VGG):
        raise ValueError(f"load_vgg needs a VGG model, got {type(model).__name__}")
    if not isinstance(weights, Mapping):
        weights = read_vgg_weights(weights)
    weights = {key.split(":", 1)[0]: value for key, value in weights.items()}
    convention = weights_convention(weights)
    if variables is None:
        variables = jax.eval_shape(lambda key, x: model.init(key, x, train=False), jax.random.key(0),
                                   np.zeros((1, 32, 32, 3), np.float32))
    needed = vgg_weight_names(model, convention)
    head = set(vgg_weight_names(model.clone(include_top=True), convention)) - set(needed)
    ignored = head | {key for key in weights if key.endswith(".num_batches_tracked")}
    missing = needed.keys() - weights.keys()
    if missing:
        raise ValueError(f"the {convention} weights lack {len(missing)} key(s) {type(model).__name__} needs: "
                         f"{_key_list(missing)}")
    unexpected = weights.keys() - needed.keys() - ignored
    if unexpected:
        raise ValueError(f"the {convention} weights have {len(unexpected)} key(s) {type(model).__name__} has "
                         f"no place for: {_key_list(unexpected)}")
    flat = traverse_util.flatten_dict(variables)
    loaded = dict(flat)
    for key, (path, kind) in sorted(needed.items()):
        array = np.asarray(weights[key])
        if array.dtype.kind != "f" and array.dtype.name != "bfloat16":
            raise ValueError(f"weight {key!r} has dtype {array.dtype}; expected floating point")
        target = flat[path]
        expected = _their_shape(kind, tuple(target.shape))
        if array.shape != expected:
            raise ValueError(f"weight {key!r} has shape {array.shape}; {type(model).__name__} needs {expected} "
                             f"({convention}'s layout, for our {'/'.join(path)} of shape {tuple(target.shape)})")
        loaded[path] = jax.device_put(np.ascontiguousarray(_to_ours(kind, array), dtype=target.dtype))
    return traverse_util.unflatten_dict(loaded)
