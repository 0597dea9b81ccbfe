"""Batch normalization: the same deep network on the digits with and without it.

A ``[64] × 4`` network of sigmoid units (He initialization), plain mini-batch gradient descent.
With ``batch_norm=True`` every hidden layer normalizes its pre-activations over the mini-batch,

    μ = (1/m) Σ z,  σ² = (1/m) Σ (z − μ)²,  z_norm = (z − μ) / √(σ² + ε),  z̃ = γ z_norm + β,

and keeps exponentially weighted averages of μ and σ² (momentum ``batch_norm_momentum``) for
inference. The evaluation after every epoch uses the running averages, so a momentum close to 1
needs more steps before dev accuracy follows the training accuracy (hence 0.9 here).

``--config.compare=True`` trains both (``batch_norm`` is structural).

Config (flat):
  numeric: ``learning_rate``.
  structural: ``batch_norm`` (bool), ``batch_norm_momentum``, ``activation``, ``hidden``,
    ``layers``, ``epochs``, ``batch_size``, ``seed``, ``train_seed``, ``compare``.

    python experiments/batch_norm.py --workdir=runs/batch_norm [--config.compare=True]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train


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


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.hidden < 1 or config.layers < 1:
        raise ValueError(f"hidden and layers must be positive, got hidden={config.hidden}, "
                         f"layers={config.layers}")
    if not 0.0 <= config.batch_norm_momentum < 1.0:
        raise ValueError(f"batch_norm_momentum must lie in [0, 1), got {config.batch_norm_momentum}")
    model = models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=10,
                       activation=config.activation, kernel_init="he", batch_norm=bool(config.batch_norm),
                       batch_norm_momentum=config.batch_norm_momentum)
    return train.supervised(model, data.load_digits(seed=config.seed), optimizer="sgd",
                            hparams={"learning_rate": config.learning_rate}, epochs=config.epochs,
                            batch_size=config.batch_size, loss="softmax")


def compare(config, workdir=None) -> dict:
    """The network without and with batch norm, tabled."""
    results = train.compare(build, config, [("without batch norm", dict(batch_norm=False)),
                                            ("with batch norm", dict(batch_norm=True))])
    return cli.comparison_table(results, [
        ("final cost", "final_train_loss"), ("train acc", "final_train_accuracy"), ("dev acc", "final_dev_accuracy"),
        ("test acc", "test_accuracy"), ("seconds", "seconds")], workdir, title="digits: batch norm")


if __name__ == "__main__":
    cli.run_experiment(get_config, build, compare=compare)
