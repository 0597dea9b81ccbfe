"""Weight initialization on two concentric circles: zeros vs large random vs He.

The course's three-layer ReLU network ``LINEAR(10) → RELU → LINEAR(5) → RELU → LINEAR → SIGMOID``
on circles (noise 0.05, inner radius 0.8), trained with mini-batch gradient descent; only the
initial ``W`` differ (biases start at 0):

- ``zeros``: ``W = 0``;
- ``random``: ``W = randn · init_scale`` (10 by default);
- ``he``: ``W[l] = randn · √(2 / n[l−1])``.

``--config.compare=True`` trains all three (``init`` is structural: one program each) and tables
the first and final costs and the accuracies.

Config (flat):
  numeric: ``learning_rate``.
  structural: ``init`` (zeros | random | he), ``init_scale``, ``epochs``, ``batch_size``,
    ``examples``, ``seed``, ``train_seed``, ``compare``.

    python experiments/initialization.py --workdir=runs/initialization [--config.compare=True]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train

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


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {config.init!r}")
    model = models.MLP(layer_sizes=(10, 5), num_outputs=1, activation="relu", kernel_init=config.init,
                       init_scale=config.init_scale)
    splits = data.make_circles(seed=config.seed, m=config.examples, noise=0.05, factor=0.8)
    return train.supervised(model, splits, optimizer="sgd", hparams={"learning_rate": config.learning_rate},
                            epochs=config.epochs, batch_size=config.batch_size, loss="sigmoid")


def compare(config, workdir=None) -> dict:
    """The three initializations, tabled."""
    results = train.compare(build, config, [(init, dict(init=init)) for init in INITS])
    return cli.comparison_table(results, [
        ("first cost", lambda summary, curves: curves["train_loss"][0]), ("final cost", "final_train_loss"),
        ("train acc", "final_train_accuracy"), ("test acc", "test_accuracy"), ("seconds", "seconds")],
        workdir, title="circles: initialization", label_header="init")


if __name__ == "__main__":
    cli.run_experiment(get_config, build, compare=compare)
