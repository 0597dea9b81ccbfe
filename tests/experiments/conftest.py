"""The lesson files under test, loaded by path (as launch.py and a user's own code load them)."""
import pathlib

import pytest

from dlcourse.cli import load_experiment

EXPERIMENTS = pathlib.Path(__file__).resolve().parents[2] / "experiments"


def lesson(name: str):
    """The module of ``experiments/<name>.py``."""
    path = EXPERIMENTS / f"{name}.py"
    if name in ("gradient_check", "worked_examples", "transfer_learning", "strategy_report"):
        import importlib.util

        spec = importlib.util.spec_from_file_location(f"lesson_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return load_experiment(str(path)).module


@pytest.fixture(scope="session")
def lessons():
    return lesson
