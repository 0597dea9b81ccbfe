"""Text as token sequences for language models: characters or words, and next-token arrays.

A *sequence* is one line of text (a name, a sentence), split into characters or words
(:func:`tokenize`). The vocabulary is :func:`dlcourse.embeddings.build_vocabulary` (ids
:func:`dlcourse.embeddings.encode`, tokens back :func:`dlcourse.embeddings.decode`), whose three
special tokens come first:

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

import pathlib
from typing import Sequence

import numpy as np

from dlcourse.data.examples import Examples
from dlcourse.data.files import MissingDataFileError
from dlcourse.embeddings.vocabulary import EOS_ID, PAD_ID
from dlcourse.embeddings.vocabulary import tokenize as word_tokens

__all__ = ["TOKEN_LEVELS", "load_sequences", "next_token_arrays", "next_token_examples", "tokenize"]

TOKEN_LEVELS = ("character", "word")


def tokenize(text: str, level: str = "character", lowercase: bool = False) -> list[str]:
    """``text`` split into tokens: every character (spaces included) for ``level='character'``,
    lower-cased when ``lowercase``; for ``level='word'``, :func:`dlcourse.embeddings.tokenize`'s
    lower-cased words and punctuation marks: ``"Cats average 15 hours."`` → ``['cats', 'average',
    '15', 'hours', '.']``."""
    if level not in TOKEN_LEVELS:
        raise ValueError(f"level must be one of {TOKEN_LEVELS}; got {level!r}")
    if level == "word":
        return word_tokens(text)
    return list(text.lower() if lowercase else text)


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
    inputs = np.full((m, length), PAD_ID, np.int32)
    targets = np.full((m, length), PAD_ID, np.int32)
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
        targets[i, len(ids)] = EOS_ID
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
