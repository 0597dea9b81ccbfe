"""Neural style transfer: minimize ``J(G) = α J_content(C, G) + β J_style(S, G)`` over the image ``G``.

The network is fixed; the image is the parameter. ``G`` starts as the content image plus uniform
noise in ``[−noise, noise]``, clipped to ``[0, 1]``; then each of ``steps`` Adam updates
(:func:`dlcourse.optim.adam`, on the pixels) is followed by clipping to ``[0, 1]`` (a projected
gradient step: the image stays a valid picture). The loop is a ``lax.scan`` (one compiled step).
The costs are those of :mod:`dlcourse.style.costs`; ``features`` is any function from images
``[1, H, W, 3]`` in [0, 1] to ``{layer: [1, n_H, n_W, n_C]}`` (e.g.
:func:`dlcourse.style.vgg_features`), which applies its own input normalization.
"""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp

from dlcourse import optim
from dlcourse.style.costs import content_cost, style_cost, total_cost

Features = Callable[[jax.Array], Mapping[str, jax.Array]]


class StyleTransferResult(NamedTuple):
    """The generated image and the costs along the way.

    Attributes:
      image: ``[H, W, 3]`` in [0, 1], after the last step.
      costs: ``{"J", "J_content", "J_style"}``, each ``[steps + 1]``: at the starting image, then after each step.
    """

    image: jax.Array
    costs: dict[str, jax.Array]


def _as_image(name: str, image: jax.Array) -> jax.Array:
    if jnp.ndim(image) != 3 or jnp.shape(image)[-1] != 3:
        raise ValueError(f"{name} must be an RGB image [H, W, 3]; got shape {jnp.shape(image)}")
    return jnp.asarray(image, jnp.float32)


def style_transfer_cost(features: Features, content: jax.Array, style: jax.Array, *, content_layer: str,
                        style_layers: Mapping[str, float | jax.Array], alpha: float | jax.Array = 10.0,
                        beta: float | jax.Array = 40.0, content_normalization: str = "course"):
    """``G -> (J(G), (J_content, J_style))`` for an image ``G`` ``[H, W, 3]``; ``a^[l](C)`` and ``a^[l](S)``
    are computed once here.

    Args:
      features: images ``[1, H, W, 3]`` → ``{layer: activations}``.
      content, style: ``[H, W, 3]`` in [0, 1], of one size.
      content_layer: the layer ``l`` of ``J_content``.
      style_layers: ``{layer: λ^[l]}`` of ``J_style``.
      alpha, beta: α and β (may be traced).
      content_normalization: see :func:`dlcourse.style.content_cost`.
    """
    content, style = _as_image("content", content), _as_image("style", style)
    if content.shape != style.shape:
        raise ValueError(f"content and style images must have one size; got {content.shape} and {style.shape}")
    layers = tuple(dict.fromkeys((content_layer, *style_layers)))
    a_C = jax.lax.stop_gradient(features(content[None])[content_layer])
    a_S = jax.lax.stop_gradient({name: value for name, value in features(style[None]).items() if name in style_layers})

    def cost(image):
        a_G = features(image[None])
        missing = [name for name in layers if name not in a_G]
        if missing:
            raise ValueError(f"features returned no activations for {missing} (have {sorted(a_G)})")
        j_content = content_cost(a_C, a_G[content_layer], content_normalization)
        j_style = style_cost(a_S, a_G, style_layers)
        return total_cost(j_content, j_style, alpha, beta), (j_content, j_style)

    return cost


def transfer_style(features: Features, content: jax.Array, style: jax.Array, key: jax.Array, *, steps: int,
                   content_layer: str, style_layers: Mapping[str, float | jax.Array],
                   alpha: float | jax.Array = 10.0, beta: float | jax.Array = 40.0,
                   learning_rate: float | jax.Array = 0.02, noise: float | jax.Array = 0.1,
                   content_normalization: str = "course") -> StyleTransferResult:
    """Generates ``G`` by ``steps`` clipped Adam steps on ``J(G)`` (see the module docstring); pure and jittable
    (``steps``, the layer names and ``content_normalization`` static; the numbers may be traced).

    Args:
      features, content, style, content_layer, style_layers, alpha, beta, content_normalization:
        as for :func:`style_transfer_cost`.
      key: PRNG key of the starting noise.
      steps: Adam steps (≥ 1).
      learning_rate: Adam's α, in pixel units of the [0, 1] image.
      noise: half-width of the uniform noise added to the content image at the start.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    cost = style_transfer_cost(features, content, style, content_layer=content_layer, style_layers=style_layers,
                               alpha=alpha, beta=beta, content_normalization=content_normalization)
    content = jnp.asarray(content, jnp.float32)
    start = jnp.clip(content + jax.random.uniform(key, content.shape, minval=-1.0, maxval=1.0) * noise, 0.0, 1.0)
    tx = optim.adam(learning_rate)
    value_and_grad = jax.value_and_grad(cost, has_aux=True)

    def step(carry, _):
        image, state = carry
        (j, (j_content, j_style)), grad = value_and_grad(image)
        updates, state = tx.update(grad, state, image)
        image = jnp.clip(optim.apply_updates(image, updates), 0.0, 1.0)
        return (image, state), (j, j_content, j_style)

    (image, _), curves = jax.lax.scan(step, (start, tx.init(start)), None, length=steps)
    j, (j_content, j_style) = cost(image)
    costs = {name: jnp.concatenate([curve, last[None]])
             for name, curve, last in zip(("J", "J_content", "J_style"), curves, (j, j_content, j_style))}
    return StyleTransferResult(image, costs)
