"""Batch normalization: the same deep network on the digits with and without it.

A ``[64] × 4`` network of sigmoid units (He initialization), plain mini-batch gradient descent.
With ``batch_norm=True`` every hidden layer normalizes its pre-activations over the mini-batch,

    μ = (1/m) Σ z,  σ² = (1/m) Σ (z − μ)²,  z_norm = (z − μ) / √(σ² + ε),  z̃ = γ z_norm + β,

and keeps exponentially weighted averages of μ and σ² (momentum ``batch_norm_momentum``) for
inference. Without it the deep sigmoid stack barely moves from chance in a few epochs; with it the
same α trains quickly — each layer sees inputs of a steady scale. The evaluation after every epoch
uses the running averages, so a momentum close to 1 needs more steps before dev accuracy follows
the training accuracy (hence 0.9 here).

``--config.compare=True`` trains both (``batch_norm`` is structural).

Config (flat):
  numeric: ``learning_rate``.
  structural: ``batch_norm`` (bool), ``batch_norm_momentum``, ``activation``, ``hidden``,
    ``layers``, ``epochs``, ``batch_size``, ``seed``, ``train_seed``, ``compare``.

    python experiments/batch_norm.py --workdir=/tmp/batch_norm [--config.compare=True]
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
    config.learning_rate = 0.5  # numeric
    config.batch_norm = True
    config.batch_norm_momentum = 0.9
    config.activation = "sigmoid"
    config.hidden = 64
    config.layers = 4
    config.epochs = 10
    config.batch_size = 64
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    return config


def make_model(config):
    if config.hidden < 1 or config.layers < 1:
        raise ValueError(f"hidden and layers must be positive, got hidden={config.hidden}, "
                         f"layers={config.layers}")
    if not 0.0 <= config.batch_norm_momentum < 1.0:
        raise ValueError(f"batch_norm_momentum must lie in [0, 1), got {config.batch_norm_momentum}")
    return models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=10,
                      activation=config.activation, kernel_init="he",
                      batch_norm=bool(config.batch_norm),
                      batch_norm_momentum=config.batch_norm_momentum)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return train.classifier(make_model(config), data.load_digits(seed=config.seed),
                            lambda h: optim.sgd(h["learning_rate"]), epochs=config.epochs,
                            batch_size=config.batch_size, loss="softmax",
                            hparams={"learning_rate": config.learning_rate})


def run(config, workdir=None) -> tuple[dict, dict]:
    splits = data.load_digits(seed=config.seed)
    return runner.run_trial(build(config), config.train_seed,
                            runner.test_accuracy(make_model(config), splits.x_test, splits.y_test),
                            workdir=workdir)


def compare(config) -> tuple[dict, dict]:
    return runner.compare(run, config, [("without batch norm", dict(batch_norm=False)),
                                        ("with batch norm", dict(batch_norm=True))])


def main(argv):
    del argv
    config, workdir = flags.FLAGS.config, flags.FLAGS.workdir
    runner.build_or_exit(build, config)
    if config.compare:
        summaries, curves = compare(config)
        runner.report_comparison("batch_norm", summaries, curves, [
            ("final cost", "final_train_loss"), ("train acc", "final_train_metric"),
            ("dev acc", "final_dev_metric"), ("test acc", "test_metric"), ("seconds", "seconds"),
        ], workdir, title="digits: batch norm")
        return
    summary, _ = run(config, workdir)
    summary.update(experiment="batch_norm", batch_norm=bool(config.batch_norm))
    runner.report(summary, workdir)


if __name__ == "__main__":
    runner.define_flags(get_config())
    app.run(main)
