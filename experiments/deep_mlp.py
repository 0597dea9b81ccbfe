"""An L-layer deep network on the digits (8×8 images as 64 features, 10 classes).

``[LINEAR → RELU (→ DROPOUT)] × layers → LINEAR → SOFTMAX``, He initialization, mini-batches, the
cost ``J = (1/m) Σ L(ŷ, y) + (λ/2m) Σ ‖W[l]‖²_F`` and one of the course's optimizers. This is the
default experiment of ``launch.py``: its numeric hyperparameters are traced, so a whole population
(e.g. over α and β₁) is one compiled ``jax.jit(jax.vmap(trainable.train))``.

Config (flat):
  numeric (``Trainable.hparams``): ``learning_rate`` α, ``beta1`` β₁ (momentum's β; Adam's β₁),
    ``beta2`` β₂ (RMSprop's β; Adam's β₂), ``l2`` λ, ``keep_prob`` (dropout; 1 = off).
  structural: ``hidden`` (units per hidden layer), ``layers`` (hidden layers), ``optimizer``
    (adam | momentum | sgd | rmsprop), ``epochs``, ``batch_size``, ``seed`` (data split),
    ``train_seed`` (initialization, shuffles, dropout).

    python experiments/deep_mlp.py --workdir=/tmp/deep_mlp [--config.learning_rate=3e-3]
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ml_collections
from absl import app, flags, logging

from dlcourse import data, models, optim, train
from experiments import runner

OPTIMIZERS = ("adam", "momentum", "sgd", "rmsprop")


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


NUMERIC = ("learning_rate", "beta1", "beta2", "l2", "keep_prob")


def make_optimizer(kind: str):
    """``hparams -> GradientTransformation`` for the named optimizer; its numbers stay traced."""
    if kind == "adam":
        return lambda h: optim.adam(h["learning_rate"], b1=h["beta1"], b2=h["beta2"])
    if kind == "momentum":
        return lambda h: optim.momentum(h["learning_rate"], beta=h["beta1"])
    if kind == "rmsprop":
        return lambda h: optim.rmsprop(h["learning_rate"], decay=h["beta2"])
    if kind == "sgd":
        return lambda h: optim.sgd(h["learning_rate"])
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {kind!r}")


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.layers < 1 or config.hidden < 1:
        raise ValueError(f"layers and hidden must be positive, got layers={config.layers}, "
                         f"hidden={config.hidden}")
    optimizer = make_optimizer(config.optimizer)
    splits = data.load_digits(seed=config.seed)
    model = models.MLP(layer_sizes=(config.hidden,) * config.layers, num_outputs=splits.num_classes,
                       activation="relu", kernel_init="he", dropout=True)
    return train.classifier(model, splits, optimizer, epochs=config.epochs,
                            batch_size=config.batch_size, loss="softmax",
                            hparams={name: config[name] for name in NUMERIC})


def main(argv):
    del argv
    config = flags.FLAGS.config
    logging.set_verbosity(logging.WARNING)  # keep the checkpointer's INFO lines out of the output
    trainable = runner.build_or_exit(build, config)
    summary, _ = runner.run_trial(trainable, config.train_seed, workdir=flags.FLAGS.workdir,
                                  babysit=True, config=config.to_dict())
    summary["experiment"] = "deep_mlp"
    runner.report(summary, flags.FLAGS.workdir)


if __name__ == "__main__":
    runner.define_flags(get_config())
    app.run(main)
