"""A recorded trial retrained alone: the same run as in the sweep, and its per-class dev errors."""

import numpy as np
import pytest

from dlcourse.metrics import ACCURACY
from dlcourse.strategy import per_class_error_table
from dlcourse.sweep import error_analysis, parse_spec, reproduction_gap, retrain, run_sweep
from dlcourse.sweep.report import ranked
from tests.sweep import toy_experiment as toy


@pytest.fixture(scope="module")
def sweep():
    config = toy.get_config()
    config.epochs = 3
    spaces = parse_spec("learning_rate=log(1e-2,1),features=choice(linear,square)")
    records = run_sweep(toy.build, config, spaces, search="grid", trials=4, seed=7, chunk=4)
    return config, records


@pytest.fixture(scope="module")
def by_hand(sweep):
    """For a record: dev labels and ``1[σ(x w + b) > 0.5]`` from its retrained parameters, in NumPy."""
    config, _ = sweep
    cache = {}

    def compute(record):
        if record["id"] not in cache:
            structured = config.copy_and_resolve_references()
            structured.features = record["hparams"]["features"]
            trained = retrain(toy.build, config, record, seed=7)
            _, (x_dev, y_dev) = toy._data(structured)
            params, _, _ = trained.state
            z = np.asarray(x_dev, np.float64) @ np.asarray(params["w"], np.float64) + float(params["b"])
            cache[record["id"]] = np.asarray(y_dev).astype(int), (z > 0).astype(int), trained
        return cache[record["id"]]

    return compute


def test_retrained_trials_reproduce_their_records_in_both_structures(sweep, by_hand):
    config, records = sweep
    best = ranked(records, ACCURACY)[0]
    other = next(r for r in records if r["hparams"]["features"] != best["hparams"]["features"])
    for record in (best, other):
        labels, predictions, trained = by_hand(record)
        assert trained.trainable.hparams["l2"] == config.l2  # numeric values not swept: the defaults
        assert reproduction_gap(record, trained.metrics) <= 1e-5, record["id"]
        assert np.mean(labels == predictions) == pytest.approx(record["metrics"]["final_dev_accuracy"], abs=1e-6)


def test_error_analysis_of_the_best_trial_matches_an_independent_table(sweep, by_hand):
    config, records = sweep
    best = ranked(records, ACCURACY)[0]
    analysis = error_analysis(toy.build, config, best, seed=7)
    labels, predictions, _ = by_hand(best)
    assert analysis.trial_id == best["id"] and analysis.examples == len(labels)
    assert analysis.rows == per_class_error_table(labels, predictions)
    assert analysis.errors == int(np.sum(labels != predictions))
    assert analysis.dev_error == pytest.approx(1 - best["metrics"]["final_dev_accuracy"], abs=1e-6)
    assert analysis.reproduction_gap <= 1e-5


def test_error_analysis_needs_predict(sweep):
    config, records = sweep
    without = lambda c: toy.build(c)._replace(predict=None)  # noqa: E731
    with pytest.raises(ValueError, match="no predict"):
        error_analysis(without, config, records[0], seed=7)


def test_reproduction_gap_counts_nan_against_a_number():
    record = {"metrics": {"final_dev_accuracy": None, "best_dev_accuracy": None, "final_train_accuracy": None,
                          "final_train_loss": None, "dev_accuracy": [None]}}
    nan = {name: np.float32(np.nan) for name in record["metrics"] if name != "dev_accuracy"}
    assert reproduction_gap(record, nan) == 0.0
    assert reproduction_gap(record, {**nan, "final_train_loss": np.float32(0.5)}) == np.inf
