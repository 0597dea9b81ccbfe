"""Benchmark: skip-gram with negative sampling, dlcourse against gensim's ``Word2Vec``: words/s and quality.

Both sides train on the same documents (gensim's Lee corpus as ``experiments/word_embeddings.py``
loads it, or ``--text-file``: the same token lists go to both), with the same vocabulary rule
(``--min-count``), dimension n_e, window (both draw each position's window width from 1..window),
k negatives from P(w) ∝ f(w)^{3/4}, subsampling threshold (the word2vec formula, 1e-3) and epochs:

- **dlcourse**: :func:`dlcourse.embeddings.train_skipgram` on the documents cut into rows of the
  experiment's ``chunk_length`` words, Adam at the experiment's learning rate on mini-batches of
  ``--batch-size`` pairs, all epochs in one compiled program; ``--optimizer sgd``: its sparse SGD
  instead (word2vec's rule, rate decaying linearly from gensim's 0.025, ``--learning-rate`` to
  change it). A run: vocabulary, rows, training, host read of E.
- **gensim**: ``Word2Vec(sg=1, hs=0, negative=k, sample=1e-3, ...)`` with its own optimizer (plain
  SGD pair by pair, α decaying linearly from 0.025 to 0.0001) in ``--gensim-workers`` threads (its
  optimized C loop). A run: the constructor (vocabulary and training).

The optimizers differ (each side's own default), so the quality columns compare what each
produces from the same data and budget of epochs, not identical arithmetic.

words/s = corpus words × epochs / median seconds of a run (gensim's own convention counts raw
words, before subsampling). dlcourse's compile is reported apart (its first run; the timed runs
reuse the program). Each repetition runs both sides once, interleaved, the order rotating, after
one untimed warm-up each.

Quality, computed by the same code for both (:mod:`dlcourse.embeddings.evaluation`, vectors used
as they are, gensim's rows looked up by word): analogy accuracy over ``questions-words.txt`` with
its coverage (questions with an out-of-vocabulary word are skipped), and Spearman's ρ on
WordSim-353 and SimLex-999 with coverage. Both sides keep the same words, so coverage is equal.
On the 60,000-word Lee corpus every quality figure is small and noisy (few questions answered);
a larger ``--text-file`` makes the comparison meaningful.

**Whole process** (``--whole-process``): one fresh Python process per side, spawn to exit (imports,
reading the corpus, vocabulary, training; dlcourse compiles with JAX's persistent cache off), the
median of ``--process-repeats`` processes per side, the sides alternating.

XLA uses every core; gensim ``--gensim-workers`` threads (default: the core count). On a busy
machine both slow down unevenly; compare on an idle one.

    python bench/embeddings.py [--epochs 10] [--dim 50] [--window 5] [--negatives 5] [--min-count 2]
                               [--repeats 3] [--gensim-workers N] [--text-file PATH] [--whole-process]
                               [--optimizer adam|sgd] [--learning-rate R]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from bench import timing  # noqa: E402


def _load_program(name: str):
    """An experiment program's module by path (``main=`` programs have no ``build`` for ``load_experiment``)."""
    spec = importlib.util.spec_from_file_location(f"experiments_{name}", REPO / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


word_embeddings = _load_program("word_embeddings")
SUBSAMPLING = 1e-3
GENSIM_LEARNING_RATE = 0.025


def load_documents(args) -> list[list[str]]:
    from dlcourse import data

    return data.load_corpus(text_file=args.text_file)


def train_dlcourse(documents, args, seed: int):
    """(vocabulary, E as numpy) of one dlcourse run."""
    import jax

    from dlcourse import embeddings

    config = word_embeddings.get_config()
    vocabulary = embeddings.build_vocabulary(documents, min_count=args.min_count)
    ids, mask = word_embeddings.corpus_rows(documents, vocabulary, config.chunk_length)
    sgd = args.optimizer == "sgd"
    learning_rate = args.learning_rate or (GENSIM_LEARNING_RATE if sgd else config.learning_rate)
    model = embeddings.train_skipgram(ids, vocabulary.size, mask=mask, embedding_size=args.dim, window=args.window,
                                      negatives=args.negatives, subsampling=SUBSAMPLING, epochs=args.epochs,
                                      batch_size=args.batch_size, optimizer="sgd" if sgd else None,
                                      learning_rate=learning_rate, key=jax.random.key(seed))
    return vocabulary, np.asarray(model.embeddings)


def train_gensim(documents, args, seed: int):
    """The trained gensim ``Word2Vec`` of one run."""
    from gensim.models import Word2Vec

    return Word2Vec(sentences=documents, vector_size=args.dim, window=args.window, min_count=args.min_count, sg=1,
                    hs=0, negative=args.negatives, sample=SUBSAMPLING, epochs=args.epochs,
                    workers=args.gensim_workers, seed=seed + 1)


def gensim_as_table(model):
    """gensim's vectors as a dlcourse vocabulary (special tokens first, zero rows) and E."""
    from dlcourse import embeddings

    words = tuple(model.wv.index_to_key)
    counts = np.array([0, 0, 0] + [model.wv.get_vecattr(word, "count") for word in words], np.int64)
    vectors = np.concatenate([np.zeros((3, model.wv.vector_size), np.float32), model.wv.vectors])
    return embeddings.Vocabulary(embeddings.SPECIAL_TOKENS + words, counts), vectors


def quality(vocabulary, vectors) -> dict:
    from dlcourse import data, embeddings

    analogies = embeddings.evaluate_analogies(vectors, vocabulary, data.load_analogy_questions()).summary()
    result = {"analogy": analogies["accuracy"], "answered": analogies["answered"], "questions": analogies["total"]}
    for name in data.SIMILARITY_SETS:
        scores = embeddings.evaluate_similarity(vectors, vocabulary, data.load_similarity_pairs(name))
        result[name] = scores.spearman
        result[f"{name}_coverage"] = f"{scores.covered}/{scores.total}"
    return result


def one_side(args) -> int:
    """A whole-process run: read the corpus, train once, exit."""
    documents = load_documents(args)
    if args.side == "dlcourse":
        train_dlcourse(documents, args, seed=0)
    else:
        train_gensim(documents, args, seed=0)
    return 0


def whole_process(args) -> list[list[str]]:
    rate = ["--learning-rate", str(args.learning_rate)] if args.learning_rate else []
    common = ["--optimizer", args.optimizer, *rate, "--epochs", str(args.epochs), "--dim", str(args.dim), "--window",
              str(args.window), "--negatives", str(args.negatives), "--min-count", str(args.min_count), "--batch-size",
              str(args.batch_size), "--gensim-workers", str(args.gensim_workers)] + (
                  ["--text-file", args.text_file] if args.text_file else [])
    env = dict(os.environ, DLCOURSE_COMPILATION_CACHE="none", JAX_ENABLE_COMPILATION_CACHE="false")
    seconds = {"dlcourse": [], "gensim": []}
    for repeat in range(args.process_repeats):
        for side in (("dlcourse", "gensim") if repeat % 2 == 0 else ("gensim", "dlcourse")):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--side", side, *common], capture_output=True, text=True,
                                  env=env, cwd=str(REPO))
            seconds[side].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{side} process failed:\n{done.stderr[-2000:]}")
    print(f"# whole process: dlcourse {', '.join(f'{t:.1f}' for t in seconds['dlcourse'])} s; gensim "
          f"{', '.join(f'{t:.1f}' for t in seconds['gensim'])} s", flush=True)
    ours, theirs = timing.median(seconds["dlcourse"]), timing.median(seconds["gensim"])
    return [["skip-gram, negative sampling", f"{ours:.1f}", f"{theirs:.1f}", f"{theirs / ours:.2f}"]]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dim", type=int, default=50, help="embedding size n_e")
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negatives", type=int, default=5, help="k negatives per pair")
    parser.add_argument("--min-count", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=1024, help="dlcourse's pairs per step")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="dlcourse's optimizer: Adam (dense) or word2vec's sparse SGD with a decaying rate")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="dlcourse's rate (default: the experiment's for Adam, 0.025 for SGD)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (median reported)")
    parser.add_argument("--gensim-workers", type=int, default=os.cpu_count() or 1, help="gensim's threads")
    parser.add_argument("--text-file", default=None, help="a corpus of one document per line (default: Lee)")
    parser.add_argument("--whole-process", action="store_true", help="also time fresh processes, spawn to exit")
    parser.add_argument("--process-repeats", type=int, default=3, help="processes per side")
    parser.add_argument("--side", choices=("dlcourse", "gensim"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("epochs", "dim", "window", "negatives", "min_count", "batch_size", "repeats", "gensim_workers",
                 "process_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.side:
        return one_side(args)
    try:
        import gensim
    except ImportError:
        print("gensim is not installed: nothing to compare against (pip install gensim)", file=sys.stderr)
        return 3
    import jax

    documents = load_documents(args)
    words = sum(len(document) for document in documents)
    print(f"# skip-gram with negative sampling on {args.text_file or 'lee_background'}: {len(documents)} documents, "
          f"{words:,} words; n_e {args.dim}, window {args.window}, k {args.negatives}, subsampling {SUBSAMPLING}, "
          f"min_count {args.min_count}, {args.epochs} epochs")
    optimizer = "sparse SGD" if args.optimizer == "sgd" else "Adam"
    print(f"# JAX {jax.__version__} on {timing.jax_device_text()} (dlcourse: {optimizer}, batch {args.batch_size}); "
          f"gensim {gensim.__version__} ({args.gensim_workers} workers, SGD α 0.025 → 0.0001)")
    print(f"# machine: {timing.machine_text()}; 1 warm-up + {args.repeats} interleaved repeats, medians", flush=True)

    clock = timing.CompileClock()
    start = time.perf_counter()
    train_dlcourse(documents, args, seed=0)
    first_seconds, compile_seconds = time.perf_counter() - start, clock.seconds
    train_gensim(documents, args, seed=0)
    seeds = iter(range(1, 10 * args.repeats + 10))
    methods = {"dlcourse": lambda: train_dlcourse(documents, args, next(seeds)),
               "gensim": lambda: train_gensim(documents, args, next(seeds))}
    times, last = timing.run_interleaved(methods, args.repeats)
    rates = {name: words * args.epochs / timing.median(seconds) for name, seconds in times.items()}
    ours, theirs = quality(*last["dlcourse"]), quality(*gensim_as_table(last["gensim"]))
    print(f"# dlcourse: first run {first_seconds:.1f} s, of which compile {compile_seconds:.1f} s")
    print()
    ratio = rates["dlcourse"] / rates["gensim"]
    rows = [["words/s", f"{rates['dlcourse']:,.0f}", f"{rates['gensim']:,.0f}", f"{ratio:.2f}"],
            ["seconds per run", f"{timing.median(times['dlcourse']):.2f}", f"{timing.median(times['gensim']):.2f}",
             ""],
            ["analogy accuracy", f"{ours['analogy']:.3f}", f"{theirs['analogy']:.3f}",
             f"answered {ours['answered']} / {theirs['answered']} of {ours['questions']}"]]
    for name in ("wordsim353", "simlex999"):
        rows.append([f"{name} Spearman ρ", f"{ours[name]:.3f}", f"{theirs[name]:.3f}",
                     f"covered {ours[name + '_coverage']} / {theirs[name + '_coverage']}"])
    print(timing.table(["in process", "dlcourse", "gensim", "dlcourse / gensim (speed), coverage"], rows))
    print("\nwords/s above 1: dlcourse is faster; compile excluded; quality from each side's last timed run")
    if args.whole_process:
        print()
        print(timing.table(["whole process", "dlcourse s", "gensim s", "gensim s / dlcourse s"], whole_process(args)))
        print("\nseconds = one fresh process, spawn to exit (imports, corpus, vocabulary, compile, training); above 1: "
              "dlcourse is faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
