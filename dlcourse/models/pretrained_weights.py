"""Published torchvision weights, read from files a user already has, mapped onto our ResNet and MobileNetV2.

A PyTorch state dict (``{name: tensor}``) saved as ``.safetensors`` or ``.npz`` (nothing is
downloaded; a ``.pt``/``.pth`` pickle needs PyTorch, so convert it first, e.g.
``safetensors.torch.save_file(model.state_dict(), 'resnet18.safetensors')`` or
``np.savez('resnet18.npz', **{k: v.numpy() for k, v in model.state_dict().items()})``).

Names (torchvision's → ours):

* ResNet: ``conv1``/``bn1`` → ``stem``; ``layer{s}.{i−1}.conv{k}``/``.bn{k}`` →
  ``stage{s}_block{i}/conv_bn{k}``; ``layer{s}.{i−1}.downsample.0``/``.1`` →
  ``stage{s}_block{i}/projection``; ``fc`` → ``output``.
* MobileNetV2: ``features.0.0``/``.0.1`` → ``stem``; ``features.{n}.conv`` → ``block{n}``, whose
  ``conv.0`` (conv + BN) is ``expand`` when the block expands (``t ≠ 1``), then the depthwise
  conv + BN, the projection conv and its BN (``conv.1.0, conv.1.1, conv.2, conv.3`` after an
  expansion; ``conv.0.0, conv.0.1, conv.1, conv.2`` without); ``features.{N+1}.0``/``.1`` →
  ``last_conv``; ``classifier.1`` → ``output``.

Layouts: a convolution's ``W`` is ``(n_C′, n_C/groups, f, f)`` (OIHW, NCHW images) there and
``(f, f, n_C/groups, n_C′)`` (HWIO, NHWC images) here, so ``W_ours = W.transpose(2, 3, 1, 0)``
(a depthwise ``(n_C, 1, f, f)`` becomes ``(f, f, 1, n_C)``); a linear layer's ``(out, in)``
becomes Dense's ``(in, out)``. Batch norm: ``weight`` → ``scale`` (γ), ``bias`` → ``bias`` (β),
``running_mean``/``running_var`` → batch_stats ``mean``/``var``; ``num_batches_tracked`` is
ignored.

Semantics against torchvision's: inference is the same (``γ (z − μ) / √(σ² + ε) + β`` with ε inside
the root, ε = 1e-5 in both, so leave ``batch_norm_epsilon`` at its default; symmetric padding
``⌊(f − 1)/2⌋``; the 3×3/2 max pool padded by 1; MobileNetV2's dropout 0.2 is our default
``keep_prob=0.8``). Only training differs: PyTorch's BN ``momentum=0.1`` is our
``batch_norm_momentum=0.9`` (our default is Flax's 0.99), and PyTorch's running variance tracks the
unbiased batch variance (``·m/(m − 1)``), ours the biased one. The weights expect NHWC images (transpose torchvision's
NCHW) with RGB in [0, 1] normalized by the ImageNet mean (0.485, 0.456, 0.406) and standard
deviation (0.229, 0.224, 0.225), as torchvision's transforms do.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from typing import Mapping, Optional, Union

import jax
import ml_dtypes
import numpy as np
from flax import traverse_util

from dlcourse.data.files import MissingDataFileError
from dlcourse.models.mobilenet import MobileNetV2
from dlcourse.models.resnet import ResNet

StateDict = Mapping[str, np.ndarray]

# safetensors' dtype names → little-endian numpy dtypes.
SAFETENSORS_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_MAX_HEADER_BYTES = 100_000_000  # the format's own limit on the JSON header
_SHOWN_KEYS = 5


def _read_safetensors(path: pathlib.Path) -> dict[str, np.ndarray]:
    size = path.stat().st_size
    with open(path, "rb") as stream:
        prefix = stream.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path}: expected a safetensors file (8-byte header length first), got {size} bytes")
        header_length = int.from_bytes(prefix, "little")
        if header_length > min(_MAX_HEADER_BYTES, size - 8):
            raise ValueError(f"{path}: header length {header_length} does not fit a safetensors file "
                             f"of {size} bytes")
        try:
            header = json.loads(stream.read(header_length).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path}: the safetensors header is not JSON ({error})") from None
        if not isinstance(header, dict):
            raise ValueError(f"{path}: the safetensors header is not a JSON object")
        data_start, data_size = 8 + header_length, size - 8 - header_length
        tensors = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            try:
                dtype_name, shape = entry["dtype"], tuple(int(n) for n in entry["shape"])
                begin, end = (int(offset) for offset in entry["data_offsets"])
            except (TypeError, KeyError, ValueError):
                raise ValueError(f"{path}: tensor {name!r} lacks dtype, shape or data_offsets: {entry}") from None
            if dtype_name not in SAFETENSORS_DTYPES:
                raise ValueError(f"{path}: tensor {name!r} has dtype {dtype_name}; this reader supports "
                                 f"{sorted(SAFETENSORS_DTYPES)}")
            dtype = SAFETENSORS_DTYPES[dtype_name]
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if not 0 <= begin <= end <= data_size or end - begin != expected:
                raise ValueError(f"{path}: tensor {name!r} ({dtype_name}, shape {list(shape)}) needs {expected} "
                                 f"bytes; its data_offsets [{begin}, {end}] lie in a data section of "
                                 f"{data_size} bytes")
            stream.seek(data_start + begin)
            tensors[name] = np.frombuffer(bytearray(stream.read(expected)), dtype).reshape(shape)
    return tensors


def read_state_dict(path: Union[str, os.PathLike]) -> dict[str, np.ndarray]:
    """``{name: array}`` from a ``.safetensors`` or ``.npz`` file.

    safetensors layout: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
    ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``, then the
    raw little-endian bytes, offsets relative to the end of the header. Read here (no
    ``safetensors`` package needed): F64, F32, F16, BF16 (as ``ml_dtypes.bfloat16``), I64, I32,
    I16, I8, U8, BOOL. ``.npz``: as ``np.savez(path, **state_dict)`` writes it.

    Raises:
      MissingDataFileError: no such file (a FileNotFoundError and a ValueError).
      ValueError: another suffix, or a malformed file; the message starts with the path.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingDataFileError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: expected a NumPy .npz archive of arrays ({error})") from None
    raise ValueError(f"{path}: expected a state dict saved as .safetensors or .npz, got suffix {path.suffix!r} "
                     f"(convert a PyTorch .pt/.pth with safetensors.torch.save_file(state_dict, path))")


def _resnet_prefixes(layer: tuple[str, ...], layers: set[tuple[str, ...]]) -> Optional[tuple[str, str]]:
    """torchvision's (conv, batch norm) names of our ConvBatchNorm at ``layer``."""
    if layer == ("stem",):
        return "conv1", "bn1"
    block = re.fullmatch(r"stage(\d+)_block(\d+)", layer[0]) if len(layer) == 2 else None
    if block is None:
        return None
    prefix = f"layer{block[1]}.{int(block[2]) - 1}"
    if layer[1] == "projection":
        return f"{prefix}.downsample.0", f"{prefix}.downsample.1"
    conv = re.fullmatch(r"conv_bn(\d)", layer[1])
    return None if conv is None else (f"{prefix}.conv{conv[1]}", f"{prefix}.bn{conv[1]}")


def _mobilenet_v2_prefixes(layer: tuple[str, ...], layers: set[tuple[str, ...]]) -> Optional[tuple[str, str]]:
    """As :func:`_resnet_prefixes`; ``layers`` tells whether a block expands and how many blocks there are."""
    if layer == ("stem",):
        return "features.0.0", "features.0.1"
    if layer == ("last_conv",):
        blocks = sum(1 for other in layers if len(other) == 2 and other[1] == "depthwise")
        return f"features.{blocks + 1}.0", f"features.{blocks + 1}.1"
    block = re.fullmatch(r"block(\d+)", layer[0]) if len(layer) == 2 else None
    if block is None:
        return None
    prefix = f"features.{block[1]}.conv"
    expands = int((layer[0], "expand") in layers)
    if layer[1] == "expand":
        return f"{prefix}.0.0", f"{prefix}.0.1"
    if layer[1] == "depthwise":
        return f"{prefix}.{expands}.0", f"{prefix}.{expands}.1"
    if layer[1] == "project":
        return f"{prefix}.{expands + 1}", f"{prefix}.{expands + 2}"
    return None


# model class → (its layer-name rule, torchvision's name of the classifier layer)
_ARCHITECTURES = {ResNet: (_resnet_prefixes, "fc"), MobileNetV2: (_mobilenet_v2_prefixes, "classifier.1")}
_BATCH_NORM_NAMES = {("params", "scale"): "weight", ("params", "bias"): "bias",
                     ("batch_stats", "mean"): "running_mean", ("batch_stats", "var"): "running_var"}


def torchvision_names(model, variables) -> dict[str, tuple[tuple[str, ...], str]]:
    """``{torchvision key: (our flattened variable path, kind)}`` for ``model``'s variables.

    ``kind`` is ``'conv'`` (OIHW ↔ HWIO), ``'linear'`` (``(out, in)`` ↔ ``(in, out)``) or
    ``'vector'`` (as is). ``variables`` may be shapes (``jax.eval_shape`` of ``model.init``).
    """
    architecture = next((value for cls, value in _ARCHITECTURES.items() if isinstance(model, cls)), None)
    if architecture is None:
        raise ValueError(f"no torchvision names for {type(model).__name__}; expected one of "
                         f"{[cls.__name__ for cls in _ARCHITECTURES]}")
    prefixes, head = architecture
    flat = traverse_util.flatten_dict(variables)
    layers = {path[1:-2] for path in flat if len(path) >= 4 and path[-2] in ("conv", "batch_norm")}
    names = {}
    for path in flat:
        collection, layer, leaf = path[0], path[1:-2], path[-2:]
        if collection == "params" and path[1:] == ("output", "kernel"):
            names[f"{head}.weight"] = (path, "linear")
            continue
        if collection == "params" and path[1:] == ("output", "bias"):
            names[f"{head}.bias"] = (path, "vector")
            continue
        conv_and_norm = prefixes(layer, layers) if leaf[0] in ("conv", "batch_norm") else None
        if conv_and_norm is None:
            raise ValueError(f"{type(model).__name__} variable {'/'.join(path)} has no torchvision counterpart")
        if leaf == ("conv", "kernel") and collection == "params":
            names[f"{conv_and_norm[0]}.weight"] = (path, "conv")
        elif leaf[0] == "batch_norm" and (collection, leaf[1]) in _BATCH_NORM_NAMES:
            names[f"{conv_and_norm[1]}.{_BATCH_NORM_NAMES[collection, leaf[1]]}"] = (path, "vector")
        else:
            raise ValueError(f"{type(model).__name__} variable {'/'.join(path)} has no torchvision counterpart")
    return names


def _torchvision_shape(kind: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    if kind == "conv":
        return (shape[3], shape[2], shape[0], shape[1])
    return tuple(reversed(shape)) if kind == "linear" else tuple(shape)


def _to_ours(kind: str, array: np.ndarray) -> np.ndarray:
    if kind == "conv":
        return np.transpose(array, (2, 3, 1, 0))
    return array.T if kind == "linear" else array


def _key_list(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(repr(key) for key in keys[:_SHOWN_KEYS])
    return shown + (f" and {len(keys) - _SHOWN_KEYS} more" if len(keys) > _SHOWN_KEYS else "")


def load_torchvision(model, state_dict: Union[StateDict, str, os.PathLike], variables=None, *,
                     include_head: bool = True) -> dict:
    """Our ``{'params', 'batch_stats'}`` for ``model`` from a torchvision state dict (see the module docstring).

    Args:
      model: a :class:`~dlcourse.models.ResNet` (any depth, basic or bottleneck blocks) or a
        :class:`~dlcourse.models.MobileNetV2` (any width multiplier) with torchvision's structure.
      state_dict: ``{torchvision name: array}`` (NumPy arrays, or CPU tensors NumPy can read) or a
        path for :func:`read_state_dict`.
      variables: the tree to fill, e.g. ``model.init(key, x, train=False)`` (its leaves may be
        traced: this works inside ``jit``); ``None`` takes the shapes from ``jax.eval_shape`` of
        ``model.init`` on a 32×32 image with the state dict's stem input channels.
      include_head: load the classifier (``fc`` / ``classifier.1``) too; ``False`` ignores those
        keys and keeps the head of ``variables`` (required then), e.g. a 1000-class body under a
        fresh 10-class head.

    Returns:
      A new tree of ``variables``' structure and dtypes with every loaded leaf in our layout.

    Raises:
      ValueError: naming the keys, when the state dict lacks a key the model needs, has one the
        model has no place for (``num_batches_tracked`` of a known batch norm is ignored), has a
        non-float value, or has a shape other than the model's (in torchvision's layout).
    """
    model_name = type(model).__name__
    if variables is None and not include_head:
        raise ValueError(f"include_head=False keeps the head of `variables`; pass {model_name}'s "
                         f"model.init(key, x, train=False)")
    if not isinstance(state_dict, Mapping):
        state_dict = read_state_dict(state_dict)
    if variables is None:
        stem = state_dict.get("conv1.weight" if isinstance(model, ResNet) else "features.0.0.weight")
        channels = int(np.shape(stem)[1]) if stem is not None and np.ndim(stem) == 4 else 3
        variables = jax.eval_shape(lambda key, x: model.init(key, x, train=False), jax.random.key(0),
                                   np.zeros((1, 32, 32, channels), np.float32))
    names = torchvision_names(model, variables)
    head_keys = {name for name, (path, _) in names.items() if path[1] == "output"}
    needed = {name: value for name, value in names.items() if include_head or name not in head_keys}
    ignored = {name.rsplit(".", 1)[0] + ".num_batches_tracked" for name in names if name.endswith(".running_mean")}
    if not include_head:
        ignored |= head_keys
    missing = needed.keys() - state_dict.keys()
    if missing:
        raise ValueError(f"the state dict lacks {len(missing)} key(s) {model_name} needs: {_key_list(missing)}")
    unexpected = state_dict.keys() - needed.keys() - ignored
    if unexpected:
        raise ValueError(f"the state dict has {len(unexpected)} key(s) {model_name} has no place for: "
                         f"{_key_list(unexpected)}")
    flat = traverse_util.flatten_dict(variables)
    loaded = dict(flat)
    for name in sorted(needed):
        path, kind = needed[name]
        array = np.asarray(state_dict[name])
        target = flat[path]
        if array.dtype.kind != "f" and array.dtype != SAFETENSORS_DTYPES["BF16"]:
            raise ValueError(f"state dict key {name!r} has dtype {array.dtype}; expected floating point")
        expected = _torchvision_shape(kind, tuple(target.shape))
        if array.shape != expected:
            raise ValueError(f"state dict key {name!r} has shape {array.shape}; {model_name} needs {expected} "
                             f"(torchvision's layout, for our {'/'.join(path)} of shape {tuple(target.shape)})")
        # device_put, not jnp.asarray: no per-shape compilation of a conversion.
        loaded[path] = jax.device_put(np.ascontiguousarray(_to_ours(kind, array), dtype=target.dtype))
    return traverse_util.unflatten_dict(loaded)
