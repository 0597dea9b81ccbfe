"""Skip-gram word2vec: full softmax and negative sampling, with subsampling of frequent words.

Course notation: a context word c (one-hot o_c, embedding e_c = E o_c) predicts a target word t
drawn from within a window around it. Parameters: E ``[|V|, n_e]`` (the context embeddings, the
ones kept: see :mod:`.embedding_matrix` for the row layout) and θ ``[|V|, n_e]`` (one output vector
θ_t per target word).

- **Softmax**: p(t | c) = exp(θ_tᵀ e_c) / Σ_{j=1}^{|V|} exp(θ_jᵀ e_c); the loss of a pair is
  L(ŷ, y) = −log p(t | c). The sum over the whole vocabulary is what makes it slow.
- **Negative sampling**: P(y = 1 | c, t) = σ(θ_tᵀ e_c); each true pair comes with k negative words
  n_1 … n_k drawn from P(w) = f(w)^{3/4} / Σ_j f(w_j)^{3/4} (f: the word's count), and its loss is
  −log σ(θ_tᵀ e_c) − Σ_i log σ(−θ_{n_i}ᵀ e_c): k + 1 binary problems instead of a |V|-way softmax.
  A negative may equal the target (as in word2vec's C code and gensim).
- **Subsampling**: each occurrence of word w is kept with probability
  ``(√(z/s) + 1) · s / z`` (capped at 1), z = f(w) / Σ f the relative frequency and s the threshold
  (default 1e-3): the formula of word2vec's C code and gensim. ``formula="paper"`` gives Mikolov et
  al. (2013)'s ``√(s / z)`` (they suggest s ≈ 1e-5). Dropped words are removed from the sentence
  before windows are taken, so windows reach further, as in the C code.

:func:`train_skipgram` runs all epochs in one jitted program: ``lax.scan`` over epochs, each a
``lax.scan`` over shuffled mini-batches of pairs, stepping a :mod:`dlcourse.optim` optimizer on
the batch's mean loss.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import optim
from dlcourse.embeddings.context import skipgram_pairs

__all__ = ["SUBSAMPLING_FORMULAS", "SkipGram", "draw_negatives", "init_skipgram", "negative_sampling_distribution",
           "negative_sampling_terms", "skipgram_softmax_terms", "subsample", "subsampling_keep_probabilities",
           "train_skipgram", "word_counts"]

SUBSAMPLING_FORMULAS = ("word2vec", "paper")


class SkipGram(NamedTuple):
    """A trained skip-gram model: ``embeddings`` E ``[|V|, n_e]``, ``output_embeddings`` θ ``[|V|, n_e]``,
    ``losses`` ``[epochs]`` (each epoch's mean mini-batch loss)."""

    embeddings: jax.Array
    output_embeddings: jax.Array
    losses: jax.Array


def word_counts(ids: jax.Array, mask: jax.Array, vocab_size: int) -> jax.Array:
    """f(w): how often each id occurs where ``mask`` is True, int32 ``[|V|]``."""
    return jnp.zeros(vocab_size, jnp.int32).at[jnp.asarray(ids).reshape(-1)].add(
        jnp.asarray(mask).reshape(-1).astype(jnp.int32))


def negative_sampling_distribution(counts: jax.Array, power: float = 0.75) -> jax.Array:
    """P(w) = f(w)^power / Σ_j f(w_j)^power, float32 ``[|V|]`` (power 3/4: between the counts and uniform)."""
    weights = jnp.asarray(counts, jnp.float32) ** power
    return weights / jnp.sum(weights)


def subsampling_keep_probabilities(counts: jax.Array, threshold: float = 1e-3, formula: str = "word2vec") -> jax.Array:
    """The probability of keeping each occurrence of each word (see the module docstring), ``[|V|]``.

    ``threshold`` ≤ 0 keeps everything. Words with a count of 0 get 1.
    """
    if formula not in SUBSAMPLING_FORMULAS:
        raise ValueError(f"formula must be one of {SUBSAMPLING_FORMULAS}, got {formula!r}")
    counts = jnp.asarray(counts, jnp.float32)
    z = counts / jnp.sum(counts)
    s = jnp.maximum(jnp.asarray(threshold, jnp.float32), 1e-30)
    safe_z = jnp.where(z > 0, z, 1.0)
    keep = (jnp.sqrt(safe_z / s) + 1.0) * s / safe_z if formula == "word2vec" else jnp.sqrt(s / safe_z)
    keep = jnp.where((z > 0) & (threshold > 0), jnp.minimum(keep, 1.0), 1.0)
    return keep


def subsample(key: jax.Array, ids: jax.Array, mask: jax.Array, keep_probabilities: jax.Array) -> tuple[jax.Array,
                                                                                                        jax.Array]:
    """Drop each word occurrence with probability 1 − keep[w] and close the gaps: ``(ids, mask)``, same shapes.

    The kept words of each sentence move to its front in their order (a stable sort), so a window
    over the result spans the words that remain, as word2vec's C code does.
    """
    kept = mask & (jax.random.uniform(key, ids.shape) < keep_probabilities[ids])
    order = jnp.argsort(~kept, axis=-1, stable=True)
    return jnp.take_along_axis(ids, order, axis=-1), jnp.take_along_axis(kept, order, axis=-1)


def draw_negatives(key: jax.Array, distribution: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """int32 word ids of ``shape`` drawn from ``distribution`` ``[|V|]`` (by inverting its CDF: O(log |V|) each)."""
    cdf = jnp.cumsum(distribution)
    uniform = jax.random.uniform(key, shape) * cdf[-1]
    return jnp.minimum(jnp.searchsorted(cdf, uniform, side="right"), distribution.shape[0] - 1).astype(jnp.int32)


def init_skipgram(key: jax.Array, vocab_size: int, embedding_size: int) -> dict[str, jax.Array]:
    """``{"E": U(−0.5/n_e, 0.5/n_e), "theta": 0}``, both ``[|V|, n_e]`` (word2vec's C code's initialization)."""
    half_width = 0.5 / embedding_size
    return {"E": jax.random.uniform(key, (vocab_size, embedding_size), jnp.float32, -half_width, half_width),
            "theta": jnp.zeros((vocab_size, embedding_size), jnp.float32)}


def skipgram_softmax_terms(params: dict[str, jax.Array], contexts: jax.Array, targets: jax.Array) -> jax.Array:
    """−log p(t | c) with the full softmax over |V|, for each pair: ``[N]`` from ids ``[N]``."""
    logits = params["E"][contexts] @ params["theta"].T
    return -jnp.take_along_axis(jax.nn.log_softmax(logits, axis=-1), targets[:, None], axis=-1)[:, 0]


def negative_sampling_terms(params: dict[str, jax.Array], contexts: jax.Array, targets: jax.Array,
                            negatives: jax.Array) -> jax.Array:
    """−log σ(θ_tᵀ e_c) − Σ_i log σ(−θ_{n_i}ᵀ e_c) for each pair: ``[N]`` from ids ``[N]`` and negatives ``[N, k]``."""
    e_c = params["E"][contexts]
    positive = jnp.einsum("nd,nd->n", params["theta"][targets], e_c)
    negative = jnp.einsum("nkd,nd->nk", params["theta"][negatives], e_c)
    return -jax.nn.log_sigmoid(positive) - jnp.sum(jax.nn.log_sigmoid(-negative), axis=-1)


def train_skipgram(corpus_ids: np.ndarray, vocab_size: int, *, mask: np.ndarray | None = None,
                   counts: np.ndarray | None = None, embedding_size: int = 50, window: int = 5, negatives: int = 5,
                   subsampling: float = 1e-3, subsampling_formula: str = "word2vec", shrink_windows: bool = True,
                   epochs: int = 5, batch_size: int = 1024, optimizer: optim.GradientTransformation | None = None,
                   learning_rate: float | jax.Array = 0.01, key: jax.Array | None = None) -> SkipGram:
    """Train skip-gram on a corpus of sentences.

    Args:
      corpus_ids: int ``[m, L]`` (sentences, padded) or ``[T]`` (one long sequence).
      vocab_size: |V|; ids must lie in ``[0, |V|)``.
      mask: bool, the shape of ``corpus_ids``; default: every position is a word.
      counts: f(w) ``[|V|]`` for negative sampling and subsampling; default: counted in the corpus.
      negatives: k, the negative words per pair; 0 trains the full softmax instead.
      subsampling: the threshold s; 0 keeps every word.
      shrink_windows: each context word's window width drawn from 1..window (see :func:`skipgram_pairs`).
      batch_size: pairs per step. An epoch has ⌈m · L · 2 window / batch_size⌉ steps over the
        shuffled pairs, valid pairs first; steps with no valid pair are skipped (no update).
      optimizer: a :mod:`dlcourse.optim` transformation (static: a new one compiles anew);
        default ``optim.adam(learning_rate)`` with ``learning_rate`` traced, so calls differing only
        in numbers (learning rate, threshold, counts, corpus of the same shape, key) share one program.
      key: PRNG key for initialization, subsampling, windows, shuffling and negatives; default key 0.
    """
    ids = jnp.asarray(corpus_ids, jnp.int32)
    ids = ids[None] if ids.ndim == 1 else ids
    if ids.ndim != 2:
        raise ValueError(f"corpus_ids must be [m, L] or [T], got shape {tuple(np.shape(corpus_ids))}")
    mask = jnp.ones(ids.shape, bool) if mask is None else jnp.asarray(mask, bool).reshape(ids.shape)
    if window < 1 or negatives < 0 or epochs < 1 or batch_size < 1:
        raise ValueError(f"window, epochs and batch_size must be positive and negatives ≥ 0; got window={window}, "
                         f"negatives={negatives}, epochs={epochs}, batch_size={batch_size}")
    if subsampling_formula not in SUBSAMPLING_FORMULAS:
        raise ValueError(f"subsampling_formula must be one of {SUBSAMPLING_FORMULAS}, got {subsampling_formula!r}")
    if counts is not None and np.shape(counts) != (vocab_size,):
        raise ValueError(f"counts must have shape ({vocab_size},), got {np.shape(counts)}")
    count_corpus = counts is None
    counts = jnp.zeros(vocab_size, jnp.float32) if count_corpus else jnp.asarray(counts, jnp.float32)
    key = jax.random.key(0) if key is None else key
    return _train_skipgram(ids, mask, counts, jnp.asarray(subsampling, jnp.float32),
                           jnp.asarray(learning_rate, jnp.float32), key, vocab_size=vocab_size,
                           embedding_size=embedding_size, window=window, negatives=negatives,
                           subsampling_formula=subsampling_formula, shrink_windows=shrink_windows, epochs=epochs,
                           batch_size=batch_size, optimizer=optimizer, count_corpus=count_corpus)


@functools.partial(jax.jit, static_argnames=("vocab_size", "embedding_size", "window", "negatives",
                                             "subsampling_formula", "shrink_windows", "epochs", "batch_size",
                                             "optimizer", "count_corpus"))
def _train_skipgram(ids, mask, counts, subsampling, learning_rate, key, *, vocab_size, embedding_size, window,
                    negatives, subsampling_formula, shrink_windows, epochs, batch_size, optimizer, count_corpus):
    optimizer = optim.adam(learning_rate) if optimizer is None else optimizer
    counts = word_counts(ids, mask, vocab_size) if count_corpus else counts
    distribution = negative_sampling_distribution(counts)
    keep = subsampling_keep_probabilities(counts, subsampling, subsampling_formula)
    pair_count = ids.size * 2 * window
    steps = -(-pair_count // batch_size)

    def batch_loss(params, contexts, targets, pair_mask, step_key):
        if negatives:
            terms = negative_sampling_terms(params, contexts, targets,
                                            draw_negatives(step_key, distribution, (batch_size, negatives)))
        else:
            terms = skipgram_softmax_terms(params, contexts, targets)
        return jnp.sum(jnp.where(pair_mask, terms, 0.0)) / jnp.maximum(jnp.sum(pair_mask), 1)

    def step(carry, batch):
        contexts, targets, pair_mask, step_key = batch

        def update(carry):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(batch_loss)(params, contexts, targets, pair_mask, step_key)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optim.apply_updates(params, updates), opt_state), loss

        return jax.lax.cond(jnp.any(pair_mask), update, lambda carry: (carry, jnp.float32(0.0)), carry)

    def epoch(carry, epoch_key):
        subsample_key, window_key, shuffle_key, negative_key = jax.random.split(epoch_key, 4)
        sentence_ids, sentence_mask = subsample(subsample_key, ids, mask, keep)
        pairs = skipgram_pairs(sentence_ids, sentence_mask, window, key=window_key if shrink_windows else None)
        order = jnp.argsort(jax.random.uniform(shuffle_key, (pair_count,)) + 2.0 * ~pairs.mask)
        padding = steps * batch_size - pair_count

        def batches(values, fill):
            return jnp.pad(values[order], (0, padding), constant_values=fill).reshape(steps, batch_size)

        batch_data = (batches(pairs.contexts, 0), batches(pairs.targets, 0), batches(pairs.mask, False),
                      jax.random.split(negative_key, steps))
        carry, losses = jax.lax.scan(step, carry, batch_data)
        valid_steps = jnp.any(batch_data[2], axis=-1)
        return carry, jnp.sum(losses) / jnp.maximum(jnp.sum(valid_steps), 1)

    init_key, epochs_key = jax.random.split(key)
    params = init_skipgram(init_key, vocab_size, embedding_size)
    epoch_keys = jax.random.split(epochs_key, epochs)
    (params, _), losses = jax.lax.scan(epoch, (params, optimizer.init(params)), epoch_keys)
    return SkipGram(params["E"], params["theta"], losses)
