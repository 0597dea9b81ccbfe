"""gensim's shipped corpora and evaluation sets, read offline, and a user's own files."""

import importlib.util

import numpy as np
import pytest

from dlcourse import data

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim is not installed")


def test_the_lee_corpus_is_one_lower_case_token_list_per_article_without_punctuation():
    lines = data.gensim_test_data("lee_background.cor").read_text(encoding="utf-8").splitlines()
    documents = data.load_corpus("lee_background")
    assert len(documents) == len([line for line in lines if line.strip()]) == 300
    first_words = lines[0].split()[:3]                       # "Hundreds of people have been ..."
    assert documents[0][:3] == [word.lower() for word in first_words]
    tokens = [token for document in documents for token in document]
    assert all(token == token.lower() and token[0].isalnum() for token in tokens)
    assert 50_000 < len(tokens) < 70_000
    assert len(data.load_corpus("lee")) == 50


def test_a_users_text_file_wins_and_keeps_punctuation_on_request(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("I want a glass of orange juice.\n\n  \nThe King's queen, too!\n", encoding="utf-8")
    assert data.load_corpus("no such corpus", text_file=path) == [
        ["i", "want", "a", "glass", "of", "orange", "juice"], ["the", "king's", "queen", "too"]]
    assert data.load_corpus(text_file=path, keep_punctuation=True)[1] == ["the", "king's", "queen", ",", "too", "!"]
    (tmp_path / "empty.txt").write_text("...\n")
    with pytest.raises(ValueError, match="no words"):
        data.load_corpus(text_file=tmp_path / "empty.txt")
    with pytest.raises(FileNotFoundError, match="absent.txt"):
        data.load_corpus(text_file=tmp_path / "absent.txt")
    with pytest.raises(ValueError, match="unknown corpus 'brown'"):
        data.load_corpus("brown")


def test_the_analogy_questions_by_section_match_the_file():
    questions = data.load_analogy_questions()
    lines = data.gensim_test_data("questions-words.txt").read_text().splitlines()
    headers = [number for number, line in enumerate(lines) if line.startswith(":")]
    sizes = np.diff(headers + [len(lines)]) - 1
    assert questions.words.shape == (sizes.sum(), 4) == (19544, 4)
    assert len(questions.section_names) == 14 and questions.section_names[0] == "capital-common-countries"
    np.testing.assert_array_equal(np.bincount(questions.sections), sizes)
    assert list(questions.words[0]) == ["athens", "greece", "baghdad", "iraq"]
    assert questions.section_names[int(questions.sections[-1])] == "gram9-plural-verbs"


def test_a_malformed_question_names_its_line(tmp_path):
    path = tmp_path / "questions.txt"
    path.write_text(": family\nman woman king queen\nboy girl prince\n")
    with pytest.raises(ValueError, match="line 3"):
        data.load_analogy_questions(path)
    path.write_text("man woman king queen\n")
    with pytest.raises(ValueError, match="line 1"):
        data.load_analogy_questions(path)


@pytest.mark.parametrize("name, size, first", [("wordsim353", 353, ("love", "sex", 6.77)),
                                               ("simlex999", 999, ("old", "new", 1.58))])
def test_the_similarity_sets(name, size, first):
    pairs = data.load_similarity_pairs(name)
    assert pairs.words.shape == (size, 2) and pairs.scores.shape == (size,) and pairs.name == name
    assert (*pairs.words[0], pairs.scores[0]) == pytest.approx(first)
    assert 0 <= pairs.scores.min() and pairs.scores.max() <= 10


def test_a_users_similarity_file_and_a_malformed_pair(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("# mine\nTiger\tcat\t7.5\nking queen 9\n")
    pairs = data.load_similarity_pairs(path=path)
    assert pairs.words.tolist() == [["tiger", "cat"], ["king", "queen"]]
    np.testing.assert_allclose(pairs.scores, [7.5, 9.0])
    path.write_text("tiger cat 7.5\nking queen high\n")
    with pytest.raises(ValueError, match="line 2"):
        data.load_similarity_pairs(path=path)
    with pytest.raises(ValueError, match="unknown similarity set 'men'"):
        data.load_similarity_pairs("men")


def test_without_gensim_the_error_says_what_to_install(monkeypatch):
    from dlcourse.data import corpora

    monkeypatch.setattr(corpora.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.MissingDataFileError, match="pip install gensim"):
        data.load_corpus()
