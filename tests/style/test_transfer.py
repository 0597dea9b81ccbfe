"""The image-as-parameter loop: the scanned Adam steps against a Python loop of optax's Adam, the
costs it reports, and its fixed point."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from dlcourse.models import VGG
from dlcourse.style import style_transfer_cost, transfer_style, vgg_features

STYLE_LAYERS = {"conv1_1": 0.5, "conv2_1": 0.5}


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    variables = {"params": {"conv1_1": {"kernel": rng.normal(0, 0.5, (3, 3, 3, 4)), "bias": np.zeros(4)},
                            "conv2_1": {"kernel": rng.normal(0, 0.3, (3, 3, 4, 6)), "bias": np.zeros(6)}}}
    variables = jax.tree.map(lambda w: np.asarray(w, np.float32), variables)
    features = vgg_features(VGG(stages=((4,), (6,)), include_top=False), variables, ("conv1_1", "conv2_1"))
    content, style = (rng.uniform(0, 1, (8, 8, 3)).astype(np.float32) for _ in range(2))
    return features, content, style


def _run(features, content, style, steps, **numbers):
    run = functools.partial(transfer_style, features, content, style, steps=steps, content_layer="conv2_1",
                            style_layers=STYLE_LAYERS)
    return jax.jit(run)(jax.random.key(3), **numbers)


def test_scanned_steps_equal_a_python_loop_of_optax_adam(problem):
    features, content, style = problem
    numbers = dict(alpha=10.0, beta=40.0, learning_rate=0.05, noise=0.1)
    result = _run(features, content, style, 30, **numbers)
    cost = style_transfer_cost(features, content, style, content_layer="conv2_1", style_layers=STYLE_LAYERS,
                               alpha=10.0, beta=40.0)
    image = jnp.clip(content + jax.random.uniform(jax.random.key(3), content.shape, minval=-1.0, maxval=1.0) * 0.1,
                     0, 1)
    tx = optax.adam(0.05)
    state = tx.init(image)
    grad_fn = jax.jit(jax.value_and_grad(cost, has_aux=True))
    values = []
    for _ in range(30):
        (j, (j_content, j_style)), grad = grad_fn(image)
        values.append((j, j_content, j_style))
        updates, state = tx.update(grad, state, image)
        image = jnp.clip(optax.apply_updates(image, updates), 0, 1)
    np.testing.assert_allclose(result.image, image, atol=1e-5)
    np.testing.assert_allclose(result.costs["J"][:30], [v[0] for v in values], rtol=1e-4)
    # J = α J_content + β J_style at every step, including after the last one; the cost falls.
    costs = {k: np.asarray(v) for k, v in result.costs.items()}
    assert costs["J"].shape == (31,)
    np.testing.assert_allclose(costs["J"], 10 * costs["J_content"] + 40 * costs["J_style"], rtol=1e-5)
    assert costs["J"][-1] < 0.5 * costs["J"][0]
    assert float(result.image.min()) >= 0.0 and float(result.image.max()) <= 1.0


def test_costs_start_at_zero_from_the_content_when_it_is_also_the_style(problem):
    features, content, _ = problem
    result = _run(features, content, content, 1, alpha=10.0, beta=40.0, learning_rate=0.05, noise=0.0)
    # G = C = S: both costs vanish at the start (up to rounding; Adam's step is scale-free, so even
    # rounding-sized gradients move the image afterwards).
    assert float(result.costs["J_content"][0]) < 1e-9 and float(result.costs["J_style"][0]) < 1e-9
    assert float(result.costs["J"][1]) > 0


def test_bad_arguments_are_named(problem):
    features, content, style = problem
    with pytest.raises(ValueError, match="steps must be a positive int"):
        transfer_style(features, content, style, jax.random.key(0), steps=0, content_layer="conv2_1",
                       style_layers=STYLE_LAYERS)
    with pytest.raises(ValueError, match="one size"):
        style_transfer_cost(features, content, style[:4], content_layer="conv2_1", style_layers=STYLE_LAYERS)
    with pytest.raises(ValueError, match=r"RGB image \[H, W, 3\]"):
        style_transfer_cost(features, content[..., :1], style, content_layer="conv2_1", style_layers=STYLE_LAYERS)
