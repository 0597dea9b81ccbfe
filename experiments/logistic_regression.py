"""Logistic regression on the Wisconsin breast-cancer data (30 standardized features, binary).

``z = wᵀx + b``, ``ŷ = σ(z)``, cost ``J = −(1/m) Σ (y log ŷ + (1 − y) log(1 − ŷ))``, parameters
initialized to zero, full-batch gradient descent ``w := w − α dw``, ``b := b − α db`` (one step
per epoch, so ``epochs`` is the course's number of iterations). Features are standardized with
the training set's μ and σ. Reports train/dev/test accuracy.

Config (flat):
  numeric: ``learning_rate`` α.
  structural: ``epochs``, ``batch_size`` (≥ the training set: full batch), ``seed`` (data split),
    ``train_seed``.

    python experiments/logistic_regression.py --workdir=runs/logistic
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.learning_rate = 0.1  # numeric
    config.epochs = 1000
    config.batch_size = 100_000
    config.seed = 0
    config.train_seed = 0
    return config


def load(config) -> data.Splits:
    """The splits with x standardized by the training set's statistics."""
    splits = data.load_breast_cancer(seed=config.seed)
    (x_train, x_dev, x_test), _ = data.standardize(splits.x_train, splits.x_dev, splits.x_test)
    return splits._replace(x_train=x_train, x_dev=x_dev, x_test=x_test)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return train.supervised(models.LogisticRegression(num_outputs=1), load(config), optimizer="sgd",
                            hparams={"learning_rate": config.learning_rate}, epochs=config.epochs,
                            batch_size=config.batch_size, loss="sigmoid")


if __name__ == "__main__":
    cli.run_experiment(get_config, build)
