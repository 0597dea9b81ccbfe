"""Packages import their names on first use, and no public name is hidden by a submodule."""

import importlib
import pkgutil
import subprocess
import sys

import pytest

PACKAGES = ("cli", "data", "decoding", "detection", "embeddings", "faces", "models", "nn", "optim", "strategy", "style",
            "sweep", "train", "audio")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_none_is_a_submodule_of_another_meaning(package):
    module = importlib.import_module(f"dlcourse.{package}")
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    for name in module.__all__:
        value = getattr(module, name)
        if name in submodules:   # only a submodule exported as itself may share its name
            assert value is importlib.import_module(f"dlcourse.{package}.{name}"), name
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_importing_every_package_and_loading_an_experiment_imports_no_jax():
    code = ("import sys\nimport dlcourse.cli, dlcourse.data, dlcourse.models, dlcourse.nn, dlcourse.optim, "
            "dlcourse.strategy, dlcourse.sweep, dlcourse.train\n"
            "from dlcourse.cli import load_experiment\n"
            "experiment = load_experiment('experiments/deep_mlp.py')\n"
            "config = experiment.get_config()\n"
            "print(sorted(m for m in ('jax', 'flax', 'optax', 'sklearn', 'matplotlib', 'orbax') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
