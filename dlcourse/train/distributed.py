"""Multi-host start-up: ``jax.distributed.initialize`` from arguments or the environment.

The same program runs on one process or many. With several processes every process sees the
global device list (``jax.devices()``) and its own ``jax.local_devices()``; a mesh built from
``jax.devices()`` spans all hosts. On CPU the cross-process collectives use gloo.

Environment variables (used where an argument is None):
  ``DLCOURSE_COORDINATOR`` (``host:port`` of process 0), ``DLCOURSE_NUM_PROCESSES``,
  ``DLCOURSE_PROCESS_ID``.
"""

from __future__ import annotations

import os

import jax

_initialized = False


def initialize(coordinator_address: str | None = None,
               num_processes: int | None = None,
               process_id: int | None = None) -> bool:
    """Joins a multi-process run if one is described; returns True if it did.

    With no coordinator (argument or ``DLCOURSE_COORDINATOR``) and at most one process this is a
    no-op and the run is single-process. Must be called before any JAX computation.

    Raises:
      ValueError: a partial description (e.g. a coordinator without a process id), or a process id
        outside ``[0, num_processes)``.
    """
    global _initialized
    env = os.environ
    coordinator_address = coordinator_address or env.get("DLCOURSE_COORDINATOR") or None
    if num_processes is None and env.get("DLCOURSE_NUM_PROCESSES"):
        num_processes = int(env["DLCOURSE_NUM_PROCESSES"])
    if process_id is None and env.get("DLCOURSE_PROCESS_ID"):
        process_id = int(env["DLCOURSE_PROCESS_ID"])
    if coordinator_address is None and (num_processes or 1) <= 1:
        return False
    if coordinator_address is None or num_processes is None or process_id is None:
        raise ValueError(
            "a multi-process run needs coordinator_address, num_processes and process_id; got "
            f"{coordinator_address!r}, {num_processes!r}, {process_id!r}")
    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id}")
    if _initialized:
        return True
    # Only affects the CPU backend: its cross-process collectives go through gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
    _initialized = True
    return True


def is_main_process() -> bool:
    """True on process 0: the one that writes files and prints reports."""
    return jax.process_index() == 0
