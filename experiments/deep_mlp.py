"""An L-layer deep network on the digits (8×8 images as 64 features, 10 classes).

``[LINEAR → RELU (→ DROPOUT)] × layers → LINEAR → SOFTMAX``, He initialization, mini-batches, the
cost ``J = (1/m) Σ L(ŷ, y) + (λ/2m) Σ ‖W[l]‖²_F`` and one of the course's optimizers by name.
This is the default experiment of ``launch.py``; run alone it babysits one model (progress per
epoch, checkpoints in ``--workdir``; a rerun resumes).

Config (flat):
  numeric (traced): ``learning_rate`` α, ``beta1`` β₁ (momentum's β; Adam's β₁), ``beta2`` β₂
    (RMSprop's β; Adam's β₂), ``l2`` λ, ``keep_prob`` (dropout; 1 = off). An optimizer reads only
    its own (sgd: α; momentum: α, β₁; rmsprop: α, β₂; adam: α, β₁, β₂).
  structural: ``hidden`` (units per hidden layer), ``layers`` (hidden layers), ``optimizer``
    (sgd | momentum | rmsprop | adam | adamw), ``epochs``, ``batch_size``, ``seed`` (data split),
    ``train_seed`` (initialization, shuffles, dropout).

    python experiments/deep_mlp.py --workdir=runs/mlp [--config.learning_rate=3e-3]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train

NUMERIC = ("learning_rate", "beta1", "beta2", "l2", "keep_prob")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric: traced hyperparameters
    config.learning_rate = 3e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.l2 = 0.0
    config.keep_prob = 1.0
    # structural
    config.hidden = 64
    config.layers = 2
    config.optimizer = "adam"
    config.epochs = 20
    config.batch_size = 64
    config.seed = 0
    config.train_seed = 0
    return config


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.layers < 1 or config.hidden < 1:
        raise ValueError(f"layers and hidden must be positive, got layers={config.layers}, "
                         f"hidden={config.hidden}")
    splits = data.load_digits(seed=config.seed)
    model = models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=splits.num_classes,
                       activation="relu", kernel_init="he", dropout=True)
    return train.supervised(model, splits, optimizer=config.optimizer,
                            hparams={name: config[name] for name in NUMERIC}, epochs=config.epochs,
                            batch_size=config.batch_size, loss="softmax", metrics=("accuracy",))


if __name__ == "__main__":
    cli.run_experiment(get_config, build, babysit=True)
