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
loop over mini-batches of its shuffled valid pairs, stepping Adam (or any :mod:`dlcourse.optim`
optimizer) on the batch's mean loss, or word2vec's sparse SGD with a linearly decaying rate.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import optim
from dlcourse.embeddings.context import SkipGramPairs, skipgram_pairs

__all__ = ["SUBSAMPLING_FORMULAS", "SkipGram", "draw_from_table", "draw_negatives", "init_skipgram",
           "negative_sampling_distribution", "negative_sampling_table", "negative_sampling_terms",
           "skipgram_softmax_terms", "subsample", "subsampling_keep_probabilities", "train_skipgram", "word_counts"]

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

    The kept words of each sentence move to its front in their order (scattered to their running
    count), so a window over the result spans the words that remain, as word2vec's C code does.
    """
    kept = mask & (jax.random.uniform(key, ids.shape) < keep_probabilities[ids])
    destination = jnp.where(kept, jnp.cumsum(kept, axis=-1) - 1, ids.shape[-1])          # past the end: dropped
    rows = jnp.arange(ids.shape[0])[:, None]
    new_ids = jnp.zeros_like(ids).at[rows, destination].set(ids, mode="drop")
    return new_ids, jnp.arange(ids.shape[-1])[None, :] < jnp.sum(kept, axis=-1, keepdims=True)


def draw_negatives(key: jax.Array, distribution: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """int32 word ids of ``shape`` drawn from ``distribution`` ``[|V|]`` (by inverting its CDF: O(log |V|) each)."""
    cdf = jnp.cumsum(distribution)
    uniform = jax.random.uniform(key, shape) * cdf[-1]
    return jnp.minimum(jnp.searchsorted(cdf, uniform, side="right"), distribution.shape[0] - 1).astype(jnp.int32)


def negative_sampling_table(distribution: jax.Array, bits: int = 20) -> jax.Array:
    """word2vec's unigram table: 2^bits word ids, word w filling ≈ P(w) · 2^bits slots, int32.

    Slot i holds the word whose CDF interval contains (i + ½) / 2^bits, so a slot drawn uniformly
    (:func:`draw_from_table`) gives word w with P(w) up to 2^-bits: one gather per draw instead of
    a search, at the price of that resolution (a word with P(w) < 2^-bits may get no slot).
    """
    cdf = jnp.cumsum(distribution)
    points = (jnp.arange(2 ** bits, dtype=jnp.float32) + 0.5) / 2 ** bits * cdf[-1]
    return jnp.minimum(jnp.searchsorted(cdf, points, side="right"), distribution.shape[0] - 1).astype(jnp.int32)


def draw_from_table(key: jax.Array, table: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Word ids of ``shape``, each a uniformly drawn slot of a :func:`negative_sampling_table` (size 2^bits)."""
    bits = table.shape[0].bit_length() - 1
    return table[jax.random.bits(key, shape, jnp.uint32) >> (32 - bits)]


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
                   epochs: int = 5, batch_size: int = 1024,
                   optimizer: optim.GradientTransformation | str | None = None,
                   learning_rate: float | jax.Array = 0.01, key: jax.Array | None = None) -> SkipGram:
    """Train skip-gram on a corpus of sentences.

    Each epoch subsamples the corpus, draws the window widths, shuffles the positions (a word keeps
    its pairs together, as word2vec's C code takes a word's whole window at once), gathers the valid
    pairs in that order and runs ⌈valid pairs / batch_size⌉ steps over them (the last one masked).

    Args:
      corpus_ids: int ``[m, L]`` (sentences, padded) or ``[T]`` (one long sequence).
      vocab_size: |V|; ids must lie in ``[0, |V|)``.
      mask: bool, the shape of ``corpus_ids``; default: every position is a word.
      counts: f(w) ``[|V|]`` for negative sampling and subsampling; default: counted in the corpus.
      negatives: k, the negative words per pair; 0 trains the full softmax instead.
      subsampling: the threshold s; 0 keeps every word.
      shrink_windows: each context word's window width drawn from 1..window (see :func:`skipgram_pairs`).
      batch_size: pairs per step.
      optimizer: ``None`` (default): ``optim.adam(learning_rate)`` on the batch's mean loss, which
        updates all of E and θ at every step. ``"sgd"``: word2vec's and gensim's plain SGD — each
        pair's gradient (the batch's summed loss) scaled by a rate decaying linearly from
        ``learning_rate`` to 0 (floored at 10⁻⁴ of it, as the C code) over all steps, added only to
        the rows of E and θ in the batch: O(batch · k · n_e) per step instead of O(|V| · n_e), the
        fast choice (gensim's rate: 0.025). Or any :mod:`dlcourse.optim` transformation (static: a
        new one compiles anew) on the mean loss. ``learning_rate`` is traced, so calls differing
        only in numbers (learning rate, threshold, counts, corpus of the same shape, key) share one
        program.
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
    if isinstance(optimizer, str) and optimizer != "sgd":
        raise ValueError(f"optimizer must be None, 'sgd' or a GradientTransformation, got {optimizer!r}")
    count_corpus = counts is None
    counts = jnp.zeros(vocab_size, jnp.float32) if count_corpus else jnp.asarray(counts, jnp.float32)
    key = jax.random.key(0) if key is None else key
    return _train_skipgram(ids, mask, counts, jnp.asarray(subsampling, jnp.float32),
                           jnp.asarray(learning_rate, jnp.float32), key, vocab_size=vocab_size,
                           embedding_size=embedding_size, window=window, negatives=negatives,
                           subsampling_formula=subsampling_formula, shrink_windows=shrink_windows, epochs=epochs,
                           batch_size=batch_size, optimizer=optimizer, count_corpus=count_corpus)


def _shuffled_valid_pairs(key, pairs: SkipGramPairs, positions: int, batch_size: int):
    """The valid pairs, positions in random order, packed at the front: ``(contexts, targets, count)``.

    Arrays ``[N + batch_size]`` (N = all pairs) so any batch starting before ``count`` can be sliced.
    """
    per_position = pairs.mask.size // positions
    position_order = jnp.argsort(jax.random.uniform(key, (positions,)))
    order = (position_order[:, None] * per_position + jnp.arange(per_position)[None, :]).reshape(-1)
    valid = pairs.mask[order]
    size = pairs.mask.size + batch_size
    destination = jnp.where(valid, jnp.cumsum(valid) - 1, size)
    packed = jnp.zeros(size, jnp.int32).at[destination].set(order.astype(jnp.int32), mode="drop")
    return pairs.contexts[packed], pairs.targets[packed], jnp.sum(valid)


@functools.partial(jax.jit, static_argnames=("vocab_size", "embedding_size", "window", "negatives",
                                             "subsampling_formula", "shrink_windows", "epochs", "batch_size",
                                             "optimizer", "count_corpus"))
def _train_skipgram(ids, mask, counts, subsampling, learning_rate, key, *, vocab_size, embedding_size, window,
                    negatives, subsampling_formula, shrink_windows, epochs, batch_size, optimizer, count_corpus):
    sparse_sgd = optimizer == "sgd"
    optimizer = optim.adam(learning_rate) if optimizer is None or sparse_sgd else optimizer
    counts = word_counts(ids, mask, vocab_size) if count_corpus else counts
    distribution = negative_sampling_distribution(counts)
    table = negative_sampling_table(distribution, max(20, vocab_size.bit_length() + 6))   # ≥ 64 slots a word
    keep = subsampling_keep_probabilities(counts, subsampling, subsampling_formula)

    def batch_terms(params, contexts, targets, step_key):
        if negatives:
            return negative_sampling_terms(params, contexts, targets,
                                           draw_from_table(step_key, table, (batch_size, negatives)))
        return skipgram_softmax_terms(params, contexts, targets)

    def optimizer_step(carry, contexts, targets, pair_mask, step_key, progress):
        params, opt_state = carry

        def batch_loss(params):
            terms = batch_terms(params, contexts, targets, step_key)
            return jnp.sum(jnp.where(pair_mask, terms, 0.0)) / jnp.sum(pair_mask)

        loss, grads = jax.value_and_grad(batch_loss)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optim.apply_updates(params, updates), opt_state), loss

    def sgd_step(carry, contexts, targets, pair_mask, step_key, progress):
        params, opt_state = carry
        rate = learning_rate * jnp.maximum(1.0 - progress, 1e-4)
        rows = {"E": contexts, "theta": targets}
        if negatives:
            rows["theta"] = jnp.concatenate(
                [targets[:, None], draw_from_table(step_key, table, (batch_size, negatives))], axis=1)
        gathered = {"E": params["E"][contexts], "theta": params["theta"][rows["theta"]] if negatives
                    else params["theta"]}

        def summed_loss(gathered):
            e_c, theta = gathered["E"], gathered["theta"]
            if negatives:
                scores = jnp.einsum("nkd,nd->nk", theta, e_c)
                terms = -jax.nn.log_sigmoid(scores[:, 0]) - jnp.sum(jax.nn.log_sigmoid(-scores[:, 1:]), axis=-1)
            else:
                logits = e_c @ theta.T
                terms = jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(logits, targets[:, None], -1)[:, 0]
            return jnp.sum(jnp.where(pair_mask, terms, 0.0))

        loss, grads = jax.value_and_grad(summed_loss)(gathered)
        new_theta = (params["theta"].at[rows["theta"]].add(-rate * grads["theta"]) if negatives
                     else params["theta"] - rate * grads["theta"])
        params = {"E": params["E"].at[contexts].add(-rate * grads["E"]), "theta": new_theta}
        return (params, opt_state), loss / jnp.sum(pair_mask)

    step = sgd_step if sparse_sgd else optimizer_step

    def epoch(carry, epoch_inputs):
        epoch_key, epoch_index = epoch_inputs
        subsample_key, window_key, shuffle_key, negative_key = jax.random.split(epoch_key, 4)
        sentence_ids, sentence_mask = subsample(subsample_key, ids, mask, keep)
        pairs = skipgram_pairs(sentence_ids, sentence_mask, window, key=window_key if shrink_windows else None)
        contexts, targets, valid = _shuffled_valid_pairs(shuffle_key, pairs, ids.size, batch_size)
        steps = (valid + batch_size - 1) // batch_size

        def body(i, state):
            carry, loss_sum = state
            start = i * batch_size
            pair_mask = start + jnp.arange(batch_size) < valid
            progress = (epoch_index + i / steps) / epochs
            carry, loss = step(carry, jax.lax.dynamic_slice(contexts, (start,), (batch_size,)),
                               jax.lax.dynamic_slice(targets, (start,), (batch_size,)), pair_mask,
                               jax.random.fold_in(negative_key, i), progress)
            return carry, loss_sum + loss

        carry, loss_sum = jax.lax.fori_loop(0, steps, body, (carry, jnp.float32(0.0)))
        return carry, loss_sum / jnp.maximum(steps, 1)

    init_key, epochs_key = jax.random.split(key)
    params = init_skipgram(init_key, vocab_size, embedding_size)
    epoch_keys = jax.random.split(epochs_key, epochs)
    opt_state = () if sparse_sgd else optimizer.init(params)
    (params, _), losses = jax.lax.scan(epoch, (params, opt_state), (epoch_keys, jnp.arange(epochs)))
    return SkipGram(params["E"], params["theta"], losses)
