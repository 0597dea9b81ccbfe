"""Keras's HDF5 weight files (``.h5``), read into ``{"layer/weight": array}`` without Keras.

The layout read is the one of the Keras applications files (e.g.
``vgg19_weights_tf_dim_ordering_tf_kernels.h5``) and of ``model.save_weights('w.h5')`` /
``model.save('m.h5')`` in Keras 2 ("legacy HDF5"): the root (or its ``model_weights`` group, in a
whole-model file) lists the layers in its ``layer_names`` attribute; each layer's group lists its
datasets in a ``weight_names`` attribute (``block1_conv1/kernel:0``, ``block1_conv1/bias:0``),
paths relative to that group. Long lists are split over ``layer_names0``, ``layer_names1``, … as
Keras does past HDF5's 64 KB attribute limit. Keras's kernels are already ours: a convolution's
``(f, f, n_C, n_C′)`` (HWIO) and a dense layer's ``(in, out)``.

Keras 3's ``.weights.h5`` (``layers/<name>/vars/0``) is another layout; it is refused with a
message saying so.
"""

from __future__ import annotations

import os
import pathlib
from typing import Union

import numpy as np

from dlcourse.data.files import MissingDataFileError


def _names(group, attribute: str) -> list[str]:
    """A list attribute of ``group``, joined from Keras's chunks ``attribute0``, ``attribute1``, … if split."""
    if attribute in group.attrs:
        values = list(group.attrs[attribute])
    else:
        values, chunk = [], 0
        while f"{attribute}{chunk}" in group.attrs:
            values += list(group.attrs[f"{attribute}{chunk}"])
            chunk += 1
    return [value.decode("utf-8") if isinstance(value, bytes) else str(value) for value in values]


def _weight_key(layer: str, weight_name: str) -> str:
    """``'block1_conv1/kernel'`` from the layer and its dataset path ``'block1_conv1/kernel:0'``."""
    leaf = weight_name.rsplit("/", 1)[-1]
    return f"{layer}/{leaf.split(':', 1)[0]}"


def read_keras_h5(path: Union[str, os.PathLike]) -> dict[str, np.ndarray]:
    """``{"<layer>/<weight>": array}`` (e.g. ``'block1_conv1/kernel'``) from a Keras 2 ``.h5`` file.

    Layers without weights (inputs, pools, flatten) contribute nothing. Needs ``h5py`` (imported
    here, not by the package).

    Raises:
      MissingDataFileError: no such file.
      ImportError: h5py is not installed (the message says how to install it).
      ValueError: not an HDF5 file, or not the layout of the module docstring; the message starts with the path.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingDataFileError(f"{path}: no such file")
    try:
        import h5py
    except ImportError:
        raise ImportError(f"reading the Keras weight file {path} needs h5py: pip install h5py") from None
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path}: expected a Keras HDF5 weight file ({error})") from None
    with handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        layers = _names(root, "layer_names")
        if not layers:
            keras3 = "layers" in root and isinstance(root["layers"], h5py.Group)
            raise ValueError(f"{path}: no 'layer_names' attribute; "
                             + ("this looks like Keras 3's .weights.h5 layout, which is not read here — save "
                                "with Keras 2 or as a .npz of {'layer/kernel': array}" if keras3 else
                                f"expected Keras 2's HDF5 layout (top-level entries: {sorted(root)[:5]})"))
        weights = {}
        for layer in layers:
            if layer not in root:
                raise ValueError(f"{path}: layer_names lists {layer!r} but the file has no such group")
            group = root[layer]
            for weight_name in _names(group, "weight_names"):
                if weight_name not in group:
                    raise ValueError(f"{path}: layer {layer!r} lists weight {weight_name!r} but has no such dataset")
                weights[_weight_key(layer, weight_name)] = np.asarray(group[weight_name])
    return weights
