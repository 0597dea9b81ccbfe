"""The shallow network on the planar flower: one hidden tanh layer, sigmoid output.

``A[1] = tanh(X W[1] + b[1])``, ``ŷ = σ(A[1] W[2] + b[2])``, weights ``randn · 0.01``, biases 0,
full-batch gradient descent with the course's α = 1.2 (one step per epoch, so ``epochs`` is the
number of iterations). Logistic regression cannot separate the petals (≈ 47 % in the course); four
hidden units reach ≈ 90 %.

``--config.compare=True`` trains the course's hidden-layer sizes 1, 2, 3, 4, 5, 20, 50 (each size
is a different structure, so one compiled program per size) and prints their accuracies: a few
units already fit the petals; larger layers fit the training set more closely.

Config (flat):
  numeric: ``learning_rate`` α.
  structural: ``hidden`` (units), ``epochs``, ``batch_size`` (≥ the training set: full batch),
    ``seed`` (data), ``train_seed``, ``compare``, ``compare_sizes``.

    python experiments/planar.py --workdir=/tmp/planar [--config.compare=True]
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


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.learning_rate = 1.2  # numeric
    config.hidden = 4
    config.epochs = 5000
    config.batch_size = 100_000
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    config.compare_sizes = (1, 2, 3, 4, 5, 20, 50)
    return config


def make_model(hidden: int):
    return models.ShallowNet(hidden_size=hidden, num_outputs=1)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.hidden < 1:
        raise ValueError(f"hidden must be a positive number of units, got {config.hidden}")
    return train.classifier(make_model(config.hidden), data.make_flower(seed=config.seed),
                            lambda h: optim.sgd(h["learning_rate"]), epochs=config.epochs,
                            batch_size=config.batch_size, loss="sigmoid",
                            hparams={"learning_rate": config.learning_rate})


def run(config, workdir=None) -> tuple[dict, dict]:
    splits = data.make_flower(seed=config.seed)
    return runner.run_trial(build(config), config.train_seed,
                            runner.test_accuracy(make_model(config.hidden), splits.x_test, splits.y_test),
                            workdir=workdir)


def compare(config) -> tuple[dict, dict]:
    """One run per hidden size of ``compare_sizes``: ``({size: summary}, {size: curves})``."""
    return runner.compare(run, config, [(int(size), dict(hidden=int(size))) for size in config.compare_sizes])


def main(argv):
    del argv
    config, workdir = flags.FLAGS.config, flags.FLAGS.workdir
    runner.build_or_exit(build, config)
    if config.compare:
        summaries, curves = compare(config)
        runner.report_comparison("planar", summaries, curves, [
            ("train acc", "final_train_metric"), ("dev acc", "final_dev_metric"),
            ("test acc", "test_metric"), ("seconds", "seconds"),
        ], workdir, title="flower: hidden-layer size", label_header="hidden units",
            cases_key="hidden_sizes", legend="{} units")
        return
    summary, _ = run(config, workdir)
    summary.update(experiment="planar", hidden=config.hidden)
    runner.report(summary, workdir)


if __name__ == "__main__":
    runner.define_flags(get_config())
    app.run(main)
