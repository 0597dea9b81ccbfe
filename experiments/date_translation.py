"""Date translation with attention: human-readable dates in many formats and locales → ISO dates (course 5).

Data (:func:`dlcourse.data.make_date_translation`, offline, seeded): ``train_size`` dates drawn by
Faker and written by Babel in ``locales`` with the CLDR patterns of :data:`dlcourse.data.DATE_PATTERNS`
(``"Wednesday, March 25, 1970"``, ``"25 mars 1970"``, ``"25.03.70"`` …) paired with ``"1970-03-25"``;
the dev and test splits hold out their dates (no date of theirs is in the training split, in any form).
Characters are tokens.

Model ``model``:

- ``attention_lstm``: :class:`dlcourse.models.AttentionTranslator`, a bidirectional LSTM encoder
  (``encoder_size`` per direction), Bahdanau attention (``attention_size``, the course's 10), a
  post-attention LSTM (``decoder_size``) fed ``[context⟨t⟩; E y⟨t−1⟩]`` (``feed_previous_output``;
  False: only the context, as the course's assignment) and a softmax over ``-0123456789<EOS>``;
- ``transformer``: :class:`dlcourse.models.Transformer` (``d_model``, ``num_heads``, ``num_layers``,
  ``d_ff``, dropout keeping ``keep_prob``) on the same data.

Both are trained with teacher forcing on ``L = Σ_t L(ŷ⟨t⟩, y⟨t⟩)`` with Adam through
:func:`dlcourse.train.supervised`; the figure per epoch is the dev ``exact_match`` (every character
and ``<EOS>`` right, which on teacher-forced outputs is greedy decoding's accuracy, see
:data:`dlcourse.metrics.EXACT_MATCH`). Run alone the model is babysat (progress, checkpoints, a rerun
resumes), then the dev and test dates are decoded greedily and with beam search (``beam_width``,
``alpha``: :func:`dlcourse.decoding.beam_search`) and the summary reports exact-match accuracy of
each, the beam-search error analysis on the dev set (:func:`dlcourse.decoding.beam_error_analysis`:
per wrong output, ``P(y*|x) > P(ŷ|x)`` blames the search, else the model; its table is printed), and
for ``attention_lstm`` saves ``attention_map.png``: ``α⟨t,t′⟩`` of dev example ``attention_example``
(the output characters of its true ISO date, teacher-forced, against the input characters; where greedy
decoding is right these are its own weights). ``--config.compare=True`` trains both models one
after the other (in ``<workdir>/attention_lstm`` and ``<workdir>/transformer``) and tables accuracy
and time. As a ``launch.py`` experiment ``build`` is the trainable (``learning_rate``, ``beta1``,
``beta2`` and the Transformer's ``keep_prob`` traced; ``model`` and sizes structural; objective
``dev_exact_match``).

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``, ``keep_prob`` (the Transformer's dropout; the
    attention LSTM has none).
  data: ``train_size``, ``dev_size``, ``test_size`` (dev and test the same size share the compiled
    decoders), ``locales`` (comma-separated), ``seed``.
  model: ``model``, ``embedding_size``, ``encoder_size``, ``decoder_size``, ``attention_size``,
    ``target_embedding_size``, ``feed_previous_output``; ``d_model``, ``num_heads``, ``num_layers``,
    ``d_ff``.
  training: ``epochs``, ``batch_size``, ``train_seed``.
  decoding: ``beam_width``, ``alpha``, ``attention_example`` (``-1``: the first dev date written with a
    month name), ``error_rows``; ``compare``.

    python experiments/date_translation.py --workdir=runs/dates
    python experiments/date_translation.py --workdir=runs/dates_tf --config.model=transformer
    python experiments/date_translation.py --workdir=runs/dates_both --config.compare=True
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, decoding, embeddings, metrics, models, train

NUMERIC = ("learning_rate", "beta1", "beta2")   # and keep_prob, read by the Transformer only
MODELS = ("attention_lstm", "transformer")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 5e-3
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.keep_prob = 0.9
    # data
    config.train_size = 10000
    config.dev_size = 1000
    config.test_size = 1000
    config.locales = ",".join(data.DATE_LOCALES)
    config.seed = 0
    # model
    config.model = "attention_lstm"
    config.embedding_size = 16
    config.encoder_size = 32
    config.decoder_size = 64
    config.attention_size = 10
    config.target_embedding_size = 16
    config.feed_previous_output = True
    config.d_model = 64
    config.num_heads = 4
    config.num_layers = 2
    config.d_ff = 128
    # training
    config.epochs = 10
    config.batch_size = 64
    config.train_seed = 0
    # decoding and reports
    config.beam_width = 3
    config.alpha = 0.0
    config.attention_example = -1
    config.error_rows = 10
    config.compare = False
    return config


def load_data(config) -> data.DateTranslation:
    locales = tuple(name.strip() for name in config.locales.split(",") if name.strip())
    return data.make_date_translation(config.train_size, config.dev_size, config.test_size, seed=config.seed,
                                      locales=locales)


def make_model(config, translation: data.DateTranslation):
    source_vocab, target_vocab = translation.source_vocabulary.size, translation.target_vocabulary.size
    if config.model == "attention_lstm":
        return models.AttentionTranslator(
            source_vocab, target_vocab, embedding_size=config.embedding_size, encoder_size=config.encoder_size,
            decoder_size=config.decoder_size, attention_size=config.attention_size,
            target_embedding_size=config.target_embedding_size, feed_previous_output=bool(config.feed_previous_output))
    if config.model == "transformer":
        longest = max(translation.dataset.train.inputs.source.shape[1], translation.dataset.train.targets.shape[1])
        return models.Transformer(source_vocab, target_vocab, d_model=config.d_model, num_heads=config.num_heads,
                                  num_layers=config.num_layers, d_ff=config.d_ff, max_length=longest)
    raise ValueError(f"model must be one of {MODELS}; got {config.model!r}")


def numeric_hparams(config) -> tuple[dict, dict]:
    """The traced hyperparameters this model reads, and ``{name: reason}`` of those it does not."""
    hparams = {k: config[k] for k in NUMERIC}
    if config.model == "transformer":
        return {**hparams, "keep_prob": config.keep_prob}, {}
    return hparams, {"keep_prob": f"model={config.model} has no dropout (only model=transformer reads keep_prob)"}


def check_decoding(config) -> None:
    """Refuses decoding settings before anything trains."""
    if not isinstance(config.beam_width, int) or config.beam_width < 1:
        raise ValueError(f"beam_width must be a positive int; got {config.beam_width!r}")
    if not config.alpha >= 0:
        raise ValueError(f"alpha must be >= 0; got {config.alpha!r}")
    if config.error_rows < 0 or config.attention_example < -1:
        raise ValueError(f"error_rows must be >= 0 and attention_example >= -1; got {config.error_rows}, "
                         f"{config.attention_example}")


def build_with_data(config):
    check_decoding(config)
    translation = load_data(config)
    model = make_model(config, translation)
    hparams, unread = numeric_hparams(config)
    trainable = train.supervised(model, translation.dataset, optimizer="adam", hparams=hparams, epochs=config.epochs,
                                 batch_size=config.batch_size, loss="softmax",
                                 metrics=(metrics.EXACT_MATCH, "accuracy"), evaluate_train=False, unread=unread)
    return trainable, model, translation


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return build_with_data(config)[0]


TARGET_LENGTH = 11  # YYYY-MM-DD and <EOS>


def split_decoder(model, config):
    """One jitted program ``(params, examples, α) -> {...}`` for a split (dev and test of one size share
    it): greedy and beam tokens, ``log P(ŷ|x)`` and ``T_ŷ`` of the best beam, ``log P(y*|x)`` of the
    true date, and (attention LSTM) the teacher-forced ``α⟨t,t′⟩`` on the true date."""
    excluded = (embeddings.PAD_ID, embeddings.UNK_ID, data.SOS_ID)

    def run(params, examples, alpha):
        inputs, variables = examples.inputs, {"params": params}
        if isinstance(model, models.AttentionTranslator):
            step, state = models.translator_decoding(model, variables, inputs.source, inputs.source_mask)
            logits, attention = model.apply(variables, inputs, return_attention=True)
        else:
            step, state = models.transformer_decoding(model, variables, inputs.source, inputs.source_mask,
                                                      TARGET_LENGTH)
            logits, attention = model.apply(variables, inputs), None
        first = jnp.full(inputs.source.shape[0], data.SOS_ID, jnp.int32)
        greedy = decoding.greedy_decode(step, state, first, TARGET_LENGTH, embeddings.EOS_ID, excluded_tokens=excluded)
        beams = decoding.beam_search(step, state, first, TARGET_LENGTH, embeddings.EOS_ID,
                                     beam_width=config.beam_width, alpha=alpha, excluded_tokens=excluded)
        return {"greedy": greedy.tokens, "beam": beams.tokens[:, 0], "beam_log_p": beams.log_probability[:, 0],
                "beam_length": beams.mask[:, 0].sum(-1), "attention": attention,
                "truth_log_p": decoding.sequence_log_probability(logits, examples.targets, examples.mask)}

    return jax.jit(run)


def decode_texts(vocabulary, rows) -> list[str]:
    return [data.decode_characters(vocabulary, row) for row in np.asarray(rows)]


def plot_attention(path: str, weights: np.ndarray, source: str, output: str, truth: str) -> None:
    """``α⟨t,t′⟩`` as an image: the true date's characters and ``<EOS>`` (rows) against the input
    characters (columns); the title gives the greedy output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(truth) + [embeddings.EOS]
    weights = weights[:len(rows), :len(source)]
    fig, ax = plt.subplots(figsize=(0.32 * len(source) + 2.0, 0.32 * len(rows) + 1.6))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), [c if c != " " else "␣" for c in source], fontsize=9)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    ax.set_xlabel("input character t′")
    ax.set_ylabel("output character t")
    ax.set_title(f"α⟨t,t′⟩: {source!r} → {truth!r}" + (" (greedy: the same)" if output == truth
                                                       else f" (greedy: {output!r})"), fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fraction(value: float):
    return None if np.isnan(value) else float(value)


def evaluate(config, model, params, translation, workdir) -> dict:
    """Greedy and beam exact match on dev and test, the error analysis on dev, the attention map."""
    program = split_decoder(model, config)
    vocabulary = translation.target_vocabulary
    splits = {"dev": (translation.dev, translation.dataset.dev)}
    if translation.test is not None:
        splits["test"] = (translation.test, translation.dataset.test)
    summary, outputs = {}, {}
    for name, (pairs, examples) in splits.items():
        start = time.perf_counter()
        out = jax.tree.map(np.asarray, program(params, examples, jnp.float32(config.alpha)))
        out["greedy_texts"], out["beam_texts"] = decode_texts(vocabulary, out["greedy"]), decode_texts(
            vocabulary, out["beam"])
        summary[f"{name}_greedy_accuracy"] = float(np.mean([g == t for g, t in zip(out["greedy_texts"], pairs.iso)]))
        summary[f"{name}_beam_accuracy"] = float(np.mean([b == t for b, t in zip(out["beam_texts"], pairs.iso)]))
        summary[f"{name}_decoding_seconds"] = round(time.perf_counter() - start, 3)
        outputs[name] = out
    dev_pairs, dev = splits["dev"]
    out = outputs["dev"]
    correct = np.array([b == t for b, t in zip(out["beam_texts"], dev_pairs.iso)])
    analysis = decoding.beam_error_analysis(out["truth_log_p"], out["beam_log_p"], correct, alpha=config.alpha,
                                            truth_length=np.sum(dev.mask, axis=1), output_length=out["beam_length"])
    table = decoding.format_beam_error_analysis(
        analysis, [(f"{h} → {t}", b) for h, t, b in zip(dev_pairs.human, dev_pairs.iso, out["beam_texts"])],
        max_rows=config.error_rows)
    summary["beam_error_analysis"] = {"errors": analysis.errors, "beam_errors": analysis.beam_errors,
                                      "model_errors": analysis.model_errors,
                                      "beam_fraction": _fraction(analysis.beam_fraction),
                                      "model_fraction": _fraction(analysis.model_fraction)}
    summary["beam_error_table"] = table.splitlines()
    index = config.attention_example
    if index == -1:   # the first dev date written with a month name, else the first
        index = next((i for i, text in enumerate(dev_pairs.human) if any(c.isalpha() for c in text)), 0)
    if not 0 <= index < len(dev_pairs.iso):
        raise ValueError(f"attention_example must index the {len(dev_pairs.iso)} dev dates (or be -1); got {index}")
    summary["example"] = {"human": dev_pairs.human[index], "iso": dev_pairs.iso[index],
                          "greedy": out["greedy_texts"][index], "beam": out["beam_texts"][index]}
    if out["attention"] is not None and workdir:
        path = os.path.join(workdir, "attention_map.png")
        plot_attention(path, out["attention"][index], dev_pairs.human[index], out["greedy_texts"][index],
                       dev_pairs.iso[index])
        summary["attention_map"] = path
    cli.say(table)
    return summary


def translate(config, workdir) -> dict:
    """Trains ``config.model`` (babysat) and evaluates it; the summary."""
    trainable, model, translation = build_with_data(config)
    epochs = trainable.epochs
    cli.say(f"{config.model}: {len(translation.train.iso)} training dates, {len(translation.dev.iso)} dev, "
            f"{0 if translation.test is None else len(translation.test.iso)} test; |V_x| = "
            f"{translation.source_vocabulary.size}, T_x = {translation.dataset.train.inputs.source.shape[1]}; "
            f"e.g. {translation.train.human[0]!r} → {translation.train.iso[0]!r}; compiling")
    hparams = {k: float(v) for k, v in numeric_hparams(config)[0].items()}
    timing = {"compile": 0.0, "per_epoch": 0.0}

    def compiled(seconds):
        timing["compile"] = seconds
        cli.say(f"compiled in {seconds:.1f}s; training {epochs} epochs")

    def progress(epoch, row, per_epoch):
        timing["per_epoch"] = per_epoch
        cli.say(train.format_progress(epoch, epochs, row, per_epoch))

    state, curves = train.babysit(trainable, hparams, jax.random.key(config.train_seed), workdir,
                                   checkpoint_every=max(1, epochs // 3), on_compiled=compiled, on_epoch=progress,
                                   config=config.to_dict())
    dev = np.asarray(curves["dev_exact_match"], np.float64)
    parameters = sum(int(np.size(leaf)) for leaf in jax.tree.leaves(state.params))
    summary = {"model": config.model, "parameters": parameters, "source_vocabulary": translation.source_vocabulary.size,
               "source_length": int(translation.dataset.train.inputs.source.shape[1]),
               "final_dev_exact_match": float(dev[-1]), "best_dev_exact_match": float(np.nanmax(dev)),
               "dev_exact_match": [float(v) for v in dev], "compile_seconds": round(timing["compile"], 3),
               "train_seconds": round(timing["per_epoch"] * epochs, 3), "hparams": hparams}
    summary.update(evaluate(config, model, state.params, translation, workdir))
    cli.say(f"{config.model}: dev exact match greedy {summary['dev_greedy_accuracy']:.4f}, beam (B = "
            f"{config.beam_width}) {summary['dev_beam_accuracy']:.4f}; e.g. {summary['example']['human']!r} → "
            f"{summary['example']['greedy']!r}")
    return summary


def main(config, workdir):
    if config.model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}; got {config.model!r}")
    if not config.compare:
        return dict(translate(config, workdir), config=config.to_dict())
    cases = {}
    for name in MODELS:
        case = ml_collections.ConfigDict(config.to_dict())
        case.model = name
        cases[name] = translate(case, os.path.join(workdir, name) if workdir else None)
    columns = ("parameters", "dev_greedy_accuracy", "dev_beam_accuracy", "test_greedy_accuracy",
               "compile_seconds", "train_seconds")
    cli.print_table(("model",) + columns, [(name, *(case.get(c) for c in columns)) for name, case in cases.items()])
    return {"cases": cases, "config": config.to_dict()}


if __name__ == "__main__":
    cli.run_experiment(get_config, build, main=main)
