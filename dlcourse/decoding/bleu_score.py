"""BLEU, the bilingual evaluation understudy (Papineni et al., 2002): how many of a candidate's n-grams
appear in human reference translations, penalized when the candidate is short.

Modified ``n``-gram precision with clipping, summed over the corpus (the paper's corpus-level form, not a
mean of sentence scores):

    p_n = Σ_{candidates} Σ_{n-gram ∈ ŷ} Count_clip(n-gram) / Σ_{candidates} Σ_{n-gram ∈ ŷ} Count(n-gram)
    Count_clip(n-gram) = min(Count in ŷ, max over the references of its count in that reference)

so "the the the the the the the" against "the cat is on the mat" has ``p_1 = 2/7``. Brevity penalty, with
``c`` the total candidate length and ``r`` the sum over candidates of the reference length *closest* to the
candidate's (ties: the shorter reference; the convention of sacrebleu and NLTK):

    BP = 1 if c > r, else exp(1 − r / c)          (BP = 0 when c = 0)
    BLEU = BP · exp(Σ_{n=1}^{N} w_n log p_n)       (w_n = 1/N by default, N = 4)

``score`` is in ``[0, 1]`` (sacrebleu reports 100 times it). Tokens are any hashable values (words or ids);
matching is exact (no lower-casing, no tokenization: pass token lists, e.g. ``sentence.split()``).

Without smoothing (the default, as the paper), a precision ``p_n = 0`` with ``w_n > 0`` (no matching
``n``-gram, or a candidate shorter than ``n``) makes ``BLEU = 0``: common for short sentences, which is why
``sentence_bleu`` is a poor per-sentence measure. ``smoothing`` offers the two usual fixes (Chen & Cherry,
2014), both equal to sacrebleu's:

- ``"exp"`` (NIST's, sacrebleu's ``exp``): the ``k``-th order with no match, counting from the lowest, gets
  ``p_n = 1 / (2^k · Σ Count)``;
- ``"add-one"`` (Lin & Och, 2004; sacrebleu's ``add-k`` with ``k = 1``): 1 is added to the matches and to the
  totals of every order ``n ≥ 2``.

A corpus without a single matching unigram scores 0 whatever the smoothing.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Hashable, NamedTuple, Optional, Sequence

__all__ = ["BleuScore", "bleu", "ngram_counts", "sentence_bleu"]

SMOOTHING = (None, "exp", "add-one")


class BleuScore(NamedTuple):
    """A BLEU score and its parts.

    Attributes:
      score: ``BP · exp(Σ_n w_n log p_n)`` in ``[0, 1]``.
      precisions: ``(p_1, …, p_N)``, after smoothing.
      brevity_penalty: ``BP``.
      candidate_length: ``c``, the candidates' total number of tokens.
      reference_length: ``r``, the sum of the closest reference lengths.
      matches: ``Σ Count_clip`` per order ``n`` (before smoothing).
      totals: ``Σ Count`` per order ``n`` (before smoothing).
    """

    score: float
    precisions: tuple[float, ...]
    brevity_penalty: float
    candidate_length: int
    reference_length: int
    matches: tuple[int, ...]
    totals: tuple[int, ...]


def ngram_counts(tokens: Sequence[Hashable], n: int) -> Counter:
    """How often each ``n``-gram (a tuple of ``n`` consecutive tokens) occurs in ``tokens``."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _closest_length(length: int, reference_lengths: Sequence[int]) -> int:
    return min(reference_lengths, key=lambda r: (abs(r - length), r))


def _as_tokens(sequence, what: str) -> list:
    if isinstance(sequence, (str, bytes)):
        raise ValueError(f"{what} must be a sequence of tokens, not a string (split it first); got {sequence!r}")
    return list(sequence)


def bleu(candidates: Sequence[Sequence[Hashable]], references: Sequence[Sequence[Sequence[Hashable]]], *,
         max_n: int = 4, weights: Optional[Sequence[float]] = None, smoothing: Optional[str] = None) -> BleuScore:
    """Corpus-level BLEU (module docstring).

    Args:
      candidates: the translations ``ŷ``, one token sequence each.
      references: per candidate, one or more reference token sequences ``y*``.
      max_n: ``N``, the longest ``n``-gram.
      weights: ``w_1 … w_N``, non-negative, summing to 1 (default ``1/N`` each); an order with ``w_n = 0``
        does not count, even when ``p_n = 0``.
      smoothing: ``None`` (default), ``"exp"`` or ``"add-one"``.
    """
    if not isinstance(max_n, int) or isinstance(max_n, bool) or max_n < 1:
        raise ValueError(f"max_n must be a positive int; got {max_n!r}")
    weights = [1.0 / max_n] * max_n if weights is None else [float(w) for w in weights]
    if len(weights) != max_n or min(weights) < 0 or not math.isclose(sum(weights), 1.0, rel_tol=1e-9):
        raise ValueError(f"weights must be {max_n} non-negative numbers summing to 1; got {weights}")
    if smoothing not in SMOOTHING:
        raise ValueError(f"smoothing must be one of {SMOOTHING}; got {smoothing!r}")
    if isinstance(candidates, (str, bytes)) or isinstance(references, (str, bytes)):
        raise ValueError("candidates and references must be sequences of token sequences, not strings")
    if len(candidates) != len(references):
        raise ValueError(f"need one list of references per candidate; got {len(candidates)} candidates and "
                         f"{len(references)} reference lists")
    if not candidates:
        raise ValueError("BLEU needs at least one candidate")
    matches, totals = [0] * max_n, [0] * max_n
    candidate_length = reference_length = 0
    for i, (candidate, refs) in enumerate(zip(candidates, references)):
        candidate = _as_tokens(candidate, f"candidate {i}")
        if isinstance(refs, (str, bytes)) or not len(refs):
            raise ValueError(f"candidate {i} needs a list of one or more reference token sequences; got {refs!r}")
        refs = [_as_tokens(ref, f"reference of candidate {i}") for ref in refs]
        candidate_length += len(candidate)
        reference_length += _closest_length(len(candidate), [len(ref) for ref in refs])
        for n in range(1, max_n + 1):
            counts = ngram_counts(candidate, n)
            most = Counter()
            for ref in refs:
                most |= ngram_counts(ref, n)                     # the max count over the references
            matches[n - 1] += sum(min(count, most[gram]) for gram, count in counts.items())
            totals[n - 1] += sum(counts.values())
    return _score(matches, totals, candidate_length, reference_length, weights, smoothing)


def _score(matches, totals, candidate_length, reference_length, weights, smoothing) -> BleuScore:
    if candidate_length == 0:
        brevity_penalty = 0.0
    elif candidate_length > reference_length:
        brevity_penalty = 1.0
    else:
        brevity_penalty = math.exp(1.0 - reference_length / candidate_length)
    precisions, unmatched = [], 0
    for n, (match, total) in enumerate(zip(matches, totals), start=1):
        if smoothing == "add-one" and n >= 2:
            match, total = match + 1, total + 1
        if total == 0:
            precisions.append(0.0)
        elif match == 0 and smoothing == "exp":
            unmatched += 1
            precisions.append(1.0 / (2 ** unmatched * total))
        else:
            precisions.append(match / total)
    if matches[0] == 0 or any(w > 0 and p == 0 for w, p in zip(weights, precisions)):
        score = 0.0
    else:
        score = brevity_penalty * math.exp(sum(w * math.log(p) for w, p in zip(weights, precisions) if w > 0))
    return BleuScore(score, tuple(precisions), brevity_penalty, candidate_length, reference_length,
                     tuple(matches), tuple(totals))


def sentence_bleu(candidate: Sequence[Hashable], references: Sequence[Sequence[Hashable]], **kwargs) -> BleuScore:
    """BLEU of one candidate against its references: :func:`bleu` of a one-sentence corpus (same keywords)."""
    return bleu([candidate], [references], **kwargs)
