"""Test-wide setup: four fake CPU devices, and one persistent compilation cache for the session.

The device flag must be set before JAX is imported; tests that need one device use
``jax.devices()[:1]`` explicitly. Many tests compile the same programs (a toy experiment built
again, a lesson run as a subprocess): they share a JAX compilation cache in a temporary folder
that lives as long as the test session (``DLCOURSE_COMPILATION_CACHE``, which the programs the
tests start read too), so each program is compiled once. A cache hit returns the executable XLA
compiled for the same program, so results are the same bits.
"""
import os
import shutil
import tempfile

_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = (_flags + " --xla_force_host_platform_device_count=4").strip()

_CACHE = tempfile.mkdtemp(prefix="dlcourse-tests-jax-cache-")
os.environ["DLCOURSE_COMPILATION_CACHE"] = _CACHE


def pytest_configure(config):
    from dlcourse.cli import compilation_cache

    compilation_cache.enable(_CACHE)


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)
