"""Test-wide setup: four fake CPU devices, so multi-device tests run anywhere.

The flag must be set before JAX is imported; tests that need one device use
``jax.devices()[:1]`` explicitly.
"""
import os

_flags = os.environ.get("XLA_FLAGS", "")
if "xla_force_host_platform_device_count" not in _flags:
    os.environ["XLA_FLAGS"] = (_flags + " --xla_force_host_platform_device_count=4").strip()
