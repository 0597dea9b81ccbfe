"""The store: whole-line appends, damaged records, the resume identity, start over; and the report."""

import errno
import json
import os

import pytest

from dlcourse.metrics import ACCURACY, ERROR, PERPLEXITY
from dlcourse.sweep import Choice, DamagedRecordWarning, LogUniform, Objective, OneMinusLogUniform, Store, report

META = {"experiment": "toy", "experiment_source": "aaa", "library": "bbb",
        "config_defaults": {"epochs": 6, "learning_rate": 0.1},
        "spec": "learning_rate=log(0.0001,1)", "search": "random", "seed": 0,
        "trials": 4, "rounds": 1, "config_overrides": {"epochs": 3}, "first_trial_id": 0,
        "chunk": None, "device_count": 4, "process_count": 1, "code_version": "test",
        "objective": {"name": "accuracy", "goal": "max", "low": 0.0, "high": 1.0, "fraction": "correct"}}


def _record(i, best, status="ok", lr=0.01, divergence=None):
    curve = [best / 2, best] if status == "ok" else [None, None]
    record = {"id": i, "round": 0, "hparams": {"learning_rate": lr, "beta1": 0.9, "optimizer": "adam"},
              "metrics": {"final_dev_accuracy": best, "best_dev_accuracy": best if status == "ok" else None,
                          "final_train_accuracy": best, "final_train_loss": 0.1, "diverged": status != "ok",
                          "exploded": divergence == "exploded", "epochs_run": 2, "dev_accuracy": curve,
                          "train_loss": [0.5, 0.1], "train_accuracy": curve},
              "status": status, "seconds": 0.25}
    if divergence:
        record["divergence"] = divergence
    return record


def test_nothing_is_written_before_create(tmp_path):
    store = Store(str(tmp_path / "run"))
    assert store.check_resumable(META) is False
    assert store.records() == [] and not os.path.exists(tmp_path / "run")
    store.create(META)
    assert json.loads((tmp_path / "run" / "sweep.json").read_text()) == META
    assert store.check_resumable(META) is True


def test_append_writes_whole_lines_and_reads_back(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5), _record(1, 0.7)])
    store.append([_record(2, float("nan"), status="diverged")])
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["id"] == i for i, line in enumerate(lines))
    records = store.records()
    assert records[1] == _record(1, 0.7)
    assert records[2]["metrics"]["final_dev_accuracy"] is None      # NaN is written as null


def test_a_failed_append_leaves_no_half_record(tmp_path, monkeypatch):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5)])
    before = (tmp_path / "trials.jsonl").read_bytes()
    real_write = os.write

    def disk_full(fd, data):
        real_write(fd, bytes(data[:10]))      # part of the record reaches the file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.append([_record(1, 0.7)])
    monkeypatch.undo()
    assert (tmp_path / "trials.jsonl").read_bytes() == before
    assert [r["id"] for r in store.records()] == [0]


def test_damaged_last_line_is_ignored_with_warning_and_cut_before_appending(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5), _record(1, 0.7)])
    with open(tmp_path / "trials.jsonl", "a") as f:
        f.write('{"id": 2, "round": 0, "hpar')                    # a crash mid-write
    with pytest.warns(DamagedRecordWarning, match="damaged last line 3"):
        assert [r["id"] for r in store.records()] == [0, 1]
    store.repair()
    store.append([_record(2, 0.6)])
    assert [r["id"] for r in store.records()] == [0, 1, 2]


@pytest.mark.parametrize("line, message", [
    ("garbage", "line 2 is damaged"),
    ('{"id": "two", "round": 0, "hparams": {}, "metrics": {}, "status": "ok"}', "'id' must be a non-negative integer"),
    ('{"id": 5, "round": 0, "hparams": [], "metrics": {}, "status": "ok"}', "'hparams' must be an object"),
    ('{"id": 5, "round": 0, "hparams": {}, "metrics": {}, "status": "great"}', "'status' must be 'ok' or 'diverged'"),
    ('[1, 2, 3]', "not a JSON object"),
])
def test_a_damaged_or_foreign_middle_line_is_an_error_naming_it(tmp_path, line, message):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5)])
    with open(tmp_path / "trials.jsonl", "a") as f:
        f.write(line + "\n")
    store.append([_record(1, 0.5)])
    with pytest.raises(ValueError, match=message):
        store.records()


def test_a_repeated_trial_is_an_error(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5), _record(1, 0.6)])
    store.append([_record(1, 0.6)])
    with pytest.raises(ValueError, match="line 3 repeats trial 1"):
        store.records()


@pytest.mark.parametrize("text", ["[1, 2]", '{"spec": "none"}', "{not json", "\xff\xfe"])
def test_a_sweep_json_that_is_not_a_sweep_is_refused(tmp_path, text):
    (tmp_path / "sweep.json").write_text(text, errors="surrogateescape")
    with pytest.raises(ValueError, match="sweep.json is (not a sweep description|unreadable).*--start_over"):
        Store(str(tmp_path)).check_resumable(META)


def test_a_different_sweep_is_refused_with_a_way_forward(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    other = dict(META, spec="learning_rate=log(0.001,1)", seed=1, code_version="other")
    with pytest.raises(ValueError, match=r"different sweep \(spec: .*seed: .*--start_over.*another --workdir"):
        store.check_resumable(other)
    # The code version (for people) is outside the identity; the fingerprints are inside.
    assert store.check_resumable(dict(META, code_version="other")) is True


@pytest.mark.parametrize("change, message", [
    ({"experiment_source": "ccc"}, "the experiment's source changed"),
    ({"library": "ccc"}, "dlcourse's code changed"),
    ({"config_defaults": {"epochs": 20, "learning_rate": 0.1}},
     "the experiment's config defaults changed (epochs: stored 6, now 20)"),
])
def test_records_of_other_code_are_refused_naming_what_differs(tmp_path, change, message):
    store = Store(str(tmp_path))
    store.create(META)
    with pytest.raises(ValueError) as raised:
        store.check_resumable(dict(META, **change))
    assert message in str(raised.value) and "--start_over" in str(raised.value)


@pytest.mark.parametrize("change", [{"chunk": 2}, {"device_count": 1}, {"process_count": 2},
                                    {"chunk": 8, "device_count": 2}])
def test_a_different_chunking_is_refused(tmp_path, change):
    # Chunk size and device/process counts decide which trials share a compiled call, hence results.
    store = Store(str(tmp_path))
    store.create(META)
    with pytest.raises(ValueError) as raised:
        store.check_resumable(dict(META, **change))
    message = str(raised.value)
    assert "different sweep" in message and "--workdir" in message and "--start_over" in message
    for key, value in change.items():
        assert f"{key}: stored {META[key]!r}, now {value!r}" in message
    assert "resume with the stored --chunk" in message


def test_start_over_removes_what_a_sweep_wrote_and_nothing_else(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5)])
    for name in ("leaderboard.txt", "axis_plots.png", "notes.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "trial-0" / "checkpoints").mkdir(parents=True)
    (tmp_path / "trial-data").mkdir()
    store.start_over()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "trial-data"]
    assert store.check_resumable(META) is False


def test_the_objective_round_trips_through_json():
    for metric in (ACCURACY, ERROR, PERPLEXITY):
        objective = Objective.of(metric)
        again = Objective.from_record(json.loads(json.dumps(objective.record())))
        assert again == objective and again.goal == metric.goal and again.fraction == metric.fraction


def test_leaderboard_names_the_objective_orders_best_first_and_counts_divergence():
    records = [_record(0, 0.5), _record(1, 0.9, lr=0.3), _record(2, 0.1, status="diverged", divergence="exploded"),
               _record(3, 0.7), _record(4, 0.2, status="diverged", divergence="non-finite")]
    table = report.leaderboard(records, ACCURACY, extra_columns={1: {"avoidable bias": 0.02}})
    lines = table.splitlines()
    assert "best dev accuracy" in lines[0] and "avoidable bias" in lines[0] and "learning_rate" in lines[0]
    assert [line.split()[1] for line in lines[1:4]] == ["1", "3", "0"]
    assert "0.02" in lines[1]
    assert lines[-1] == ("5 trials, 2 diverged (1 by an exploding loss); ranked by best dev accuracy "
                         "(higher is better)")
    error = [dict(r, metrics={k.replace("accuracy", "error"): v for k, v in r["metrics"].items()}) for r in records]
    assert [line.split()[1] for line in report.leaderboard(error, ERROR).splitlines()[1:4]] == ["0", "3", "1"]


def test_bias_and_variance_columns_need_an_error_rate():
    records = [_record(0, 0.9), _record(1, 0.8)]
    columns, text = report.bias_variance_columns(records, ACCURACY, human_error=0.05)
    assert columns[0] == {"avoidable bias": pytest.approx(0.05), "variance": pytest.approx(0.0)}
    assert text.startswith("best trial 0:")
    with pytest.raises(ValueError, match="--human_error needs an objective that is an error rate.*perplexity"):
        report.bias_variance_columns(records, PERPLEXITY, human_error=0.05)


def test_plots_are_written(tmp_path):
    records = [_record(i, 0.5 + 0.1 * i, lr=10.0 ** -i) for i in range(4)] + [_record(4, 0, "diverged", lr=1.0)]
    spaces = {"learning_rate": LogUniform(1e-4, 1.0), "beta1": OneMinusLogUniform(1e-3, 1e-1),
              "optimizer": Choice(("adam", "sgd"))}
    report.axis_plots(records, spaces, str(tmp_path / "axis.png"), ACCURACY)
    report.learning_curves(records, ACCURACY, str(tmp_path / "curves.png"))
    for name in ("axis.png", "curves.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_reproduce_command_pins_key_and_values_and_has_a_workdir_of_its_own():
    command = report.reproduce_command(_record(7, 0.9, lr=0.0123), "experiments/deep_mlp.py", seed=3,
                                       workdir="runs/sweep/", config_overrides={"epochs": 20})
    assert command.startswith("python launch.py --config=experiments/deep_mlp.py --sweep=none --trials=1 "
                              "--seed=3 --trial_id=7")
    assert "--config.epochs=20" in command and "--config.learning_rate=0.0123" in command
    assert "--config.optimizer=adam" in command and "--config.beta1=0.9" in command
    assert command.endswith("--workdir=runs/sweep/best-trial-7")
