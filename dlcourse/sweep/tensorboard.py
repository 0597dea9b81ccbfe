"""A sweep for TensorBoard: per-trial scalar curves and the HParams dashboard.

:func:`export_sweep` writes, with tensorboardX's event writer, under ``logdir``::

    logdir/events.out.tfevents.…               the HParams experiment: every swept hyperparameter
                                               with its domain, every final metric
    logdir/trial-<id>/events.out.tfevents.…    one run per trial: its session (hyperparameter values,
                                               status), every per-epoch curve of its record under the
                                               curve's own name (``train_loss``, ``dev_accuracy`` …) at
                                               steps 1 … epochs, and its final scalars as
                                               ``hparams/<name>`` (``hparams/best_dev_accuracy`` …);
                                               under PBT also ``schedule/<hyperparameter>``, the
                                               value in force at each epoch

so ``tensorboard --logdir=logdir`` shows the learning curves of all trials and one HParams table
with a row per trial. The layout follows TensorBoard's HParams plugin: one ``experiment`` summary
at the root, and in each trial's run a ``session_start_info`` and a ``session_end_info`` summary;
a session's metric is the last value of the scalar tagged with the metric's name in that run.

Domains come from the sweep's spaces: an interval ``[low, high]`` for ``uniform``/``log`` (for
``1-log``, the interval of β = 1 − 10ʳ), the values of a ``choice``, the integers of a small
``int`` range (a larger one is an interval). A domain is widened to hold every recorded value (a
PBT perturbation may leave the sampled range), since the dashboard hides rows outside it.

A diverged trial's session ends with ``STATUS_FAILURE``, others with ``STATUS_SUCCESS``; missing
values (``null`` in ``trials.jsonl``: NaN or ±inf) are written as NaN.

Exporting again replaces the previous export: the event files this module wrote (their names end
in :data:`FILE_SUFFIX`) are deleted from ``logdir`` and its ``trial-*`` folders first, and nothing
else there is touched.
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping, Sequence

from dlcourse.sweep.spaces import Choice, IntRange, OneMinusLogUniform, Space

__all__ = ["export_sweep", "FILE_SUFFIX", "METRIC_PREFIX", "SCHEDULE_PREFIX", "run_name"]

#: The end of the name of every event file :func:`export_sweep` writes.
FILE_SUFFIX = ".dlcourse-sweep"
#: Final scalars are tagged ``hparams/<name>`` (curves keep their own names).
METRIC_PREFIX = "hparams/"
#: A PBT trial's hyperparameter schedule is tagged ``schedule/<name>``.
SCHEDULE_PREFIX = "schedule/"
#: An ``int`` range of at most this many values is a discrete domain; a larger one an interval.
MAX_DISCRETE_INTEGERS = 32


def run_name(record: Mapping) -> str:
    """The TensorBoard run (a sub-folder of the log folder) of a trial record: ``trial-<id>``."""
    return f"trial-{record['id']}"


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _curves(metrics: Mapping[str, Any]) -> dict[str, list]:
    """Per-epoch curves: the metrics that are flat lists of numbers (``None`` for a missing value)."""
    return {name: value for name, value in metrics.items()
            if isinstance(value, list) and all(v is None or _is_number(v) for v in value)}


def _schedule_curves(record: Mapping) -> dict[str, list]:
    """A PBT record's ``hparam_schedule`` (``{"from_epoch": s, "to_epoch": e, "hparams": {…}}``, in
    force for epochs s + 1 … e) as per-epoch curves ``schedule/<name>`` of its numeric values."""
    curves: dict[str, list] = {}
    for interval in record.get("hparam_schedule") or ():
        for name, value in interval["hparams"].items():
            if _is_number(value):
                curve = curves.setdefault(SCHEDULE_PREFIX + name, [])
                curve += [None] * (interval["to_epoch"] - len(curve))
                curve[interval["from_epoch"]:interval["to_epoch"]] = [value] * (
                    interval["to_epoch"] - interval["from_epoch"])
    return curves


def _final_metric_names(records: Sequence[Mapping], objective_name: str) -> list[str]:
    """Scalar numeric metrics of any record; ``best_dev_<objective>`` and ``final_dev_<objective>``
    first, then the others sorted."""
    names = sorted({name for r in records for name, value in r["metrics"].items()
                    if value is None or _is_number(value)})
    first = [n for n in (f"best_dev_{objective_name}", f"final_dev_{objective_name}") if n in names]
    return first + [n for n in names if n not in first]


def _dataset_type(metric_name: str, api_pb2):
    words = metric_name.split("_")
    if "dev" in words:
        return api_pb2.DATASET_VALIDATION
    return api_pb2.DATASET_TRAINING if "train" in words else api_pb2.DATASET_UNKNOWN


def _hparam_values(records: Sequence[Mapping], key: str) -> list:
    return [r["hparams"][key] for r in records if r["hparams"].get(key) is not None]


def _hparam_info(key: str, space: Space | None, values: Sequence, api_pb2, struct_pb2):
    """The ``HParamInfo`` of one hyperparameter: its type, and its domain widened to ``values``."""
    textual = any(isinstance(v, str) for v in values) or (
        isinstance(space, Choice) and not space.numeric)
    info = api_pb2.HParamInfo(name=key, display_name=key,
                              type=api_pb2.DATA_TYPE_STRING if textual else api_pb2.DATA_TYPE_FLOAT64)
    discrete = None
    if isinstance(space, Choice):
        discrete = list(space.options)
    elif isinstance(space, IntRange) and space.size <= MAX_DISCRETE_INTEGERS:
        discrete = list(range(space.low, space.high + 1))
    if textual:
        discrete = [str(v) for v in (discrete or [])]
        values = [str(v) for v in values]
    if discrete is not None:
        discrete += [v for v in dict.fromkeys(values) if v not in discrete]
        if not textual:
            discrete = sorted(float(v) for v in discrete)
        info.domain_discrete.CopyFrom(struct_pb2.ListValue(values=[
            struct_pb2.Value(string_value=v) if textual else struct_pb2.Value(number_value=v)
            for v in discrete]))
    elif space is not None or values:
        bounds = [float(v) for v in values]
        if isinstance(space, OneMinusLogUniform):
            bounds += [1.0 - space.high, 1.0 - space.low]
        elif space is not None:
            bounds += [float(space.from_unit(0.0)), float(space.from_unit(1.0))]
        info.domain_interval.min_value = min(bounds)
        info.domain_interval.max_value = max(bounds)
    return info


def _plugin_summary(tag: str, data, summary_pb2, plugin_hparams_pb2):
    """A summary value carrying HParams plugin data (``experiment``, ``session_start_info`` or
    ``session_end_info``)."""
    content = plugin_hparams_pb2.HParamsPluginData(version=0, **data).SerializeToString()
    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="hparams", content=content))
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, metadata=metadata)])


def _clear_previous_export(logdir: str) -> None:
    folders = [logdir] + [os.path.join(logdir, name) for name in os.listdir(logdir)
                          if name.startswith("trial-") and os.path.isdir(os.path.join(logdir, name))]
    for folder in folders:
        for name in os.listdir(folder):
            if name.startswith("events.out.tfevents.") and name.endswith(FILE_SUFFIX):
                os.remove(os.path.join(folder, name))
        if folder != logdir and not os.listdir(folder):
            os.rmdir(folder)


def _import_tensorboardx():
    try:
        import tensorboardX
        from tensorboardX.proto import api_pb2, plugin_hparams_pb2, summary_pb2
    except ImportError as error:
        raise ImportError("exporting a sweep to TensorBoard needs tensorboardX: "
                          "pip install dlcourse[tensorboard]") from error
    return tensorboardX.SummaryWriter, api_pb2, plugin_hparams_pb2, summary_pb2


def export_sweep(records: Sequence[Mapping], spaces: Mapping[str, Space], objective_name: str,
                 logdir: str | os.PathLike) -> None:
    """Writes ``records`` (``trials.jsonl``'s, see :func:`dlcourse.sweep.make_record`) as
    TensorBoard event files under ``logdir`` (created if missing): per-trial scalar curves and the
    HParams dashboard, with domains from ``spaces``. See the module docstring for the layout.

    Args:
      records: trial records: ``id``, ``hparams``, ``metrics`` (scalars and per-epoch lists),
        ``status``.
      spaces: the swept spaces by key (a key recorded but not in ``spaces`` gets no domain).
      objective_name: e.g. ``"accuracy"``; ``best_dev_<objective_name>`` is the dashboard's first
        metric.
      logdir: the folder ``tensorboard --logdir`` is pointed at.

    Raises:
      ImportError: tensorboardX is not installed (``pip install dlcourse[tensorboard]``).
      ValueError: two records with the same id, or records none of which holds
        ``best_dev_<objective_name>``.
    """
    ids = [r["id"] for r in records]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"trial id {repeated[0]} appears in more than one record; each trial is one "
                         "TensorBoard run")
    objective_key = f"best_dev_{objective_name}"
    if records and not any(objective_key in r["metrics"] for r in records):
        known = sorted({k for r in records for k in r["metrics"]})
        raise ValueError(f"objective {objective_name!r}: no record has {objective_key} "
                         f"(metrics: {', '.join(known)})")
    SummaryWriter, api_pb2, plugin_hparams_pb2, summary_pb2 = _import_tensorboardx()
    from google.protobuf import struct_pb2

    logdir = os.fspath(logdir)
    os.makedirs(logdir, exist_ok=True)
    _clear_previous_export(logdir)

    hparam_keys = list(spaces) + [k for r in records for k in r["hparams"] if k not in spaces]
    hparam_keys = list(dict.fromkeys(hparam_keys))
    infos = [_hparam_info(k, spaces.get(k), _hparam_values(records, k), api_pb2, struct_pb2)
             for k in hparam_keys]
    final_names = _final_metric_names(records, objective_name)
    metric_infos = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=METRIC_PREFIX + name), display_name=name,
                                       dataset_type=_dataset_type(name, api_pb2))
                    for name in final_names]
    now = time.time()
    experiment = api_pb2.Experiment(name=os.path.basename(os.path.abspath(logdir)), time_created_secs=now,
                                    hparam_infos=infos, metric_infos=metric_infos)
    with SummaryWriter(logdir=logdir, filename_suffix=FILE_SUFFIX) as writer:
        writer.file_writer.add_summary(
            _plugin_summary("_hparams_/experiment", {"experiment": experiment}, summary_pb2, plugin_hparams_pb2))

    textual = {info.name for info in infos if info.type == api_pb2.DATA_TYPE_STRING}
    for record in records:
        start = plugin_hparams_pb2.SessionStartInfo(start_time_secs=now)
        for key, value in record["hparams"].items():
            if value is None:
                continue
            if key in textual:
                start.hparams[key].string_value = str(value)
            else:
                start.hparams[key].number_value = float(value)
        failed = record.get("status") == "diverged"
        end = plugin_hparams_pb2.SessionEndInfo(
            status=api_pb2.STATUS_FAILURE if failed else api_pb2.STATUS_SUCCESS, end_time_secs=now)
        metrics = record["metrics"]
        curves = {**_curves(metrics), **_schedule_curves(record)}
        epochs = max([len(c) for c in curves.values()] + [0])
        final_step = int(metrics.get("epochs_run") or epochs)
        with SummaryWriter(logdir=os.path.join(logdir, run_name(record)), filename_suffix=FILE_SUFFIX) as writer:
            file_writer = writer.file_writer
            file_writer.add_summary(_plugin_summary("_hparams_/session_start_info", {"session_start_info": start},
                                                    summary_pb2, plugin_hparams_pb2))
            for epoch in range(epochs):
                file_writer.add_summary(summary_pb2.Summary(value=[
                    summary_pb2.Summary.Value(tag=name, simple_value=_number(curve[epoch]))
                    for name, curve in curves.items() if epoch < len(curve) and not (
                        name.startswith(SCHEDULE_PREFIX) and curve[epoch] is None)]), global_step=epoch + 1)
            final = [summary_pb2.Summary.Value(tag=METRIC_PREFIX + name, simple_value=_number(metrics[name]))
                     for name in final_names if name in metrics]
            if final:
                file_writer.add_summary(summary_pb2.Summary(value=final), global_step=final_step)
            file_writer.add_summary(_plugin_summary("_hparams_/session_end_info", {"session_end_info": end},
                                                    summary_pb2, plugin_hparams_pb2))
