"""Benchmark: time to accuracy of adaptive sweeps — random search, successive halving and PBT as
launch.py runs them (one compiled population per process) against Optuna's successive-halving
pruner (one trial at a time), at equal compute.

Two sweeps, spec ``launch.DEFAULT_SWEEP`` (α on a log scale, β₁ as 1 − log scale) on both:

- ``deep_mlp``: launch.py's default sweep (``experiments/deep_mlp.py`` at its defaults, E = 20
  epochs), 32 trials for random search and PBT;
- ``convnet``: ``experiments/convnets.py``'s LeNet-5 on the digits enlarged to 16×16, E = 9 epochs,
  8 trials (``--full``: 32×32 images, E = 27, 16 trials).

The budget B is random search's: trials × E trial-epochs. Every method spends about B:

- **random**: ``python launch.py --trials=N`` (every trial trains E epochs);
- **halving**: ``--schedule=halving --eta=3 --min_epochs=m`` with the largest trial count whose
  planned trial-epochs (``dlcourse.sweep.halving``'s schedule: rungs at ⌊E/η^(s−i)⌋ epochs,
  ⌊n/η⌋ promoted) fit in B — many more configurations, most stopped early;
- **pbt**: ``--schedule=pbt --ready_every=K`` with N trials (truncation exploit, perturb explore);
- **optuna**: Optuna's ``SuccessiveHalvingPruner(min_resource=m, reduction_factor=3)`` (asynchronous
  successive halving), trials run one at a time in this program (``--optuna-worker``): the
  experiment's ``Trainable`` with ``jax.jit(start)`` and ``jax.jit(guarded_epoch)`` (one compile
  for all trials, dlcourse's divergence rule), each epoch's best-so-far dev objective reported to
  the pruner (the score dlcourse's halving ranks by), a diverged trial stopped; the study stops
  once B trial-epochs are spent (the last trial may run past B). Its trials are enqueued from
  dlcourse's random search of the same seed — trial number i is dlcourse's trial i, same values,
  same PRNG key, the same curve up to float rounding — so the rows differ only in which trials are
  continued, not in luck of the draw (Optuna's own ``RandomSampler`` would draw other points).

Every method runs as a fresh process, timed from spawn to exit (``wall``; ``compile`` is what it
reports compiling). Each (sweep, method) has its own persistent compilation cache: the first seed
runs cold (``cold wall``), the others find the programs compiled (``warm wall``; halving's rung
programs differ in population size, PBT's do not).

From each run's ``trials.jsonl`` (or the worker's log) comes the best dev objective reached
against trial-epochs spent. Population methods train their trials in lock-step, so after epoch e
the spend is Σ_trials min(epochs it ran, e) and the best is over the epochs up to e (halving's
stopped trials count the epochs they ran). Padding to the device count and diverged trials' masked
epochs are not counted. ``to target``: the trial-epochs at which the best first comes within
``--tolerance`` of random search's median final best (— if it never does).

The table and ``--plot`` (best dev against trial-epochs, and against wall seconds) are written
with the results as JSON beside the plot.

What it shows at the default scale on 2 CPU cores (the figures are in WORKSPACE.md): where
adaptive methods do not help. The digits dev set (359 images) saturates near 0.99 and every
method ends within one or two dev images of the others: halving's 4× more configurations and
PBT's exploitation find nothing better than random search's 32. Halving compiles one program per
rung (each a smaller population), which on a CPU costs more wall time than the epochs it saves.
Optuna's asynchronous halving, one trial at a time, reaches random search's final level after far
fewer trial-epochs (its first trials run to the end at once; a lock-step population shows its
best only late), and — with one program compiled for all trials, since the hyperparameters are
traced — its wall time is on a par with the population's: on two cores a population of tiny
models has little parallelism to exploit.

    python bench/adaptive.py [--experiments deep_mlp,convnet] [--seeds 2] [--methods random,halving,pbt,optuna]
    python bench/adaptive.py --full --seeds 5        # the real scale (about an hour on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import timing  # noqa: E402
from bench.whole_process import environment  # noqa: E402

METHODS = ("random", "halving", "pbt", "optuna")
LABELS = {"random": "dlcourse random search", "halving": "dlcourse successive halving",
          "pbt": "dlcourse PBT", "optuna": "Optuna SuccessiveHalvingPruner"}
COLOURS = {"random": "tab:gray", "halving": "tab:blue", "pbt": "tab:green", "optuna": "tab:orange"}
ETA = 3
SWEEP = "learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1)"  # launch.DEFAULT_SWEEP


class Setup(NamedTuple):
    """One benchmarked sweep: the experiment, its config overrides, random search's trial count
    (the budget is trials × epochs), halving's shortest rung and PBT's ready interval."""

    experiment: str
    config: dict
    trials: int
    min_epochs: int
    ready_every: int


SETUPS = {"deep_mlp": Setup("deep_mlp", {}, 32, 2, 2),
          "convnet": Setup("convnets", {"image_size": 16, "epochs": 9}, 8, 1, 2)}
FULL_SETUPS = {"deep_mlp": SETUPS["deep_mlp"],
               "convnet": Setup("convnets", {"image_size": 32, "epochs": 27}, 16, 1, 3)}


class Run(NamedTuple):
    """One method on one seed: times, what it tried, and its best-so-far curve."""

    sweep: str
    method: str
    seed: int
    wall: float
    compile: float | None
    trials: int
    trial_epochs: int
    best: float
    curve: list            # [(trial-epochs spent, best so far)]
    timed_curve: list | None  # Optuna only: [(seconds since its start, best so far)]
    returncode: int


# ----- budgets -------------------------------------------------------------------------------------


def epochs_of(setup: Setup) -> int:
    from dlcourse.cli import load_experiment

    config = load_experiment(setup.experiment, [str(REPO / "experiments")]).get_config()
    return int(setup.config.get("epochs", config.epochs))


def halving_cost(trials: int, epochs: int, min_epochs: int) -> int:
    """Trial-epochs successive halving plans for ``trials`` (one bracket, η = :data:`ETA`)."""
    from dlcourse.sweep.halving import hyperband_brackets, survivors

    (bracket,) = hyperband_brackets(epochs, ETA, min_epochs, 1, trials)
    cost, alive, previous = 0, bracket.trials, 0
    for rung, end in enumerate(bracket.rung_epochs):
        if rung:
            alive = survivors(alive, ETA)
        cost += alive * (end - previous)
        previous = end
    return cost


def halving_trials(budget: int, epochs: int, min_epochs: int) -> int:
    """The most trials whose halving plan fits in ``budget`` trial-epochs."""
    trials = 1
    while halving_cost(trials + 1, epochs, min_epochs) <= budget:
        trials += 1
    return trials


# ----- curves --------------------------------------------------------------------------------------


def better(a: float, b: float, goal: str) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return max(a, b) if goal == "max" else min(a, b)


def lockstep_curve(records, name: str, goal: str) -> list[tuple[int, float]]:
    """Best dev objective against trial-epochs for trials trained in lock-step (see the docstring)."""
    curves = [[math.nan if v is None else float(v) for v in r["metrics"][f"dev_{name}"]] for r in records]
    points, best = [], math.nan
    for e in range(1, max(map(len, curves), default=0) + 1):
        for curve in curves:
            if len(curve) >= e:
                best = better(best, curve[e - 1], goal)
        points.append((sum(min(len(c), e) for c in curves), best))
    return points


def epochs_to(curve, target: float, goal: str) -> int | None:
    for spent, best in curve:
        if not math.isnan(best) and (best >= target if goal == "max" else best <= target):
            return spent
    return None


# ----- running the methods -------------------------------------------------------------------------


def parse_compile(output: str) -> float | None:
    import re

    values = [float(v) for v in re.findall(r"compiled in (\d+(?:\.\d+)?)s", output)]
    return sum(values) if values else None


def launch_command(setup: Setup, method: str, seed: int, epochs: int, workdir: str, cache: str) -> tuple[list, int]:
    """launch.py's command for a dlcourse method, and its trial count."""
    trials = setup.trials
    schedule = []
    if method == "halving":
        trials = halving_trials(setup.trials * epochs, epochs, setup.min_epochs)
        schedule = ["--schedule=halving", f"--eta={ETA}", f"--min_epochs={setup.min_epochs}"]
    elif method == "pbt":
        schedule = ["--schedule=pbt", f"--ready_every={setup.ready_every}"]
    command = [sys.executable, "launch.py", f"--experiment={setup.experiment}", f"--sweep={SWEEP}",
               f"--trials={trials}", f"--seed={seed}", f"--workdir={workdir}", f"--compilation_cache={cache}"]
    return command + [f"--config.{k}={v}" for k, v in setup.config.items()] + schedule, trials


def run_method(name: str, setup: Setup, method: str, seed: int, epochs: int, cache: str, timeout: float) -> Run:
    workdir = tempfile.mkdtemp(prefix=f"bench-adaptive-{name}-{method}-")
    try:
        if method == "optuna":
            spec = {"experiment": setup.experiment, "config": setup.config, "sweep": SWEEP, "seed": seed,
                    "budget": setup.trials * epochs, "min_epochs": setup.min_epochs, "cache": cache}
            command = [sys.executable, "bench/adaptive.py", "--optuna-worker", json.dumps(spec)]
        else:
            command, _ = launch_command(setup, method, seed, epochs, workdir, cache)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=REPO, env=environment(cache), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(f"  {' '.join(command)}\n  exited {done.returncode}:\n{done.stdout[-2000:]}", flush=True)
            return Run(name, method, seed, wall, None, 0, 0, math.nan, [], None, done.returncode)
        if method == "optuna":
            result = json.loads(done.stdout.strip().splitlines()[-1])
            return Run(name, method, seed, wall, result["compile"], result["trials"], result["trial_epochs"],
                       result["best"], result["curve"], result["timed_curve"], 0)
        with open(os.path.join(workdir, "sweep.json")) as f:
            objective = json.load(f)["objective"]
        with open(os.path.join(workdir, "trials.jsonl")) as f:
            records = [json.loads(line) for line in f if line.strip()]
        curve = lockstep_curve(records, objective["name"], objective["goal"])
        return Run(name, method, seed, wall, parse_compile(done.stdout), len(records), curve[-1][0],
                   curve[-1][1], curve, None, 0)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ----- Optuna, one trial at a time (a subprocess of this program) ----------------------------------


def optuna_parameter(key: str, space, value) -> tuple[str, object]:
    """The name and value under which Optuna's trial holds swept ``key`` = ``value``."""
    from dlcourse.sweep import OneMinusLogUniform

    return (f"1-{key}", 1.0 - value) if isinstance(space, OneMinusLogUniform) else (key, value)


def suggest(trial, key: str, space):
    from dlcourse.sweep import Choice, IntRange, LogUniform, OneMinusLogUniform, Uniform

    if isinstance(space, OneMinusLogUniform):      # β = 1 − 10^r: sample 1 − β on a log scale
        return 1.0 - trial.suggest_float(f"1-{key}", space.low, space.high, log=True)
    if isinstance(space, (LogUniform, Uniform)):
        return trial.suggest_float(key, space.low, space.high, log=isinstance(space, LogUniform))
    if isinstance(space, IntRange):
        return trial.suggest_int(key, space.low, space.high)
    if isinstance(space, Choice):
        return trial.suggest_categorical(key, list(space.options))
    raise ValueError(f"{key}: no Optuna equivalent of {space.spec()}")


def optuna_worker(spec: dict) -> int:
    start = time.perf_counter()
    import jax
    import numpy as np
    import optuna

    from bench.sweep_definition import set_config_values
    from dlcourse.cli import compilation_cache, load_experiment
    from dlcourse.sweep import load_sweep, sample_round, trial_key

    compilation_cache.enable(spec["cache"])
    clock = timing.CompileClock()
    experiment = load_experiment(spec["experiment"], [str(REPO / "experiments")])
    config = set_config_values(experiment.get_config(), spec["config"])
    trainable = experiment.build(config)
    spaces = load_sweep(spec["sweep"])
    unknown = [k for k in spaces if k not in trainable.hparams]
    if unknown:
        raise SystemExit(f"--optuna-worker sweeps numeric hyperparameters only, not {unknown[0]}")
    name, goal = trainable.objective.name, trainable.objective.goal
    begin, step, key = jax.jit(trainable.start), jax.jit(trainable.guarded_epoch), jax.jit(trial_key)
    defaults = {k: np.float32(v) for k, v in trainable.hparams.items()}
    seed, budget = spec["seed"], spec["budget"]
    log = {"spent": 0, "best": math.nan, "curve": [], "timed": [], "pruned": 0, "diverged": 0}

    def objective(trial):
        values = {k: suggest(trial, k, space) for k, space in spaces.items()}
        hparams = {**defaults, **{k: np.float32(v) for k, v in values.items()}}
        state, guard = begin(hparams, key(np.uint32(seed), np.uint32(trial.number)))  # as a sweep's trial
        trial_best = math.nan
        for epoch in range(1, trainable.epochs + 1):
            state, guard, row = step(state, guard, hparams)
            value, diverged = jax.device_get((row[f"dev_{name}"], guard.diverged))
            log["spent"] += 1
            if not diverged:
                trial_best = better(trial_best, float(value), goal)
                log["best"] = better(log["best"], float(value), goal)
            log["curve"].append((log["spent"], log["best"]))
            log["timed"].append((time.perf_counter() - start, log["best"]))
            if diverged:
                log["diverged"] += 1
                raise optuna.TrialPruned()
            trial.report(trial_best, epoch)
            if trial.should_prune():
                log["pruned"] += 1
                raise optuna.TrialPruned()
        return trial_best

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if goal == "max" else "minimize",
                                sampler=optuna.samplers.RandomSampler(seed=seed),
                                pruner=optuna.pruners.SuccessiveHalvingPruner(
                                    min_resource=spec["min_epochs"], reduction_factor=ETA))
    # The same points, in the same order, as dlcourse's random search of this seed (trial id i is
    # Optuna's trial number i, with the same key): only the stopping rule differs.
    samples = sample_round(spaces, "random", seed, 0, 0, budget)

    def enqueue_next(study, _=None):
        if log["spent"] >= budget:
            study.stop()
        else:
            study.enqueue_trial(dict(optuna_parameter(k, spaces[k], v)
                                     for k, v in samples[len(study.trials)].hparams.items()))

    enqueue_next(study)
    study.optimize(objective, callbacks=[enqueue_next])
    print(json.dumps({"trials": len(study.trials), "trial_epochs": log["spent"], "best": log["best"],
                      "pruned": log["pruned"], "diverged": log["diverged"], "compile": clock.seconds,
                      "curve": log["curve"], "timed_curve": log["timed"]}))
    return 0


# ----- reporting -----------------------------------------------------------------------------------


def _median(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return timing.median(values) if values else math.nan


def report(runs: list[Run], sweeps: list[str], methods: list[str], tolerance: float, budgets: dict) -> str:
    lines = []
    for sweep in sweeps:
        reference = _median([r.best for r in runs if r.sweep == sweep and r.method == "random"])
        target = reference - tolerance
        rows = []
        for method in methods:
            mine = sorted((r for r in runs if r.sweep == sweep and r.method == method), key=lambda r: r.seed)
            if not mine:
                continue
            finished = [r for r in mine if r.returncode == 0]
            bests = [r.best for r in finished]
            reached = [epochs_to(r.curve, target, "max") for r in finished]
            hit = [x for x in reached if x is not None]
            warm = [r.wall for r in mine[1:]]
            rows.append([LABELS[method], f"{_median([r.trials for r in finished]):.0f}",
                         f"{_median([r.trial_epochs for r in finished]):.0f}",
                         f"{_median(bests):.4f}",
                         f"{min(bests, default=math.nan):.4f}-{max(bests, default=math.nan):.4f}",
                         (f"{timing.median(hit):.0f}" if hit else "-") + f" ({len(hit)}/{len(finished)})",
                         f"{mine[0].wall:.1f}", f"{_median(warm):.1f}" if warm else "-",
                         f"{_median([r.compile for r in mine]):.1f}"])
        seeds = len({r.seed for r in runs if r.sweep == sweep})
        lines.append(f"\n{sweep}: budget {budgets[sweep]} trial-epochs; target = random search's median best "
                     f"{reference:.4f} - {tolerance} = {target:.4f}; {seeds} seeds")
        lines.append(timing.table(["method", "trials", "trial-epochs", "best dev (median)", "min-max",
                                   "trial-epochs to target (seeds)", "cold wall s", "warm wall s",
                                   "compile s"], rows))
    return "\n".join(lines)


def plot(runs: list[Run], sweeps: list[str], path: str) -> None:
    from dlcourse.train.reporting import figure, place_axes, save_figure

    fig = figure(5.5 * len(sweeps), 8)
    place_axes(fig, hspace=0.35, wspace=0.25)
    for column, sweep in enumerate(sweeps):
        mine = [r for r in runs if r.sweep == sweep and r.returncode == 0 and r.curve]
        finals = [r.best for r in mine if not math.isnan(r.best)]
        low = max(0.0, min(finals, default=0.0) - 0.1)
        by_compute = fig.add_subplot(2, len(sweeps), column + 1)
        by_wall = fig.add_subplot(2, len(sweeps), len(sweeps) + column + 1)
        labelled = set()
        for r in mine:
            label = None if r.method in labelled else LABELS[r.method]
            labelled.add(r.method)
            x, y = zip(*r.curve)
            by_compute.plot(x, y, color=COLOURS[r.method], alpha=0.7, linewidth=1.2, label=label)
            if r.timed_curve:
                tx, ty = zip(*r.timed_curve)
                by_wall.plot(tx, ty, color=COLOURS[r.method], alpha=0.6, linewidth=1.0)
            by_wall.plot([r.wall], [r.best], "o", color=COLOURS[r.method], label=label)
        by_compute.set(title=f"{sweep}: best dev objective vs compute", xlabel="trial-epochs spent",
                       ylabel="best dev accuracy so far", ylim=(low, 1.0))
        by_wall.set(title=f"{sweep}: vs wall time (dots: process exit)", xlabel="seconds",
                    ylabel="best dev accuracy", ylim=(low, 1.0))
        by_compute.legend(loc="lower right", fontsize=8)
        by_wall.legend(loc="lower right", fontsize=8)
        for axes in (by_compute, by_wall):
            axes.grid(alpha=0.3)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_figure(fig, path)


# ----- the program ---------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", default="deep_mlp,convnet", help="comma-separated: deep_mlp, convnet")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated: " + ", ".join(METHODS))
    parser.add_argument("--seeds", type=int, default=2, help="sweep seeds 0 … n-1 per method")
    parser.add_argument("--full", action="store_true", help="the convnet sweep at its real scale (see above)")
    parser.add_argument("--tolerance", type=float, default=0.005, help="target = random's median best minus this")
    parser.add_argument("--plot", default="runs/bench/adaptive.png", help="PNG path (JSON results beside it)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before a run is killed")
    parser.add_argument("--optuna-worker", metavar="JSON", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.optuna_worker:
        return args
    setups = FULL_SETUPS if args.full else SETUPS
    args.sweeps = [w.strip() for w in args.experiments.split(",") if w.strip()]
    args.methods = [w.strip() for w in args.methods.split(",") if w.strip()]
    for word in args.sweeps:
        if word not in setups:
            parser.error(f"--experiments: unknown {word!r}; choose from {', '.join(setups)}")
    for word in args.methods:
        if word not in METHODS:
            parser.error(f"--methods: unknown {word!r}; choose from {', '.join(METHODS)}")
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    args.setups = {name: setups[name] for name in args.sweeps}
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.optuna_worker:
        return optuna_worker(json.loads(args.optuna_worker))
    import optuna

    epochs = {name: epochs_of(setup) for name, setup in args.setups.items()}
    budgets = {name: setup.trials * epochs[name] for name, setup in args.setups.items()}
    print(f"# time to accuracy at equal budget; {args.seeds} seeds; Optuna {optuna.__version__}; "
          f"machine: {timing.machine_text()}")
    for name, setup in args.setups.items():
        flags = " ".join(f"--config.{k}={v}" for k, v in setup.config.items())
        print(f"# {name}: {setup.experiment} {flags} (E = {epochs[name]}), budget {budgets[name]} trial-epochs: "
              f"random/PBT {setup.trials} trials, halving "
              f"{halving_trials(budgets[name], epochs[name], setup.min_epochs)} trials (min_epochs "
              f"{setup.min_epochs}, eta {ETA}), PBT ready_every {setup.ready_every}")
    caches = {}
    runs = []
    started = time.perf_counter()
    try:
        for name, setup in args.setups.items():
            for seed in range(args.seeds):
                for method in args.methods:
                    cache = caches.setdefault((name, method), tempfile.mkdtemp(prefix="bench-adaptive-cache-"))
                    run = run_method(name, setup, method, seed, epochs[name], cache, args.timeout)
                    runs.append(run)
                    print(f"[{name} seed {seed}] {LABELS[method]:<31} best dev {run.best:.4f} after "
                          f"{run.trial_epochs} trial-epochs, {run.trials} trials; wall {run.wall:.1f} s"
                          + (f" (compile {run.compile:.1f} s)" if run.compile is not None else ""), flush=True)
    finally:
        for folder in caches.values():
            shutil.rmtree(folder, ignore_errors=True)
    print(f"# total {time.perf_counter() - started:.0f} s; machine now: {timing.machine_text()}")
    print(report(runs, args.sweeps, args.methods, args.tolerance, budgets))
    plot(runs, args.sweeps, args.plot)
    results = os.path.splitext(args.plot)[0] + ".json"
    with open(results, "w") as f:
        json.dump([r._asdict() for r in runs], f)
    print(f"\nplot: {args.plot}; results: {results}")
    return 0 if all(r.returncode == 0 for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
