"""Multi-class classification with softmax on the digits (64 pixel features, C = 10).

``z = W x + b`` (``model='linear'``: softmax regression) or one hidden ReLU layer first
(``model='mlp'``); ``ŷ = softmax(z)``, ``ŷ_j = e^{z_j} / Σ_k e^{z_k}``; the cost is the
cross-entropy ``J = −(1/m) Σ_i Σ_j y_j^(i) log ŷ_j^(i)``; Adam on mini-batches. Reports
train/dev/test accuracy.

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``.
  structural: ``model`` (linear | mlp), ``hidden`` (units of the mlp's hidden layer), ``epochs``,
    ``batch_size``, ``seed``, ``train_seed``.

    python experiments/softmax.py --workdir=runs/softmax [--config.model=mlp]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train

MODELS = ("linear", "mlp")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 0.01
    config.beta1 = 0.9
    config.beta2 = 0.999
    # structural
    config.model = "linear"
    config.hidden = 32
    config.epochs = 30
    config.batch_size = 64
    config.seed = 0
    config.train_seed = 0
    return config


def make_model(config):
    if config.model == "linear":
        return models.LogisticRegression(num_outputs=10)
    if config.model == "mlp":
        if config.hidden < 1:
            raise ValueError(f"hidden must be positive, got {config.hidden}")
        return models.MLP(layer_sizes=(config.hidden,), num_outputs=10, kernel_init="he")
    raise ValueError(f"model must be one of {MODELS}, got {config.model!r}")


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return train.supervised(make_model(config), data.load_digits(seed=config.seed), optimizer="adam",
                            hparams={k: config[k] for k in ("learning_rate", "beta1", "beta2")},
                            epochs=config.epochs, batch_size=config.batch_size, loss="softmax")


if __name__ == "__main__":
    cli.run_experiment(get_config, build)
