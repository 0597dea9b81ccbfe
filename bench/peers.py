"""The peers of ``bench/sweep.py``: a sweep's trials trained one after another by scikit-learn's
``MLPClassifier`` or by PyTorch, the way a user of either library would run them.

Both train the sweep of :mod:`bench.sweep_definition` (by default launch.py's: deep_mlp, 32
random (α, β₁) trials, seed 0) on the same splits, one trial after another, and record per trial
the best dev accuracy over its epochs (NaN for a diverged trial).

- **scikit-learn** (:func:`sklearn_trials`): ``MLPClassifier(solver='adam',
  hidden_layer_sizes=(hidden,) * layers, activation='relu', learning_rate_init=α, beta_1=β₁,
  beta_2=β₂, epsilon=1e-8, batch_size=B, alpha=λ·B/m, early_stopping=False, shuffle=True)``. Its
  L2 term is ``alpha‖W‖²/2`` per batch of B, so ``alpha = λ·B/m`` is the experiment's ``(λ/2m)
  Σ‖W‖²`` per example. It trains one epoch per ``partial_fit`` (which keeps the Adam state and,
  given a ``RandomState``, draws a new shuffle per epoch) and reads the dev accuracy after each:
  ``fit(max_iter=epochs)`` would report the last epoch only, not the best. Its initialization is
  its own (Glorot uniform); it always runs on the CPU.
- **PyTorch** (:func:`torch_train`; not a dependency of dlcourse): ``[Linear → ReLU] × layers →
  Linear`` with weights ``N(0, 2/n_in)`` and zero biases, softmax cross-entropy,
  ``torch.optim.Adam`` with the trial's α, β₁, the config's β₂ and ε = 1e-8, a ``randperm``
  shuffle per epoch, mini-batches of B with the last one partial, then train accuracy, dev loss
  and dev accuracy after every epoch (what dlcourse's epoch reports).

Nothing here imports JAX. As a program it is the peers' row of ``bench/sweep.py --whole-process``:
one fresh process that trains the whole sweep and prints, last,

    best dev accuracy 0.9861 (trial 9); 0 diverged
    trained 32 trials in 41.20 s (setup 0.31 s)

where *setup* is the time from the first line of this file to the first trial (imports, the
experiment's config, the digits, the samples) and *trained* the trials themselves.

    python bench/peers.py sklearn|torch [--trials 32] [--seed 0] [--sweep SPEC]
                          [--experiment-config KEY=VALUE] [--torch-device cpu] [--torch-threads 1]
"""

from __future__ import annotations

import time

SETUP_START = time.perf_counter()

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench import sweep_definition, timing  # noqa: E402
from bench.sweep_definition import ADAM_EPSILON, SweepDefinition, best_trial, trial_seed  # noqa: E402

PEERS = ("sklearn", "torch")


# ----- scikit-learn --------------------------------------------------------------------------------


def sklearn_trials(definition: SweepDefinition) -> dict[int, float]:
    """Trains every trial with ``MLPClassifier`` (see the module docstring); returns
    ``{trial id: best dev accuracy}``, NaN for a trial whose loss turned non-finite."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    splits = definition.splits
    x_train, y_train = np.asarray(splits.x_train), np.asarray(splits.y_train)
    x_dev, y_dev = np.asarray(splits.x_dev), np.asarray(splits.y_dev)
    classes = np.arange(splits.num_classes)
    m = len(x_train)
    out = {}
    for trial in definition.samples:
        c = definition.trial_config(trial)
        model = MLPClassifier(
            hidden_layer_sizes=(c.hidden,) * c.layers, activation="relu", solver="adam",
            alpha=float(c.l2) * c.batch_size / m, batch_size=c.batch_size,
            learning_rate_init=float(c.learning_rate), beta_1=float(c.beta1), beta_2=float(c.beta2),
            epsilon=ADAM_EPSILON, max_iter=c.epochs, shuffle=True, early_stopping=False,
            n_iter_no_change=c.epochs + 1, tol=0.0,
            random_state=np.random.RandomState(trial_seed(definition.seed, trial.id)))
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


# ----- PyTorch (optional) --------------------------------------------------------------------------


class TorchData:
    """Training and dev arrays as tensors on one device (float32 inputs, int64 labels)."""

    def __init__(self, torch, device, splits):
        self.device = device
        self.x_train = torch.as_tensor(np.asarray(splits.x_train, np.float32), device=device)
        self.y_train = torch.as_tensor(np.asarray(splits.y_train, np.int64), device=device)
        self.x_dev = torch.as_tensor(np.asarray(splits.x_dev, np.float32), device=device)
        self.y_dev = torch.as_tensor(np.asarray(splits.y_dev, np.int64), device=device)
        self.num_classes = int(splits.num_classes)


def torch_network(torch, features: int, hidden: int, layers: int, classes: int, generator):
    """``[Linear → ReLU] × layers → Linear`` with weights ``N(0, 2/n_in)`` and zero biases."""
    modules, width = [], features
    for _ in range(layers):
        modules += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
        width = hidden
    modules.append(torch.nn.Linear(width, classes))
    network = torch.nn.Sequential(*modules)
    with torch.no_grad():
        for module in network:
            if isinstance(module, torch.nn.Linear):
                module.weight.normal_(0.0, math.sqrt(2.0 / module.in_features), generator=generator)
                module.bias.zero_()
    return network


def torch_train(torch, tensors: TorchData, *, hidden: int, layers: int, epochs: int, batch_size: int,
                learning_rate: float, beta1: float, beta2: float, l2: float, seed: int) -> dict:
    """Trains one network; returns ``{'dev_accuracy': [epochs], 'best_dev_accuracy', 'diverged'}``.

    Per epoch: a ``torch.randperm`` shuffle (CPU generator seeded with ``seed``), mini-batches of
    ``batch_size`` (the last one partial), Adam steps on the mean cross-entropy (plus
    ``(λ/2m) Σ‖W‖²`` when ``l2``), then training accuracy, dev loss and dev accuracy. A
    non-finite epoch loss marks the run diverged and ends it (dlcourse freezes such a trial).
    """
    functional = torch.nn.functional
    generator = torch.Generator().manual_seed(int(seed))
    device = tensors.device
    network = torch_network(torch, tensors.x_train.shape[1], hidden, layers, tensors.num_classes,
                            generator).to(device)
    optimizer = torch.optim.Adam(network.parameters(), lr=float(learning_rate),
                                 betas=(float(beta1), float(beta2)), eps=ADAM_EPSILON)
    kernels = [p for name, p in network.named_parameters() if name.endswith("weight")]
    m = tensors.x_train.shape[0]
    dev_curve, diverged = [], False
    for _ in range(epochs):
        order = torch.randperm(m, generator=generator).to(device)
        total = torch.zeros((), device=device)
        for start in range(0, m, batch_size):
            rows = order[start:start + batch_size]
            loss = functional.cross_entropy(network(tensors.x_train[rows]), tensors.y_train[rows])
            if l2:
                loss = loss + l2 / (2.0 * m) * sum((w * w).sum() for w in kernels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach() * rows.shape[0]
        with torch.no_grad():
            train_accuracy = (network(tensors.x_train).argmax(1) == tensors.y_train).float().mean()
            dev_logits = network(tensors.x_dev)
            dev_loss = functional.cross_entropy(dev_logits, tensors.y_dev)
            dev_accuracy = (dev_logits.argmax(1) == tensors.y_dev).float().mean()
        # One device-to-host read per epoch: the row dlcourse's epoch reports.
        epoch_loss, _, _, dev_value = torch.stack([total / m, train_accuracy, dev_loss, dev_accuracy]).tolist()
        if not math.isfinite(epoch_loss):
            diverged = True
            break
        dev_curve.append(dev_value)
    best = max(dev_curve) if dev_curve else float("nan")
    return {"dev_accuracy": dev_curve, "best_dev_accuracy": best, "diverged": diverged}


def torch_trials(definition: SweepDefinition, torch, tensors: TorchData) -> dict[int, float]:
    """Trains every trial with :func:`torch_train`; returns ``{trial id: best dev accuracy}``
    (NaN if diverged)."""
    out = {}
    for trial in definition.samples:
        c = definition.trial_config(trial)
        result = torch_train(torch, tensors, hidden=c.hidden, layers=c.layers, epochs=c.epochs,
                             batch_size=c.batch_size, learning_rate=c.learning_rate, beta1=c.beta1,
                             beta2=c.beta2, l2=float(c.l2), seed=trial_seed(definition.seed, trial.id))
        out[trial.id] = math.nan if result["diverged"] else result["best_dev_accuracy"]
    timing.torch_synchronize(torch, tensors.device)
    return out


# ----- the program ---------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("peer", choices=PEERS, help="which library trains the trials")
    sweep_definition.add_sweep_arguments(parser)
    parser.add_argument("--torch-device", default="cpu", help="PyTorch device: cpu, cuda, cuda:N")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch intra-op CPU threads (0: its default); see timing.configure_torch")
    args = parser.parse_args(argv)
    definition = sweep_definition.load_definition(
        "bench/peers.py", args.sweep, args.search, args.trials, args.seed,
        sweep_definition.parse_config_values(parser, args.experiment_config))
    if args.peer == "sklearn":
        import sklearn.neural_network  # noqa: F401  (the import is part of the setup)

        def train():
            return sklearn_trials(definition)
    else:
        torch = timing.import_torch()
        if torch is None:
            print("PyTorch not installed", file=sys.stderr)
            return 3
        device = timing.torch_device(torch, args.torch_device)
        timing.configure_torch(torch, args.torch_threads)
        tensors = TorchData(torch, device, definition.splits)
        print(f"PyTorch {torch.__version__} on {timing.torch_device_text(torch, device)}")

        def train():
            return torch_trials(definition, torch, tensors)
    start = time.perf_counter()
    results = train()
    seconds = time.perf_counter() - start
    value, trial_id = best_trial(results)
    diverged = sum(math.isnan(v) for v in results.values())
    print(f"best dev accuracy {value:.4f} (trial {trial_id}); {diverged} diverged")
    print(f"trained {len(results)} trials in {seconds:.2f} s (setup {start - SETUP_START:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
