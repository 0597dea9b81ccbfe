"""Embeddings a user already has, in the two text formats pre-trained vectors ship in.

- **GloVe**: one word per line, ``word x_1 … x_n``, separated by whitespace; no header.
- **word2vec** (text, as ``gensim``'s ``save_word2vec_format(binary=False)`` and the C tool's
  ``-binary 0`` write it): a header line ``count dim``, then the GloVe layout.

``format="auto"`` reads a first line of exactly two integers as a word2vec header (a GloVe file of
1-dimensional vectors whose first word is an integer would be misread: name the format then).
A malformed file raises ``ValueError`` naming the file and the line (1-based). Vectors are float32;
:func:`save_text_vectors` writes each number with 9 significant digits, enough to read back the same
float32, through a temporary file renamed into place (never a half-written file).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

__all__ = ["TEXT_VECTOR_FORMATS", "AlignedVectors", "TextVectors", "align_vectors", "load_text_vectors",
           "save_text_vectors"]

TEXT_VECTOR_FORMATS = ("glove", "word2vec")


class TextVectors(NamedTuple):
    """``words`` (file order) and ``vectors`` float32 ``[count, dim]``, row i the vector of ``words[i]``."""

    words: tuple[str, ...]
    vectors: np.ndarray


class AlignedVectors(NamedTuple):
    """An embedding matrix for a given word list: ``matrix`` float32 ``[len(words), dim]`` and ``found``
    bool ``[len(words)]`` (False: the word has no vector in the file; its row is 0)."""

    matrix: np.ndarray
    found: np.ndarray


def _is_header(line: str) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def load_text_vectors(path: str | os.PathLike, *, format: str = "auto") -> TextVectors:  # noqa: A002
    """Read a GloVe or word2vec text file (see the module docstring); ``format``: auto, glove, word2vec."""
    if format not in ("auto",) + TEXT_VECTOR_FORMATS:
        raise ValueError(f"format must be one of {('auto',) + TEXT_VECTOR_FORMATS}, got {format!r}")
    path = Path(path)
    with open(path, encoding="utf-8") as file:
        lines = file.read().splitlines()
    if not lines:
        raise ValueError(f"{path}: the file is empty")
    header = None
    if format == "word2vec" or (format == "auto" and _is_header(lines[0])):
        if not _is_header(lines[0]):
            raise ValueError(f"{path}, line 1: expected the word2vec header 'count dim', got {lines[0][:80]!r}")
        header = tuple(int(part) for part in lines[0].split())
    first_data_line = 2 if header else 1
    body = lines[first_data_line - 1:]
    dim = header[1] if header else None
    words, rows, seen = [], [], {}
    for number, line in enumerate(body, start=first_data_line):
        parts = line.split()
        if not parts:
            raise ValueError(f"{path}, line {number}: empty line")
        dim = len(parts) - 1 if dim is None else dim
        if dim == 0 or len(parts) - 1 != dim:
            raise ValueError(f"{path}, line {number}: expected a word and {dim or 'at least 1'} numbers, "
                             f"found {len(parts) - 1} values after {parts[0][:40]!r}")
        try:
            rows.append(np.array(parts[1:], dtype=np.float32))
        except ValueError:
            bad = next(part for part in parts[1:] if not _is_number(part))
            raise ValueError(f"{path}, line {number}: {bad[:40]!r} is not a number (word {parts[0][:40]!r})") from None
        if parts[0] in seen:
            raise ValueError(f"{path}, line {number}: the word {parts[0][:40]!r} already appeared on line "
                             f"{seen[parts[0]]}")
        seen[parts[0]] = number
        words.append(parts[0])
    if header and header[0] != len(words):
        raise ValueError(f"{path}, line 1: the header announces {header[0]} words, the file has {len(words)}")
    vectors = np.stack(rows) if rows else np.zeros((0, dim or 0), np.float32)
    return TextVectors(tuple(words), vectors)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def save_text_vectors(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray, *,
                      format: str = "glove") -> None:  # noqa: A002
    """Write ``words`` and ``vectors`` ``[count, dim]`` in the GloVe or word2vec text format."""
    if format not in TEXT_VECTOR_FORMATS:
        raise ValueError(f"format must be one of {TEXT_VECTOR_FORMATS}, got {format!r}")
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"vectors must be [len(words)={len(words)}, dim], got shape {vectors.shape}")
    for word in words:
        if not word or word != "".join(word.split()):
            raise ValueError(f"a word must be non-empty and contain no whitespace, got {word!r}")
    if len(set(words)) != len(words):
        raise ValueError("words must be unique")
    path = Path(path)
    lines = [f"{len(words)} {vectors.shape[1]}"] if format == "word2vec" else []
    lines += [" ".join([word] + [_format_number(value) for value in row]) for word, row in zip(words, vectors.tolist())]
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _format_number(value: float) -> str:
    """``value`` with 9 significant digits (enough for a float32 to read back unchanged)."""
    return f"{value:.9g}"


def align_vectors(words: Sequence[str], vectors: TextVectors, *, lowercase: bool = False) -> AlignedVectors:
    """Row i of the result is the vector of ``words[i]`` (e.g. ``Vocabulary.words``): E for a vocabulary.

    ``lowercase``: a word with no vector as written takes the first vector (file order) whose word
    lower-cased equals it lower-cased ("apple" ← "Apple"). ``found.mean()`` is the coverage; rows
    not found (and the special tokens, unless the file has them) are zero.
    """
    index = {word: i for i, word in enumerate(vectors.words)}
    folded: dict[str, int] = {}
    if lowercase:
        for i, word in enumerate(vectors.words):
            folded.setdefault(word.lower(), i)
    rows = np.array([index.get(word, folded.get(word.lower(), -1)) for word in words], np.int64)
    found = rows >= 0
    matrix = np.zeros((len(words), vectors.vectors.shape[1]), np.float32)
    matrix[found] = vectors.vectors[rows[found]]
    return AlignedVectors(matrix, found)
