"""Labelled-text loading: both line forms, label numbering, padding, gensim's polarity set and errors."""
import importlib.util

import numpy as np
import pytest

from dlcourse import data, embeddings


def test_both_line_forms_give_labels_in_sorted_order_and_padded_ids(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("pos\tGood film!\n\n__label__neg bad , bad film\n", encoding="utf-8")
    text = data.load_labelled_text(path)
    assert text.label_names == ("neg", "pos") and text.labels.tolist() == [1, 0]
    assert text.sentences == [["good", "film", "!"], ["bad", ",", "bad", "film"]]
    # Counted by hand: bad 2, film 2, then ",", "!", "good" once each (ties alphabetical).
    assert text.vocabulary.words[3:] == ("bad", "film", "!", ",", "good")
    assert text.ids.tolist() == [[7, 4, 5, 0], [3, 6, 3, 4]]
    assert text.mask.tolist() == [[True, True, True, False], [True] * 4]


@pytest.mark.parametrize("content, line, fragment", [
    ("pos\tfine\nno label here\n", 2, "expected 'label<TAB>text'"),
    ("pos\tfine\n__label__neg\n", 2, "no text after the label"),
    ("pos\tfine\n\tsome text\n", 2, "empty label"),
    ("pos\tfine\n\n\nneg\t   \n", 4, "no text after the label"),
    ("pos\tfine\nneg\t___\n", 2, "no words in the text"),
])
def test_malformed_lines_are_named(tmp_path, content, line, fragment):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=f"bad.tsv, line {line}: .*{fragment}"):
        data.load_labelled_text(path)


def test_a_single_label_is_refused(tmp_path):
    path = tmp_path / "one.tsv"
    path.write_text("pos\tfine\npos\tgreat\n", encoding="utf-8")
    with pytest.raises(ValueError, match="at least 2 labels"):
        data.load_labelled_text(path)


@pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim is not installed")
def test_polarity_sentences_and_their_vectors():
    text = data.load_polarity_sentences()
    assert text.label_names == ("neg", "pos") and np.bincount(text.labels).tolist() == [100, 100]
    assert text.labels[:100].max() == 0  # the file lists the 100 negative sentences first
    assert text.sentences[0] == ["simplistic", ",", "silly", "and", "tedious", "."]
    assert embeddings.decode(text.vocabulary, text.ids[0]) == text.sentences[0]
    assert (text.mask.sum(axis=1) == [len(s) for s in text.sentences]).all()
    vectors = data.load_polarity_vectors()
    assert vectors.vectors.shape == (1694, 100) and vectors.words[0] == "."
    assert vectors.vectors[0, 0] == np.float32(-0.0073677)
