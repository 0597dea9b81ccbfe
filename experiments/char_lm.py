"""A character-level language model of person names, then novel names sampled from it (course 5).

The course trains a character RNN on dinosaur names and samples new ones; here the names are
Faker's US first names and surnames (:func:`dlcourse.data.load_names`, offline), or the lines of
a user's own file (``text_file``: one sequence per line). The names are split into train, dev and
test sets (``dev_fraction``, ``test_fraction``, shuffled with ``seed``); the vocabulary is the
training set's characters plus ``<PAD>`` (also the zero input ``x⟨1⟩``), ``<EOS>`` and ``<UNK>``
(a character seen only outside the training set). Each name ``y⟨1⟩ … y⟨T_y⟩`` becomes inputs
``[<PAD>, y⟨1⟩, …, y⟨T_y⟩]`` and targets ``[y⟨1⟩, …, y⟨T_y⟩, <EOS>]`` under a token mask
(:func:`dlcourse.data.next_token_examples`), and :class:`dlcourse.models.LanguageModel` (embedding,
``num_layers`` of ``cell`` = ``rnn``/``gru``/``lstm``, softmax readout) — or, with ``cell=transformer``,
the decoder-only :class:`dlcourse.models.TransformerLM` (``num_layers`` post-norm self-attention layers
of width ``d_model`` with ``num_heads`` heads and a ``d_ff`` feed-forward network under the look-ahead
mask, dropout keeping ``keep_prob``) — is trained on ``L = Σ_t L(ŷ⟨t⟩, y⟨t⟩)`` over real tokens with
Adam through :func:`dlcourse.train.supervised`; the summary also holds the compile time and the mean
seconds per epoch, so one program compares the LSTM and the Transformer on perplexity and time.
The figure is the dev perplexity ``exp(−(1/N) Σ log P(y⟨t⟩ | y⟨<t⟩))`` over the ``N`` real
tokens (``<EOS>`` included); a model that knows nothing scores ``|V|`` (uniform). Afterwards
``samples`` names are drawn from the trained model (:func:`dlcourse.decoding.sample_sequences`,
keyed by ``sample_seed``; ``temperature`` τ, ``top_k`` (0: every token), ``<PAD>`` and ``<UNK>``
never drawn, at most ``max_sample_length`` characters; the Transformer steps with its key–value
cache) and printed with the summary.

Run alone the model is babysat: progress per epoch, checkpoints in the workdir, and a rerun of the
same command resumes; then it samples. As a ``launch.py`` experiment ``build`` is the trainable:
the numbers (``learning_rate``, ``beta1``, ``beta2``, and ``keep_prob`` for the Transformer) are
traced, ``cell`` and the sizes are structural.

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``, ``keep_prob`` (Transformer only; the recurrent
    cells have no dropout and refuse it).
  structural: ``names`` (``first``/``last``/``both``), ``text_file`` (overrides ``names``),
    ``lowercase``, ``cell`` (``rnn``/``gru``/``lstm``/``transformer``), ``num_layers``, ``epochs``,
    ``batch_size``, ``dev_fraction``, ``test_fraction``, ``seed``, ``train_seed``; recurrent:
    ``embedding_size``, ``hidden_size``; Transformer: ``d_model``, ``num_heads``, ``d_ff``.
  sampling: ``samples``, ``temperature``, ``top_k``, ``max_sample_length``, ``sample_seed``.

    python experiments/char_lm.py --workdir=runs/names
    python experiments/char_lm.py --config.cell=lstm --config.temperature=0.7 --config.top_k=5
    python experiments/char_lm.py --config.cell=transformer --config.num_layers=2
    python experiments/char_lm.py --config.text_file=my_words.txt --config.epochs=40
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, embeddings, models, train

NUMERIC = ("learning_rate", "beta1", "beta2")
CELLS = ("gru", "lstm", "rnn", "transformer")   # the recurrent cells of models.RECURRENT_CELLS, or a Transformer


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 5e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.keep_prob = 0.9
    # structural
    config.names = "both"
    config.text_file = ""
    config.lowercase = True
    config.cell = "gru"
    config.embedding_size = 16
    config.hidden_size = 64
    config.num_layers = 1
    config.d_model = 64
    config.num_heads = 4
    config.d_ff = 128
    config.epochs = 12
    config.batch_size = 64
    config.dev_fraction = 0.1
    config.test_fraction = 0.1
    config.seed = 0
    config.train_seed = 0
    # sampling
    config.samples = 10
    config.temperature = 1.0
    config.top_k = 0
    config.max_sample_length = 20
    config.sample_seed = 0
    return config


class NameData:
    """The split names, the training vocabulary and the token examples of each split."""

    def __init__(self, config):
        if config.text_file:
            sequences = data.load_sequences(config.text_file, lowercase=config.lowercase)
        else:
            sequences = data.load_names(config.names, lowercase=config.lowercase)
        if not (0 < config.dev_fraction < 1 and 0 <= config.test_fraction < 1
                and config.dev_fraction + config.test_fraction < 1):
            raise ValueError(f"dev_fraction and test_fraction must be in (0, 1) and [0, 1) with a sum below 1; "
                             f"got {config.dev_fraction}, {config.test_fraction}")
        order = np.random.default_rng(config.seed).permutation(len(sequences))
        shuffled = [sequences[i] for i in order]
        n_dev = max(1, round(config.dev_fraction * len(shuffled)))
        n_test = round(config.test_fraction * len(shuffled))
        if len(shuffled) - n_dev - n_test < 1:
            raise ValueError(f"{len(shuffled)} sequences leave none to train on after the dev and test splits")
        self.dev, self.test = shuffled[:n_dev], shuffled[n_dev:n_dev + n_test]
        self.train = shuffled[n_dev + n_test:]
        self.vocabulary = embeddings.build_vocabulary([list(s) for s in self.train])
        self.length = length = max(len(s) for s in shuffled) + 1

        def examples(split):
            return data.next_token_examples([embeddings.encode(self.vocabulary, list(s)) for s in split], length)

        self.dataset = data.Dataset(examples(self.train), examples(self.dev),
                                    examples(self.test) if self.test else None)


def make_model(config, vocab_size: int, length: int):
    """The recurrent :class:`dlcourse.models.LanguageModel` or, for ``cell=transformer``, a
    :class:`dlcourse.models.TransformerLM` with positions for ``length`` tokens and the samples."""
    if config.cell not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)}; got {config.cell!r}")
    if config.cell == "transformer":
        return models.TransformerLM(vocab_size, d_model=config.d_model, num_heads=config.num_heads,
                                    num_layers=config.num_layers, d_ff=config.d_ff,
                                    max_length=max(length, config.max_sample_length))
    return models.LanguageModel(vocab_size, embedding_size=config.embedding_size, hidden_size=config.hidden_size,
                                num_layers=config.num_layers, cell=config.cell, pad_id=embeddings.PAD_ID)


def numeric_hparams(config) -> tuple[dict[str, float], dict[str, str]]:
    """The numeric hyperparameters this ``cell`` reads and ``{name: reason}`` of those it does not."""
    hparams = {k: config[k] for k in NUMERIC}
    if config.cell == "transformer":
        return {**hparams, "keep_prob": config.keep_prob}, {}
    return hparams, {"keep_prob": f"cell={config.cell} has no dropout (only cell=transformer reads keep_prob)"}


def build_with_data(config) -> tuple[train.Trainable, models.LanguageModel | models.TransformerLM, NameData]:
    models.check_sampling_settings(config.samples, config.max_sample_length, config.temperature, config.top_k)
    names = NameData(config)
    model = make_model(config, names.vocabulary.size, names.length)
    hparams, unread = numeric_hparams(config)
    trainable = train.supervised(model, names.dataset, optimizer="adam", hparams=hparams,
                                 epochs=config.epochs, batch_size=config.batch_size, loss="softmax",
                                 metrics=("perplexity",), evaluate_train=False, unread=unread)
    return trainable, model, names


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return build_with_data(config)[0]


def sample_names(model, params, vocabulary, config) -> list[str]:
    """``config.samples`` names drawn from the trained model (module docstring)."""
    key, excluded = jax.random.key(config.sample_seed), (embeddings.PAD_ID, embeddings.UNK_ID)
    rows = models.sample_from_language_model(
        model, params, config.samples, key, config.max_sample_length, eos_id=embeddings.EOS_ID,
        pad_id=embeddings.PAD_ID, temperature=config.temperature, top_k=config.top_k or None,
        excluded_tokens=excluded)
    return ["".join(embeddings.decode(vocabulary, row)) for row in rows]


def main(config, workdir):
    trainable, model, names = build_with_data(config)
    epochs = trainable.epochs
    cli.say(f"{len(names.train)} training names, {len(names.dev)} dev, {len(names.test)} test; "
            f"|V| = {names.vocabulary.size}; compiling")
    hparams = {k: float(v) for k, v in numeric_hparams(config)[0].items()}
    seconds = {}

    def on_compiled(compile_seconds):
        seconds["compile"] = compile_seconds
        cli.say(f"compiled in {compile_seconds:.1f}s; training {epochs} epochs")

    def on_epoch(epoch, row, per_epoch):
        seconds["per_epoch"] = per_epoch
        cli.say(train.format_progress(epoch, epochs, row, per_epoch))

    state, metrics = train.babysit(
        trainable, hparams, jax.random.key(config.train_seed), workdir, checkpoint_every=max(1, epochs // 4),
        on_compiled=on_compiled, on_epoch=on_epoch, config=config.to_dict())
    dev = np.asarray(metrics["dev_perplexity"], np.float64)
    summary = {"vocabulary_size": names.vocabulary.size, "uniform_perplexity": float(names.vocabulary.size),
               "train_names": len(names.train), "dev_names": len(names.dev), "test_names": len(names.test),
               "final_dev_perplexity": float(dev[-1]), "best_dev_perplexity": float(np.nanmin(dev)),
               "dev_perplexity": [float(v) for v in dev], "hparams": hparams,
               "parameters": int(sum(np.size(p) for p in jax.tree.leaves(state.params))),
               "compile_seconds": seconds.get("compile"), "seconds_per_epoch": seconds.get("per_epoch")}
    if trainable.test is not None:
        values = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
        test = jax.jit(trainable.test)(state, values)
        summary["test_perplexity"] = float(test["test_perplexity"])
    samples = sample_names(model, state.params, names.vocabulary, config)
    known = set(names.train)
    cli.say(f"dev perplexity {dev[-1]:.3f} (uniform: {names.vocabulary.size}); samples at temperature "
            f"{config.temperature:g}, top-k {config.top_k or 'all'}:")
    for name in samples:
        cli.say(f"  {name}" + ("" if name in known else "   (new)"))
    summary.update(samples=samples, novel_fraction=float(np.mean([s not in known for s in samples])),
                   config=config.to_dict())
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, build, main=main)
