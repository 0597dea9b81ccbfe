"""Regularization on a small, noisy two-moons set with a big network: none vs L2 vs dropout.

80 training points, Gaussian noise 0.35, and a ``[100, 100]`` ReLU network trained full-batch with
Adam: without regularization it fits the training set exactly (training accuracy 1) while the dev
accuracy stays far lower — high variance. The two remedies of the course:

- L2: ``J = (1/m) Σ L(ŷ, y) + (λ/2m) Σ_l ‖W[l]‖²_F``, i.e. ``dW += (λ/m) W`` ("weight decay");
- inverted dropout on the hidden layers: ``A ← A · D / keep_prob``, ``D ~ Bernoulli(keep_prob)``,
  in training only.

λ and ``keep_prob`` are traced hyperparameters, so ``--config.compare=True`` trains the three cases
— (λ, keep_prob) = (0, 1), (``compare_l2``, 1), (0, ``compare_keep_prob``) — as **one** compiled,
vmapped population and prints train/dev/test accuracy and the train − dev gap of each.

Config (flat):
  numeric: ``learning_rate``, ``l2`` (λ), ``keep_prob``.
  structural: ``hidden``, ``layers``, ``epochs``, ``batch_size`` (≥ m: full batch), ``examples``,
    ``noise``, ``seed``, ``train_seed``, ``compare``, ``compare_l2``, ``compare_keep_prob``.

    python experiments/regularization.py --workdir=/tmp/regularization [--config.compare=True]
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import time

import jax
import jax.numpy as jnp
import ml_collections
from absl import app, flags

from dlcourse import data, models, optim, train
from experiments import runner

NUMERIC = ("learning_rate", "l2", "keep_prob")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 0.01
    config.l2 = 0.0
    config.keep_prob = 1.0
    # structural
    config.hidden = 100
    config.layers = 2
    config.epochs = 500
    config.batch_size = 100_000
    config.examples = 200
    config.noise = 0.35
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    config.compare_l2 = 0.7
    config.compare_keep_prob = 0.7
    return config


def load(config) -> data.Splits:
    return data.make_moons(seed=config.seed, m=config.examples, noise=config.noise,
                           dev_fraction=0.4, test_fraction=0.2)


def make_model(config):
    if config.hidden < 1 or config.layers < 1:
        raise ValueError(f"hidden and layers must be positive, got hidden={config.hidden}, "
                         f"layers={config.layers}")
    return models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=1,
                      kernel_init="he", dropout=True)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return train.classifier(make_model(config), load(config), lambda h: optim.adam(h["learning_rate"]),
                            epochs=config.epochs, batch_size=config.batch_size, loss="sigmoid",
                            hparams={k: config[k] for k in NUMERIC})


def evaluator(config):
    splits = load(config)
    return runner.test_accuracy(make_model(config), splits.x_test, splits.y_test)


def run(config, workdir=None) -> tuple[dict, dict]:
    return runner.run_trial(build(config), config.train_seed, evaluator(config), workdir=workdir)


def cases(config) -> dict[str, dict[str, float]]:
    rate = config.learning_rate
    return {
        "none": dict(learning_rate=rate, l2=0.0, keep_prob=1.0),
        f"L2 λ={config.compare_l2:g}": dict(learning_rate=rate, l2=config.compare_l2, keep_prob=1.0),
        f"dropout keep_prob={config.compare_keep_prob:g}": dict(
            learning_rate=rate, l2=0.0, keep_prob=config.compare_keep_prob),
    }


def compare(config) -> dict[str, dict]:
    """The three cases as one vmapped population (same key for each); ``{label: summary}``."""
    trainable, evaluate = build(config), evaluator(config)
    labels, settings = zip(*cases(config).items())
    stacked = {k: jnp.asarray([s[k] for s in settings], jnp.float32) for k in NUMERIC}

    def one(hparams, key):
        state, metrics = trainable.train_with_state(hparams, key)
        return {**{k: metrics[k] for k in runner.SUMMARY_KEYS}, **evaluate(state)}

    start = time.perf_counter()
    results = jax.block_until_ready(
        jax.jit(jax.vmap(one, in_axes=(0, None)))(stacked, jax.random.key(config.train_seed)))
    seconds = round(time.perf_counter() - start, 3)
    summaries = {}
    for index, label in enumerate(labels):
        summary = {k: runner.to_json_value(v[index]) for k, v in results.items()}
        summary["hparams"] = dict(settings[index])
        summary["train_dev_gap"] = summary["final_train_metric"] - summary["final_dev_metric"]
        summary["population_seconds"] = seconds  # the whole vmapped population, compile included
        summaries[label] = summary
    return summaries


def main(argv):
    del argv
    config, workdir = flags.FLAGS.config, flags.FLAGS.workdir
    runner.build_or_exit(build, config)
    if config.compare:
        summaries = compare(config)
        runner.report_comparison("regularization", summaries, None, [
            ("train acc", "final_train_metric"), ("dev acc", "final_dev_metric"),
            ("test acc", "test_metric"), ("train − dev", "train_dev_gap"),
        ], workdir)
        return
    summary, _ = run(config, workdir)
    summary["experiment"] = "regularization"
    runner.report(summary, workdir)


if __name__ == "__main__":
    runner.define_flags(get_config())
    app.run(main)
