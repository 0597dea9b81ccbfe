"""Whole-process mode of ``bench/sweep.py``: the sweep as a user feels it, spawn to exit.

Each method is a fresh ``python`` process (``sys.executable``, run from the repository root),
timed by the wall clock from spawn to exit — interpreter start, imports, planning, compiling,
training, writing and reporting included. The rows:

``first``   — ``launch.py, first run``: ``python launch.py --workdir=<fresh> --compilation_cache=<fresh,
              empty folder>``: nothing cached, every program compiled.
``second``  — ``launch.py, second run``: the same command in a fresh workdir with a compilation cache
              that an earlier, untimed run of the same sweep filled: the compiled program is
              loaded from disk.
``fixed``   — ``launch.py, finished sweep re-run (fixed cost)``: the same command on the workdir whose
              sweep that untimed run completed: it only reports (no JAX import, nothing compiled).
``sklearn`` — ``scikit-learn, trials in sequence``: ``python bench/peers.py sklearn`` (MLPClassifier).
``torch``   — ``PyTorch, trials in sequence``: ``python bench/peers.py torch`` (skipped, with a note,
              when PyTorch is not importable).
``plain``   — ``plain jit(vmap(scan))``: ``python bench/plain_population.py``, a hand-written
              flax.linen + optax population without dlcourse's training or sweep code and without
              a persistent compilation cache.

launch.py gets the flags of the sweep only where they differ from its defaults (so the default
sweep is timed as the bare ``python launch.py``); the peers get every value explicitly. Each
process's ``DLCOURSE_COMPILATION_CACHE`` is set explicitly (launch.py rows: the row's cache folder,
also passed as ``--compilation_cache``; peers: ``none``) and JAX's own ``JAX_COMPILATION_CACHE_DIR``
is removed, so no row sees a cache it was not meant to see. All workdirs and caches are fresh
temporary folders, removed after each run and at the end.

Before timing: the untimed launch.py run that fills the warm cache and leaves the finished sweep,
and an untimed import of each peer's libraries (so every row starts with the operating system's
file cache warm). Then ``--repeats`` repetitions, each running every row once in an order rotated
by the repetition; the table gives medians.

Besides the wall time, each row shows what the process itself printed: launch.py's ``compiled in
X s`` and ``chunk Y s`` (its chunk time includes the compile, so *train* = chunk − compile); the
peers' *setup* (imports, config, data, samples), *compile* and *train*; and *rest* = wall − what
the process accounts for (for launch.py: interpreter start, imports, planning, the store, the
leaderboard and plots). Best dev accuracy is parsed from the output (launch.py's progress line
or, for the re-run, the leaderboard's first row). Ratios are a row's median over
scikit-learn's. Targets: fixed cost ≤ 1 s; second run ≤ scikit-learn / 3; first run ≤
scikit-learn.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from bench import timing
from bench.sweep_definition import SweepDefinition, launch_defaults

REPO = Path(__file__).resolve().parents[1]

ROWS = ("first", "second", "fixed", "sklearn", "torch", "plain")
LABELS = {
    "first": "launch.py, first run",
    "second": "launch.py, second run",
    "fixed": "launch.py, finished sweep re-run (fixed cost)",
    "sklearn": "scikit-learn, trials in sequence",
    "torch": "PyTorch, trials in sequence",
    "plain": "plain jit(vmap(scan))",
}
FIXED_COST_TARGET = 1.0  # seconds
SECOND_RUN_TARGET = 1 / 3  # of scikit-learn's time
FIRST_RUN_TARGET = 1.0  # of scikit-learn's time
AGREEMENT = 0.01  # best dev accuracy within one point of launch.py's
#: JAX's own persistent-cache settings, removed from every timed process's environment.
JAX_CACHE_VARIABLES = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                       "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "JAX_ENABLE_COMPILATION_CACHE")


class Measurement(NamedTuple):
    """One timed process: wall seconds, its exit status, and the figures parsed from its output
    (None where it printed none)."""

    wall: float
    returncode: int
    output: str
    setup: float | None
    compile: float | None
    train: float | None
    best: float | None
    trial: int | None

    @property
    def rest(self) -> float | None:
        """Wall time the process's own figures do not account for."""
        parts = [x for x in (self.setup, self.compile, self.train) if x is not None]
        return self.wall - sum(parts) if parts else None


# ----- commands ------------------------------------------------------------------------------------


def launch_command(args, definition: SweepDefinition, workdir: str, cache: str) -> list[str]:
    """``python launch.py`` with the sweep's non-default flags, the workdir and the cache."""
    defaults = launch_defaults()
    command = [sys.executable, "launch.py"]
    for name in ("trials", "seed", "search", "sweep"):
        if getattr(args, name) != defaults[name]:
            command.append(f"--{name}={getattr(args, name)}")
    command += [f"--config.{key}={value}" for key, value in args.config_values.items()]
    return command + [f"--workdir={workdir}", f"--compilation_cache={cache}"]


def sweep_flags(args) -> list[str]:
    return [f"--trials={args.trials}", f"--seed={args.seed}", f"--search={args.search}", f"--sweep={args.sweep}"]


def peer_command(args, peer: str) -> list[str]:
    command = [sys.executable, "bench/peers.py", peer] + sweep_flags(args)
    command += [f"--experiment-config={key}={value}" for key, value in args.config_values.items()]
    if peer == "torch":
        command += [f"--torch-device={args.torch_device}", f"--torch-threads={args.torch_threads}"]
    return command


def plain_command(args, definition: SweepDefinition) -> list[str]:
    c = definition.config
    return ([sys.executable, "bench/plain_population.py"] + sweep_flags(args)
            + [f"--hidden={c.hidden}", f"--layers={c.layers}", f"--epochs={c.epochs}",
               f"--batch-size={c.batch_size}", f"--beta2={c.beta2}", f"--data-seed={c.seed}"])


def plain_unsupported(definition: SweepDefinition) -> str | None:
    """Why bench/plain_population.py cannot train this sweep, or None."""
    if set(definition.spaces) != {"learning_rate", "beta1"}:
        return f"it sweeps learning_rate and beta1 only, not {', '.join(sorted(definition.spaces))}"
    if float(definition.config.l2) != 0.0:
        return f"it has no L2 term (l2={definition.config.l2})"
    return None


def environment(cache: str) -> dict[str, str]:
    """This process's environment with ``DLCOURSE_COMPILATION_CACHE=cache`` and JAX's cache
    variables removed."""
    env = {k: v for k, v in os.environ.items() if k not in JAX_CACHE_VARIABLES}
    env["DLCOURSE_COMPILATION_CACHE"] = cache
    return env


# ----- running and parsing -------------------------------------------------------------------------


def spawn(command: list[str], cache: str, cpus: set[int], timeout: float) -> tuple[float, int, str]:
    """Runs ``command`` from the repository root; returns (wall seconds spawn to exit, exit
    status, stdout and stderr together)."""
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, env=environment(cache), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout, preexec_fn=pin)
        returncode, output = done.returncode, done.stdout
    except subprocess.TimeoutExpired as expired:
        returncode = 124
        output = (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) \
            else (expired.stdout or "")
        output += f"\n(killed after {timeout:.0f} s)"
    return time.perf_counter() - start, returncode, output


def _float(pattern: str, text: str, total: bool = False) -> float | None:
    values = [float(v) for v in re.findall(pattern, text)]
    if not values:
        return None
    return sum(values) if total else values[-1]


def parse_best(output: str) -> tuple[float | None, int | None]:
    """The best dev accuracy and its trial from a progress line (``best dev accuracy 0.9889
    (trial 5)``), else from the first row of launch.py's leaderboard."""
    found = re.findall(r"best dev accuracy (\d+(?:\.\d+)?) \(trial (\d+)\)", output)
    if found:
        value, trial = found[-1]
        return float(value), int(trial)
    lines = output.splitlines()
    for i, line in enumerate(lines[:-1]):
        columns = line.split()
        if columns[:2] == ["rank", "id"] and "best dev accuracy" in line:
            first = lines[i + 1].split()
            try:
                return float(first[2]), int(first[1])
            except (IndexError, ValueError):
                return None, None
    return None, None


def measure(command: list[str], cache: str, cpus: set[int], timeout: float, launch: bool) -> Measurement:
    wall, returncode, output = spawn(command, cache, cpus, timeout)
    best, trial = parse_best(output)
    if launch:
        compile_seconds = _float(r"compiled in (\d+(?:\.\d+)?)s", output, total=True)
        chunk = _float(r"chunk (\d+(?:\.\d+)?)s", output, total=True)
        train = None if chunk is None else chunk - (compile_seconds or 0.0)
        return Measurement(wall, returncode, output, None, compile_seconds, train, best, trial)
    return Measurement(wall, returncode, output,
                       _float(r"\(setup (\d+(?:\.\d+)?) s\)", output),
                       _float(r"compiled in (\d+(?:\.\d+)?) s", output),
                       _float(r"trained \d+ trials in (\d+(?:\.\d+)?) s", output), best, trial)


# ----- the benchmark -------------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return timing.median(values) if values else None


def run(args, definition: SweepDefinition) -> int:
    """Runs the whole-process benchmark (see the module docstring); returns the exit status."""
    rows = [r for r in ROWS if r not in args.skip]
    notes = []
    if "torch" in rows and importlib.util.find_spec("torch") is None:
        rows.remove("torch")
        notes.append("PyTorch not installed: its row is skipped")
    if "plain" in rows and plain_unsupported(definition):
        rows.remove("plain")
        notes.append(f"plain jit(vmap(scan)) skipped: {plain_unsupported(definition)}")
    if not rows:
        print("nothing to run: every row is skipped", file=sys.stderr)
        return 2
    c = definition.config
    print(f"# whole process, spawn to exit: sweep deep_mlp: {args.sweep}; {args.search} search, "
          f"{args.trials} trials, seed {args.seed}; hidden={c.hidden} x {c.layers}, {c.optimizer}, "
          f"epochs={c.epochs}, batch_size={c.batch_size}")
    print(f"# {sys.executable} (Python {sys.version.split()[0]}); JAX {_version('jax')}, flax "
          f"{_version('flax')}, optax {_version('optax')}, scikit-learn {_version('scikit-learn')}, "
          f"PyTorch {_version('torch')}" + (f" ({args.torch_threads} intra-op threads)" if "torch" in rows else ""))
    affinity = sorted(args.cpus or os.sched_getaffinity(0))
    print(f"# machine: {timing.machine_text()}; timed processes on CPUs {affinity}; "
          f"{args.repeats} interleaved repeats, medians")
    for note in notes:
        print(f"# {note}")

    with tempfile.TemporaryDirectory(prefix="bench-whole-process-") as base:
        warm_cache = os.path.join(base, "warm-cache")
        finished = os.path.join(base, "finished-workdir")
        os.makedirs(warm_cache)
        counter = iter(range(1_000_000))

        def fresh(name: str) -> str:
            path = os.path.join(base, f"{name}-{next(counter)}")
            os.makedirs(path)
            return path

        # What each row runs, made anew for every run: (command, its cache, folders to remove after).
        def first():
            run_folder, empty_cache = fresh("first"), fresh("empty-cache")
            return (launch_command(args, definition, os.path.join(run_folder, "workdir"), empty_cache),
                    empty_cache, [run_folder, empty_cache])

        def second():
            run_folder = fresh("second")
            return (launch_command(args, definition, os.path.join(run_folder, "workdir"), warm_cache),
                    warm_cache, [run_folder])

        commands = {
            "first": first,
            "second": second,
            "fixed": lambda: (launch_command(args, definition, finished, warm_cache), warm_cache, []),
            "sklearn": lambda: (peer_command(args, "sklearn"), "none", []),
            "torch": lambda: (peer_command(args, "torch"), "none", []),
            "plain": lambda: (plain_command(args, definition), "none", []),
        }
        print("# commands, run from the repository root (python = sys.executable):")
        same = "<as --compilation_cache>"
        shown = {
            "first": (launch_command(args, definition, "<fresh workdir>", "<fresh empty folder>"), same),
            "second": (launch_command(args, definition, "<fresh workdir>", "<warm cache>"), same),
            "fixed": (launch_command(args, definition, "<finished workdir>", "<warm cache>"), same),
            "sklearn": (peer_command(args, "sklearn"), "none"),
            "torch": (peer_command(args, "torch"), "none"),
            "plain": (plain_command(args, definition), "none"),
        }
        for row in rows:
            command, cache = shown[row]
            print(f"#   {LABELS[row]}: DLCOURSE_COMPILATION_CACHE={cache} python {shlex.join(command[1:])}")

        if any(row in rows for row in ("first", "second", "fixed")):
            print("# untimed preparation: launch.py fills the warm cache and finishes the sweep", flush=True)
            preparation = measure(launch_command(args, definition, finished, warm_cache), warm_cache,
                                  args.cpus, args.timeout, launch=True)
            if preparation.returncode != 0:
                print(f"the preparation run of launch.py failed (exit {preparation.returncode}):\n"
                      + preparation.output[-3000:], file=sys.stderr)
                return 1
            print(f"#   launch.py preparation run: {preparation.wall:.2f} s, compiled in "
                  f"{_seconds(preparation.compile)} s")
        print("# untimed preparation: each peer's imports", flush=True)
        imports = {"sklearn": "import sklearn.neural_network, ml_collections", "torch": "import torch",
                   "plain": "import jax, flax.linen, optax"}
        for row, statement in imports.items():
            if row in rows:
                spawn([sys.executable, "-c", statement], "none", args.cpus, args.timeout)

        results: dict[str, list[Measurement]] = {row: [] for row in rows}
        failed = False
        start = time.perf_counter()
        for repeat in range(args.repeats):
            shift = repeat % len(rows)
            for row in rows[shift:] + rows[:shift]:
                command, cache, folders = commands[row]()
                result = measure(command, cache, args.cpus, args.timeout, launch=row in ("first", "second", "fixed"))
                for folder in folders:
                    shutil.rmtree(folder, ignore_errors=True)
                if result.returncode != 0:
                    failed = True
                    print(f"[repeat {repeat + 1}/{args.repeats}] {LABELS[row]}: FAILED (exit "
                          f"{result.returncode}) after {result.wall:.2f} s; its output ends:\n"
                          + result.output[-3000:], flush=True)
                    continue
                results[row].append(result)
                parts = [f"{name} {_seconds(value)} s" for name, value in
                         (("setup", result.setup), ("compile", result.compile), ("train", result.train))
                         if value is not None]
                print(f"[repeat {repeat + 1}/{args.repeats}] {LABELS[row]:<46} {result.wall:7.2f} s"
                      + (f"  ({', '.join(parts)})" if parts else "")
                      + f"  best dev {'-' if result.best is None else f'{result.best:.4f}'}"
                      + (f" (trial {result.trial})" if result.trial is not None else ""), flush=True)
        print(f"# total {time.perf_counter() - start:.0f} s; machine now: {timing.machine_text()}")
    return report(rows, results, failed)


def report(rows: list[str], results: dict[str, list[Measurement]], failed: bool) -> int:
    """Prints the table and the targets; returns 1 if any run failed, else 0."""
    medians = {row: _median([m.wall for m in results[row]]) for row in rows}
    sklearn = medians.get("sklearn")
    table = []
    for row in rows:
        measured = results[row]
        if not measured:
            table.append([LABELS[row], "failed"] + ["-"] * 9)
            continue
        last = measured[-1]
        wall = medians[row]
        table.append([
            LABELS[row], f"{wall:.2f}", f"{min(m.wall for m in measured):.2f}",
            _seconds(_median([m.setup for m in measured])), _seconds(_median([m.compile for m in measured])),
            _seconds(_median([m.train for m in measured])), _seconds(_median([m.rest for m in measured])),
            "-" if last.best is None else f"{last.best:.4f}", "-" if last.trial is None else last.trial,
            "-" if sklearn is None else f"{wall / sklearn:.2f}", target_text(row, wall, sklearn)[0],
        ])
    print()
    print(timing.table(["row", "median wall s", "min s", "setup s", "compile s", "train s",
                        "rest s", "best dev acc", "trial", "/ sklearn", "target"], table))
    print("\nsetup, compile, train: as the process printed them (launch.py: train = chunk - compile); "
          "rest = wall - those (interpreter start, imports, planning, store, reports, plots)")
    for row in ("fixed", "second", "first"):
        if row in rows and medians[row] is not None:
            print(f"target, {LABELS[row]}: {target_text(row, medians[row], sklearn)[1]}")
    reference = next((results[r][-1].best for r in ("first", "second", "fixed") if r in rows and results[r]
                      and results[r][-1].best is not None), None)
    if reference is not None:
        far = [LABELS[r] for r in rows if results[r] and (results[r][-1].best is None
                                                         or abs(results[r][-1].best - reference) > AGREEMENT)]
        print(f"best dev accuracy within {AGREEMENT} of launch.py's {reference:.4f}: "
              + ("all" if not far else "NOT " + ", ".join(far)))
    return 1 if failed else 0


def target_text(row: str, wall: float, sklearn: float | None) -> tuple[str, str]:
    """(short verdict for the table, sentence) for ``row``'s target; ``('', '')`` for a peer."""
    if row == "fixed":
        met = wall <= FIXED_COST_TARGET
        return ("met" if met else "MISSED"), (f"{wall:.2f} s <= {FIXED_COST_TARGET:.0f} s: "
                                               + ("met" if met else "MISSED"))
    if row not in ("first", "second"):
        return "", ""
    fraction, words = ((SECOND_RUN_TARGET, "scikit-learn / 3") if row == "second"
                       else (FIRST_RUN_TARGET, "scikit-learn"))
    if sklearn is None:
        return "n/a", f"<= {words}: scikit-learn not measured"
    limit = fraction * sklearn
    met = wall <= limit
    return ("met" if met else "MISSED"), (f"{wall:.2f} s <= {words} = {limit:.2f} s: "
                                          + ("met" if met else "MISSED") + f" ({wall / sklearn:.2f} x scikit-learn)")
