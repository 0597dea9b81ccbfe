"""The store: whole-line appends, damaged last line, resume identity; and the report."""

import json
import os

import pytest

from dlcourse.sweep import (DamagedRecordWarning, LogUniform, OneMinusLogUniform, Choice, Store,
                            axis_plots, leaderboard, learning_curves, reproduce_command)

META = {"experiment": "toy", "spec": "learning_rate=log(0.0001,1)", "search": "random", "seed": 0,
        "trials": 4, "rounds": 1, "config_overrides": {"epochs": 3}, "first_trial_id": 0,
        "chunk": None, "device_count": 4, "process_count": 1, "code_version": "test"}


def _record(i, best, status="ok", lr=0.01):
    curve = [best / 2, best] if status == "ok" else [None, None]
    return {"id": i, "round": 0, "hparams": {"learning_rate": lr, "beta1": 0.9, "optimizer": "adam"},
            "metrics": {"final_dev_metric": best, "best_dev_metric": best if status == "ok" else None,
                        "final_train_metric": best, "final_train_loss": 0.1, "diverged": status != "ok",
                        "epochs_run": 2, "dev_metric": curve, "train_loss": [0.5, 0.1], "train_metric": curve},
            "status": status, "seconds": 0.25}


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
    assert records[2]["metrics"]["final_dev_metric"] is None      # NaN is written as null


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


def test_damaged_middle_line_is_an_error(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    store.append([_record(0, 0.5)])
    with open(tmp_path / "trials.jsonl", "a") as f:
        f.write("garbage\n")
    store.append([_record(1, 0.5)])
    with pytest.raises(ValueError, match="line 2 is damaged"):
        store.records()


def test_a_different_sweep_is_refused_with_a_way_forward(tmp_path):
    store = Store(str(tmp_path))
    store.create(META)
    other = dict(META, spec="learning_rate=log(0.001,1)", seed=1, code_version="other")
    with pytest.raises(ValueError, match=r"different sweep \(spec: .*seed: .*new --workdir.*delete"):
        store.check_resumable(other)
    # The code version is outside the identity: it does not block a resume.
    assert store.check_resumable(dict(META, code_version="other")) is True


@pytest.mark.parametrize("change", [{"chunk": 2}, {"device_count": 1}, {"process_count": 2},
                                    {"chunk": 8, "device_count": 2}])
def test_a_different_chunking_is_refused(tmp_path, change):
    # Chunk size and device/process counts decide which trials share a compiled call, hence results.
    store = Store(str(tmp_path))
    store.create(META)
    with pytest.raises(ValueError) as raised:
        store.check_resumable(dict(META, **change))
    message = str(raised.value)
    assert "different sweep" in message and "new --workdir" in message and "delete" in message
    for key, value in change.items():
        assert f"{key}: stored {META[key]!r}, now {value!r}" in message
    assert "resume with the stored --chunk" in message


def test_leaderboard_orders_best_first_and_counts_diverged():
    records = [_record(0, 0.5), _record(1, 0.9, lr=0.3), _record(2, 0.1, status="diverged"), _record(3, 0.7)]
    table = leaderboard(records, goal="max", metric="accuracy",
                        extra_columns={1: {"avoidable bias": 0.02}})
    lines = table.splitlines()
    assert "best accuracy" in lines[0] and "avoidable bias" in lines[0] and "learning_rate" in lines[0]
    assert [line.split()[1] for line in lines[1:4]] == ["1", "3", "0"]
    assert "0.02" in lines[1]
    assert lines[-1] == "4 trials, 1 diverged"
    assert [line.split()[1] for line in leaderboard(records, goal="min").splitlines()[1:4]] == ["0", "3", "1"]


def test_plots_are_written(tmp_path):
    records = [_record(i, 0.5 + 0.1 * i, lr=10.0 ** -i) for i in range(4)] + [_record(4, 0, "diverged", lr=1.0)]
    spaces = {"learning_rate": LogUniform(1e-4, 1.0), "beta1": OneMinusLogUniform(1e-3, 1e-1),
              "optimizer": Choice(("adam", "sgd"))}
    axis_plots(records, spaces, str(tmp_path / "axis.png"))
    learning_curves(records, "max", str(tmp_path / "curves.png"))
    for name in ("axis.png", "curves.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_reproduce_command_pins_key_and_values():
    command = reproduce_command(_record(7, 0.9, lr=0.0123), "deep_mlp", seed=3,
                                config_overrides={"epochs": 20})
    assert command.startswith("python launch.py --experiment=deep_mlp --sweep=none --trials=1 --seed=3 --trial_id=7")
    assert "--config.epochs=20" in command and "--config.learning_rate=0.0123" in command
    assert "--config.optimizer=adam" in command and "--config.beta1=0.9" in command
