"""Text corpora and word-embedding evaluation sets that ship offline with gensim's wheel, or a user's file.

gensim's wheel carries its test data in ``gensim/test/test_data/``; the files read here are

- corpora (one document per line): ``lee_background`` (``lee_background.cor``: 300 news articles of
  the Lee et al. (2005) document-similarity set, about 60,000 words) and ``lee`` (``lee.cor``, 50 more);
- ``questions-words.txt``: Mikolov et al. (2013)'s analogy questions a b c d (a : b :: c : d),
  19,544 of them in 14 sections (``: capital-common-countries`` … ``: gram9-plural-verbs``);
- ``wordsim353.tsv`` (WordSim-353, Finkelstein et al., 2002) and ``simlex999.txt`` (SimLex-999,
  Hill et al., 2015): word pairs with mean human similarity scores (0-10).

The folder is found without importing gensim (no gensim code runs). Everything is lower-cased, as
:func:`dlcourse.embeddings.tokenize` lower-cases the corpora. Corpora are token lists, one per line
(document), tokenized by :func:`dlcourse.embeddings.tokenize`; punctuation marks are dropped unless
``keep_punctuation=True`` (gensim's own preprocessing drops them too).
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import NamedTuple

import numpy as np

from dlcourse.data.files import MissingDataFileError

__all__ = ["CORPORA", "SIMILARITY_SETS", "AnalogyQuestions", "SimilarityPairs", "gensim_test_data",
           "load_analogy_questions", "load_corpus", "load_similarity_pairs"]

#: corpus name → file in gensim's test data.
CORPORA = {"lee_background": "lee_background.cor", "lee": "lee.cor"}
#: similarity-set name → file in gensim's test data.
SIMILARITY_SETS = {"wordsim353": "wordsim353.tsv", "simlex999": "simlex999.txt"}
ANALOGY_FILE = "questions-words.txt"
INSTALL_HINT = "pip install gensim  (or: pip install 'dlcourse[text]')"


class AnalogyQuestions(NamedTuple):
    """Analogy questions a : b :: c : d. ``words``: str ``[q, 4]`` (columns a, b, c, d, lower case);
    ``sections``: int32 ``[q]`` indices into ``section_names``."""

    words: np.ndarray
    sections: np.ndarray
    section_names: tuple[str, ...]


class SimilarityPairs(NamedTuple):
    """Word pairs with human similarity scores: ``words`` str ``[n, 2]`` (lower case), ``scores`` float32 ``[n]``."""

    words: np.ndarray
    scores: np.ndarray
    name: str


def gensim_test_data(filename: str | None = None) -> pathlib.Path:
    """The folder of gensim's shipped test data, or the file ``filename`` in it.

    Raises :class:`MissingDataFileError` naming what to install when gensim is not installed, or
    the file when this gensim version does not ship it.
    """
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataFileError(f"gensim is not installed; its wheel ships the corpora and evaluation sets: "
                                   f"{INSTALL_HINT}")
    folder = pathlib.Path(next(iter(spec.submodule_search_locations))) / "test" / "test_data"
    path = folder if filename is None else folder / filename
    if not path.exists():
        raise MissingDataFileError(f"{path}: not in this gensim installation (gensim ≥ 4.4 ships it)")
    return path


def _read_lines(path: pathlib.Path) -> list[str]:
    if not path.is_file():
        raise MissingDataFileError(f"{path}: no such file")
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def load_corpus(name: str = "lee_background", *, text_file: str | pathlib.Path | None = None,
                keep_punctuation: bool = False) -> list[list[str]]:
    """The documents of a shipped corpus (``name`` in :data:`CORPORA`) or of a user's UTF-8 ``text_file``
    (which wins when given): one token list per non-empty line."""
    from dlcourse.embeddings.vocabulary import tokenize

    if text_file is not None:
        path = pathlib.Path(text_file)
    elif name in CORPORA:
        path = gensim_test_data(CORPORA[name])
    else:
        raise ValueError(f"unknown corpus {name!r}; known: {sorted(CORPORA)} (or pass text_file)")
    documents = []
    for line in _read_lines(path):
        tokens = [token for token in tokenize(line) if keep_punctuation or token[0].isalnum()]
        if tokens:
            documents.append(tokens)
    if not documents:
        raise ValueError(f"{path}: no words in the file")
    return documents


def load_analogy_questions(path: str | pathlib.Path | None = None) -> AnalogyQuestions:
    """The questions of ``questions-words.txt`` (default: gensim's copy) or a file in its format:
    ``: section`` lines, then lines of four words ``a b c d``.

    Raises ``ValueError`` naming the line of a malformed entry.
    """
    path = gensim_test_data(ANALOGY_FILE) if path is None else pathlib.Path(path)
    words, sections, names = [], [], []
    for number, line in enumerate(_read_lines(path), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith(":"):
            names.append(line[1:].strip())
            continue
        fields = line.lower().split()
        if len(fields) != 4 or not names:
            raise ValueError(f"{path}, line {number}: expected four words after a ': section' line, got {line!r}")
        words.append(fields)
        sections.append(len(names) - 1)
    return AnalogyQuestions(np.array(words, dtype=str).reshape(-1, 4), np.array(sections, dtype=np.int32),
                            tuple(names))


def load_similarity_pairs(name: str = "wordsim353", *, path: str | pathlib.Path | None = None) -> SimilarityPairs:
    """WordSim-353 or SimLex-999 (``name`` in :data:`SIMILARITY_SETS`), or a file of ``word1 word2 score``
    lines (tab- or space-separated, ``#`` comments) at ``path``.

    Raises ``ValueError`` naming the line of a malformed entry.
    """
    if path is None:
        if name not in SIMILARITY_SETS:
            raise ValueError(f"unknown similarity set {name!r}; known: {sorted(SIMILARITY_SETS)} (or pass path)")
        path = gensim_test_data(SIMILARITY_SETS[name])
    path = pathlib.Path(path)
    words, scores = [], []
    for number, line in enumerate(_read_lines(path), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        try:
            if len(fields) != 3:
                raise ValueError
            scores.append(float(fields[2]))
        except ValueError:
            raise ValueError(f"{path}, line {number}: expected 'word1 word2 score', got {line!r}") from None
        words.append([fields[0].lower(), fields[1].lower()])
    return SimilarityPairs(np.array(words, dtype=str).reshape(-1, 2), np.array(scores, dtype=np.float32), name)
