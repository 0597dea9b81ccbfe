"""Benchmark: launch.py's default sweep as one population against its peers, in two modes.

The sweep (:mod:`bench.sweep_definition`) is launch.py's default: experiment ``deep_mlp``
(``launch.DEFAULT_CONFIG``) with its ``get_config()`` defaults (``--experiment-config KEY=VALUE``
on top), spec ``launch.DEFAULT_SWEEP`` (α on a log scale, β₁ as 1 − log scale), random search,
32 trials, seed 0. Every method trains the same trials (``dlcourse.sweep.sample_round``, as
``run_sweep`` samples them) on the same splits (``dlcourse.data.load_digits(seed=config.seed)``)
and reports, per trial, the best dev accuracy over its epochs.

**In-process mode** (the default) times the training alone, every method in this one process,
compilation included, after one untimed warm-up of each on a one-trial, one-epoch sweep:

(a) **population** — what ``python launch.py`` does minus the store and reports: ``build(config)``
    then ``dlcourse.sweep.run_sweep`` (sampling, one ``jax.jit(jax.vmap(trainable.train))``
    compile, one call for all trials). With the persistent compilation cache off (JAX's default;
    this program never enables it), so every repetition compiles.
(b) **dlcourse, one trial after another** — ``build(config)`` once, then per trial a fresh
    ``train = jax.jit(trainable.train)`` called with that trial's hyperparameters (float32 scalars)
    and its key ``dlcourse.sweep.trial_keys(seed, [id])``: the naive loop. JAX's caches do not
    carry a program from one ``jax.jit`` wrapper of a bound method to the next, so every trial
    traces and compiles (the compile count printed shows it).
(c) **PyTorch, one trial after another** (when installed; not a dependency) —
    :func:`bench.peers.torch_train`; ``--torch-device=cuda`` runs it on a GPU.
(d) **scikit-learn** — :func:`bench.peers.sklearn_trials` (``MLPClassifier``, one epoch per
    ``partial_fit``, dev accuracy after each).

Each repetition runs every method once, interleaved (the order rotates); the table reports
medians and each method's time over the population's (the population's speed-up; target ≥ 3),
and checks that every method's best trial is within one point (0.01) of the population's.

**Whole-process mode** (``--whole-process``, :mod:`bench.whole_process`) times what a user
waits for: each method is a fresh ``python`` process timed from spawn to exit — ``launch.py``
(first run with nothing cached, second run with a warm compilation cache, and the re-run of a
finished sweep: the fixed cost), scikit-learn and PyTorch trial by trial (``bench/peers.py``),
and a hand-written ``jit(vmap(scan))`` script (``bench/plain_population.py``) — with ratios to
scikit-learn's time and the targets.

    python bench/sweep.py [--trials 32] [--seed 0] [--repeats 3] [--skip sequential,sklearn]
                          [--experiment-config epochs=30 --experiment-config hidden=32]
                          [--torch-device cuda] [--torch-threads 1]
    python bench/sweep.py --whole-process [--repeats 3] [--skip torch,plain] [--cpus 0,1]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench import peers, sweep_definition, timing  # noqa: E402
from bench.sweep_definition import SweepDefinition, best_trial  # noqa: E402

METHODS = ("population", "sequential", "torch", "sklearn")
LABELS = {
    "population": "(a) dlcourse population",
    "sequential": "(b) dlcourse, jit per trial",
    "torch": "(c) PyTorch, trial by trial",
    "sklearn": "(d) scikit-learn MLPClassifier",
}
ALIASES = {"a": "population", "b": "sequential", "c": "torch", "d": "sklearn"}
TARGET = 3.0  # the population at least this many times faster than each other method
AGREEMENT = 0.01  # best dev accuracies within one point


# ----- the dlcourse methods: each returns {trial id: best dev accuracy (NaN if diverged)} -----------


def run_population(definition: SweepDefinition) -> dict[int, float]:
    """(a): build once (as launch.py does before its sweep), then ``run_sweep``."""
    from dlcourse.sweep import objective_key, run_sweep

    trainable = definition.experiment.build(definition.config)
    records = run_sweep(definition.experiment.build, definition.config, definition.spaces,
                        search=definition.search, trials=definition.trials, seed=definition.seed,
                        trainable=trainable)
    key = objective_key(trainable.objective)
    return {r["id"]: _number(r["metrics"][key]) for r in records}


def run_sequential(definition: SweepDefinition, numeric: list[str], structural: list[str]) -> dict[int, float]:
    """(b): a fresh ``jax.jit(trainable.train)`` per trial (``build`` once per structure)."""
    import jax

    from dlcourse.sweep import objective_key, stack_hparams, trial_keys

    trainables, out = {}, {}
    for trial in definition.samples:
        structure = tuple(trial.hparams[k] for k in structural)
        if structure not in trainables:
            trainables[structure] = definition.experiment.build(definition.trial_config(trial))
        trainable = trainables[structure]
        stacked = stack_hparams(trainable, [{k: trial.hparams[k] for k in numeric}])
        hparams = {name: np.float32(values[0]) for name, values in stacked.items()}
        key = trial_keys(definition.seed, [trial.id])[0]
        train = jax.jit(trainable.train)  # a fresh jitted program for this trial
        metrics = train(hparams, key)
        diverged = bool(metrics["diverged"])
        out[trial.id] = math.nan if diverged else _number(metrics[objective_key(trainable.objective)])
    return out


def _number(value) -> float:
    return math.nan if value is None else float(value)


# ----- the program ---------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sweep_definition.add_sweep_arguments(parser)
    parser.add_argument("--whole-process", action="store_true",
                        help="time each method as a fresh process, spawn to exit (bench/whole_process.py)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (median reported)")
    parser.add_argument("--skip", default="", help="comma-separated methods to leave out; in-process: "
                        + ", ".join(f"{m} ({a})" for a, m in ALIASES.items())
                        + "; whole-process: see bench/whole_process.py (first, second, fixed, sklearn, "
                          "torch, plain)")
    parser.add_argument("--torch-device", default="cpu", help="PyTorch device: cpu, cuda, cuda:N")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch intra-op CPU threads (0: its default); see timing.configure_torch")
    parser.add_argument("--cpus", default="",
                        help="whole-process mode: pin every timed process to these CPUs (e.g. 0,1)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="whole-process mode: seconds before a timed process is killed")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.repeats < 1:
        parser.error("--trials and --repeats must be >= 1")
    args.config_values = sweep_definition.parse_config_values(parser, args.experiment_config)
    words = [w.strip() for w in args.skip.split(",") if w.strip()]
    if args.whole_process:
        from bench import whole_process

        unknown = [w for w in words if w not in whole_process.ROWS]
        if unknown:
            parser.error(f"--skip: unknown row {unknown[0]!r}; choose from {', '.join(whole_process.ROWS)}")
        args.skip = set(words)
        try:
            args.cpus = {int(c) for c in args.cpus.split(",") if c.strip()}
        except ValueError:
            parser.error(f"--cpus {args.cpus!r}: write CPU numbers separated by commas")
        return args
    if args.cpus:
        parser.error("--cpus applies to --whole-process only")
    skip = set()
    for word in words:
        name = ALIASES.get(word, word)
        if name not in METHODS:
            parser.error(f"--skip: unknown method {word!r}; choose from {', '.join(METHODS)} or a-d")
        skip.add(name)
    args.skip = skip
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    definition = sweep_definition.load_definition("bench/sweep.py", args.sweep, args.search, args.trials,
                                                  args.seed, args.config_values)
    if args.whole_process:
        from bench import whole_process

        return whole_process.run(args, definition)
    return run_in_process(args, definition)


def run_in_process(args, definition: SweepDefinition) -> int:
    import jax

    from dlcourse.sweep import classify_keys

    try:
        numeric, structural = classify_keys(definition.spaces,
                                            definition.experiment.build(definition.config), definition.config)
    except ValueError as error:
        print(f"bench/sweep.py: error: {error}", file=sys.stderr)
        return 2
    c = definition.config
    print(f"# sweep deep_mlp: {args.sweep}; {args.search} search, {args.trials} trials, seed {args.seed}")
    print(f"# config: hidden={c.hidden} x {c.layers} layers, {c.optimizer}, epochs={c.epochs}, "
          f"batch_size={c.batch_size}, beta2={c.beta2}, l2={c.l2}, keep_prob={c.keep_prob}; "
          f"m_train={len(definition.splits.x_train)}, m_dev={len(definition.splits.x_dev)}")
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}; persistent compilation cache: "
          f"{jax.config.jax_compilation_cache_dir or 'off'}")
    methods = {}
    if "population" not in args.skip:
        methods["population"] = run_population
    if "sequential" not in args.skip:
        methods["sequential"] = lambda d: run_sequential(d, numeric, structural)
    if "torch" not in args.skip:
        torch = timing.import_torch()
        if torch is None:
            print("# PyTorch not installed: (c) skipped")
        else:
            device = timing.torch_device(torch, args.torch_device)
            timing.configure_torch(torch, args.torch_threads)
            tensors = peers.TorchData(torch, device, definition.splits)  # the warm-up has the same splits
            print(f"# PyTorch {torch.__version__} on {timing.torch_device_text(torch, device)}")
            methods["torch"] = lambda d: peers.torch_trials(d, torch, tensors)
    if "sklearn" not in args.skip:
        import sklearn

        print(f"# scikit-learn {sklearn.__version__} on CPU")
        methods["sklearn"] = peers.sklearn_trials
    if not methods:
        print("nothing to run: every method is skipped", file=sys.stderr)
        return 2
    print(f"# machine: {timing.machine_text()}; {args.repeats} interleaved repeats, medians")

    warm = definition.with_config({"epochs": 1}, trials=1)
    for method in methods.values():  # untimed warm-up: imports, thread pools, allocator
        method(warm)

    compile_seconds: dict[str, list[float]] = {name: [] for name in methods}
    compiles: dict[str, list[int]] = {name: [] for name in methods}

    def timed(name):
        def call():
            clock = timing.CompileClock()
            result = methods[name](definition)
            compile_seconds[name].append(clock.seconds)
            compiles[name].append(clock.compiles)
            return result
        return call

    def progress(r, name, seconds, result):
        value, trial = best_trial(result)
        print(f"[repeat {r + 1}/{args.repeats}] {LABELS[name]:<31} {seconds:7.2f} s  "
              f"(JAX compile {compile_seconds[name][-1]:5.2f} s, {compiles[name][-1]} XLA compiles)  "
              f"best dev {value:.4f} (trial {trial})", flush=True)

    start = time.perf_counter()
    times, results = timing.run_interleaved({name: timed(name) for name in methods}, args.repeats,
                                            on_result=progress)
    print(f"# total {time.perf_counter() - start:.0f} s; machine now: {timing.machine_text()}")

    reference = timing.median(times["population"]) if "population" in times else None
    rows = []
    for name in methods:
        value, trial = best_trial(results[name])
        seconds = timing.median(times[name])
        rows.append([LABELS[name], f"{seconds:.2f}", f"{min(times[name]):.2f}",
                     f"{timing.median(compile_seconds[name]):.2f}", f"{value:.4f}", trial,
                     "-" if reference is None else f"{seconds / reference:.2f}"])
    print()
    print(timing.table(["method", "median s", "min s", "JAX compile s", "best dev acc", "trial",
                        "time / population"], rows))
    if "population" in results and "sequential" in results:
        pairs = [(results["population"][i], results["sequential"][i]) for i in results["population"]]
        gaps = [abs(a - b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
        print(f"\n(a) vs (b), same keys: per-trial best dev accuracy differs by at most "
              f"{max(gaps, default=0.0):.4f} over {len(gaps)} trials")
    if reference is not None:
        population_value = best_trial(results["population"])[0]
        far = [LABELS[n] for n in methods if math.isnan(best_trial(results[n])[0])
               or abs(best_trial(results[n])[0] - population_value) > AGREEMENT]
        print(f"best dev accuracy within {AGREEMENT} of the population's: "
              + ("all" if not far else "NOT " + ", ".join(far)))
        slow = [LABELS[n] for n in methods if n != "population" and timing.median(times[n]) / reference < TARGET]
        print(f"target (population >= {TARGET:.0f}x faster than each other method): "
              + ("met" if not slow else "MISSED against " + ", ".join(slow)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
