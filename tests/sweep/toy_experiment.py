"""A tiny, fast experiment for sweep tests: logistic regression with momentum on generated data.

Numeric hyperparameters: ``learning_rate``, ``beta1`` (momentum: v = β v + (1 − β) dw, w −= α v)
and ``l2`` (λ/2 ‖w‖²). Structural: ``epochs``, ``batch_size``, ``features`` (``linear`` or
``square``: x and x² as inputs), ``seed`` (the data set). The loss is the naive
−y log a − (1 − y) log(1 − a), so a huge learning rate saturates the sigmoid and the loss becomes
inf: the trial diverges. ``predict`` gives the dev set's labels and ``1[a > 0.5]``.

``TRACES`` counts how often ``epoch`` is traced (one per compile of a population).
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse.metrics import ACCURACY
from dlcourse.train.trainable import KNOWN_DOMAINS, Trainable

TRACES = {"epoch": 0}


def get_config():
    config = ml_collections.ConfigDict()
    config.learning_rate = 0.1
    config.beta1 = 0.9
    config.l2 = 0.0
    config.epochs = 6
    config.batch_size = 32
    config.features = "linear"
    config.seed = 0
    config.examples = 256
    return config


def _data(config):
    rng = np.random.RandomState(config.seed)
    n = config.examples
    x = rng.normal(size=(2 * n, 4)).astype(np.float32)
    w = np.array([1.5, -2.0, 0.5, 1.0], np.float32)
    y = ((x @ w + 0.5 * x[:, 0] ** 2 + 0.3 * rng.normal(size=2 * n)) > 0).astype(np.float32)
    if config.features == "square":
        x = np.concatenate([x, x ** 2], axis=1)
    elif config.features != "linear":
        raise ValueError(f"features must be 'linear' or 'square', got {config.features!r}")
    return (jnp.asarray(x[:n]), jnp.asarray(y[:n])), (jnp.asarray(x[n:]), jnp.asarray(y[n:]))


def build(config):
    (x_train, y_train), (x_dev, y_dev) = _data(config)
    steps = x_train.shape[0] // config.batch_size
    dims = x_train.shape[1]

    def probability(params, x):
        return jax.nn.sigmoid(x @ params["w"] + params["b"])

    def cost(params, x, y, l2):
        a = probability(params, x)
        loss = -jnp.mean(y * jnp.log(a) + (1 - y) * jnp.log(1 - a))
        return loss + l2 / 2 * jnp.sum(params["w"] ** 2)

    def accuracy(params, x, y):
        return jnp.mean((probability(params, x) > 0.5) == (y > 0.5))

    def init(hparams, key):
        key, init_key = jax.random.split(key)
        params = {"w": 0.01 * jax.random.normal(init_key, (dims,)), "b": jnp.zeros(())}
        velocity = jax.tree.map(jnp.zeros_like, params)
        return params, velocity, key

    def epoch(state, hparams):
        TRACES["epoch"] += 1
        params, velocity, key = state
        key, shuffle_key = jax.random.split(key)
        order = jax.random.permutation(shuffle_key, x_train.shape[0])[: steps * config.batch_size]
        batches = (x_train[order].reshape(steps, config.batch_size, dims),
                   y_train[order].reshape(steps, config.batch_size))

        def step(carry, batch):
            params, velocity = carry
            loss, grads = jax.value_and_grad(cost)(params, *batch, hparams["l2"])
            beta = hparams["beta1"]
            velocity = jax.tree.map(lambda v, g: beta * v + (1 - beta) * g, velocity, grads)
            params = jax.tree.map(lambda p, v: p - hparams["learning_rate"] * v, params, velocity)
            return (params, velocity), loss

        (params, velocity), losses = jax.lax.scan(step, (params, velocity), batches)
        row = {"train_loss": jnp.mean(losses), "train_accuracy": accuracy(params, x_train, y_train),
               "dev_accuracy": accuracy(params, x_dev, y_dev)}
        return (params, velocity, key), row

    def predict(state, hparams):
        params, _, _ = state
        return (y_dev > 0.5).astype(jnp.int32), (probability(params, x_dev) > 0.5).astype(jnp.int32)

    return Trainable(init=init, epoch=epoch, epochs=config.epochs,
                     hparams={"learning_rate": config.learning_rate, "beta1": config.beta1,
                              "l2": config.l2},
                     metrics=(ACCURACY,), predict=predict,
                     domains={name: KNOWN_DOMAINS[name] for name in ("learning_rate", "beta1", "l2")})
