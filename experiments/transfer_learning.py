"""Transfer learning on the digits: pre-train on digits 0–4 (task A), learn digits 5–9 (task B).

Pre-training learns ``W[1], b[1], …, W[L], b[L]`` on task A. For task B the output layer is
replaced by a fresh softmax layer ``W[L], b[L]`` (5 new classes) and then, with ``m`` examples of
B (the course's advice, by the amount of data):

- small ``m`` — **frozen features**: keep ``W[1] … W[L−1]`` (and biases) fixed, train only the
  new output layer (``partition`` with ``set_to_zero`` on the body: its updates are exactly 0);
- more ``m`` — freeze the early layers only and train the later ones too;
- large ``m`` — **fine-tuning**: use all pretrained weights as the initialisation and train
  everything.

The study compares (a) frozen, (b) fine-tuned and (c) from scratch (same architecture, random
initialisation) at several training-set sizes, with the same optimizer (Adam), epochs, seeds,
subsets of B and fresh output layer for all three; WORKSPACE.md's ledger reads the result.

Each training is batch gradient descent with Adam (the course: ``m ≤ 2000`` → use the whole
training set per step), so one epoch is one step. Subsets of B hold ``n`` examples per class drawn
from B's training split (nested: a seed's 1-per-class subset lies inside its 2-per-class one);
accuracies are measured on B's dev and test splits. Everything over seeds and sizes is one
``jax.jit(jax.vmap(jax.vmap(·)))`` per optimizer.

Config (flat): ``sizes`` (examples per class of B), ``epochs`` (on B), ``pretrain_epochs`` (on A),
``learning_rate`` α, ``hidden`` (units per hidden layer), ``layers`` (hidden layers), ``seeds``
(trials averaged: seeds 0 … seeds − 1), ``seed`` (the train/dev/test split of the digits).

    python experiments/transfer_learning.py --workdir=/tmp/transfer [--config.sizes='(1,10,100)']
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, losses, metrics, models, optim, strategy
from dlcourse.train.reporting import to_json_value

SOURCE_CLASSES = (0, 1, 2, 3, 4)  # task A: pre-training
TARGET_CLASSES = (5, 6, 7, 8, 9)  # task B: the new task, relabelled 0 … 4
METHODS = ("frozen", "fine_tuned", "from_scratch")
HEAD = "output"  # the MLP's output layer W[L], b[L]


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.sizes = (1, 2, 5, 10, 25, 100)
    config.epochs = 150
    config.pretrain_epochs = 150
    config.learning_rate = 1e-2
    config.hidden = 64
    config.layers = 2
    config.seeds = 5
    config.seed = 0
    return config


def check_config(config, target: data.Splits) -> None:
    """Raises ``ValueError`` naming the first bad value."""
    strategy.check_sizes_per_class(config.sizes, target.y_train, target.num_classes, "digits 5-9")
    for name in ("epochs", "pretrain_epochs", "hidden", "layers", "seeds"):
        if config[name] < 1:
            raise ValueError(f"{name} must be at least 1, got {config[name]}")
    if not config.learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {config.learning_rate}")
    if config.seed < 0:
        raise ValueError(f"seed must be non-negative, got {config.seed}")


def fit(model, optimizer, params, x, y, mask, epochs: int):
    """``epochs`` steps of batch gradient descent on ``J = Σ mask·L(ŷ, y) / Σ mask``.

    Returns ``(params, costs)`` with ``costs`` ``[epochs]`` (J before each step)."""

    def cost(params):
        return losses.softmax_cross_entropy(model.apply({"params": params}, x, train=False), y, mask)

    def step(carry, _):
        params, state = carry
        value, grads = jax.value_and_grad(cost)(params)
        updates, state = optimizer.update(grads, state, params)
        return (optim.apply_updates(params, updates), state), value

    (params, _), costs = jax.lax.scan(step, (params, optimizer.init(params)), None, length=epochs)
    return params, costs


def run_study(config) -> dict:
    """Pre-trains on A, then trains on B three ways at every size, for every seed.

    Returns a dict of arrays (leading axes ``[seeds]`` or ``[seeds, sizes]``):
      ``pretrained`` (params after A), ``source_test_accuracy`` ``[seeds]``,
      ``start[method]`` (params before B: pretrained body + fresh head, or fresh everything),
      ``final[method]`` (params after B, ``[seeds, sizes, …]``), ``train_cost``,
      ``dev_accuracy`` and ``test_accuracy`` (``[seeds, sizes]`` per method).
    """
    splits = data.load_digits(seed=config.seed)
    source = data.select_classes(splits, SOURCE_CLASSES)
    target = data.select_classes(splits, TARGET_CLASSES)
    check_config(config, target)
    model = models.MLP(layer_sizes=(config.hidden,) * config.layers,
                       num_outputs=len(TARGET_CLASSES), activation="relu", kernel_init="he")
    sizes = jnp.asarray(tuple(config.sizes), jnp.int32)
    learning_rate = jnp.asarray(config.learning_rate, jnp.float32)
    x_source, y_source = jnp.asarray(source.x_train), jnp.asarray(source.y_train)
    x_pool, y_pool = jnp.asarray(target.x_train), jnp.asarray(target.y_train)

    def init(key):
        return model.init(key, x_pool[:1], train=False)["params"]

    def accuracy(params, x, y):
        return metrics.accuracy(model.apply({"params": params}, jnp.asarray(x), train=False),
                                jnp.asarray(y))

    @jax.jit
    def pretrain(keys, learning_rate):
        def one(key):
            params, _ = fit(model, optim.adam(learning_rate), init(key), x_source, y_source, None,
                            config.pretrain_epochs)
            return params, accuracy(params, source.x_test, source.y_test)

        return jax.vmap(one)(keys)

    def make_train(frozen: bool):
        @jax.jit
        def train(start, masks, learning_rate):
            optimizer = optim.adam(learning_rate)
            if frozen:
                labels = strategy.freeze_all_but_head(
                    jax.tree.map(lambda leaf: leaf[0], start), head_name=HEAD)
                optimizer = strategy.frozen_layers_optimizer(optimizer, labels)

            def one(params, mask):
                final, costs = fit(model, optimizer, params, x_pool, y_pool, mask, config.epochs)
                return (final, costs[-1], accuracy(final, target.x_dev, target.y_dev),
                        accuracy(final, target.x_test, target.y_test))

            per_size = jax.vmap(one, in_axes=(None, 0))
            return jax.vmap(per_size)(start, masks)

        return train

    keys = jax.vmap(jax.random.key)(jnp.arange(config.seeds))
    pretrain_keys, head_keys, subset_keys = (
        jax.vmap(lambda key, i=i: jax.random.fold_in(key, i))(keys) for i in range(3))
    pretrained, source_accuracy = pretrain(pretrain_keys, learning_rate)
    fresh = jax.vmap(init)(head_keys)  # random body (from scratch) and the fresh head of all three
    transferred = strategy.replace_head(pretrained, fresh, head_name=HEAD)
    masks = jax.vmap(lambda key: jax.vmap(lambda n: strategy.per_class_mask(key, y_pool, n))(sizes))(
        subset_keys)

    train_frozen, train_all = make_train(frozen=True), make_train(frozen=False)
    start = {"frozen": transferred, "fine_tuned": transferred, "from_scratch": fresh}
    runs = {"frozen": train_frozen(transferred, masks, learning_rate),
            "fine_tuned": train_all(transferred, masks, learning_rate),
            "from_scratch": train_all(fresh, masks, learning_rate)}
    runs = jax.block_until_ready(runs)
    return {
        "pretrained": pretrained,
        "source_test_accuracy": source_accuracy,
        "start": start,
        "final": {method: run[0] for method, run in runs.items()},
        "train_cost": {method: run[1] for method, run in runs.items()},
        "dev_accuracy": {method: run[2] for method, run in runs.items()},
        "test_accuracy": {method: run[3] for method, run in runs.items()},
        "train_examples": [int(n) * len(TARGET_CLASSES) for n in config.sizes],
    }


def summarize(config, study: dict, seconds: float) -> dict:
    """The JSON summary: per method, accuracy per size averaged over seeds (and its spread)."""
    def over_seeds(reduce, table):
        return {m: np.round(reduce(np.asarray(table[m], np.float64), axis=0), 4) for m in METHODS}

    return {
        "experiment": "transfer_learning",
        "sizes_per_class": list(config.sizes),
        "train_examples": study["train_examples"],
        "test_accuracy": over_seeds(np.mean, study["test_accuracy"]),
        "test_accuracy_std": over_seeds(np.std, study["test_accuracy"]),
        "dev_accuracy": over_seeds(np.mean, study["dev_accuracy"]),
        "source_test_accuracy": round(float(np.mean(study["source_test_accuracy"])), 4),
        "seeds": config.seeds,
        "config": config.to_dict(),
        "seconds": round(seconds, 3),
    }


def main(config, workdir=None) -> dict:
    start = time.perf_counter()
    check_config(config, data.select_classes(data.load_digits(seed=config.seed), TARGET_CLASSES))  # before training
    study = run_study(config)
    summary = to_json_value(summarize(config, study, time.perf_counter() - start))
    cli.say(f"Pre-trained on digits 0-4 (test accuracy {summary['source_test_accuracy']:.4f}); "
            f"test accuracy on digits 5-9, mean of {config.seeds} seeds:")
    rows = [(n, m, *(summary["test_accuracy"][method][i] for method in METHODS))
            for i, (n, m) in enumerate(zip(summary["sizes_per_class"], summary["train_examples"]))]
    cli.print_table(("per class", "m_train", *METHODS), rows)
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
