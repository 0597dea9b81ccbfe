"""Feature extractors for style transfer: a VGG's activations by layer name, and a small VGG-shaped
classifier whose body can be trained here when no published weights are at hand."""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import flax.linen as nn
import jax

from dlcourse.models.vgg import VGG
from dlcourse.models.vgg_weights import imagenet_normalize


def vgg_features(model: VGG, variables: Mapping, layers: Sequence[str], convention: Optional[str] = None
                 ) -> Callable[[jax.Array], dict[str, jax.Array]]:
    """``images [batch, H, W, 3] in [0, 1] → {layer: a^[l]}`` for ``model`` (inference mode).

    ``convention``: ``'keras'`` or ``'torchvision'`` normalizes the images as those published weights
    expect (:func:`dlcourse.models.imagenet_normalize`); ``None`` feeds them as they are (weights
    trained here, or random ones).
    """
    layers = tuple(layers)

    def features(images: jax.Array) -> dict[str, jax.Array]:
        x = images if convention is None else imagenet_normalize(images, convention)
        return model.apply(variables, x, train=False, layers=layers)

    return features


class FeatureClassifier(nn.Module):
    """A :class:`~dlcourse.models.VGG` body (``include_top=False``) under a global average pool and one
    dense layer: a classifier small enough to train in seconds, whose ``body`` variables then serve
    :func:`vgg_features` (``VGG(stages, include_top=False)`` with ``{'params': params['body']}``).

    Attributes:
      stages: the body's filters per stage (see :class:`~dlcourse.models.VGG`).
      num_classes: outputs (logits).
    """

    stages: tuple
    num_classes: int

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False) -> jax.Array:
        x = VGG(stages=self.stages, include_top=False, name="body")(x, train=train)
        return nn.Dense(self.num_classes, name="output")(x.mean(axis=(1, 2)))
