"""The word-level language model program: trained on sentences of the Lee news corpus, its dev and test
perplexity beat the add-one unigram model counted on the same tokens (recomputed here from the corpus
with numpy) and the uniform model |V|; its samples are words of the training vocabulary."""
import json

import numpy as np
import pytest

from tests.experiments.conftest import lesson
from tests.experiments.test_programs import last_json_line, run_program


def test_word_lm_beats_the_unigram_model_and_samples_vocabulary_words(tmp_path):
    result = run_program("word_lm", f"--workdir={tmp_path}", "--config.min_count=8", "--config.max_length=16",
                         "--config.hidden_size=32", "--config.embedding_size=16", "--config.epochs=4",
                         "--config.learning_rate=0.01", "--config.samples=4", "--config.max_sample_length=8")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    # the unigram reference, recounted independently of the program's arrays
    word_lm = lesson("word_lm")
    config = word_lm.get_config()
    config.update(min_count=8, max_length=16)
    sentences = word_lm.SentenceData(config)
    vocabulary = sentences.vocabulary
    assert summary["vocabulary_size"] == vocabulary.size == summary["uniform_perplexity"]
    index = vocabulary.index

    def targets(split):   # each sentence's first 15 words (unknown ones as <UNK>), then <EOS>
        return [index.get(w, 2) for s in split for w in s[:15]] + [1] * len(split)

    counts = np.bincount(targets(sentences.train), minlength=vocabulary.size)
    p = (counts + 1.0) / (counts.sum() + vocabulary.size - 1)
    for split, name in ((sentences.dev, "dev"), (sentences.test, "test")):
        unigram = float(np.exp(-np.mean(np.log(p[targets(split)]))))
        assert summary[f"unigram_{name}_perplexity"] == pytest.approx(unigram, rel=1e-9)
    dev = summary["dev_perplexity"]
    assert len(dev) == 4 and dev[-1] < dev[0]
    assert dev[-1] < summary["unigram_dev_perplexity"] < vocabulary.size
    assert summary["test_perplexity"] < summary["unigram_test_perplexity"] < vocabulary.size
    samples = summary["samples"]
    assert len(samples) == 4 and sum(len(s.split()) for s in samples) > 4
    assert set(" ".join(samples).split()) <= set(vocabulary.words[3:])   # no <PAD>, <EOS> or <UNK>
    assert "epoch 4/4" in result.stdout and (tmp_path / "checkpoints").is_dir()
