"""Benchmark: launch.py's default sweep as one population against trials run one by one.

The sweep is launch.py's default — experiment ``deep_mlp``, spec ``launch.DEFAULT_SWEEP``
(α on a log scale, β₁ as 1 − log scale), random search, 32 trials, seed 0 — with the experiment's
configuration read from ``get_config()`` at run time (``--experiment-config KEY=VALUE`` on top).
The trials are sampled once with ``dlcourse.sweep.sample_round``, exactly as ``run_sweep`` samples
them, and trained four ways; each is timed end to end, compilation included:

(a) **population** — what ``python launch.py`` does minus the store and reports: ``build(config)``
    then ``dlcourse.sweep.run_sweep`` (sampling, one ``jax.jit(jax.vmap(trainable.train))`` compile,
    one call for all trials).
(b) **dlcourse, one trial after another** — ``build(config)`` once, then per trial a fresh
    ``train = jax.jit(trainable.train)`` called with that trial's hyperparameters (float32 scalars)
    and its key ``trial_keys(seed, [id])``: the naive loop. JAX's caches do not carry a program
    from one ``jax.jit`` wrapper of a bound method to the next, so every trial traces and compiles
    (the compile count printed below shows it).
(c) **PyTorch, one trial after another** (when installed; not a dependency) — ``bench/train.py``'s
    loop: the same network (``[Linear → ReLU] × layers → Linear``, weights ``N(0, 2/n_in)``, zero
    biases), softmax cross-entropy, ``torch.optim.Adam`` with the trial's α, β₁ and the config's
    β₂, ε = 1e-8, batch size and epochs, a ``randperm`` shuffle per epoch, train accuracy + dev
    loss/accuracy after every epoch. ``--torch-device=cuda`` runs it on a GPU.
(d) **scikit-learn** — ``MLPClassifier(solver='adam', hidden_layer_sizes=(hidden,) * layers,
    activation='relu', learning_rate_init=α, beta_1=β₁, beta_2=β₂, epsilon=1e-8,
    batch_size=B, alpha=λ·B/m (its L2 term is α‖W‖²/2 per batch of B; λ/2m per example here),
    early_stopping=False, shuffle=True)``, trained one epoch per ``partial_fit`` (which keeps the
    Adam state and, given a ``RandomState``, draws a new shuffle per epoch) with the dev accuracy
    read after each epoch — ``fit(max_iter=epochs)`` would report the last epoch only, not the best.
    Its initialization is its own (Glorot uniform); it always runs on the CPU.

All use the splits ``deep_mlp.build`` trains on (``dlcourse.data.load_digits(seed=config.seed)``)
and report, per trial, the best dev accuracy over the epochs; the table gives each method's best
trial and checks that all four agree with the population within one point (0.01).

Each repetition runs every method once, interleaved in one process (the order rotates); after one
untimed warm-up of each on a one-trial, one-epoch sweep, the table reports medians. Ratios are the
population's speed-up: a method's median time over the population's.

    python bench/sweep.py [--trials 32] [--seed 0] [--repeats 3] [--skip sequential,sklearn]
                          [--experiment-config epochs=30 --experiment-config hidden=32]
                          [--torch-device cuda] [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import launch  # noqa: E402
from bench import timing  # noqa: E402
from bench.train import ADAM_EPSILON, TorchData, check_config, load_splits, torch_train  # noqa: E402
from dlcourse.sweep import (  # noqa: E402
    classify_keys,
    load_sweep,
    run_sweep,
    sample_round,
    stack_hparams,
    structural_config,
    trial_keys,
)

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


class Sweep:
    """The experiment, its config and the sampled trials, shared by every method."""

    def __init__(self, module, config, spaces, search: str, trials: int, seed: int):
        self.module, self.config, self.spaces = module, config, spaces
        self.search, self.trials, self.seed = search, trials, seed
        self.samples = sample_round(spaces, search, seed, 0, 0, trials)
        trainable = module.build(config)
        self.numeric, self.structural = classify_keys(spaces, trainable, config)
        self.splits = load_splits(config)

    def trial_config(self, trial):
        """The config of one trial: its swept values on top of the base config."""
        return structural_config(self.config, trial.hparams)

    def with_epochs(self, epochs: int, trials: int) -> "Sweep":
        """A smaller sweep for the warm-up (a different structure: it compiles its own programs)."""
        config = structural_config(self.config, {"epochs": epochs})
        return Sweep(self.module, config, self.spaces, self.search, trials, self.seed)


# ----- the four methods: each returns {trial id: best dev accuracy (NaN if diverged)} ----------------


def run_population(sweep: Sweep) -> dict[int, float]:
    trainable = sweep.module.build(sweep.config)  # launch.py builds once in prepare()
    records = run_sweep(sweep.module.build, sweep.config, sweep.spaces, search=sweep.search,
                        trials=sweep.trials, seed=sweep.seed, trainable=trainable)
    return {r["id"]: _number(r["metrics"]["best_dev_metric"]) for r in records}


def run_sequential(sweep: Sweep) -> dict[int, float]:
    trainables, out = {}, {}
    for trial in sweep.samples:
        structure = tuple(trial.hparams[k] for k in sweep.structural)
        if structure not in trainables:
            trainables[structure] = sweep.module.build(sweep.trial_config(trial))
        trainable = trainables[structure]
        stacked = stack_hparams(trainable, [{k: trial.hparams[k] for k in sweep.numeric}])
        hparams = {name: np.float32(values[0]) for name, values in stacked.items()}
        key = trial_keys(sweep.seed, [trial.id])[0]
        train = jax.jit(trainable.train)  # a fresh jitted program for this trial
        metrics = train(hparams, key)
        out[trial.id] = _number(metrics["best_dev_metric"]) if not bool(metrics["diverged"]) else math.nan
    return out


def run_torch(sweep: Sweep, torch, tensors) -> dict[int, float]:
    out = {}
    for trial in sweep.samples:
        c = sweep.trial_config(trial)
        result = torch_train(torch, tensors, hidden=c.hidden, layers=c.layers, epochs=c.epochs,
                             batch_size=c.batch_size, learning_rate=c.learning_rate, beta1=c.beta1,
                             beta2=c.beta2, l2=float(c.l2), seed=trial_seed(sweep.seed, trial.id))
        out[trial.id] = math.nan if result["diverged"] else result["best_dev_metric"]
    timing.torch_synchronize(torch, tensors.device)
    return out


def run_sklearn(sweep: Sweep) -> dict[int, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    splits = sweep.splits
    x_train, y_train = np.asarray(splits.x_train), np.asarray(splits.y_train)
    x_dev, y_dev = np.asarray(splits.x_dev), np.asarray(splits.y_dev)
    classes = np.arange(splits.num_classes)
    m = len(x_train)
    out = {}
    for trial in sweep.samples:
        c = sweep.trial_config(trial)
        model = MLPClassifier(
            hidden_layer_sizes=(c.hidden,) * c.layers, activation="relu", solver="adam",
            alpha=float(c.l2) * c.batch_size / m, batch_size=c.batch_size,
            learning_rate_init=float(c.learning_rate), beta_1=float(c.beta1), beta_2=float(c.beta2),
            epsilon=ADAM_EPSILON, max_iter=c.epochs, shuffle=True, early_stopping=False,
            n_iter_no_change=c.epochs + 1, tol=0.0,
            random_state=np.random.RandomState(trial_seed(sweep.seed, trial.id)))
        best = -math.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            with np.errstate(all="ignore"):
                for _ in range(c.epochs):
                    model.partial_fit(x_train, y_train, classes=classes)
                    if not math.isfinite(model.loss_):
                        break
                    best = max(best, model.score(x_dev, y_dev))
        out[trial.id] = best if math.isfinite(best) else math.nan
    return out


def trial_seed(seed: int, trial_id: int) -> int:
    return seed * 1_000_003 + trial_id


def _number(value) -> float:
    return math.nan if value is None else float(value)


def best_trial(results: dict[int, float]) -> tuple[float, int | None]:
    """(best accuracy, its trial id — lowest id on ties); NaN trials are skipped."""
    finite = [(v, -i) for i, v in results.items() if not math.isnan(v)]
    if not finite:
        return math.nan, None
    value, negative_id = max(finite)
    return value, -negative_id


# ----- the benchmark -------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=launch.FLAGS["trials"].default, help="trials in the sweep")
    parser.add_argument("--seed", type=int, default=launch.FLAGS["seed"].default, help="sweep seed")
    parser.add_argument("--sweep", default=launch.DEFAULT_SWEEP, help="sweep spec (launch.py --sweep)")
    parser.add_argument("--search", default="random", help="search method (launch.py --search)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method (median reported)")
    parser.add_argument("--skip", default="", help="comma-separated methods to leave out: "
                        + ", ".join(f"{m} ({a})" for a, m in ALIASES.items()))
    parser.add_argument("--experiment-config", action="append", default=[], metavar="KEY=VALUE",
                        help="override a deep_mlp config key that is not swept (repeatable)")
    parser.add_argument("--torch-device", default="cpu", help="PyTorch device: cpu, cuda, cuda:N")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch intra-op CPU threads (0: its default); see timing.configure_torch")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.repeats < 1:
        parser.error("--trials and --repeats must be >= 1")
    skip = set()
    for word in filter(None, (w.strip() for w in args.skip.split(","))):
        name = ALIASES.get(word, word)
        if name not in METHODS:
            parser.error(f"--skip: unknown method {word!r}; choose from {', '.join(METHODS)} or a-d")
        skip.add(name)
    args.skip = skip
    overrides = {}
    for item in args.experiment_config:
        key, equals, value = item.partition("=")
        if not equals or not key:
            parser.error(f"--experiment-config {item!r}: write KEY=VALUE")
        overrides[key] = value
    args.overrides = overrides
    return args


def prepare(args):
    try:
        module = launch.load_experiment(launch.DEFAULT_EXPERIMENT)
        config = module.get_config()
        launch.apply_overrides(config, args.overrides)
        spaces = load_sweep(args.sweep)
    except (launch.UsageError, ValueError) as error:
        message = str(error).replace("--config.", "--experiment-config ")
        print(f"bench/sweep.py: error: {message}", file=sys.stderr)
        raise SystemExit(2)
    both = sorted(set(spaces) & set(args.overrides))
    if both:
        print(f"bench/sweep.py: error: {both[0]} is both swept and set", file=sys.stderr)
        raise SystemExit(2)
    check_config(config)
    return Sweep(module, config, spaces, args.search, args.trials, args.seed)


def main(argv=None) -> int:
    args = parse_args(argv)
    sweep = prepare(args)
    torch = timing.import_torch() if "torch" not in args.skip else None
    c = sweep.config
    print(f"# sweep deep_mlp: {args.sweep}; {args.search} search, {args.trials} trials, seed {args.seed}")
    print(f"# config: hidden={c.hidden} x {c.layers} layers, {c.optimizer}, epochs={c.epochs}, "
          f"batch_size={c.batch_size}, beta2={c.beta2}, l2={c.l2}, keep_prob={c.keep_prob}; "
          f"m_train={len(sweep.splits.x_train)}, m_dev={len(sweep.splits.x_dev)}")
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()}")
    methods = {}
    if "population" not in args.skip:
        methods["population"] = run_population
    if "sequential" not in args.skip:
        methods["sequential"] = run_sequential
    if "torch" not in args.skip:
        if torch is None:
            print("# PyTorch not installed: (c) skipped")
        else:
            device = timing.torch_device(torch, args.torch_device)
            timing.configure_torch(torch, args.torch_threads)
            tensors = TorchData(torch, device, sweep.splits)  # the warm-up sweep has the same splits
            print(f"# PyTorch {torch.__version__} on {timing.torch_device_text(torch, device)}")
            methods["torch"] = lambda s: run_torch(s, torch, tensors)
    if "sklearn" not in args.skip:
        import sklearn
        print(f"# scikit-learn {sklearn.__version__} on CPU")
        methods["sklearn"] = run_sklearn
    if not methods:
        print("nothing to run: every method is skipped", file=sys.stderr)
        return 2
    print(f"# machine: {timing.machine_text()}; {args.repeats} interleaved repeats, medians")

    warm = sweep.with_epochs(1, 1)
    for method in methods.values():  # untimed warm-up: imports, thread pools, allocator
        method(warm)

    compile_seconds: dict[str, list[float]] = {name: [] for name in methods}
    compiles: dict[str, list[int]] = {name: [] for name in methods}

    def timed(name):
        def call():
            clock = timing.CompileClock()
            result = methods[name](sweep)
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
    pop_value = best_trial(results["population"])[0] if "population" in results else None
    rows = []
    for name in methods:
        value, trial = best_trial(results[name])
        seconds = timing.median(times[name])
        rows.append([LABELS[name], f"{seconds:.2f}", f"{min(times[name]):.2f}",
                     f"{timing.median(compile_seconds[name]):.2f}", f"{value:.4f}", trial,
                     "-" if reference is None else f"{seconds / reference:.2f}"])
    print()
    print(timing.table(["method", "median s", "min s", "JAX compile s", "best dev acc", "trial",
                        "population speed-up"], rows))
    if "population" in results and "sequential" in results:
        pairs = [(results["population"][i], results["sequential"][i]) for i in results["population"]]
        gaps = [abs(a - b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
        print(f"\n(a) vs (b), same keys: per-trial best dev accuracy differs by at most "
              f"{max(gaps, default=0.0):.4f} over {len(gaps)} trials")
    if pop_value is not None:
        far = [LABELS[n] for n in methods if abs(best_trial(results[n])[0] - pop_value) > AGREEMENT
               or math.isnan(best_trial(results[n])[0])]
        print(f"best dev accuracy within {AGREEMENT} of the population's: " +
              ("all" if not far else "NOT " + ", ".join(far)))
        slow = [LABELS[n] for n in methods if n != "population"
                and timing.median(times[n]) / reference < TARGET]
        print(f"target (population >= {TARGET:.0f}x faster than each other method): " +
              ("met" if not slow else "MISSED against " + ", ".join(slow)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
