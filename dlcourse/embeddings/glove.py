"""GloVe: fit θ_iᵀ e_j + b_i + b′_j to log X_ij, the log co-occurrence count, weighted by f(X_ij).

- X_ij: how often word j occurs in the context of word i (within ``±window`` in the same sentence).
  With ``weighting="harmonic"`` an occurrence at distance d adds 1/d (Pennington et al., 2014, and
  the GloVe code); ``"uniform"`` adds 1. Windows are symmetric, so X is symmetric.
- The loss, as in the notes (the paper has no ½)::

      J = Σ_i Σ_j f(X_ij) (θ_iᵀ e_j + b_i + b′_j − log X_ij)²,   f(x) = min(1, (x / x_max)^α), f(0) = 0

  (x_max = 100, α = 3/4 in the paper); terms with X_ij = 0 vanish (the notes' "0 log 0 = 0").
- θ and e play symmetric roles; the final embedding is e_w^(final) = (e_w + θ_w) / 2.

The loss reads X as a list of entries (i, j, X_ij) so a large vocabulary need not hold the dense
|V|² matrix: :func:`cooccurrence_entries` lists the nonzero ones. :func:`train_glove` steps a
:mod:`dlcourse.optim` optimizer on shuffled mini-batches of entries, epochs and batches as
``lax.scan``. (The paper uses AdaGrad; pass any optimizer.)
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import optim
from dlcourse.embeddings.context import surrounding_words_context

__all__ = ["COOCCURRENCE_WEIGHTINGS", "CooccurrenceEntries", "GloVe", "cooccurrence_counts", "cooccurrence_entries",
           "glove_final_embeddings", "glove_loss", "glove_weights", "init_glove", "train_glove"]

COOCCURRENCE_WEIGHTINGS = ("harmonic", "uniform")


class CooccurrenceEntries(NamedTuple):
    """Entries of X: ``rows`` i, ``columns`` j (int32 ``[n]``) and ``counts`` X_ij (float32 ``[n]``)."""

    rows: np.ndarray
    columns: np.ndarray
    counts: np.ndarray


class GloVe(NamedTuple):
    """A trained GloVe model: ``embeddings`` (e + θ) / 2 ``[|V|, n_e]``, ``params``, ``losses`` ``[epochs]``."""

    embeddings: jax.Array
    params: dict[str, jax.Array]
    losses: jax.Array


def cooccurrence_counts(ids: jax.Array, mask: jax.Array, vocab_size: int, window: int = 5,
                        weighting: str = "harmonic") -> jax.Array:
    """X ``[|V|, |V|]`` float32 from a corpus ``ids``/``mask`` ``[m, L]`` (dense: for small vocabularies)."""
    if weighting not in COOCCURRENCE_WEIGHTINGS:
        raise ValueError(f"weighting must be one of {COOCCURRENCE_WEIGHTINGS}, got {weighting!r}")
    windows = surrounding_words_context(ids, mask, window)
    offsets = jnp.asarray(tuple(range(-window, 0)) + tuple(range(1, window + 1)))
    increments = 1.0 / jnp.abs(offsets) if weighting == "harmonic" else jnp.ones(offsets.shape)
    weights = jnp.where(windows.context_mask, increments.astype(jnp.float32), 0.0)
    rows = jnp.broadcast_to(windows.targets[..., None], windows.context.shape)
    return jnp.zeros((vocab_size, vocab_size), jnp.float32).at[rows.reshape(-1), windows.context.reshape(-1)].add(
        weights.reshape(-1))


def cooccurrence_entries(counts: np.ndarray) -> CooccurrenceEntries:
    """The nonzero entries of a dense X, row by row."""
    counts = np.asarray(counts)
    rows, columns = np.nonzero(counts)
    values = counts[rows, columns].astype(np.float32)
    return CooccurrenceEntries(rows.astype(np.int32), columns.astype(np.int32), values)


def glove_weights(counts: jax.Array, x_max: float = 100.0, alpha: float = 0.75) -> jax.Array:
    """f(X_ij) = min(1, (X_ij / x_max)^α), and 0 where X_ij = 0; same shape as ``counts``."""
    counts = jnp.asarray(counts, jnp.float32)
    positive = counts > 0
    return jnp.where(positive, jnp.minimum(1.0, (jnp.where(positive, counts, 1.0) / x_max) ** alpha), 0.0)


def glove_loss(params: dict[str, jax.Array], rows: jax.Array, columns: jax.Array, counts: jax.Array,
               x_max: float = 100.0, alpha: float = 0.75) -> jax.Array:
    """Σ over the entries of f(X_ij) (θ_iᵀ e_j + b_i + b′_j − log X_ij)²; entries with X_ij = 0 add 0.

    ``params``: ``theta``, ``e`` ``[|V|, n_e]``, ``b``, ``b_prime`` ``[|V|]``; entries ``[n]`` (any
    subset of X, e.g. a mini-batch, or every (i, j) of a dense X flattened).
    """
    counts = jnp.asarray(counts, jnp.float32)
    log_counts = jnp.log(jnp.where(counts > 0, counts, 1.0))
    fit = (jnp.einsum("nd,nd->n", params["theta"][rows], params["e"][columns]) + params["b"][rows]
           + params["b_prime"][columns] - log_counts)
    return jnp.sum(glove_weights(counts, x_max, alpha) * fit ** 2)


def init_glove(key: jax.Array, vocab_size: int, embedding_size: int) -> dict[str, jax.Array]:
    """θ, e, b, b′ uniform in ±0.5 / n_e (the GloVe code's initialization scale)."""
    keys = jax.random.split(key, 4)
    half_width = 0.5 / embedding_size
    shapes = {"theta": (vocab_size, embedding_size), "e": (vocab_size, embedding_size), "b": (vocab_size,),
              "b_prime": (vocab_size,)}
    return {name: jax.random.uniform(k, shape, jnp.float32, -half_width, half_width)
            for k, (name, shape) in zip(keys, shapes.items())}


def glove_final_embeddings(params: dict[str, jax.Array]) -> jax.Array:
    """e_w^(final) = (e_w + θ_w) / 2, ``[|V|, n_e]``."""
    return (params["e"] + params["theta"]) / 2


def train_glove(entries: CooccurrenceEntries, vocab_size: int, *, embedding_size: int = 50, epochs: int = 25,
                batch_size: int = 4096, x_max: float | jax.Array = 100.0, alpha: float | jax.Array = 0.75,
                optimizer: optim.GradientTransformation | None = None, learning_rate: float | jax.Array = 0.05,
                key: jax.Array | None = None) -> GloVe:
    """Minimize J over the entries of X, ⌈n / batch_size⌉ steps per epoch on a fresh shuffle.

    Each step descends the mini-batch's sum divided by the batch size; the epoch loss reported is
    the sum of the batch sums, J over all entries as the epoch went. ``optimizer`` (static: a new
    one compiles anew) defaults to ``optim.adam(learning_rate)``; ``learning_rate``, ``x_max`` and
    ``alpha`` are traced. ``key`` (default key 0) draws the initialization and the shuffles.
    """
    rows, columns, counts = (jnp.asarray(values) for values in entries)
    if not (rows.shape == columns.shape == counts.shape) or rows.ndim != 1 or rows.size == 0:
        raise ValueError(f"entries must be three equal non-empty [n] arrays, got shapes "
                         f"{rows.shape}, {columns.shape}, {counts.shape}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    key = jax.random.key(0) if key is None else key
    numbers = (jnp.asarray(value, jnp.float32) for value in (x_max, alpha, learning_rate))
    return _train_glove(rows.astype(jnp.int32), columns.astype(jnp.int32), counts.astype(jnp.float32), *numbers, key,
                        vocab_size=vocab_size, embedding_size=embedding_size, epochs=epochs, batch_size=batch_size,
                        optimizer=optimizer)


@functools.partial(jax.jit, static_argnames=("vocab_size", "embedding_size", "epochs", "batch_size", "optimizer"))
def _train_glove(rows, columns, counts, x_max, alpha, learning_rate, key, *, vocab_size, embedding_size, epochs,
                 batch_size, optimizer):
    optimizer = optim.adam(learning_rate) if optimizer is None else optimizer
    count = rows.shape[0]
    steps = -(-count // batch_size)
    padding = steps * batch_size - count

    def step(carry, batch):
        params, opt_state = carry
        loss, grads = jax.value_and_grad(lambda p: glove_loss(p, *batch, x_max, alpha) / batch_size)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optim.apply_updates(params, updates), opt_state), loss * batch_size

    def epoch(carry, epoch_key):
        order = jax.random.permutation(epoch_key, count)
        batch = tuple(jnp.pad(values[order], (0, padding)).reshape(steps, batch_size)   # padded counts are 0: no term
                      for values in (rows, columns, counts))
        carry, losses = jax.lax.scan(step, carry, batch)
        return carry, jnp.sum(losses)

    init_key, epochs_key = jax.random.split(key)
    params = init_glove(init_key, vocab_size, embedding_size)
    epoch_keys = jax.random.split(epochs_key, epochs)
    (params, _), losses = jax.lax.scan(epoch, (params, optimizer.init(params)), epoch_keys)
    return GloVe(glove_final_embeddings(params), params, losses)
