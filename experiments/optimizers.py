"""Optimization algorithms on moons: mini-batch gradient descent, momentum and Adam, ± rate decay.

The course's three-layer network ``LINEAR(5) → RELU → LINEAR(2) → RELU → LINEAR → SIGMOID``
(He initialization) on two noisy moons, mini-batches of 64, the course's small learning rate
α = 0.0007:

- ``sgd``: ``W := W − α dW``;
- ``momentum``: ``v_dW = β₁ v_dW + (1 − β₁) dW``, ``W := W − α v_dW``;
- ``adam``: moments with β₁, β₂, bias-corrected, ``W := W − α v̂ / (√ŝ + ε)``.

With ``decay=True`` the rate follows the inverse-time schedule
``α = α₀ / (1 + decay_rate · ⌊epoch / decay_interval⌋)`` (:func:`dlcourse.optim.inverse_time_decay`,
staircase), ``α₀ = learning_rate``; ``decay_rate`` is read only then.

``--config.compare=True`` runs every case of :func:`cases`: the three optimizers at α = 0.0007,
gradient descent from α₀ = ``decay_learning_rate`` with the decay, and the control — gradient
descent at a fixed α = ``decay_learning_rate`` — which separates the effect of the decay from that
of the larger starting rate (the ledger in WORKSPACE.md reads the result).

Config (flat):
  numeric: ``learning_rate`` (α, or α₀ with decay), ``beta1``, ``beta2``, ``decay_rate``.
  structural: ``optimizer`` (sgd | momentum | rmsprop | adam | adamw), ``decay`` (bool),
    ``decay_interval`` (epochs per step of the staircase), ``epochs``, ``batch_size``, ``noise``,
    ``examples``, ``seed``, ``train_seed``, ``compare``, ``decay_learning_rate`` (α₀ of the
    decayed run in the comparison).

    python experiments/optimizers.py --workdir=runs/optimizers [--config.compare=True]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, optim, train

NUMERIC = ("learning_rate", "beta1", "beta2")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 0.0007
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.decay_rate = 0.3
    # structural
    config.optimizer = "adam"
    config.decay = False
    config.decay_interval = 1000
    config.epochs = 5000
    config.batch_size = 64
    config.examples = 400
    config.noise = 0.2
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    config.decay_learning_rate = 0.1
    return config


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.decay_interval < 1:
        raise ValueError(f"decay_interval must be a positive number of epochs, got {config.decay_interval}")
    splits = data.make_moons(seed=config.seed, m=config.examples, noise=config.noise)
    model = models.MLP(layer_sizes=(5, 2), num_outputs=1, activation="relu", kernel_init="he")
    hparams = {name: config[name] for name in NUMERIC}
    schedule, unread = None, {"decay_rate": "decay=False (no learning-rate decay)"}
    if config.decay:
        steps_per_epoch = -(-len(splits.x_train) // config.batch_size)
        hparams["decay_rate"], unread = config.decay_rate, None

        def schedule(values):
            return optim.inverse_time_decay(values["learning_rate"], values["decay_rate"], staircase=True,
                                            transition_steps=steps_per_epoch * config.decay_interval)

    return train.supervised(model, splits, optimizer=config.optimizer, hparams=hparams, epochs=config.epochs,
                            batch_size=config.batch_size, loss="sigmoid", learning_rate_schedule=schedule,
                            unread=unread)


def cases(config) -> list[tuple[str, dict]]:
    """The comparison: (label, config overrides)."""
    small, large = config.learning_rate, config.decay_learning_rate
    return [
        (f"sgd α={small:g}", dict(optimizer="sgd", decay=False, learning_rate=small)),
        (f"momentum α={small:g}", dict(optimizer="momentum", decay=False, learning_rate=small)),
        (f"adam α={small:g}", dict(optimizer="adam", decay=False, learning_rate=small)),
        (f"sgd α₀={large:g} + decay", dict(optimizer="sgd", decay=True, learning_rate=large)),
        (f"sgd α={large:g} (control)", dict(optimizer="sgd", decay=False, learning_rate=large)),
    ]


def compare(config, workdir=None) -> dict:
    """Every case of :func:`cases`, tabled."""
    results = train.compare(build, config, cases(config))
    return cli.comparison_table(results, [
        ("train acc", "final_train_accuracy"), ("dev acc", "final_dev_accuracy"), ("test acc", "test_accuracy"),
        ("final cost", "final_train_loss"), ("seconds", "seconds")], workdir, title="moons: optimizers")


if __name__ == "__main__":
    cli.run_experiment(get_config, build, compare=compare)
