"""Face verification: train an encoder, then verify identities it has never seen by a threshold.

Identities are scikit-learn's digits ("0" … "9", images ``image_size`` × ``image_size``) unless
``people`` names a folder ``people/NAME/*.jpg|png`` of a user's own faces (one subfolder per
person, :func:`dlcourse.data.load_people`). The last ``held_out`` identities (digits 7–9 by
default) are held out: the encoder trains on the others' images only, and the held-out ones'
images, halved, give dev pairs and test pairs (``pairs`` "same" and ``pairs`` "different" each).

The encoder (:class:`dlcourse.models.FaceEncoder`: 3×3 conv + max-pool stages of ``features``
channels, a dense layer of ``embedding_size``, L2-normalized) trains through the shared builder
in one of two ``formulation`` s:

- ``triplet``: the triplet loss ``max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)`` with the triplets
  mined in each mini-batch (``mining``: ``batch_hard`` or ``semi_hard``; margin α = ``margin``);
  the builder's dev figure is the nearest-neighbour accuracy on the held-out dev images;
- ``binary``: a siamese network with the logistic unit ``σ(Σ_k w_k |f(x_i)_k − f(x_j)_k| + b)``
  (``similarity``: ``absolute``, or ``chi_square``) on ``train_pairs`` "same" and as many
  "different" pairs of training images, logistic loss; dev accuracy on the dev pairs.

Then one-shot verification: "same" iff the dissimilarity (``‖f(x_i) − f(x_j)‖²``, or ``−z`` for the
binary head's logit) is at most τ, with τ chosen on the dev pairs for the best accuracy, and on
the test pairs the verification accuracy at τ, the ROC AUC and the equal-error rate
(:mod:`dlcourse.faces`). Run alone it writes ``roc.png`` (dev and test ROC curves),
``learning_curve.png`` and ``metrics.jsonl`` into the workdir; swept by ``launch.py`` the same figures
come with each trial's test split. ``learning_rate`` (Adam) is numeric; the rest is structure (the
margin too: the builder's loss receives no traced hyperparameters). The training split is not
re-evaluated after each epoch (``train_loss`` is the epoch's mean cost), which keeps compilation short.

Config (flat): numeric ``learning_rate``; structural ``formulation``, ``mining``, ``margin``,
``similarity``, ``embedding_size``, ``features``, ``image_size``, ``people``, ``held_out``,
``train_pairs``, ``pairs``, ``epochs``, ``batch_size``, ``eval_batch_size``, ``seed``, ``train_seed``.

    python experiments/face_verification.py --workdir=runs/faces
    python experiments/face_verification.py --config.mining=semi_hard --config.margin=0.5
    python experiments/face_verification.py --config.formulation=binary --config.similarity=chi_square
    python experiments/face_verification.py --config.people=~/people --config.image_size=64
"""

from __future__ import annotations

import os
import time
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import cli, data, faces, models, train

FORMULATIONS = ("triplet", "binary")
NUMERIC = ("learning_rate",)


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 3e-3
    # structural
    config.formulation = "triplet"
    config.mining = "batch_hard"
    config.margin = 0.2
    config.similarity = "absolute"
    config.embedding_size = 128
    config.features = (16, 32)
    config.image_size = 16
    config.people = ""
    config.held_out = 3
    config.train_pairs = 2000
    config.pairs = 500
    config.epochs = 10
    config.batch_size = 64
    config.eval_batch_size = 1024
    config.seed = 0
    config.train_seed = 0
    return config


class Verification(NamedTuple):
    """The trainable (its ``test`` adds the verification figures), ``dissimilarities(state) -> (dev [n],
    test [n])`` of the dev and test pairs, their truths, and the identities' names."""

    trainable: train.Trainable
    dissimilarities: Callable
    dev_same: np.ndarray
    test_same: np.ndarray
    names: tuple


def check_config(config) -> None:
    """Raises ``ValueError`` naming the first bad value."""
    if config.formulation not in FORMULATIONS:
        raise ValueError(f"formulation must be one of {FORMULATIONS}, got {config.formulation!r}")
    if config.mining not in faces.MINING:
        raise ValueError(f"mining must be one of {faces.MINING}, got {config.mining!r}")
    if config.similarity not in faces.SIMILARITY_FEATURES:
        raise ValueError(f"similarity must be one of {faces.SIMILARITY_FEATURES}, got {config.similarity!r}")
    if not config.margin >= 0:
        raise ValueError(f"margin must be >= 0, got {config.margin}")
    for name in ("embedding_size", "image_size", "held_out", "train_pairs", "pairs", "epochs", "batch_size"):
        if config[name] < 1:
            raise ValueError(f"{name} must be at least 1, got {config[name]}")
    if not config.features or min(config.features) < 1:
        raise ValueError(f"features must be positive channel counts, got {config.features}")


def load_people(config) -> data.People:
    if config.people:
        return data.load_people(os.path.expanduser(config.people), size=config.image_size)
    return data.load_digits_people(size=config.image_size)


def prepare(config) -> Verification:
    """The data, model and trainable of ``config``, and the dissimilarities of its dev/test pairs."""
    check_config(config)
    people = load_people(config)
    count = len(people.names)
    if config.held_out >= count - 1:
        raise ValueError(f"held_out={config.held_out} of {count} identities leaves fewer than 2 to train on")
    splits = data.split_identities(people, range(count - config.held_out, count), seed=config.seed)
    dev_pairs = faces.sample_pairs(splits.y_dev, config.pairs, seed=config.seed)
    test_pairs = faces.sample_pairs(splits.y_test, config.pairs, seed=config.seed + 1)
    encoder = models.FaceEncoder(embedding_size=config.embedding_size, features=tuple(config.features))
    hparams = {k: config[k] for k in NUMERIC}
    options = dict(optimizer="adam", hparams=hparams, epochs=config.epochs, batch_size=config.batch_size,
                   eval_batch_size=config.eval_batch_size, evaluate_train=False)

    def pair_inputs(x, pairs):
        return (x[pairs.first], x[pairs.second])

    if config.formulation == "triplet":
        model = faces.EncoderWithMask(encoder)
        dataset = data.Dataset(data.Examples(splits.x_train, splits.y_train), data.Examples(splits.x_dev, splits.y_dev),
                               data.Examples(splits.x_test, splits.y_test))
        trainable = train.supervised(model, dataset, loss=faces.triplet_terms(config.mining, config.margin),
                                     metrics=(faces.NEAREST_NEIGHBOUR_ACCURACY,), **options)

        def dissimilarity(state, x, pairs):
            vectors = model.apply({"params": state.params, **state.model_state}, jnp.asarray(x)).vectors
            return faces.pair_distances(vectors[pairs.first], vectors[pairs.second])
    else:
        model = faces.SiameseNetwork(encoder, features=config.similarity)
        train_pairs = faces.sample_pairs(splits.y_train, config.train_pairs, seed=config.seed + 2)
        dataset = data.Dataset(*(data.Examples(pair_inputs(x, pairs), pairs.same.astype(np.float32)) for x, pairs in (
            (splits.x_train, train_pairs), (splits.x_dev, dev_pairs), (splits.x_test, test_pairs))))
        trainable = train.supervised(model, dataset, loss="sigmoid", metrics=("accuracy",), **options)

        def dissimilarity(state, x, pairs):
            inputs = tuple(jnp.asarray(images) for images in pair_inputs(x, pairs))
            return -model.apply({"params": state.params, **state.model_state}, inputs)

    def dissimilarities(state):
        return dissimilarity(state, splits.x_dev, dev_pairs), dissimilarity(state, splits.x_test, test_pairs)

    builder_test = trainable.test

    def test(state, hparams):
        dev, test_ = dissimilarities(state)
        return {**builder_test(state, hparams),
                **faces.verification_figures(dev, dev_pairs.same, test_, test_pairs.same)}

    return Verification(trainable._replace(test=test), dissimilarities, dev_pairs.same, test_pairs.same,
                        people.names)


def build(config) -> train.Trainable:
    return prepare(config).trainable


def main(config, workdir=None) -> dict:
    from dlcourse.train.reporting import to_json_value
    from dlcourse.train.trial import write_epoch_files

    start = time.perf_counter()
    run = prepare(config)
    trainable = run.trainable
    values = trainable.default_hparams()

    def program(values, key):
        state, metrics = trainable.train_with_state(values, key)
        dev, test = run.dissimilarities(state)
        curves = (faces.roc_curve(dev, run.dev_same), faces.roc_curve(test, run.test_same))
        return metrics, trainable.test(state, values), curves

    cli.say(f"face_verification: {config.formulation}"
            f"{' (' + config.mining + ')' if config.formulation == 'triplet' else ''}, held out: "
            f"{', '.join(run.names[-config.held_out:])}; compiling")
    compiled = train.compile_lowered(jax.jit(program).lower(values, jax.random.key(config.train_seed)))
    compile_seconds = time.perf_counter() - start
    cli.say(f"compiled in {compile_seconds:.1f}s; training {trainable.epochs} epochs")
    metrics, test, (dev_curve, test_curve) = jax.block_until_ready(compiled(values, jax.random.key(config.train_seed)))
    summary = {k: to_json_value(np.asarray(v)) for k, v in {**metrics, **test}.items() if np.ndim(v) == 0}
    if workdir:
        write_epoch_files(workdir, {k: to_json_value(np.asarray(v)) for k, v in metrics.items() if np.ndim(v) == 1})
        faces.plot_roc(os.path.join(workdir, "roc.png"), {"dev pairs": dev_curve, "test pairs": test_curve},
                       title=f"verification of held-out identities ({config.formulation})")
    summary.update({"hparams": {k: float(v) for k, v in values.items()}, "held_out": list(run.names[-config.held_out:]),
                    "compile_seconds": round(compile_seconds, 3), "seconds": round(time.perf_counter() - start, 3),
                    "config": config.to_dict()})
    cli.print_table(("pairs", "threshold", "accuracy", "ROC AUC", "EER"), [
        ("dev", summary["threshold"], summary["dev_verification_accuracy"], summary["dev_roc_auc"],
         summary["dev_equal_error_rate"]),
        ("test", summary["threshold"], summary["test_verification_accuracy"], summary["test_roc_auc"],
         summary["test_equal_error_rate"])])
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, build, main=main)
