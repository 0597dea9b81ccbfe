"""experiments/word_embeddings.py as a user runs it: the notes' table, training on the Lee corpus,
evaluation with honest coverage, neighbours and the PCA plot."""
import importlib.util
import json
from collections import Counter

import pytest

from tests.experiments.test_programs import last_json_line, run_program

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gensim") is None, reason="gensim is not installed")


def test_word_embeddings_trains_on_lee_and_reports_coverage_it_can_justify(tmp_path):
    from dlcourse import data

    result = run_program("word_embeddings", f"--workdir={tmp_path}", "--config.epochs=2", "--config.min_count=5",
                         "--config.embedding_size=16", "--config.neighbour_words=government,zzzz")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["feature_table"]["man:woman::king:?"] == "queen"
    assert summary["feature_table"]["nearest(orange)"] == "apple"
    assert summary["final_loss"] < summary["first_loss"]
    # Coverage counted independently: a pair is covered when both words occur at least min_count times.
    counts = Counter(word for document in data.load_corpus() for word in document)
    assert summary["vocabulary_size"] == 3 + sum(count >= 5 for count in counts.values())
    for name in ("wordsim353", "simlex999"):
        pairs = data.load_similarity_pairs(name)
        covered = sum(counts[u] >= 5 and counts[v] >= 5 for u, v in pairs.words)
        reported = summary["similarity"][name]
        assert (reported["covered"], reported["total"]) == (covered, len(pairs.words))
    questions = data.load_analogy_questions()
    answered = sum(all(counts[word] >= 5 for word in question) for question in questions.words)
    overall = summary["analogies"]["overall"]
    assert (overall["answered"], overall["total"]) == (answered, 19544) and 0 <= overall["correct"] <= answered
    assert len(summary["neighbours"]["government"]) == 5 and "not in the vocabulary: zzzz" in result.stdout
    assert (tmp_path / "embeddings_pca.png").stat().st_size > 10_000 and "man" in summary["plot_words"]


def test_word_embeddings_refuses_an_unknown_method(tmp_path):
    result = run_program("word_embeddings", f"--workdir={tmp_path}", "--config.method=cbow", check=False)
    assert result.returncode == 2 and "method must be one of ('skipgram', 'glove'), got 'cbow'" in result.stderr
    assert "Traceback" not in result.stderr
