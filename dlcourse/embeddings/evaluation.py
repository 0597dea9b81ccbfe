"""Intrinsic evaluation of word embeddings: analogy accuracy and similarity correlation, with coverage.

- **Analogies** (Mikolov et al., 2013): each question a : b :: c : d is answered by
  w* = argmax_w sim(e_w, e_b − e_a + e_c), a, b, c and the special tokens excluded, over the whole
  vocabulary (:func:`dlcourse.embeddings.analogy`); it is correct when w* = d. By default the
  vectors are scaled to unit length first (``normalize=True``, the convention of word2vec's
  ``compute-accuracy`` and gensim's ``evaluate_word_analogies``; the notes' form is
  ``normalize=False``).
- **Similarity** (WordSim-353, SimLex-999): Spearman's rank correlation ρ between the human scores
  and sim(e_u, e_v) over the pairs: ρ is Pearson's correlation of the ranks, tied values sharing
  their average rank (as ``scipy.stats.spearmanr``).

Coverage is reported, never hidden: a question or pair with a word outside the vocabulary (or
mapped to ⟨UNK⟩) is **skipped**, counted in ``total`` but not in ``answered`` / ``covered``.
Accuracy is correct / answered; coverage is answered / total. A small corpus answers few questions,
so an accuracy without its coverage says little. Section names starting with ``gram`` are the
syntactic ones; the others are semantic (the file's own split).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.embeddings.similarity import cosine_similarity, nearest_words, unit_rows
from dlcourse.embeddings.vocabulary import SPECIAL_TOKENS, Vocabulary

__all__ = ["AnalogyScores", "SimilarityScores", "evaluate_analogies", "evaluate_similarity", "rank_average",
           "spearman_correlation"]


def _ratio(numerator, denominator) -> float:
    return float(numerator) / float(denominator) if denominator else float("nan")


class AnalogyScores(NamedTuple):
    """Per section (``[S]`` int arrays): ``correct``, ``answered`` (all four words known) and ``total``."""

    section_names: tuple[str, ...]
    correct: np.ndarray
    answered: np.ndarray
    total: np.ndarray

    def summary(self, sections: np.ndarray | None = None) -> dict:
        """``{"accuracy", "coverage", "correct", "answered", "total"}`` over the selected sections (bool ``[S]``)."""
        selected = np.ones(len(self.section_names), bool) if sections is None else np.asarray(sections, bool)
        correct, answered, total = (int(np.sum(values[selected])) for values in (self.correct, self.answered,
                                                                                  self.total))
        return {"accuracy": _ratio(correct, answered), "coverage": _ratio(answered, total), "correct": correct,
                "answered": answered, "total": total}

    def as_dict(self) -> dict:
        """The overall, semantic and syntactic summaries and one per section."""
        syntactic = np.array([name.startswith("gram") for name in self.section_names], bool)
        return {"overall": self.summary(), "semantic": self.summary(~syntactic),
                "syntactic": self.summary(syntactic),
                "sections": {name: self.summary(np.arange(len(self.section_names)) == i)
                             for i, name in enumerate(self.section_names)}}


class SimilarityScores(NamedTuple):
    """Spearman's ρ over the ``covered`` of ``total`` pairs (NaN when fewer than 2 are covered)."""

    spearman: float
    covered: int
    total: int

    @property
    def coverage(self) -> float:
        return _ratio(self.covered, self.total)

    def as_dict(self) -> dict:
        return {"spearman": self.spearman, "coverage": self.coverage, "covered": self.covered, "total": self.total}


def _known_ids(vocabulary: Vocabulary, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids ``words.shape`` (−1 where unknown) and a per-row mask of rows whose words are all known."""
    index = vocabulary.index
    special = len(SPECIAL_TOKENS)
    ids = np.array([index.get(str(word).lower(), -1) for word in np.ravel(words)], dtype=np.int32)
    ids = np.where(ids >= special, ids, -1).reshape(np.shape(words))
    return ids, np.all(ids >= 0, axis=-1)


@functools.partial(jax.jit, static_argnames="normalize")
def _analogy_answers(embeddings, questions, normalize):
    vectors = unit_rows(embeddings) if normalize else embeddings
    a, b, c = questions[:, 0], questions[:, 1], questions[:, 2]
    special = jnp.broadcast_to(jnp.arange(len(SPECIAL_TOKENS), dtype=jnp.int32), (questions.shape[0],
                                                                                   len(SPECIAL_TOKENS)))
    exclude = jnp.concatenate([questions[:, :3], special], axis=-1)
    return nearest_words(vectors, vectors[b] - vectors[a] + vectors[c], 1, exclude=exclude).ids[:, 0]


def evaluate_analogies(embeddings: jax.Array, vocabulary: Vocabulary, questions, *, normalize: bool = True,
                       batch_size: int = 2048) -> AnalogyScores:
    """Analogy accuracy by section over ``questions`` (:class:`dlcourse.data.AnalogyQuestions`).

    ``embeddings``: E ``[|V|, n_e]`` rows in ``vocabulary``'s order. Questions with a word outside
    the vocabulary are skipped (counted in ``total`` only). The known questions are answered in
    batches of ``batch_size`` (the last one padded, so one program serves every batch).
    """
    embeddings = jnp.asarray(embeddings)
    if embeddings.ndim != 2 or embeddings.shape[0] != vocabulary.size:
        raise ValueError(f"embeddings must be [|V|={vocabulary.size}, n_e], got shape {embeddings.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    ids, known = _known_ids(vocabulary, questions.words)
    sections = np.asarray(questions.sections)
    asked = ids[known]
    answers = []
    for start in range(0, len(asked), batch_size):
        batch = asked[start:start + batch_size]
        padded = np.pad(batch, ((0, batch_size - len(batch)), (0, 0)), constant_values=len(SPECIAL_TOKENS))
        answers.append(np.asarray(_analogy_answers(embeddings, jnp.asarray(padded), normalize))[:len(batch)])
    right = np.zeros(len(ids), bool)
    if answers:
        right[known] = np.concatenate(answers) == asked[:, 3]
    count = len(questions.section_names)
    return AnalogyScores(tuple(questions.section_names),
                         np.bincount(sections, weights=right, minlength=count).astype(np.int64),
                         np.bincount(sections, weights=known, minlength=count).astype(np.int64),
                         np.bincount(sections, minlength=count).astype(np.int64))


def rank_average(values: np.ndarray) -> np.ndarray:
    """Ranks 1 … n of ``values`` ``[n]``, tied values sharing the average of their ranks (float64)."""
    values = np.asarray(values, np.float64).reshape(-1)
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    first = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(first) - 1
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0      # ranks start..end-1 (0-based) → mean of 1-based ranks
    ranks = np.empty(len(values))
    ranks[order] = average[group]
    return ranks


def spearman_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ: Pearson's correlation of :func:`rank_average` ranks; NaN when a side is constant."""
    x, y = np.asarray(x).reshape(-1), np.asarray(y).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    if x.size < 2:
        return float("nan")
    rx, ry = rank_average(x), rank_average(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = np.sqrt(np.sum(rx * rx) * np.sum(ry * ry))
    return float(np.sum(rx * ry) / denominator) if denominator > 0 else float("nan")


def evaluate_similarity(embeddings: jax.Array, vocabulary: Vocabulary, pairs) -> SimilarityScores:
    """Spearman's ρ between ``pairs.scores`` and sim(e_u, e_v) (:class:`dlcourse.data.SimilarityPairs`),
    over the pairs whose two words are in the vocabulary."""
    embeddings = np.asarray(embeddings)
    if embeddings.ndim != 2 or embeddings.shape[0] != vocabulary.size:
        raise ValueError(f"embeddings must be [|V|={vocabulary.size}, n_e], got shape {embeddings.shape}")
    ids, known = _known_ids(vocabulary, pairs.words)
    ids = ids[known]
    similarities = np.asarray(cosine_similarity(embeddings[ids[:, 0]], embeddings[ids[:, 1]]))
    return SimilarityScores(spearman_correlation(np.asarray(pairs.scores)[known], similarities), int(known.sum()),
                            len(known))
