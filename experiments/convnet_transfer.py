"""Transfer learning with a convnet: pre-train a small ResNet on digits 0–4, learn digits 5–9.

A ResNet (3×3 small stem, one basic block per stage, widths ``width × (8, 16, 32)``, batch norm)
is pre-trained on task A (digits 0–4, as 8×8×1 images). For task B (digits 5–9, relabelled 0–4) it
keeps the pre-trained body and gets a fresh output layer, then learns from ``n`` examples per
class in one of the course's ways, by the amount of data:

- ``frozen``: only the new head trains (``optim.partition`` with ``set_to_zero`` on the body: its
  weights' updates are exactly 0);
- ``last_blocks``: the last stage and the head train, earlier stages are frozen;
- ``all_low_rate``: everything trains, at ``fine_tune_rate`` × the learning rate;
- ``from_scratch``: the same network, randomly initialized, everything trains (the baseline).

Fine-tuning a pre-trained body keeps its batch norm in inference mode: the running averages of
task A normalize, and stay as they are (a handful of target examples would give batch statistics
far from them; the usual advice when fine-tuning). Training from scratch uses batch norm in training
mode. Each training is ``steps`` Adam steps on mini-batches of ``batch_size`` drawn with
replacement from the ``n`` examples per class chosen out of task B's training split (nested: a
seed's smaller subset lies inside its larger one), so every size and seed is one vmapped program
per method. Accuracies are measured on task B's test split.

Config (flat): ``sizes`` (examples per class of B), ``steps`` (on B), ``pretrain_steps`` (on A),
``batch_size``, ``learning_rate`` α, ``fine_tune_rate``, ``width``, ``seeds``, ``seed`` (the digits'
split).

    python experiments/convnet_transfer.py --workdir=runs/convnet_transfer [--config.sizes='(1,5,25)']
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, losses, metrics, models, optim, strategy

SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
METHODS = ("frozen", "last_blocks", "all_low_rate", "from_scratch")
HEAD = "output"


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.sizes = (1, 5, 25, 100)
    config.steps = 150
    config.pretrain_steps = 400
    config.batch_size = 32
    config.learning_rate = 1e-2
    config.fine_tune_rate = 0.1
    config.width = 1.0
    config.seeds = 2
    config.seed = 0
    return config


def check_config(config, target: data.Splits) -> None:
    """Raises ``ValueError`` naming the first bad value."""
    strategy.check_sizes_per_class(config.sizes, target.y_train, target.num_classes, "digits 5-9")
    for name in ("steps", "pretrain_steps", "batch_size", "seeds"):
        if config[name] < 1:
            raise ValueError(f"{name} must be at least 1, got {config[name]}")
    for name in ("learning_rate", "fine_tune_rate", "width"):
        if not config[name] > 0:
            raise ValueError(f"{name} must be positive, got {config[name]}")


def make_model(config) -> models.ResNet:
    widths = tuple(max(1, round(w * config.width)) for w in (8, 16, 32))
    return models.ResNet((1, 1, 1), num_classes=len(TARGET_CLASSES), stage_widths=widths, stem="small",
                         batch_norm_momentum=0.9)


def fit(model, optimizer, variables, x, y, chosen, key, steps: int, batch_size: int, batch_norm_training: bool = True):
    """``steps`` Adam steps, each on a mini-batch of ``batch_size`` examples drawn with replacement
    from those where ``chosen`` is 1 (batch norm in training mode on the mini-batch). Fixed shapes
    whatever the number chosen, so every size of a study is one vmapped program. Returns the trained
    variables."""
    probabilities = chosen / jnp.sum(chosen)

    def cost(params, batch_stats, rows):
        variables = {"params": params, "batch_stats": batch_stats}
        if not batch_norm_training:  # the running averages normalize, and stay as they are
            return losses.softmax_cross_entropy(model.apply(variables, x[rows], train=False), y[rows]), batch_stats
        logits, updates = model.apply(variables, x[rows], train=True, mutable=["batch_stats"])
        return losses.softmax_cross_entropy(logits, y[rows]), updates["batch_stats"]

    def step(carry, step_key):
        params, batch_stats, state = carry
        rows = jax.random.choice(step_key, len(y), (batch_size,), p=probabilities)
        (_, batch_stats), grads = jax.value_and_grad(cost, has_aux=True)(params, batch_stats, rows)
        updates, state = optimizer.update(grads, state, params)
        return (optim.apply_updates(params, updates), batch_stats, state), None

    params, batch_stats = variables["params"], variables["batch_stats"]
    (params, batch_stats, _), _ = jax.lax.scan(step, (params, batch_stats, optimizer.init(params)),
                                               jax.random.split(key, steps))
    return {"params": params, "batch_stats": batch_stats}


_EXECUTABLES: dict = {}


def compiled(function, *args):
    """``jax.jit(function)(*args)`` compiled ahead of time with dlcourse's XLA options (faster
    compiles on the CPU), one executable per function and argument shapes."""
    from dlcourse.train.compilation import compile_lowered

    signature = (function, jax.tree.structure(args), tuple((x.shape, x.dtype) for x in jax.tree.leaves(args)))
    if signature not in _EXECUTABLES:
        _EXECUTABLES[signature] = compile_lowered(jax.jit(function).lower(*args))
    return _EXECUTABLES[signature](*args)


def run_study(config) -> dict:
    """Pre-trains on A, then trains on B every way at every size, for every seed; returns test
    accuracies ``{method: [seeds, sizes]}`` and the pre-trained model's accuracy on A."""
    splits = data.load_digits(seed=config.seed, flat=False)
    source, target = data.select_classes(splits, SOURCE_CLASSES), data.select_classes(splits, TARGET_CLASSES)
    check_config(config, target)
    model = make_model(config)
    sizes = jnp.asarray(tuple(config.sizes), jnp.int32)
    x_pool, y_pool = jnp.asarray(target.x_train), jnp.asarray(target.y_train)

    def init(key):
        return model.init(key, x_pool[:1], train=False)

    def accuracy(variables, x, y):
        return metrics.accuracy(model.apply(variables, jnp.asarray(x), train=False), jnp.asarray(y))

    def pretrain(keys):
        def one(key):
            variables = fit(model, optim.adam(config.learning_rate), init(key), jnp.asarray(source.x_train),
                            jnp.asarray(source.y_train), jnp.ones(len(source.y_train)), jax.random.fold_in(key, 1),
                            config.pretrain_steps, config.batch_size)
            return variables, accuracy(variables, source.x_test, source.y_test)

        return jax.vmap(one)(keys)

    def trainable_layers(group, params):
        if group == "frozen":
            return [HEAD]
        if group == "last_blocks":
            return [HEAD, sorted(name for name in params if name.startswith("stage"))[-1]]
        return list(params)

    def make_train(group, batch_norm_training=False):
        """One program per set of trainable layers; the learning rate and the start are arguments,
        so ``all_low_rate`` and ``from_scratch`` share one."""
        def train(start, masks, step_keys, rate):
            labels = strategy.layer_labels(jax.tree.map(lambda leaf: leaf[0], start["params"]),
                                           trainable_layers(group, start["params"]))
            optimizer = strategy.frozen_layers_optimizer(optim.adam(rate), labels)

            def one(variables, mask, key):
                final = fit(model, optimizer, variables, x_pool, y_pool, mask, key, config.steps, config.batch_size,
                            batch_norm_training)
                return accuracy(final, target.x_test, target.y_test)

            return jax.vmap(jax.vmap(one, in_axes=(None, 0, None)))(start, masks, step_keys)

        return train

    keys = jax.vmap(jax.random.key)(jnp.arange(config.seeds))
    pretrain_keys, head_keys, subset_keys, step_keys = (jax.vmap(lambda key, i=i: jax.random.fold_in(key, i))(keys)
                                                        for i in range(4))
    pretrained, source_accuracy = compiled(pretrain, pretrain_keys)
    fresh = compiled(jax.vmap(init), head_keys)
    transferred = {"params": strategy.replace_head(pretrained["params"], fresh["params"], head_name=HEAD),
                   "batch_stats": pretrained["batch_stats"]}
    masks = jax.vmap(lambda key: jax.vmap(lambda n: strategy.per_class_mask(key, y_pool, n))(sizes))(subset_keys)
    programs = {group: make_train(group) for group in ("frozen", "last_blocks", "all")}
    programs["scratch"] = make_train("all", batch_norm_training=True)
    rate = jnp.float32(config.learning_rate)
    accuracies = {
        "frozen": compiled(programs["frozen"], transferred, masks, step_keys, rate),
        "last_blocks": compiled(programs["last_blocks"], transferred, masks, step_keys, rate),
        "all_low_rate": compiled(programs["all"], transferred, masks, step_keys, rate * config.fine_tune_rate),
        "from_scratch": compiled(programs["scratch"], fresh, masks, step_keys, rate),
    }
    return {"test_accuracy": jax.block_until_ready(accuracies), "source_test_accuracy": source_accuracy}


def main(config, workdir=None) -> dict:
    from dlcourse.train.reporting import to_json_value

    start = time.perf_counter()
    check_config(config, data.select_classes(data.load_digits(seed=config.seed), TARGET_CLASSES))
    study = run_study(config)
    means = {m: np.round(np.mean(np.asarray(study["test_accuracy"][m], np.float64), axis=0), 4) for m in METHODS}
    summary = to_json_value({
        "sizes_per_class": list(config.sizes),
        "train_examples": [n * len(TARGET_CLASSES) for n in config.sizes],
        "test_accuracy": means,
        "test_accuracy_std": {m: np.round(np.std(np.asarray(study["test_accuracy"][m], np.float64), axis=0), 4)
                              for m in METHODS},
        "source_test_accuracy": round(float(np.mean(study["source_test_accuracy"])), 4),
        "seeds": config.seeds, "config": config.to_dict(), "seconds": round(time.perf_counter() - start, 3)})
    cli.say(f"Pre-trained on digits 0-4 (test accuracy {summary['source_test_accuracy']:.4f}); test accuracy "
            f"on digits 5-9, mean of {config.seeds} seeds:")
    cli.print_table(("per class", "m_train", *METHODS),
                    [(n, n * len(TARGET_CLASSES), *(summary["test_accuracy"][m][i] for m in METHODS))
                     for i, n in enumerate(config.sizes)])
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
