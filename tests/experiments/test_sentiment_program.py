"""experiments/sentiment.py as a user runs it: a user's file whose label one word decides is learned
(the split and the confusion matrix counted independently), a malformed file is refused by line, and
the shipped polarity set reports the coverage of the shipped vectors."""
import importlib.util
import json

import numpy as np
import pytest

from tests.experiments.test_programs import last_json_line, run_program


def write_reviews(path, count=80, seed=0):
    rng = np.random.default_rng(seed)
    filler = ["the", "film", "plot", "actors", "story", "was", "it", "and", "a", "scene", "music", "ending"]
    lines = []
    for i in range(count):
        words = list(rng.choice(filler, size=rng.integers(3, 8)))
        label, word = ("pos", "wonderful") if i % 2 else ("neg", "dreadful")
        words.insert(int(rng.integers(0, len(words) + 1)), word)
        lines.append(f"{label}\t{' '.join(words)}" if i % 4 < 2 else f"__label__{label} {' '.join(words)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_users_file_with_a_deciding_word_is_learned(tmp_path):
    reviews = tmp_path / "reviews.tsv"
    write_reviews(reviews)
    result = run_program("sentiment", f"--workdir={tmp_path}", f"--config.text_file={reviews}",
                         "--config.embeddings=random", "--config.dev_size=10", "--config.test_size=10",
                         "--config.epochs=40", "--config.embedding_size=8")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert (summary["train_sentences"], summary["dev_sentences"], summary["test_sentences"]) == (60, 10, 10)
    assert summary["labels"] == ["neg", "pos"]
    confusion = np.array(summary["test_confusion_matrix"])
    assert confusion.sum(axis=1).tolist() == [5, 5]  # stratified: half of each label
    assert summary["test_accuracy"] == np.trace(confusion) / 10 == 1.0
    assert summary["final_dev_accuracy"] == 1.0 and "small set" in result.stdout


def test_a_malformed_file_is_refused_naming_its_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("pos\tgood\nneg bad\n", encoding="utf-8")
    result = run_program("sentiment", f"--workdir={tmp_path}", f"--config.text_file={bad}", check=False)
    assert result.returncode != 0 and "bad.tsv, line 2" in result.stderr + result.stdout


@pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim is not installed")
def test_polarity_sentences_with_the_shipped_vectors_report_their_coverage(tmp_path):
    from dlcourse import data

    result = run_program("sentiment", f"--workdir={tmp_path}", "--config.epochs=2", "--config.model=average")
    summary = last_json_line(result.stdout)
    text, vectors = data.load_polarity_sentences(), data.load_polarity_vectors()
    covered = len(set(text.vocabulary.words[3:]) & set(vectors.words))
    assert summary["embedding_matrix"]["words_with_vectors"] == covered
    assert summary["embedding_matrix"]["vocabulary_words"] == text.vocabulary.size - 3
    assert (summary["train_sentences"], summary["dev_sentences"], summary["test_sentences"]) == (140, 30, 30)
    assert np.sum(summary["test_confusion_matrix"]) == 30 and 0 <= summary["test_accuracy"] <= 1
