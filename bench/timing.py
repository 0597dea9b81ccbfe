"""Timing helpers shared by the benchmarks in ``bench/``: interleaved repeats, medians, compile
clocks, device and machine descriptions, and the optional PyTorch import.

JAX is imported only by the helpers that need it (:class:`CompileClock`, :class:`SupervisedEpochs`,
:func:`jax_device_text`),
so the programs that must not pay for it (``bench/peers.py``, the parent of
``bench/sweep.py --whole-process``) can use the rest. Not part of the library and never run by
the test suite.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from typing import Callable, Mapping, Sequence

# JAX reports the time spent tracing, lowering and compiling through jax.monitoring; one listener,
# registered once, adds every duration to the running totals that CompileClock reads.
_COMPILE_EVENTS = {
    "/jax/core/compile/jaxpr_trace_duration": "trace",
    "/jax/core/compile/jaxpr_to_mlir_module_duration": "lower",
    "/jax/core/compile/backend_compile_duration": "compile",
}
_totals = {"trace": 0.0, "lower": 0.0, "compile": 0.0, "compiles": 0}
_listening = False


def _on_duration(event: str, duration: float, **_) -> None:
    part = _COMPILE_EVENTS.get(event)
    if part is not None:
        _totals[part] += duration
        if part == "compile":
            _totals["compiles"] += 1


class CompileClock:
    """Seconds JAX spent tracing + lowering + compiling (and XLA compiles counted) since creation.

    ``seconds`` and ``compiles`` read the totals so far; a clock started before a timed call and
    read after it gives that call's share of compile work.
    """

    def __init__(self):
        global _listening
        if not _listening:
            import jax

            jax.monitoring.register_event_duration_secs_listener(_on_duration)
            _listening = True
        self._start = dict(_totals)

    @property
    def seconds(self) -> float:
        return sum(_totals[k] - self._start[k] for k in ("trace", "lower", "compile"))

    @property
    def compiles(self) -> int:
        return _totals["compiles"] - self._start["compiles"]


class SupervisedEpochs:
    """dlcourse's side of a token-prediction benchmark: ``model`` trained on ``dataset`` through
    ``train.supervised`` (Adam, softmax loss, dev perplexity, one epoch per :meth:`run`), its init and
    epoch compiled ahead (``compile_seconds``), ``parameter_count`` read from the initial state."""

    def __init__(self, model, dataset, *, learning_rate: float, beta1: float, beta2: float, batch_size: int):
        import jax
        import numpy as np

        from dlcourse import train

        self.trainable = train.supervised(
            model, dataset, optimizer="adam", hparams={"learning_rate": learning_rate, "beta1": beta1, "beta2": beta2},
            epochs=1, batch_size=batch_size, loss="softmax", metrics=("perplexity",), eval_batch_size=batch_size,
            evaluate_train=False)
        self.hparams = self.trainable.default_hparams()
        key = jax.random.key(0)
        start = time.perf_counter()
        init = train.compile_lowered(jax.jit(self.trainable.init).lower(self.hparams, key))
        self.state = jax.block_until_ready(init(self.hparams, key))
        self.epoch = train.compile_lowered(jax.jit(self.trainable.epoch).lower(self.state, self.hparams))
        self.compile_seconds = time.perf_counter() - start
        self.parameter_count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(self.state.params))
        self.jax = jax

    def run(self) -> dict:
        """One epoch; its training and dev losses."""
        self.state, row = self.epoch(self.state, self.hparams)
        row = self.jax.device_get(row)
        return {"train_loss": float(row["train_loss"]), "dev_loss": float(row["dev_loss"])}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def run_interleaved(methods: Mapping[str, Callable[[], object]], repeats: int,
                    on_result: Callable[[int, str, float, object], None] | None = None
                    ) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Times every method ``repeats`` times, interleaved in one process.

    Repetition ``r`` runs all methods once, in the order rotated by ``r`` so that none always runs
    first (after the others' garbage or in a cooler cache). Each call is preceded by a garbage
    collection. Returns ``({name: [seconds per repetition]}, {name: last result})``.
    """
    names = list(methods)
    times: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, object] = {}
    for r in range(repeats):
        shift = r % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start = time.perf_counter()
            result = methods[name]()
            seconds = time.perf_counter() - start
            times[name].append(seconds)
            results[name] = result
            if on_result is not None:
                on_result(r, name, seconds, result)
    return times, results


def import_torch():
    """PyTorch if installed, else None (it is not a dependency of dlcourse)."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def peer_torch(threads: int):
    """PyTorch configured with ``threads`` intra-op threads (:func:`configure_torch`), the peer a
    benchmark compares against; exits 3 with one line when it is not installed."""
    torch = import_torch()
    if torch is None:
        print("PyTorch is not installed: nothing to compare against", file=sys.stderr)
        raise SystemExit(3)
    configure_torch(torch, threads)
    return torch


def torch_device(torch, name: str):
    """The torch device called ``name`` ('cpu', 'cuda', 'cuda:1', …); exits 2 if unavailable."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        print(f"--torch-device={name}: CUDA is not available to this PyTorch "
              f"({torch.__version__})", file=sys.stderr)
        raise SystemExit(2)
    return torch.device(name)


def configure_torch(torch, threads: int) -> None:
    """Sets PyTorch's intra-op CPU threads (``threads`` 0 keeps its default, one per core).

    The default for the benchmarks is 1: these networks are too small for intra-op parallelism
    to pay, and PyTorch's idle OpenMP workers spin between operations, taking the cores from JAX
    (which shares the process) and from other programs on a busy machine. Measured on the 2-core
    CI box: one deep_mlp run took 0.16-0.24 s with 1 thread and 0.17-4.6 s with 2.
    """
    if threads > 0:
        torch.set_num_threads(threads)


def torch_synchronize(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def jax_device_text() -> str:
    import jax

    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    return f"{devices[0].platform.upper()} ({', '.join(kinds)}) x{len(devices)}"


def torch_device_text(torch, device) -> str:
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    return f"CPU ({torch.get_num_threads()} threads)"


def machine_text() -> str:
    """CPU count and the current load average: timings on a busy machine are noisy."""
    try:
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "n/a"
    return f"{os.cpu_count()} CPUs, load average {load} (1/5/15 min)"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A right-aligned text table (first column left-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append("  ".join(parts))
    return "\n".join(lines)


def print_whole_process(rows: Sequence[Sequence[object]]) -> None:
    """Prints the whole-process table (one row per workload: name, dlcourse s, PyTorch s, ratio) and
    what its seconds mean."""
    print()
    print(table(["whole process", "dlcourse s", "PyTorch s", "PyTorch s / dlcourse s"], rows))
    print("\nseconds = one fresh process, spawn to exit (imports, data, build, compile, one run); above 1: "
          "dlcourse is faster")
