"""Fixtures for the optimizer tests."""

import pytest

from .trees import STEPS, random_tree


@pytest.fixture(scope="session")
def tree_and_grads():
    """Initial params and ``STEPS`` stacked random gradients with the same structure."""
    return random_tree(0), random_tree(1, scale=0.5, steps=STEPS)
