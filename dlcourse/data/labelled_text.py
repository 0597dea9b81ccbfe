"""Labelled sentences for text classification: gensim's polarity sentences or a user's own file.

A file holds one example per line, in either of two forms (they may be mixed; blank lines are skipped):

- ``label<TAB>text`` — the label is everything before the first tab;
- ``__label__X text`` — fastText's form: the first whitespace-separated word is ``__label__``
  followed by the label ``X``.

The text is split by :func:`dlcourse.embeddings.tokenize` (lower case; punctuation marks are
tokens). Labels are numbered in sorted order of their names (``neg`` → 0, ``pos`` → 1). The
vocabulary is built from every sentence of the file (no label is read for it, so building it
over the dev and test sentences leaks nothing about their classes; a word of the dev or test set
gets a row of E as pre-trained vectors would give it). A malformed line raises ``ValueError``
naming the file and the line (1-based).

:func:`load_polarity_sentences` reads ``pang_lee_polarity.cor`` from gensim's shipped test data:
200 movie-review sentences of Pang & Lee's sentence-polarity data, 100 ``neg`` then 100 ``pos``
(a sample of the 10,662 of the full set: a small set, figures on it vary by several points with
the split).
"""

from __future__ import annotations

import pathlib
from typing import NamedTuple

import numpy as np

from dlcourse.data.files import MissingDataFileError

__all__ = ["POLARITY_FILE", "POLARITY_VECTORS_FILE", "LabelledText", "load_labelled_text", "load_polarity_sentences",
           "load_polarity_vectors", "read_labelled_lines"]

#: gensim's shipped polarity sentences and the fastText vectors trained on them (word2vec text format).
POLARITY_FILE = "pang_lee_polarity.cor"
POLARITY_VECTORS_FILE = "pang_lee_polarity_fasttext.vec"
FASTTEXT_PREFIX = "__label__"


class LabelledText(NamedTuple):
    """Encoded labelled sentences.

    Attributes:
      ids: int32 ``[m, L]`` token ids, ⟨PAD⟩ (0) after each sentence.
      mask: bool ``[m, L]``, True at the real tokens.
      labels: int32 ``[m]``, indices into ``label_names``.
      label_names: the labels' names, sorted.
      vocabulary: the :class:`dlcourse.embeddings.Vocabulary` of the sentences.
      sentences: the token lists.
    """

    ids: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...]
    vocabulary: object
    sentences: list[list[str]]


def read_labelled_lines(path: str | pathlib.Path) -> list[tuple[int, str, str]]:
    """``(line number, label, text)`` of each non-blank line of ``path`` (formats in the module docstring)."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise MissingDataFileError(f"{path}: no such file")
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        if line.startswith(FASTTEXT_PREFIX):
            label, text = (line[len(FASTTEXT_PREFIX):].split(maxsplit=1) + ["", ""])[:2]
        elif "\t" in line:
            label, _, text = line.partition("\t")
        else:
            raise ValueError(f"{path}, line {number}: expected 'label<TAB>text' or '__label__X text', "
                             f"got {line[:60]!r}")
        label = label.strip()
        if not label or not text.strip():
            raise ValueError(f"{path}, line {number}: {'empty label' if not label else 'no text after the label'} "
                             f"in {line[:60]!r}")
        lines.append((number, label, text))
    if not lines:
        raise ValueError(f"{path}: no labelled lines in the file")
    return lines


def load_labelled_text(path: str | pathlib.Path, *, min_count: int = 1, length: int | None = None) -> LabelledText:
    """The labelled sentences of ``path``, encoded (module docstring).

    Args:
      min_count: words seen fewer times become ⟨UNK⟩.
      length: L, the padded length (default: the longest sentence; a longer one raises ``ValueError``).
    """
    from dlcourse.embeddings.vocabulary import build_vocabulary, encode_sentences, tokenize

    path = pathlib.Path(path)
    lines = read_labelled_lines(path)
    sentences = [tokenize(text) for _, _, text in lines]
    for (number, _, text), tokens in zip(lines, sentences):
        if not tokens:
            raise ValueError(f"{path}, line {number}: no words in the text {text[:60]!r}")
    label_names = tuple(sorted({label for _, label, _ in lines}))
    if len(label_names) < 2:
        raise ValueError(f"{path}: a classifier needs at least 2 labels, found only {label_names}")
    index = {name: i for i, name in enumerate(label_names)}
    labels = np.array([index[label] for _, label, _ in lines], dtype=np.int32)
    vocabulary = build_vocabulary(sentences, min_count=min_count)
    encoded = encode_sentences(vocabulary, sentences, length=length)
    return LabelledText(encoded.ids, encoded.mask, labels, label_names, vocabulary, sentences)


def load_polarity_sentences(*, min_count: int = 1, length: int | None = None) -> LabelledText:
    """gensim's 200 polarity sentences (``neg`` = 0, ``pos`` = 1); needs gensim installed."""
    from dlcourse.data.corpora import gensim_test_data

    return load_labelled_text(gensim_test_data(POLARITY_FILE), min_count=min_count, length=length)


def load_polarity_vectors():
    """gensim's fastText vectors of the polarity sentences (``pang_lee_polarity_fasttext.vec``, word2vec
    text format, 1,694 words × 100) as :class:`dlcourse.embeddings.TextVectors`.

    The file is not all UTF-8 (a cp1252 dash, byte 0x97, is a word of its own); it is decoded as the
    sentences are, an undecodable byte becoming U+FFFD, so that word matches the sentences' token.
    """
    import tempfile

    from dlcourse.data.corpora import gensim_test_data
    from dlcourse.embeddings.text_vectors import load_text_vectors

    text = gensim_test_data(POLARITY_VECTORS_FILE).read_bytes().decode("utf-8", errors="replace")
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / POLARITY_VECTORS_FILE
        path.write_text(text, encoding="utf-8")
        return load_text_vectors(path, format="word2vec")
