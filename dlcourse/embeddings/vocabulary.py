"""The vocabulary V = [⟨PAD⟩, ⟨EOS⟩, ⟨UNK⟩, a, aaron, …, zulu] with word counts: words to ids and back.

Ids are fixed for the special tokens: ``PAD_ID = 0`` (padding, never a word; its count is 0 so it is
never drawn as a negative sample), ``EOS_ID = 1`` (end of sentence), ``UNK_ID = 2`` (every word
seen fewer than ``min_count`` times, or not seen at all) — the ids of :mod:`dlcourse.data.text`, so
ids mean the same to a language model. The words follow, most frequent first, ties
in alphabetical order, so ids are deterministic. ``counts[i]`` is the number of times word i occurs
in the corpus the vocabulary was built from (⟨EOS⟩: the number of sentences; ⟨UNK⟩: all the rare words
together), the frequencies f(w) word2vec's sampling uses.

Sentences are lists of tokens; :func:`tokenize` splits raw text (lower case, words with inner
apostrophes and digits, each punctuation mark its own token). Encoded corpora have fixed shapes:
``ids`` int32 ``[m, L]`` padded with ⟨PAD⟩ and a bool ``mask`` ``[m, L]``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, NamedTuple, Sequence

import numpy as np

__all__ = ["EOS", "EOS_ID", "PAD", "PAD_ID", "SPECIAL_TOKENS", "UNK", "UNK_ID", "EncodedCorpus", "Vocabulary",
           "build_vocabulary", "decode", "encode", "encode_sentences", "tokenize"]

PAD, EOS, UNK = "<PAD>", "<EOS>", "<UNK>"
SPECIAL_TOKENS = (PAD, EOS, UNK)
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")


class Vocabulary(NamedTuple):
    """``words[i]`` is the word of id i (the special tokens first); ``counts`` int64 ``[|V|]``."""

    words: tuple[str, ...]
    counts: np.ndarray

    @property
    def size(self) -> int:
        """|V|, the special tokens included."""
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        """``{word: id}``."""
        return {word: i for i, word in enumerate(self.words)}


class EncodedCorpus(NamedTuple):
    """Sentences as ids: ``ids`` int32 ``[m, L]`` (⟨PAD⟩ after each sentence), ``mask`` bool ``[m, L]``."""

    ids: np.ndarray
    mask: np.ndarray


def tokenize(text: str) -> list[str]:
    """Lower-cased tokens of ``text``: words (letters and digits, inner apostrophes kept: "don't")
    and single punctuation marks. ``tokenize("I want a glass of orange juice.")`` →
    ``["i", "want", "a", "glass", "of", "orange", "juice", "."]``."""
    return _TOKEN.findall(text.lower())


def build_vocabulary(sentences: Iterable[Sequence[str]], *, min_count: int = 1,
                     max_size: int | None = None) -> Vocabulary:
    """The vocabulary of the words occurring at least ``min_count`` times, most frequent first.

    Args:
      sentences: an iterable of token lists.
      min_count: words seen fewer times map to ⟨UNK⟩ (their counts are added to ⟨UNK⟩'s).
      max_size: keep at most this many entries in all (special tokens included); the least
        frequent words beyond it go to ⟨UNK⟩ too. ``None``: no limit.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    if max_size is not None and max_size < len(SPECIAL_TOKENS):
        raise ValueError(f"max_size must be at least {len(SPECIAL_TOKENS)} (the special tokens), got {max_size}")
    counter: Counter[str] = Counter()
    sentence_count = 0
    for sentence in sentences:
        if isinstance(sentence, str):
            raise ValueError(f"sentences must be token lists, got the string {sentence[:40]!r}; use tokenize()")
        counter.update(sentence)
        sentence_count += 1
    special = [token for token in SPECIAL_TOKENS if token in counter]
    if special:
        raise ValueError(f"the corpus contains the reserved token(s) {special}")
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    kept = [(word, count) for word, count in ranked if count >= min_count]
    if max_size is not None:
        kept = kept[:max_size - len(SPECIAL_TOKENS)]
    unknown = sum(counter.values()) - sum(count for _, count in kept)
    words = SPECIAL_TOKENS + tuple(word for word, _ in kept)
    counts = np.array([0, sentence_count, unknown] + [count for _, count in kept], dtype=np.int64)
    return Vocabulary(words, counts)


def encode(vocabulary: Vocabulary, words: Sequence[str], *, eos: bool = False) -> np.ndarray:
    """int32 ids ``[len(words) (+1)]`` of ``words``; unknown words give ``UNK_ID``; ``eos`` appends ⟨EOS⟩."""
    index = vocabulary.index
    ids = [index.get(word, UNK_ID) for word in words] + ([EOS_ID] if eos else [])
    return np.asarray(ids, dtype=np.int32)


def encode_sentences(vocabulary: Vocabulary, sentences: Sequence[Sequence[str]], *, length: int | None = None,
                     eos: bool = False) -> EncodedCorpus:
    """Sentences as a fixed-shape corpus ``[m, L]``, padded with ⟨PAD⟩ and masked.

    ``length`` is L (default: the longest sentence, ⟨EOS⟩ included); a longer sentence raises
    ``ValueError`` rather than being cut silently.
    """
    encoded = [encode(vocabulary, sentence, eos=eos) for sentence in sentences]
    longest = max((len(ids) for ids in encoded), default=0)
    length = longest if length is None else length
    if longest > length:
        raise ValueError(f"a sentence has {longest} tokens, more than length={length}")
    ids = np.full((len(encoded), length), PAD_ID, dtype=np.int32)
    mask = np.zeros((len(encoded), length), dtype=bool)
    for row, sentence_ids in enumerate(encoded):
        ids[row, :len(sentence_ids)] = sentence_ids
        mask[row, :len(sentence_ids)] = True
    return EncodedCorpus(ids, mask)


def decode(vocabulary: Vocabulary, ids: Sequence[int] | np.ndarray, *, skip_padding: bool = True) -> list[str]:
    """The words of ``ids`` (one sequence); ⟨PAD⟩ is dropped unless ``skip_padding=False``."""
    ids = np.asarray(ids).reshape(-1)
    bad = ids[(ids < 0) | (ids >= vocabulary.size)]
    if bad.size:
        raise ValueError(f"id {int(bad[0])} is outside the vocabulary of size {vocabulary.size}")
    return [vocabulary.words[i] for i in ids if not (skip_padding and i == PAD_ID)]
