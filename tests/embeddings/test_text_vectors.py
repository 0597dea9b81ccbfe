"""Embeddings in the GloVe and word2vec text formats: round trips and errors that name the line."""

import numpy as np
import pytest

from dlcourse import embeddings

WORDS = ("the", "orange", "juice", "naïve")


@pytest.mark.parametrize("file_format", embeddings.TEXT_VECTOR_FORMATS)
def test_round_trip_is_exact(tmp_path, file_format):
    vectors = (np.random.default_rng(0).normal(size=(4, 3)) * 1e-3 ** np.arange(3)).astype(np.float32)
    path = tmp_path / "vectors.txt"
    embeddings.save_text_vectors(path, WORDS, vectors, format=file_format)
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert (first_line == "4 3") == (file_format == "word2vec")
    for read_as in ("auto", file_format):
        loaded = embeddings.load_text_vectors(path, format=read_as)
        assert loaded.words == WORDS
        np.testing.assert_array_equal(loaded.vectors, vectors)
        assert loaded.vectors.dtype == np.float32


def test_a_hand_written_glove_file_reads(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("king 0.5 -1\nqueen  0.25 1e-2 \n", encoding="utf-8")
    loaded = embeddings.load_text_vectors(path)
    assert loaded.words == ("king", "queen")
    np.testing.assert_array_equal(loaded.vectors, np.array([[0.5, -1.0], [0.25, 0.01]], np.float32))


@pytest.mark.parametrize("text, file_format, message", [
    ("a 1 2\nb 1 2\nc 1\n", "auto", r"line 3: expected a word and 2 numbers, found 1"),
    ("2 2\na 1 2\nb 1 x\n", "auto", r"line 3: 'x' is not a number \(word 'b'\)"),
    ("3 2\na 1 2\nb 1 2\n", "auto", r"line 1: the header announces 3 words, the file has 2"),
    ("a 1 2\n\nb 1 2\n", "glove", r"line 2: empty line"),
    ("a 1 2\nb 3 4\na 5 6\n", "glove", r"line 3: the word 'a' already appeared on line 1"),
    ("a 1 2\n", "word2vec", r"line 1: expected the word2vec header"),
    ("", "auto", r"the file is empty"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, text, file_format, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"bad.txt.*{message}"):
        embeddings.load_text_vectors(path, format=file_format)


def test_saving_refuses_bad_words_and_leaves_no_file(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(ValueError, match="no whitespace"):
        embeddings.save_text_vectors(path, ["orange juice"], np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"vectors must be \[len\(words\)=2, dim\]"):
        embeddings.save_text_vectors(path, ["a", "b"], np.zeros((3, 2)))
    assert list(tmp_path.iterdir()) == []


def test_aligned_vectors_follow_the_vocabulary_order():
    vectors = embeddings.TextVectors(("king", "queen", "Apple"), np.arange(6, dtype=np.float32).reshape(3, 2))
    vocabulary = embeddings.build_vocabulary([["queen", "apple", "pear"]])
    aligned = embeddings.align_vectors(vocabulary.words, vectors, lowercase=False)
    assert vocabulary.words[3:] == ("apple", "pear", "queen")
    np.testing.assert_array_equal(aligned.found, [False, False, False, False, False, True])
    np.testing.assert_array_equal(aligned.matrix[5], [2.0, 3.0])
    np.testing.assert_array_equal(aligned.matrix[:5], 0.0)
    folded = embeddings.align_vectors(["apple", "APPLE", "KING", "pear"], vectors, lowercase=True)
    np.testing.assert_array_equal(folded.found, [True, True, True, False])
    np.testing.assert_array_equal(folded.matrix[:3], [[4.0, 5.0], [4.0, 5.0], [0.0, 1.0]])
