"""A word-level language model of news sentences, its perplexity against a unigram model, and sampled sentences.

The course's language model read at the word level: the corpus is gensim's Lee background news
corpus (:func:`dlcourse.data.load_corpus`, 300 articles, ~60,000 words, offline) or a user's UTF-8
``text_file`` (one document per line). Each line is tokenized (:func:`dlcourse.embeddings.tokenize`:
lower case, punctuation marks as tokens) and, with ``split_sentences``, cut into sentences after
``.``, ``!`` and ``?``; punctuation is then dropped unless ``keep_punctuation``. The sentences are
shuffled (``seed``) into train, dev and test sets (``dev_fraction``, ``test_fraction``). The
vocabulary holds the training words seen at least ``min_count`` times after ``<PAD>`` (padding and
the zero input ``x⟨1⟩``), ``<EOS>`` and ``<UNK>`` (every other word). A sentence ``y⟨1⟩ … y⟨T_y⟩``
becomes inputs ``[<PAD>, y⟨1⟩, …]`` and targets ``[y⟨1⟩, …, <EOS>]`` under a token mask, cut to
``max_length`` steps (its first ``max_length − 1`` words and its ``<EOS>``;
:func:`dlcourse.data.next_token_examples`). :class:`dlcourse.models.LanguageModel` (embedding,
``num_layers`` of ``cell``, softmax over ``|V|``) is trained on ``L = Σ_t L(ŷ⟨t⟩, y⟨t⟩)`` over real
tokens with Adam through :func:`dlcourse.train.supervised`.

Figures: the dev and test perplexity ``exp(−(1/N) Σ log P(y⟨t⟩ | y⟨<t⟩))`` over the ``N`` real target
tokens (``<EOS>`` and ``<UNK>`` included), beside two references on exactly the same tokens: the
uniform model (``|V|``) and the *unigram* model ``P(w) = (c_w + 1) / (N_train + |V| − 1)``, counts
``c_w`` of each target id among the training targets, add-one smoothed over the ``|V| − 1`` ids other
than ``<PAD>`` (a model that ignores the context; the LM must beat it to have learned any). Then
``samples`` sentences are drawn (:func:`dlcourse.decoding.sample_sequences`, keyed by
``sample_seed``, temperature ``temperature``, ``top_k`` (0: all), never ``<PAD>`` or ``<UNK>``, at most
``max_sample_length`` words) and printed.

Run alone the model is babysat (progress per epoch, checkpoints, a rerun resumes); as a
``launch.py`` experiment ``build`` is the trainable (``learning_rate``, ``beta1``, ``beta2`` traced).

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``.
  structural: ``corpus`` (``lee_background``/``lee``), ``text_file`` (overrides ``corpus``),
    ``split_sentences``, ``keep_punctuation``, ``min_count``, ``max_length``, ``cell``,
    ``embedding_size``, ``hidden_size``, ``num_layers``, ``epochs``, ``batch_size``,
    ``dev_fraction``, ``test_fraction``, ``seed``, ``train_seed``.
  sampling: ``samples``, ``temperature``, ``top_k``, ``max_sample_length``, ``sample_seed``.

    python experiments/word_lm.py --workdir=runs/word_lm
    python experiments/word_lm.py --config.cell=gru --config.epochs=20 --config.temperature=0.8
    python experiments/word_lm.py --config.text_file=my_text.txt --config.min_count=2
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, embeddings, models, train

NUMERIC = ("learning_rate", "beta1", "beta2")
SENTENCE_ENDS = frozenset(".!?")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 5e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    # structural
    config.corpus = "lee_background"
    config.text_file = ""
    config.split_sentences = True
    config.keep_punctuation = False
    config.min_count = 4
    config.max_length = 24
    config.cell = "lstm"
    config.embedding_size = 32
    config.hidden_size = 64
    config.num_layers = 1
    config.epochs = 10
    config.batch_size = 64
    config.dev_fraction = 0.1
    config.test_fraction = 0.1
    config.seed = 0
    config.train_seed = 0
    # sampling
    config.samples = 5
    config.temperature = 0.8
    config.top_k = 0
    config.max_sample_length = 20
    config.sample_seed = 0
    return config


def corpus_sentences(config) -> list[list[str]]:
    """The token lists the model reads: lines, or their sentences (module docstring)."""
    documents = data.load_corpus(config.corpus, text_file=config.text_file or None, keep_punctuation=True)
    sentences = []
    for tokens in documents:
        pieces = [[]]
        for token in tokens:
            pieces[-1].append(token)
            if config.split_sentences and token in SENTENCE_ENDS:
                pieces.append([])
        for piece in pieces:
            words = piece if config.keep_punctuation else [t for t in piece if t[0].isalnum()]
            if words:
                sentences.append(words)
    return sentences


class SentenceData:
    """The split sentences, the training vocabulary and the token examples of each split."""

    def __init__(self, config):
        if not (0 < config.dev_fraction < 1 and 0 <= config.test_fraction < 1
                and config.dev_fraction + config.test_fraction < 1):
            raise ValueError(f"dev_fraction and test_fraction must be in (0, 1) and [0, 1) with a sum below 1; "
                             f"got {config.dev_fraction}, {config.test_fraction}")
        if config.max_length < 2:
            raise ValueError(f"max_length must be at least 2 (a word and <EOS>); got {config.max_length}")
        sentences = corpus_sentences(config)
        order = np.random.default_rng(config.seed).permutation(len(sentences))
        shuffled = [sentences[i] for i in order]
        n_dev = max(1, round(config.dev_fraction * len(shuffled)))
        n_test = round(config.test_fraction * len(shuffled))
        if len(shuffled) - n_dev - n_test < 1:
            raise ValueError(f"{len(shuffled)} sentences leave none to train on after the dev and test splits")
        self.dev, self.test = shuffled[:n_dev], shuffled[n_dev:n_dev + n_test]
        self.train = shuffled[n_dev + n_test:]
        self.vocabulary = embeddings.build_vocabulary(self.train, min_count=config.min_count)

        def examples(split):
            return data.next_token_examples([embeddings.encode(self.vocabulary, s) for s in split],
                                            config.max_length, truncate=True)

        self.dataset = data.Dataset(examples(self.train), examples(self.dev),
                                    examples(self.test) if self.test else None)


def unigram_perplexity(train_examples: data.Examples, examples: data.Examples, vocab_size: int) -> float:
    """Perplexity of the add-one unigram model of the training targets on ``examples``' real targets."""
    counts = np.bincount(np.asarray(train_examples.targets)[np.asarray(train_examples.mask) > 0],
                         minlength=vocab_size).astype(np.float64)
    counts[embeddings.PAD_ID] = 0
    probabilities = (counts + 1) / (counts.sum() + vocab_size - 1)
    targets = np.asarray(examples.targets)[np.asarray(examples.mask) > 0]
    return float(np.exp(-np.mean(np.log(probabilities[targets]))))


def build_with_data(config) -> tuple[train.Trainable, models.LanguageModel, SentenceData]:
    if config.cell not in models.RECURRENT_CELLS:
        raise ValueError(f"cell must be one of {sorted(models.RECURRENT_CELLS)}; got {config.cell!r}")
    models.check_sampling_settings(config.samples, config.max_sample_length, config.temperature, config.top_k)
    sentences = SentenceData(config)
    model = models.LanguageModel(sentences.vocabulary.size, embedding_size=config.embedding_size,
                                 hidden_size=config.hidden_size, num_layers=config.num_layers, cell=config.cell,
                                 pad_id=embeddings.PAD_ID)
    trainable = train.supervised(model, sentences.dataset, optimizer="adam", hparams={k: config[k] for k in NUMERIC},
                                 epochs=config.epochs, batch_size=config.batch_size, loss="softmax",
                                 metrics=("perplexity",), evaluate_train=False)
    return trainable, model, sentences


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return build_with_data(config)[0]


def sample_sentences(model, params, vocabulary, config) -> list[str]:
    """``config.samples`` sentences drawn from the trained model (module docstring)."""
    rows = models.sample_from_language_model(
        model, params, config.samples, jax.random.key(config.sample_seed), config.max_sample_length,
        eos_id=embeddings.EOS_ID, pad_id=embeddings.PAD_ID, temperature=config.temperature,
        top_k=config.top_k or None, excluded_tokens=(embeddings.PAD_ID, embeddings.UNK_ID))
    return [" ".join(embeddings.decode(vocabulary, row)) for row in rows]


def main(config, workdir):
    trainable, model, sentences = build_with_data(config)
    epochs, vocabulary = trainable.epochs, sentences.vocabulary
    cli.say(f"{len(sentences.train)} training sentences, {len(sentences.dev)} dev, {len(sentences.test)} test; "
            f"|V| = {vocabulary.size} (min count {config.min_count}); compiling")
    hparams = {k: float(config[k]) for k in NUMERIC}
    state, metrics = train.babysit(
        trainable, hparams, jax.random.key(config.train_seed), workdir, checkpoint_every=max(1, epochs // 4),
        on_compiled=lambda seconds: cli.say(f"compiled in {seconds:.1f}s; training {epochs} epochs"),
        on_epoch=lambda epoch, row, per_epoch: cli.say(train.format_progress(epoch, epochs, row, per_epoch)),
        config=config.to_dict())
    dev = np.asarray(metrics["dev_perplexity"], np.float64)
    splits = sentences.dataset
    train_targets = np.asarray(splits.train.mask).sum()
    summary = {"vocabulary_size": vocabulary.size, "uniform_perplexity": float(vocabulary.size),
               "train_sentences": len(sentences.train), "dev_sentences": len(sentences.dev),
               "test_sentences": len(sentences.test), "train_tokens": int(train_targets),
               "unk_fraction_dev": float(np.mean(np.asarray(splits.dev.targets)[np.asarray(splits.dev.mask) > 0]
                                                 == embeddings.UNK_ID)),
               "final_dev_perplexity": float(dev[-1]), "best_dev_perplexity": float(np.nanmin(dev)),
               "dev_perplexity": [float(v) for v in dev],
               "unigram_dev_perplexity": unigram_perplexity(splits.train, splits.dev, vocabulary.size),
               "hparams": hparams}
    if splits.test is not None:
        values = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
        summary["test_perplexity"] = float(jax.jit(trainable.test)(state, values)["test_perplexity"])
        summary["unigram_test_perplexity"] = unigram_perplexity(splits.train, splits.test, vocabulary.size)
    samples = sample_sentences(model, state.params, vocabulary, config)
    cli.say(f"dev perplexity {dev[-1]:.1f} (unigram: {summary['unigram_dev_perplexity']:.1f}, uniform: "
            f"{vocabulary.size}); samples at temperature {config.temperature:g}, top-k {config.top_k or 'all'}:")
    for sentence in samples:
        cli.say(f"  {sentence}")
    summary.update(samples=samples, config=config.to_dict())
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, build, main=main)
