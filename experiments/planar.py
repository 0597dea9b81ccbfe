"""The shallow network on the planar flower: one hidden tanh layer, sigmoid output.

``A[1] = tanh(X W[1] + b[1])``, ``ŷ = σ(A[1] W[2] + b[2])``, weights ``randn · 0.01``, biases 0,
full-batch gradient descent with the course's α = 1.2 (one step per epoch, so ``epochs`` is the
number of iterations).

``--config.compare=True`` trains the course's hidden-layer sizes 1, 2, 3, 4, 5, 20, 50 (each size
is a different structure, so one compiled program per size) and tables their accuracies.

Config (flat):
  numeric: ``learning_rate`` α.
  structural: ``hidden`` (units), ``epochs``, ``batch_size`` (≥ the training set: full batch),
    ``seed`` (data), ``train_seed``, ``compare``, ``compare_sizes``.

    python experiments/planar.py --workdir=runs/planar [--config.compare=True]
"""

from __future__ import annotations

import ml_collections

from dlcourse import cli, data, models, train


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.learning_rate = 1.2  # numeric
    config.hidden = 4
    config.epochs = 5000
    config.batch_size = 100_000
    config.seed = 0
    config.train_seed = 0
    config.compare = False
    config.compare_sizes = (1, 2, 3, 4, 5, 20, 50)
    return config


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    if config.hidden < 1:
        raise ValueError(f"hidden must be a positive number of units, got {config.hidden}")
    return train.supervised(models.ShallowNet(hidden_size=config.hidden, num_outputs=1),
                            data.make_flower(seed=config.seed), optimizer="sgd",
                            hparams={"learning_rate": config.learning_rate}, epochs=config.epochs,
                            batch_size=config.batch_size, loss="sigmoid")


def compare(config, workdir=None) -> dict:
    """One run per hidden size of ``compare_sizes``, tabled."""
    results = train.compare(build, config, [(int(size), dict(hidden=int(size))) for size in config.compare_sizes])
    return cli.comparison_table(results, [
        ("train acc", "final_train_accuracy"), ("dev acc", "final_dev_accuracy"), ("test acc", "test_accuracy"),
        ("seconds", "seconds")], workdir, title="flower: hidden-layer size", label_header="hidden units",
        legend="{} units")


if __name__ == "__main__":
    cli.run_experiment(get_config, build, compare=compare)
