"""Fixtures for the optimizer tests."""

import jax
import pytest

from .trees import STEPS, random_tree


@pytest.fixture(scope="session")
def tree_and_grads():
    """Initial params and ``STEPS`` stacked random gradients with the same structure."""
    params = random_tree(jax.random.key(0))
    keys = jax.random.split(jax.random.key(1), STEPS)
    grads_seq = jax.vmap(lambda k: random_tree(k, scale=0.5))(keys)
    return params, grads_seq
