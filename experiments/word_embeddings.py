"""Word embeddings learned from a corpus and evaluated: analogies, similarity, neighbours, a 2-D map.

1. The notes' 4-feature table (Gender, Royal, Age, Food for Man, Woman, King, Queen, Apple,
   Orange): man : woman :: king : ? by argmax_w sim(e_w, e_king − e_man + e_woman), and the word
   nearest to orange.
2. Trains word vectors on a corpus — gensim's shipped Lee news corpus (300 articles, ~60,000
   words; needs ``pip install gensim``) or ``--config.text_file=PATH`` (one document per line) —
   by skip-gram with negative sampling (``method=skipgram``: k negatives from P(w) ∝ f(w)^{3/4},
   subsampling of frequent words) or GloVe (``method=glove``: Σ f(X_ij)(θ_iᵀ e_j + b_i + b′_j −
   log X_ij)², final e = (e + θ)/2). Documents are cut into rows of ``chunk_length`` words (so
   the fixed-shape corpus wastes little padding; windows do not cross a cut).
3. Evaluates them on the standard analogy questions (accuracy by section, semantic and syntactic)
   and on WordSim-353 and SimLex-999 (Spearman's ρ), each **with its coverage**: a question or
   pair with a word outside the vocabulary is skipped and counted as such. A 60,000-word corpus
   covers a few percent of the analogy questions; expect low figures — the program is about the
   method, not a state-of-the-art table.
4. Prints the nearest neighbours of ``neighbour_words`` and saves ``<workdir>/embeddings_pca.png``:
   the ``plot_words`` found in the vocabulary projected on their first two principal components.

Config (flat): ``method`` (skipgram | glove), ``corpus``, ``text_file``, ``min_count``,
``chunk_length``, ``embedding_size``, ``window``, ``epochs``, ``batch_size``, ``learning_rate``,
``negatives``, ``subsampling`` (skip-gram); ``glove_epochs``, ``glove_learning_rate``,
``glove_batch_size``, ``x_max``, ``alpha`` (GloVe); ``neighbour_words``, ``plot_words``
(comma-separated), ``seed``.

    python experiments/word_embeddings.py --workdir=runs/word_embeddings
    python experiments/word_embeddings.py --workdir=runs/glove --config.method=glove
    python experiments/word_embeddings.py --workdir=runs/mine --config.text_file=my_text.txt
"""

from __future__ import annotations

import os
import time

import ml_collections

from dlcourse import cli

METHODS = ("skipgram", "glove")
TABLE_WORDS = ("man", "woman", "king", "queen", "apple", "orange")
#: The notes' featurized representation: a row per word of TABLE_WORDS; columns Gender, Royal, Age, Food.
FEATURE_TABLE = ((-1.00, 0.01, 0.03, 0.09), (1.00, 0.02, 0.02, 0.01), (-0.95, 0.93, 0.70, 0.02),
                 (0.97, 0.95, 0.69, 0.01), (0.00, -0.01, 0.03, 0.95), (0.01, 0.00, -0.02, 0.97))


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.method = "skipgram"
    config.corpus = "lee_background"
    config.text_file = ""
    config.min_count = 2
    config.chunk_length = 64
    config.embedding_size = 50
    config.window = 5
    config.epochs = 10
    config.batch_size = 1024
    config.learning_rate = 0.005
    config.negatives = 5
    config.subsampling = 1e-3
    config.glove_epochs = 40
    config.glove_learning_rate = 0.01
    config.glove_batch_size = 4096
    config.x_max = 10.0
    config.alpha = 0.75
    config.neighbour_words = "government,police,president,war,fire"
    config.plot_words = ("man,woman,men,women,children,government,minister,president,police,army,soldiers,troops,"
                         "war,fire,fires,rain,australia,afghanistan,israel,sydney,monday,tuesday,friday")
    config.seed = 0
    return config


def words_of(text: str) -> list[str]:
    return [word.strip().lower() for word in text.split(",") if word.strip()]


def feature_table_answers() -> dict:
    """The notes' table: man : woman :: king : ?, and the word nearest orange."""
    import numpy as np

    from dlcourse import embeddings

    table = np.asarray(FEATURE_TABLE, np.float32)
    index = {word: i for i, word in enumerate(TABLE_WORDS)}
    answer = embeddings.analogy(table, index["man"], index["woman"], index["king"])
    nearest = embeddings.nearest_words(table, table[index["orange"]][None], 1, exclude=np.array([[index["orange"]]]))
    return {"man:woman::king:?": TABLE_WORDS[int(answer.ids[0, 0])],
            "sim(e_king - e_man + e_woman, e_queen)": round(float(answer.similarities[0, 0]), 4),
            "nearest(orange)": TABLE_WORDS[int(nearest.ids[0, 0])],
            "sim(apple, orange)": round(float(nearest.similarities[0, 0]), 4)}


def corpus_rows(documents, vocabulary, length: int):
    """Documents as ids ``[m, length]`` and mask: each cut into pieces of ``length`` words."""
    import numpy as np

    from dlcourse import embeddings

    pieces = []
    for document in documents:
        ids = embeddings.encode(vocabulary, document)
        pieces.extend(ids[start:start + length] for start in range(0, len(ids), length))
    ids = np.zeros((len(pieces), length), np.int32)
    mask = np.zeros((len(pieces), length), bool)
    for row, piece in enumerate(pieces):
        ids[row, :len(piece)], mask[row, :len(piece)] = piece, True
    return ids, mask


def train_vectors(config, ids, mask, vocab_size: int):
    """E ``[|V|, n_e]`` and the per-epoch losses of the configured method."""
    import jax
    import numpy as np

    from dlcourse import embeddings

    key = jax.random.key(config.seed)
    if config.method == "skipgram":
        model = embeddings.train_skipgram(ids, vocab_size, mask=mask, embedding_size=config.embedding_size,
                                          window=config.window, negatives=config.negatives,
                                          subsampling=config.subsampling, epochs=config.epochs,
                                          batch_size=config.batch_size, learning_rate=config.learning_rate, key=key)
        return np.asarray(model.embeddings), np.asarray(model.losses)
    counts = embeddings.cooccurrence_counts(ids, mask, vocab_size, config.window)
    entries = embeddings.cooccurrence_entries(np.asarray(counts))
    model = embeddings.train_glove(entries, vocab_size, embedding_size=config.embedding_size,
                                   epochs=config.glove_epochs, batch_size=config.glove_batch_size,
                                   x_max=config.x_max, alpha=config.alpha, learning_rate=config.glove_learning_rate,
                                   key=key)
    return np.asarray(model.embeddings), np.asarray(model.losses)


def neighbours(vectors, vocabulary, words: list[str], k: int = 5) -> dict:
    import numpy as np

    from dlcourse import embeddings

    index = vocabulary.index
    known = [word for word in words if word in index]
    if not known:
        return {}
    ids = np.array([index[word] for word in known])
    exclude = np.concatenate([ids[:, None], np.broadcast_to(np.arange(len(embeddings.SPECIAL_TOKENS)),
                                                            (len(ids), len(embeddings.SPECIAL_TOKENS)))], axis=1)
    found = embeddings.nearest_words(vectors, vectors[ids], k, exclude=exclude)
    return {word: [vocabulary.words[int(i)] for i in row] for word, row in zip(known, np.asarray(found.ids))}


def save_pca_plot(path: str, vectors, vocabulary, words: list[str], title: str) -> list[str]:
    """Scatter the known ``words`` on the first two principal components of their vectors; the words drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    index = vocabulary.index
    known = [word for word in words if word in index]
    if len(known) < 3:
        return []
    points = vectors[[index[word] for word in known]]
    centred = points - points.mean(axis=0)
    _, singular_values, directions = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ directions[:2].T
    explained = singular_values[:2] ** 2 / np.sum(singular_values ** 2)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.scatter(projected[:, 0], projected[:, 1], s=12)
    for word, (x, y) in zip(known, projected):
        ax.annotate(word, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=9)
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of the variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%})")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return known


def check(config) -> None:
    if config.method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {config.method!r}")
    if config.text_file and not os.path.isfile(config.text_file):
        raise ValueError(f"text_file={config.text_file!r}: no such file")
    for name in ("min_count", "chunk_length", "embedding_size", "window", "epochs", "batch_size", "glove_epochs",
                 "glove_batch_size"):
        if config[name] < 1:
            raise ValueError(f"{name} must be positive, got {config[name]}")


def main(config, workdir=None) -> dict:
    check(config)
    from dlcourse import data, embeddings

    table = feature_table_answers()
    cli.say(f"the notes' table: man : woman :: king : {table['man:woman::king:?']}; "
            f"nearest to orange: {table['nearest(orange)']} (sim {table['sim(apple, orange)']})")

    documents = data.load_corpus(config.corpus, text_file=config.text_file or None)
    vocabulary = embeddings.build_vocabulary(documents, min_count=config.min_count)
    ids, mask = corpus_rows(documents, vocabulary, config.chunk_length)
    source = config.text_file or config.corpus
    tokens = sum(len(document) for document in documents)
    cli.say(f"{source}: {len(documents)} documents, {tokens:,} words, |V| = {vocabulary.size:,} "
            f"(min_count {config.min_count}, special tokens included), rows {ids.shape[0]} × {ids.shape[1]}")

    start = time.perf_counter()
    vectors, losses = train_vectors(config, ids, mask, vocabulary.size)
    seconds = time.perf_counter() - start
    cli.say(f"{config.method}: n_e = {config.embedding_size}, loss {losses[0]:.4f} → {losses[-1]:.4f} "
            f"in {seconds:.1f} s (compile included)")

    analogies = embeddings.evaluate_analogies(vectors, vocabulary, data.load_analogy_questions()).as_dict()
    cli.say("\nanalogy questions (answered = all four words in the vocabulary; the rest are skipped):")
    rows = [(part, analogies[part]) for part in ("overall", "semantic", "syntactic")]
    rows += [(name, summary) for name, summary in analogies["sections"].items() if summary["answered"]]
    cli.print_table(("questions", "accuracy", "correct", "answered", "total", "coverage"),
                    [(name, f"{s['accuracy']:.3f}", s["correct"], s["answered"], s["total"], f"{s['coverage']:.1%}")
                     for name, s in rows])
    similarity = {name: embeddings.evaluate_similarity(vectors, vocabulary, data.load_similarity_pairs(name)).as_dict()
                  for name in data.SIMILARITY_SETS}
    cli.say("\nsimilarity sets (Spearman's ρ over the covered pairs):")
    cli.print_table(("set", "ρ", "covered", "total", "coverage"),
                    [(name, f"{s['spearman']:.3f}", s["covered"], s["total"], f"{s['coverage']:.1%}")
                     for name, s in similarity.items()])

    nearest = neighbours(vectors, vocabulary, words_of(config.neighbour_words))
    cli.say("\nnearest neighbours (cosine):")
    for word, found in nearest.items():
        cli.say(f"  {word}: {', '.join(found)}")
    missing = [word for word in words_of(config.neighbour_words) if word not in nearest]
    if missing:
        cli.say(f"  not in the vocabulary: {', '.join(missing)}")

    summary = {"method": config.method, "corpus": source, "documents": len(documents), "words": tokens,
               "vocabulary_size": vocabulary.size, "train_seconds": round(seconds, 2),
               "first_loss": float(losses[0]), "final_loss": float(losses[-1]), "feature_table": table,
               "analogies": analogies, "similarity": similarity, "neighbours": nearest}
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        path = os.path.join(workdir, "embeddings_pca.png")
        drawn = save_pca_plot(path, vectors, vocabulary, words_of(config.plot_words),
                              f"{config.method} on {os.path.basename(source)}: 2-D PCA")
        if drawn:
            cli.say(f"\nPCA of {len(drawn)} words: {path}")
        summary["plot_words"] = drawn
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
