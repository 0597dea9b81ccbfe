"""TensorBoard export, read back from the event files: TFRecord framing and masked CRC32C checked
here, events decoded with tensorboardX's protos; curves, final metrics, the HParams experiment and
sessions compared with the records."""

import os
import struct
import sys

import numpy as np
import pytest

from dlcourse.sweep import Choice, IntRange, LogUniform, OneMinusLogUniform, Trial, make_record
from dlcourse.sweep.tensorboard import FILE_SUFFIX, export_sweep

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
from tensorboardX.proto import api_pb2, plugin_hparams_pb2  # noqa: E402


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """TFRecord's mask: rotate right by 15 bits, add 0xa282ead8 (mod 2³²)."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(path):
    """Every record of a TFRecord file: uint64 length, uint32 masked CRC of the length, payload,
    uint32 masked CRC of the payload (little endian); the payloads as Event protos."""
    data = open(path, "rb").read()
    events, offset = [], 0
    while offset < len(data):
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        assert length_crc == masked_crc(header)
        payload = data[offset + 12:offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        assert len(payload) == length and payload_crc == masked_crc(payload)
        events.append(event_pb2.Event.FromString(payload))
        offset += 16 + length
    return events


def run_events(folder):
    """The events of the one event file in ``folder``."""
    files = [name for name in os.listdir(folder) if "tfevents" in name]
    assert len(files) == 1 and files[0].endswith(FILE_SUFFIX), files
    return read_events(os.path.join(folder, files[0]))


def scalars(events):
    """{tag: [(step, value)]} of the simple values."""
    out = {}
    for event in events:
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def plugin_data(events):
    """{tag: HParamsPluginData} of the hparams plugin summaries."""
    out = {}
    for event in events:
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name == "hparams":
                out[value.tag] = plugin_hparams_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    return out


SPACES = {"learning_rate": LogUniform(1e-4, 1.0), "beta1": OneMinusLogUniform(1e-3, 0.1),
          "optimizer": Choice(("adam", "sgd")), "layers": IntRange(1, 3)}


def _records():
    curves = {0: ([0.6, 0.8, 0.9], [1.2, 0.7, 0.4]), 1: ([0.3, 0.5, 0.4], [2.0, 1.5, 1.4]),
              2: ([0.2, np.nan, np.nan], [3.0, np.nan, np.nan])}
    hparams = {0: {"learning_rate": 0.01, "beta1": 0.95, "optimizer": "adam", "layers": 2},
               1: {"learning_rate": 0.002, "beta1": 0.99, "optimizer": "sgd", "layers": 3},
               2: {"learning_rate": 0.9, "beta1": 0.91, "optimizer": "adam", "layers": 1}}
    records = []
    for i, (dev, loss) in curves.items():
        dev, loss = np.asarray(dev, np.float32), np.asarray(loss, np.float32)
        metrics = {"dev_accuracy": dev, "train_loss": loss, "best_dev_accuracy": np.nanmax(dev) if i < 2 else np.nan,
                   "final_dev_accuracy": dev[-1], "final_train_loss": loss[-1], "diverged": np.asarray(i == 2),
                   "exploded": np.asarray(False), "epochs_run": np.asarray(3)}
        records.append(make_record(Trial(i, 0, hparams[i]), metrics, seconds=1.5))
    return records


def test_curves_final_metrics_and_hparams_read_back(tmp_path):
    records = _records()
    export_sweep(records, SPACES, "accuracy", str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted([name for name in os.listdir(tmp_path) if "tfevents" in name]
                                                  + ["trial-0", "trial-1", "trial-2"])
    experiment = plugin_data(run_events(tmp_path))["_hparams_/experiment"].experiment
    infos = {info.name: info for info in experiment.hparam_infos}
    assert list(infos) == ["learning_rate", "beta1", "optimizer", "layers"]
    assert (infos["learning_rate"].domain_interval.min_value, infos["learning_rate"].domain_interval.max_value) == (
        pytest.approx(1e-4), pytest.approx(1.0))
    assert (infos["beta1"].domain_interval.min_value, infos["beta1"].domain_interval.max_value) == (
        pytest.approx(0.9), pytest.approx(0.999))
    assert [v.string_value for v in infos["optimizer"].domain_discrete.values] == ["adam", "sgd"]
    assert infos["optimizer"].type == api_pb2.DATA_TYPE_STRING
    assert [v.number_value for v in infos["layers"].domain_discrete.values] == [1, 2, 3]
    metric_tags = [m.name.tag for m in experiment.metric_infos]
    assert metric_tags[:2] == ["hparams/best_dev_accuracy", "hparams/final_dev_accuracy"]
    assert set(metric_tags) == {"hparams/best_dev_accuracy", "hparams/final_dev_accuracy", "hparams/epochs_run",
                                "hparams/final_train_loss"}

    for record in records:
        events = run_events(tmp_path / f"trial-{record['id']}")
        assert events[0].file_version == "brain.Event:2"
        values = scalars(events)
        for name in ("dev_accuracy", "train_loss"):
            expected = [np.nan if v is None else v for v in record["metrics"][name]]
            steps, got = zip(*values[name])
            assert steps == (1, 2, 3)
            np.testing.assert_array_equal(np.float32(got), np.float32(expected))
        for tag in metric_tags:
            name = tag.removeprefix("hparams/")
            (step, value), = values[tag]
            expected = record["metrics"][name]
            assert step == 3
            np.testing.assert_array_equal(np.float32(value), np.float32(np.nan if expected is None else expected))
        sessions = plugin_data(events)
        start = sessions["_hparams_/session_start_info"].session_start_info
        assert {k: v.string_value if k == "optimizer" else v.number_value for k, v in start.hparams.items()} == (
            record["hparams"])
        status = sessions["_hparams_/session_end_info"].session_end_info.status
        assert status == (api_pb2.STATUS_FAILURE if record["status"] == "diverged" else api_pb2.STATUS_SUCCESS)
    assert records[2]["status"] == "diverged"


def test_exporting_twice_replaces_the_export_and_keeps_other_files(tmp_path):
    records = _records()
    export_sweep(records, SPACES, "accuracy", str(tmp_path))
    (tmp_path / "trial-0" / "checkpoint.msgpack").write_bytes(b"state")
    (tmp_path / "events.out.tfevents.1.other").write_bytes(b"")
    first = {folder: len(run_events(tmp_path / folder)) for folder in ("trial-0", "trial-1", "trial-2")}
    export_sweep(records[:2], SPACES, "accuracy", str(tmp_path))
    export_sweep(records[:2], SPACES, "accuracy", str(tmp_path))
    assert {folder: len(run_events(tmp_path / folder)) for folder in ("trial-0", "trial-1")} == {
        "trial-0": first["trial-0"], "trial-1": first["trial-1"]}
    assert not (tmp_path / "trial-2").exists()                       # emptied by the new export
    assert (tmp_path / "trial-0" / "checkpoint.msgpack").read_bytes() == b"state"
    ours = [n for n in os.listdir(tmp_path) if n.endswith(FILE_SUFFIX)]
    assert len(ours) == 1 and (tmp_path / "events.out.tfevents.1.other").exists()


def test_pbt_schedules_are_curves_and_domains_widen_to_recorded_values(tmp_path):
    records = _records()
    records[0]["hparams"]["learning_rate"] = 1.6          # a PBT perturbation past the sampled range
    records[0]["hparam_schedule"] = [{"from_epoch": 0, "to_epoch": 2, "hparams": {"learning_rate": 0.9,
                                                                                  "optimizer": "adam"}},
                                     {"from_epoch": 2, "to_epoch": 3, "hparams": {"learning_rate": 1.6,
                                                                                  "optimizer": "adam"}}]
    records[1]["hparams"]["layers"] = 7
    export_sweep(records, SPACES, "accuracy", str(tmp_path))
    infos = {i.name: i for i in plugin_data(run_events(tmp_path))["_hparams_/experiment"].experiment.hparam_infos}
    assert infos["learning_rate"].domain_interval.max_value == pytest.approx(1.6)
    assert [v.number_value for v in infos["layers"].domain_discrete.values] == [1, 2, 3, 7]
    values = scalars(run_events(tmp_path / "trial-0"))
    assert values["schedule/learning_rate"] == [(1, pytest.approx(0.9)), (2, pytest.approx(0.9)),
                                                (3, pytest.approx(1.6))]
    assert "schedule/optimizer" not in values
    assert not any(tag.startswith("schedule/") for tag in scalars(run_events(tmp_path / "trial-1")))


def test_bad_input_is_named(tmp_path, monkeypatch):
    records = _records()
    with pytest.raises(ValueError, match="trial id 1 appears in more than one record"):
        export_sweep(records + [records[1]], SPACES, "accuracy", str(tmp_path))
    with pytest.raises(ValueError, match="no record has best_dev_error"):
        export_sweep(records, SPACES, "error", str(tmp_path))
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install dlcourse\[tensorboard\]"):
        export_sweep(records, SPACES, "accuracy", str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_crc32c_reference():
    assert crc32c(b"123456789") == 0xE3069283                       # the standard check value
