"""Regularization on a small, noisy two-moons set with a big network: none vs L2 vs dropout.

80 training points, Gaussian noise 0.35, and a ``[100, 100]`` ReLU network trained full-batch with
Adam. The two remedies of the course:

- L2: ``J = (1/m) Σ L(ŷ, y) + (λ/2m) Σ_l ‖W[l]‖²_F``, i.e. ``dW += (λ/m) W`` ("weight decay");
- inverted dropout on the hidden layers: ``A ← A · D / keep_prob``, ``D ~ Bernoulli(keep_prob)``,
  in training only.

λ and ``keep_prob`` are traced hyperparameters, so ``--config.compare=True`` trains the three cases
— (λ, keep_prob) = (0, 1), (``compare_l2``, 1), (0, ``compare_keep_prob``) — as **one** compiled,
vmapped program (:func:`dlcourse.train.train_together`) and tables train/dev/test accuracy and the
train − dev gap of each.

Config (flat):
  numeric: ``learning_rate``, ``l2`` (λ), ``keep_prob``.
  structural: ``hidden``, ``layers``, ``epochs``, ``batch_size`` (≥ m: full batch), ``examples``,
    ``noise``, ``seed``, ``train_seed``, ``compare``, ``compare_l2``, ``compare_keep_prob``.

    python experiments/regularization.py --workdir=runs/regularization [--config.compare=True]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train

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


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.hidden < 1 or config.layers < 1:
        raise ValueError(f"hidden and layers must be positive, got hidden={config.hidden}, "
                         f"layers={config.layers}")
    model = models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=1, kernel_init="he",
                       dropout=True)
    splits = data.make_moons(seed=config.seed, m=config.examples, noise=config.noise, dev_fraction=0.4,
                             test_fraction=0.2)
    return train.supervised(model, splits, optimizer="adam", hparams={k: config[k] for k in NUMERIC},
                            epochs=config.epochs, batch_size=config.batch_size, loss="sigmoid")


def cases(config) -> dict[str, dict[str, float]]:
    rate = config.learning_rate
    return {
        "none": dict(learning_rate=rate, l2=0.0, keep_prob=1.0),
        f"L2 λ={config.compare_l2:g}": dict(learning_rate=rate, l2=config.compare_l2, keep_prob=1.0),
        f"dropout keep_prob={config.compare_keep_prob:g}": dict(
            learning_rate=rate, l2=0.0, keep_prob=config.compare_keep_prob),
    }


def compare(config, workdir=None) -> dict:
    """The three cases as one vmapped program (same key for each), tabled."""
    settings = cases(config)
    results = dict(zip(settings, train.train_together(build(config), list(settings.values()),
                                                      seed=config.train_seed)))
    for result in results.values():
        result.summary["train_dev_gap"] = result.summary["final_train_accuracy"] - result.summary["final_dev_accuracy"]
    summary = cli.comparison_table(results, [
        ("train acc", "final_train_accuracy"), ("dev acc", "final_dev_accuracy"), ("test acc", "test_accuracy"),
        ("train − dev", "train_dev_gap")], workdir, title="moons: regularization")
    summary["seconds"] = next(iter(results.values())).summary["seconds"]  # one program for all cases
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, build, compare=compare)
