"""Optimization algorithms on moons: mini-batch gradient descent, momentum and Adam, ± rate decay.

The course's three-layer network ``LINEAR(5) → RELU → LINEAR(2) → RELU → LINEAR → SIGMOID``
(He initialization) on two noisy moons, mini-batches of 64, the course's small learning rate
α = 0.0007:

- ``gd``: ``W := W − α dW``;
- ``momentum``: ``v_dW = β₁ v_dW + (1 − β₁) dW``, ``W := W − α v_dW``;
- ``adam``: moments with β₁, β₂, bias-corrected, ``W := W − α v̂ / (√ŝ + ε)``.

With ``decay=True`` the rate follows the inverse-time schedule
``α = α₀ / (1 + decay_rate · ⌊epoch / decay_interval⌋)`` (:func:`dlcourse.optim.inverse_time_decay`,
staircase), ``α₀ = learning_rate``.

What "decay lifts GD" means here (``--config.compare=True`` runs every case). After 5000 epochs at
α = 0.0007, plain GD and momentum are still far from fitting the moons, and Adam — whose steps are
α-sized whatever the scale of the gradient — fits them. The course's remedy for GD is a schedule: start
from a rate two orders of magnitude larger, α₀ = 0.1, and divide it by 1 + 0.3 k after every k-th
1000 epochs (the rate ends at α₀/2.2). That run reaches the accuracy of Adam: the lift over fixed-α
GD is real, but on this small problem it comes from the larger starting rate, not from the decay
itself. The comparison therefore also runs the control, GD at a fixed α = α₀ = 0.1: it ends at the
same accuracy as the decayed run (the decay costs nothing and keeps late mini-batch steps small).
Both numbers are reported, so the reading is honest.

Config (flat):
  numeric: ``learning_rate`` (α, or α₀ with decay), ``beta1``, ``beta2``, ``decay_rate``.
  structural: ``optimizer`` (gd | momentum | adam), ``decay`` (bool), ``decay_interval`` (epochs
    per step of the staircase), ``epochs``, ``batch_size``, ``noise``, ``examples``, ``seed``,
    ``train_seed``, ``compare`` (run the whole comparison), ``decay_learning_rate`` (α₀ of the
    decayed GD run in the comparison).

    python experiments/optimizers.py --workdir=/tmp/optimizers [--config.compare=True]
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ml_collections
from absl import app, flags

from dlcourse import data, models, optim, train
from experiments import runner

OPTIMIZERS = ("gd", "momentum", "adam")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 0.0007
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.decay_rate = 0.3
    # structural
    config.optimizer = "adam"
    config.decay = False
    config.decay_interval = 1000
    config.epochs = 5000
    config.batch_size = 64
    config.examples = 400
    config.noise = 0.2
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    config.decay_learning_rate = 0.1
    return config


def load(config):
    return data.make_moons(seed=config.seed, m=config.examples, noise=config.noise)


def make_model():
    return models.MLP(layer_sizes=(5, 2), num_outputs=1, activation="relu", kernel_init="he")


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {config.optimizer!r}")
    if config.decay_interval < 1:
        raise ValueError(f"decay_interval must be a positive number of epochs, got {config.decay_interval}")
    splits = load(config)
    steps_per_epoch = -(-len(splits.x_train) // config.batch_size)
    kind, decay = config.optimizer, bool(config.decay)

    def optimizer(h):
        rate = h["learning_rate"]
        if decay:
            rate = optim.inverse_time_decay(h["learning_rate"], h["decay_rate"], staircase=True,
                                            transition_steps=steps_per_epoch * config.decay_interval)
        if kind == "gd":
            return optim.sgd(rate)
        if kind == "momentum":
            return optim.momentum(rate, beta=h["beta1"])
        return optim.adam(rate, b1=h["beta1"], b2=h["beta2"])

    names = {"gd": ["learning_rate"], "momentum": ["learning_rate", "beta1"],
             "adam": ["learning_rate", "beta1", "beta2"]}[kind] + (["decay_rate"] if decay else [])
    return train.classifier(make_model(), splits, optimizer, epochs=config.epochs,
                            batch_size=config.batch_size, loss="sigmoid",
                            hparams={name: config[name] for name in names})


def cases(config) -> list[tuple[str, dict]]:
    """The comparison: (label, config overrides)."""
    small, large = config.learning_rate, config.decay_learning_rate
    return [
        (f"gd α={small:g}", dict(optimizer="gd", decay=False, learning_rate=small)),
        (f"momentum α={small:g}", dict(optimizer="momentum", decay=False, learning_rate=small)),
        (f"adam α={small:g}", dict(optimizer="adam", decay=False, learning_rate=small)),
        (f"gd α₀={large:g} + decay", dict(optimizer="gd", decay=True, learning_rate=large)),
        (f"gd α={large:g} (control)", dict(optimizer="gd", decay=False, learning_rate=large)),
    ]


def run(config, workdir=None) -> tuple[dict, dict]:
    """One trial of ``config``: summary (with ``test_metric``) and per-epoch curves."""
    trainable = build(config)
    splits = load(config)
    return runner.run_trial(trainable, config.train_seed,
                            runner.test_accuracy(make_model(), splits.x_test, splits.y_test),
                            workdir=workdir)


def compare(config) -> tuple[dict, dict]:
    """Every case of :func:`cases`; returns ``({label: summary}, {label: curves})``."""
    return runner.compare(run, config, cases(config))


def main(argv):
    del argv
    config, workdir = flags.FLAGS.config, flags.FLAGS.workdir
    runner.build_or_exit(build, config)  # a bad flag stops here, before any training
    if config.compare:
        summaries, curves = compare(config)
        runner.report_comparison("optimizers", summaries, curves, [
            ("train acc", "final_train_metric"), ("dev acc", "final_dev_metric"),
            ("test acc", "test_metric"), ("final cost", "final_train_loss"), ("seconds", "seconds"),
        ], workdir, title="moons: optimizers")
        return
    summary, _ = run(config, workdir)
    summary.update(experiment="optimizers", optimizer=config.optimizer, decay=bool(config.decay))
    runner.report(summary, workdir)


if __name__ == "__main__":
    runner.define_flags(get_config())
    app.run(main)
