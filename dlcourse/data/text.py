"""Text as token sequences for language models: tokens, a vocabulary, and next-token arrays.

A *sequence* is one line of text (a name, a sentence), split into characters or words
(:func:`tokenize`). A :class:`Vocabulary` maps tokens to ids, with three special tokens first:

    <PAD> = 0    padding, and the model's first input x⟨1⟩ (embedded as the zero vector, the course's 0⃗)
    <EOS> = 1    end of sequence, the last target of every sequence
    <UNK> = 2    any token outside the vocabulary (rare words, unseen characters)

A language model reads x⟨t⟩ = y⟨t−1⟩ and predicts y⟨t⟩ (:func:`next_token_arrays`): for the
sequence ``y⟨1⟩ … y⟨T_y⟩`` the inputs are ``<PAD> y⟨1⟩ … y⟨T_y⟩`` and the targets
``y⟨1⟩ … y⟨T_y⟩ <EOS>``, right-padded with ``<PAD>`` to a common length ``T`` under a mask
(1 on the ``T_y + 1`` real steps). Those three arrays are an :class:`dlcourse.data.Examples`
(:func:`next_token_examples`) for :func:`dlcourse.train.supervised` with a per-token loss.

Sequences come from a list of strings or a text file with one sequence per line
(:func:`load_sequences`); nothing is downloaded.
"""

from __future__ import annotations

import collections
import pathlib
import re
from typing import Iterable, Sequence

import numpy as np

from dlcourse.data.examples import Examples
from dlcourse.data.files import MissingDataFileError

__all__ = ["EOS", "PAD", "SPECIAL_TOKENS", "UNK", "Vocabulary", "build_vocabulary", "load_sequences",
           "next_token_arrays", "next_token_examples", "tokenize"]

PAD, EOS, UNK = "<PAD>", "<EOS>", "<UNK>"
SPECIAL_TOKENS = (PAD, EOS, UNK)  # ids 0, 1, 2 in every vocabulary
TOKEN_LEVELS = ("character", "word")
_WORD = re.compile(r"\w+(?:'\w+)*|[^\w\s]")  # words (with inner apostrophes) and single punctuation marks


def tokenize(text: str, level: str = "character", lowercase: bool = False) -> list[str]:
    """``text`` split into tokens: every character (spaces included) for ``level='character'``;
    for ``level='word'``, words (letters, digits, ``_``, inner apostrophes) and punctuation marks,
    whitespace dropped: ``"Cats average 15 hours."`` → ``['Cats', 'average', '15', 'hours', '.']``."""
    if level not in TOKEN_LEVELS:
        raise ValueError(f"level must be one of {TOKEN_LEVELS}; got {level!r}")
    if lowercase:
        text = text.lower()
    return list(text) if level == "character" else _WORD.findall(text)


class Vocabulary:
    """Tokens by id: ``tokens[0:3]`` are ``<PAD>, <EOS>, <UNK>`` (:data:`SPECIAL_TOKENS`)."""

    pad_id, eos_id, unk_id = 0, 1, 2

    def __init__(self, tokens: Sequence[str]):
        tokens = tuple(tokens)
        if tokens[:len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError(f"a vocabulary starts with {SPECIAL_TOKENS}; got {tokens[:3]}")
        if len(set(tokens)) != len(tokens):
            repeated = sorted(t for t, c in collections.Counter(tokens).items() if c > 1)
            raise ValueError(f"tokens repeat in the vocabulary: {repeated[:5]}")
        self.tokens = tokens
        self._index = {token: i for i, token in enumerate(tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.tokens == other.tokens

    def __hash__(self) -> int:
        return hash(self.tokens)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self.tokens)} tokens: {self.tokens[:8]}{'…' if len(self.tokens) > 8 else ''})"

    @property
    def size(self) -> int:
        """``|V|``, special tokens included."""
        return len(self.tokens)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """int32 ids of ``tokens``; a token outside the vocabulary is ``<UNK>``."""
        return np.array([self._index.get(token, self.unk_id) for token in tokens], np.int32)

    def decode(self, ids: Iterable[int], stop_at_eos: bool = True) -> list[str]:
        """The tokens of ``ids``, up to (not including) the first ``<EOS>`` when ``stop_at_eos``,
        ``<PAD>`` dropped."""
        tokens = []
        for i in np.asarray(list(ids), np.int64).reshape(-1):
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"token id {i} is outside the vocabulary of size {len(self.tokens)}")
            if i == self.eos_id and stop_at_eos:
                break
            if i != self.pad_id:
                tokens.append(self.tokens[i])
        return tokens


def build_vocabulary(sequences: Iterable[Sequence[str]], min_count: int = 1,
                     max_size: int | None = None) -> Vocabulary:
    """The special tokens, then every token seen at least ``min_count`` times, most frequent first
    (ties in order of first appearance), at most ``max_size`` tokens in all (special ones included).
    The rest become ``<UNK>`` when encoded."""
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be a positive int; got {min_count!r}")
    if max_size is not None and (not isinstance(max_size, int) or max_size < len(SPECIAL_TOKENS)):
        raise ValueError(f"max_size must be an int >= {len(SPECIAL_TOKENS)} (the special tokens); got {max_size!r}")
    counts = collections.Counter()
    for sequence in sequences:
        counts.update(sequence)
    for special in SPECIAL_TOKENS:
        if special in counts:
            raise ValueError(f"the text contains the special token {special!r}")
    kept = [token for token, count in counts.most_common() if count >= min_count]
    if max_size is not None:
        kept = kept[:max_size - len(SPECIAL_TOKENS)]
    return Vocabulary(SPECIAL_TOKENS + tuple(kept))


def next_token_arrays(sequences: Sequence[Sequence[int]], length: int | None = None,
                      truncate: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs, targets, mask)`` for next-token prediction from encoded sequences (lists of ids).

    Sequence ``i`` of ``T_y`` ids gives ``inputs[i] = [<PAD>, y⟨1⟩, …, y⟨T_y⟩, <PAD>…]``,
    ``targets[i] = [y⟨1⟩, …, y⟨T_y⟩, <EOS>, <PAD>…]`` and ``mask[i]`` 1 on its first ``T_y + 1``
    steps. Shapes: int32 ``[m, T]``, int32 ``[m, T]``, float32 ``[m, T]`` with ``T = length``
    (default: the longest ``T_y`` + 1). A longer sequence raises ``ValueError`` unless
    ``truncate``, which keeps its first ``T − 1`` tokens (and its ``<EOS>``).
    """
    sequences = [np.asarray(s, np.int64).reshape(-1) for s in sequences]
    if not sequences:
        raise ValueError("no sequences to arrange")
    longest = max(len(s) for s in sequences)
    length = longest + 1 if length is None else length
    if not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive int; got {length!r}")
    m = len(sequences)
    inputs = np.zeros((m, length), np.int32)
    targets = np.zeros((m, length), np.int32)
    mask = np.zeros((m, length), np.float32)
    for i, ids in enumerate(sequences):
        if np.any(ids < 0):
            raise ValueError(f"sequence {i} has a negative token id: {ids.tolist()}")
        if len(ids) + 1 > length:
            if not truncate:
                raise ValueError(f"sequence {i} has {len(ids)} tokens; with its <EOS> it needs length "
                                 f">= {len(ids) + 1}, got length={length} (or pass truncate=True)")
            ids = ids[:length - 1]
        inputs[i, 1:len(ids) + 1] = ids
        targets[i, :len(ids)] = ids
        targets[i, len(ids)] = 1
        mask[i, :len(ids) + 1] = 1
    return inputs, targets, mask


def next_token_examples(sequences: Sequence[Sequence[int]], length: int | None = None,
                        truncate: bool = False) -> Examples:
    """:func:`next_token_arrays` as ``Examples(inputs, targets, mask)`` (a per-token mask)."""
    inputs, targets, mask = next_token_arrays(sequences, length, truncate)
    return Examples(inputs, targets, mask)


def load_sequences(source: str | pathlib.Path | Sequence[str], *, lowercase: bool = False,
                   encoding: str = "utf-8") -> list[str]:
    """The sequences of ``source``: a list of strings, or the path of a text file with one sequence
    per line. Surrounding whitespace is stripped, empty lines are skipped; ``lowercase`` folds case.

    Raises:
      MissingDataFileError: no file at the path.
      ValueError: an unreadable file, an item that is not a string, or no sequence at all.
    """
    if isinstance(source, (str, pathlib.Path)):
        path = pathlib.Path(source)
        if not path.is_file():
            raise MissingDataFileError(f"{path}: no such file (expected text, one sequence per line)")
        try:
            lines = path.read_text(encoding=encoding).splitlines()
        except UnicodeDecodeError as error:
            raise ValueError(f"{path}: not {encoding} text ({error})") from None
        where = str(path)
    else:
        lines = list(source)
        for i, line in enumerate(lines):
            if not isinstance(line, str):
                raise ValueError(f"sequence {i} is a {type(line).__name__}, not a string: {line!r}")
        where = "the list"
    sequences = [line.strip() for line in lines if line.strip()]
    if not sequences:
        raise ValueError(f"{where}: no sequences (every line is empty)")
    return [s.lower() for s in sequences] if lowercase else sequences
