"""Weight initialization on two concentric circles: zeros vs large random vs He.

The course's three-layer ReLU network ``LINEAR(10) → RELU → LINEAR(5) → RELU → LINEAR → SIGMOID``
on circles (noise 0.05, inner radius 0.8), trained with mini-batch gradient descent; only the
initial ``W`` differ (biases start at 0):

- ``zeros``: ``W = 0``. Every hidden unit computes the same thing and its gradient is zero, so
  symmetry is never broken: the net predicts one class, accuracy stays at chance (0.5).
- ``random``: ``W = randn · 10`` (``init_scale``). Huge initial ``z`` saturate the sigmoid, the
  first costs are very large and learning is slow.
- ``he``: ``W[l] = randn · √(2 / n[l−1])``. Activations keep their scale through the ReLU layers;
  the net separates the circles.

``--config.compare=True`` trains all three (``init`` is structural: one program each).

Config (flat):
  numeric: ``learning_rate``.
  structural: ``init`` (zeros | random | he), ``init_scale``, ``epochs``, ``batch_size``,
    ``examples``, ``seed``, ``train_seed``, ``compare``.

    python experiments/initialization.py --workdir=/tmp/initialization [--config.compare=True]
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

INITS = ("zeros", "random", "he")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.learning_rate = 0.05  # numeric
    config.init = "he"
    config.init_scale = 10.0
    config.epochs = 400
    config.batch_size = 32
    config.examples = 400
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    return config


def load(config) -> data.Splits:
    return data.make_circles(seed=config.seed, m=config.examples, noise=0.05, factor=0.8)


def make_model(config):
    if config.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {config.init!r}")
    return models.MLP(layer_sizes=(10, 5), num_outputs=1, activation="relu",
                      kernel_init=config.init, init_scale=config.init_scale)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return train.classifier(make_model(config), load(config), lambda h: optim.sgd(h["learning_rate"]),
                            epochs=config.epochs, batch_size=config.batch_size, loss="sigmoid",
                            hparams={"learning_rate": config.learning_rate})


def run(config, workdir=None) -> tuple[dict, dict]:
    splits = load(config)
    return runner.run_trial(build(config), config.train_seed,
                            runner.test_accuracy(make_model(config), splits.x_test, splits.y_test),
                            workdir=workdir)


def compare(config) -> tuple[dict, dict]:
    return runner.compare(run, config, [(init, dict(init=init)) for init in INITS])


def main(argv):
    del argv
    config, workdir = flags.FLAGS.config, flags.FLAGS.workdir
    runner.build_or_exit(build, config)
    if config.compare:
        summaries, curves = compare(config)
        runner.report_comparison("initialization", summaries, curves, [
            ("first cost", lambda summary, run_curves: run_curves["train_loss"][0]),
            ("final cost", "final_train_loss"), ("train acc", "final_train_metric"),
            ("test acc", "test_metric"), ("seconds", "seconds"),
        ], workdir, title="circles: initialization", label_header="init", cases_key="inits")
        return
    summary, _ = run(config, workdir)
    summary.update(experiment="initialization", init=config.init)
    runner.report(summary, workdir)


if __name__ == "__main__":
    runner.define_flags(get_config())
    app.run(main)
