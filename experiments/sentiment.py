"""Sentiment classification: the average-of-embeddings model or a many-to-one LSTM over word embeddings.

Data: the 200 movie-review sentences (100 negative, 100 positive) that ship with gensim's tests
(:func:`dlcourse.data.load_polarity_sentences`; needs ``pip install gensim``) or a user's file
(``--config.text_file=PATH``: ``label<TAB>text`` or ``__label__X text`` per line, any number of
labels). The sentences are split once, stratified by label and shuffled with ``seed``, into
``dev_size`` and ``test_size`` sentences per split and the rest for training (140/30/30 by
default). **This is a small set**: one test sentence is 3.3 points of accuracy, so figures move by
several points with the split and the seed; it shows the method, not a benchmark.

The embedding matrix E ``[|V|, n_e]`` starts from ``embeddings``:

- ``fasttext_vec``: the fastText vectors shipped beside the sentences
  (``pang_lee_polarity_fasttext.vec``, word2vec text format, 100 dimensions); a word without a
  vector gets a random row of the vectors' scale (the coverage is reported);
- ``skipgram``: skip-gram with negative sampling trained here on the Lee corpus plus the
  sentences (no labels used), ``skipgram_epochs`` epochs, ``embedding_size`` dimensions;
- ``random``: N(0, 1) rows, learned from the labels alone.

With ``rescale_vectors`` (default) given vectors are divided by their standard deviation σ (one
number: directions and cosine similarities unchanged). The shipped fastText vectors have σ ≈ 0.006,
so without it their mean is ~1e-3 and the dense layer needs weights in the thousands to use them.

``freeze_embeddings`` keeps E fixed (only the classifier learns). ``model=average`` classifies the
mean of the sentence's embeddings; ``model=lstm`` reads the LSTM's ``a⟨T_x⟩`` at the last real word
(:mod:`dlcourse.models.sentiment`). Training minimizes the softmax cross-entropy with Adam through
:func:`dlcourse.train.supervised` (``learning_rate``, ``beta1``, ``beta2`` traced: ``launch.py``
sweeps them); the program reports dev and test accuracy and the test confusion matrix
(rows: true label, columns: predicted).

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``.
  structural: ``model`` (average | lstm), ``embeddings`` (fasttext_vec | skipgram | random),
    ``freeze_embeddings``, ``rescale_vectors``, ``text_file``, ``embedding_size`` (skipgram and random), ``hidden_size``
    (lstm), ``epochs``, ``batch_size``, ``dev_size``, ``test_size``, ``min_count``, ``seed``,
    ``train_seed``; skip-gram: ``skipgram_epochs``, ``window``, ``negatives``.

    python experiments/sentiment.py --workdir=runs/sentiment
    python experiments/sentiment.py --config.model=lstm --config.embeddings=fasttext_vec
    python experiments/sentiment.py --config.embeddings=skipgram --config.freeze_embeddings=True
    python experiments/sentiment.py --config.text_file=my_reviews.tsv --config.dev_size=100 --config.test_size=100
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, embeddings, metrics, models, train

NUMERIC = ("learning_rate", "beta1", "beta2")
MODELS = ("average", "lstm")
EMBEDDINGS = ("fasttext_vec", "skipgram", "random")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 0.01
    config.beta1 = 0.9
    config.beta2 = 0.999
    # structural
    config.model = "average"
    config.embeddings = "fasttext_vec"
    config.freeze_embeddings = False
    config.rescale_vectors = True
    config.text_file = ""
    config.embedding_size = 50
    config.hidden_size = 32
    config.epochs = 30
    config.batch_size = 20
    config.dev_size = 30
    config.test_size = 30
    config.min_count = 1
    config.seed = 0
    config.train_seed = 0
    # skip-gram
    config.skipgram_epochs = 3
    config.window = 5
    config.negatives = 5
    return config


def check(config) -> None:
    if config.model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {config.model!r}")
    if config.embeddings not in EMBEDDINGS:
        raise ValueError(f"embeddings must be one of {EMBEDDINGS}, got {config.embeddings!r}")
    for name in ("embedding_size", "hidden_size", "epochs", "batch_size", "dev_size", "min_count",
                 "skipgram_epochs", "window"):
        if config[name] < 1:
            raise ValueError(f"{name} must be positive, got {config[name]}")
    if config.test_size < 0:
        raise ValueError(f"test_size must be at least 0, got {config.test_size}")


def stratified_split(labels: np.ndarray, dev_size: int, test_size: int, seed: int):
    """Row indices (train, dev, test): each label's rows are shuffled and row k of a label with n rows
    is placed at (k + 0.5) / n, so the dev and test sets taken first hold the labels in about the file's
    proportions."""
    rng = np.random.default_rng(seed)
    position = np.zeros(len(labels))
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        position[rows] = (np.arange(len(rows)) + 0.5) / len(rows)
    order = np.lexsort((rng.random(len(labels)), position))
    if len(order) - dev_size - test_size < 2:
        raise ValueError(f"{len(order)} sentences leave fewer than 2 to train on after dev_size={dev_size} and "
                         f"test_size={test_size}")
    return order[dev_size + test_size:], order[:dev_size], order[dev_size:dev_size + test_size]


class SentimentData:
    """The labelled sentences, their split and the dataset of ``((ids, token_mask), label)`` rows."""

    def __init__(self, config):
        if config.text_file:
            self.text = data.load_labelled_text(config.text_file, min_count=config.min_count)
        else:
            self.text = data.load_polarity_sentences(min_count=config.min_count)
        self.train_rows, self.dev_rows, self.test_rows = stratified_split(
            self.text.labels, config.dev_size, config.test_size, config.seed)

        def examples(rows):
            return data.Examples((self.text.ids[rows], self.text.mask[rows]), self.text.labels[rows])

        self.dataset = data.Dataset(examples(self.train_rows), examples(self.dev_rows),
                                    examples(self.test_rows) if len(self.test_rows) else None)


def pretrained_matrix(config, text) -> tuple[np.ndarray | None, dict]:
    """E for the vocabulary of ``text`` (None for ``random``) and a description (coverage, source)."""
    words = text.vocabulary.words
    if config.embeddings == "random":
        return None, {"source": "random N(0, 1)"}
    if config.embeddings == "fasttext_vec":
        vectors = data.load_polarity_vectors()
        source = "gensim's pang_lee_polarity_fasttext.vec"
    else:
        documents = data.load_corpus("lee_background") + list(text.sentences)
        vocabulary = embeddings.build_vocabulary(documents, min_count=config.min_count)
        encoded = embeddings.encode_sentences(vocabulary, documents)
        trained = embeddings.train_skipgram(encoded.ids, vocabulary.size, mask=encoded.mask,
                                            embedding_size=config.embedding_size, window=config.window,
                                            negatives=config.negatives, epochs=config.skipgram_epochs,
                                            key=jax.random.key(config.seed))
        vectors = embeddings.TextVectors(vocabulary.words, np.asarray(trained.embeddings))
        source = f"skip-gram on the Lee corpus + the sentences ({config.skipgram_epochs} epochs)"
    aligned = embeddings.align_vectors(words, vectors)
    matrix = np.array(aligned.matrix, np.float32)
    found = np.array(aligned.found)
    found[:len(embeddings.SPECIAL_TOKENS)] = False
    scale = float(np.std(vectors.vectors)) or 1.0
    missing = ~found
    matrix[missing] = np.random.default_rng(config.seed).normal(0.0, scale, (int(missing.sum()), matrix.shape[1]))
    if config.rescale_vectors:
        matrix /= scale
    words_found = int(found[len(embeddings.SPECIAL_TOKENS):].sum())
    return matrix, {"source": source, "scale": scale, "rescaled": bool(config.rescale_vectors),
                    "dimension": int(matrix.shape[1]), "words_with_vectors": words_found,
                    "vocabulary_words": len(words) - len(embeddings.SPECIAL_TOKENS)}


def make_model(config, text, matrix):
    options = {"vocab_size": text.vocabulary.size, "num_classes": len(text.label_names),
               "embedding_size": config.embedding_size if matrix is None else int(matrix.shape[1]),
               "freeze_embeddings": bool(config.freeze_embeddings)}
    if matrix is not None:
        options["embedding_init"] = models.embedding_matrix_init(matrix)
    if config.model == "average":
        return models.AverageEmbeddingClassifier(**options)
    return models.LSTMClassifier(hidden_size=config.hidden_size, **options)


def build_with_data(config):
    check(config)
    sentences = SentimentData(config)
    matrix, description = pretrained_matrix(config, sentences.text)
    model = make_model(config, sentences.text, matrix)
    trainable = train.supervised(model, sentences.dataset, optimizer="adam",
                                 hparams={k: config[k] for k in NUMERIC}, epochs=config.epochs,
                                 batch_size=config.batch_size, loss="softmax", metrics=("accuracy",))
    return trainable, model, sentences, description


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return build_with_data(config)[0]


def main(config, workdir=None) -> dict:
    trainable, model, sentences, description = build_with_data(config)
    text = sentences.text
    cli.say(f"{len(sentences.train_rows)} training sentences, {len(sentences.dev_rows)} dev, "
            f"{len(sentences.test_rows)} test (a small set); labels {list(text.label_names)}; "
            f"|V| = {text.vocabulary.size}; E: {description['source']}")
    hparams = {k: float(config[k]) for k in NUMERIC}
    values = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
    state, history = jax.jit(trainable.train_with_state)(values, jax.random.key(config.train_seed))
    dev = np.asarray(history["dev_accuracy"], np.float64)
    summary = {"model": config.model, "embeddings": config.embeddings, "freeze_embeddings": config.freeze_embeddings,
               "embedding_matrix": description, "labels": list(text.label_names),
               "train_sentences": len(sentences.train_rows), "dev_sentences": len(sentences.dev_rows),
               "test_sentences": len(sentences.test_rows),
               "final_train_accuracy": float(np.asarray(history["train_accuracy"])[-1]),
               "final_dev_accuracy": float(dev[-1]), "best_dev_accuracy": float(np.max(dev)), "hparams": hparams}
    if sentences.dataset.test is not None:
        test = sentences.dataset.test
        logits = model.apply({"params": state.params}, test.inputs)
        confusion = np.asarray(metrics.confusion_matrix(logits, jnp.asarray(test.targets)), np.int64)
        summary["test_accuracy"] = float(np.trace(confusion) / confusion.sum())
        summary["test_confusion_matrix"] = confusion.tolist()
    cli.say(f"dev accuracy {dev[-1]:.3f}" + (f", test accuracy {summary['test_accuracy']:.3f}; test confusion "
                                             f"(rows true, columns predicted): {summary['test_confusion_matrix']}"
                                             if "test_accuracy" in summary else ""))
    summary["config"] = config.to_dict()
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, build, main=main)
