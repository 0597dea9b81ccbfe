"""Trigger-word detection: a Conv1D → GRU → GRU model marks the steps after each "activate" in
synthesized audio clips (course 5, the trigger-word assignment).

Clips are made as the course makes them (:mod:`dlcourse.audio.clips`): a background of coloured
noise and mains hum, 0–``max_positives`` instances of the positive word and 0–``max_negatives``
negative words at random positions that overlap no earlier word (a word that finds no free place in
``max_tries`` draws is given up), each word ``U(snr_db_low, snr_db_high)`` dB over the background.
The words are procedural (formant-like syllables, whistles and beeps,
:mod:`dlcourse.audio.synthesis`; ``source='espeak'``/``'auto'`` speaks them with ``espeak-ng`` when
it is installed), every instance with its own pitch, duration, vocal-tract and level jitter, so the
held-out clips hold new instances. The labels ``y⟨t⟩`` are 1 for the ``label_steps`` output steps
after each positive ends (the course's ``insert_ones``), where ``label_steps`` is
``round(label_seconds · T_y / clip_seconds)`` (the course: 50 of 1375 steps in 10 s, 0.36 s).

Features: the log power spectrogram ``log(|STFT|² + ε)`` (periodic Hann window, ``frame_length``
samples, hop ``hop_length``; :func:`dlcourse.audio.spectrogram`), ``[T_x, n_freq]`` per clip,
standardized per frequency with the training clips' mean and deviation. The model is
:class:`dlcourse.models.TriggerWordModel` (Conv1D with ``filters``, ``kernel_size``, ``stride`` →
batch norm → ReLU → dropout → GRU → dropout → batch norm → GRU → dropout → batch norm → dropout →
per-step logit), trained on the per-step sigmoid cross-entropy with Adam through
:func:`dlcourse.train.supervised`. It reports per-step F1 (the objective: ones are rare, so
accuracy alone rewards silence; ``zero_rate`` is the accuracy of always answering 0), accuracy,
precision and recall on the dev and test clips, and per-event detection on the test clips
(:mod:`dlcourse.audio.events`: an event, one positive's label window, is detected when the predicted
probability exceeds ``threshold`` at one of its steps; a firing — a run of steps above the threshold
— that touches no label window is a false alarm). With a workdir it saves ``trigger_word.png``: a
test clip's spectrogram over its labels and the predicted probability, and the learning curve.

The course's own sizes: ``--config.sample_rate=44100 --config.clip_seconds=10
--config.frame_length=200 --config.hop_length=80 --config.filters=196 --config.hidden_size=128
--config.keep_prob=0.2`` (``T_x = 5511``, 101 frequencies, ``T_y = 1375``, 50 label steps); far
slower on a CPU.

Config (flat):
  numeric: ``learning_rate``, ``beta1``, ``beta2``, ``keep_prob``.
  structural: ``sample_rate``, ``clip_seconds``, ``frame_length``, ``hop_length``, ``label_seconds``,
    ``max_positives``, ``max_negatives``, ``max_tries``, ``snr_db_low``, ``snr_db_high``, ``source``,
    ``train``, ``dev``, ``test``, ``filters``, ``kernel_size``, ``stride``, ``hidden_size``,
    ``reset_after``, ``epochs``, ``batch_size``, ``threshold``, ``seed``, ``train_seed``.

    python experiments/trigger_word.py --workdir=runs/trigger_word
    python experiments/trigger_word.py --config.hidden_size=64 --config.epochs=30
    python launch.py --experiment=trigger_word --sweep='learning_rate=log(1e-3,3e-2)' --trials=8
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from dlcourse import audio, cli, data, metrics, models, train

NUMERIC = ("learning_rate", "beta1", "beta2", "keep_prob")


def get_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    # numeric
    config.learning_rate = 1e-2
    config.beta1 = 0.9
    config.beta2 = 0.999
    config.keep_prob = 0.9
    # structural: clips
    config.sample_rate = 4000
    config.clip_seconds = 5.0
    config.frame_length = 64
    config.hop_length = 32
    config.label_seconds = 50 * 10.0 / 1375
    config.max_positives = 4
    config.max_negatives = 2
    config.max_tries = 10
    config.snr_db_low = 3.0
    config.snr_db_high = 20.0
    config.source = "procedural"
    config.train = 384
    config.dev = 96
    config.test = 96
    # structural: model and training
    config.filters = 32
    config.kernel_size = 15
    config.stride = 4
    config.hidden_size = 32
    config.reset_after = False
    config.epochs = 15
    config.batch_size = 32
    config.threshold = 0.5
    config.seed = 0
    config.train_seed = 0
    return config


def make_model(config) -> models.TriggerWordModel:
    return models.TriggerWordModel(filters=config.filters, kernel_size=config.kernel_size, stride=config.stride,
                                   hidden_size=config.hidden_size, reset_after=config.reset_after)


def clip_settings(config) -> audio.ClipSettings:
    """The clip settings, ``T_y`` and ``label_steps`` following from the sizes (module docstring)."""
    if config.clip_seconds <= 0 or config.label_seconds <= 0:
        raise ValueError(f"clip_seconds and label_seconds must be positive; got {config.clip_seconds}, "
                         f"{config.label_seconds}")
    n_samples = int(round(config.clip_seconds * config.sample_rate))
    output_steps = make_model(config).output_steps(audio.frame_count(n_samples, config.frame_length,
                                                                     config.hop_length))
    label_steps = max(1, int(round(config.label_seconds * output_steps / config.clip_seconds)))
    return audio.ClipSettings(sample_rate=config.sample_rate, seconds=config.clip_seconds, output_steps=output_steps,
                              label_steps=label_steps, max_positives=config.max_positives,
                              max_negatives=config.max_negatives, max_tries=config.max_tries,
                              snr_db=(config.snr_db_low, config.snr_db_high), source=config.source)


def spectrograms(config, clips: np.ndarray, rows_per_call: int = 64) -> np.ndarray:
    """Log power spectrograms ``[m, T_x, n_freq]`` of ``clips [m, n]``, ``rows_per_call`` clips per
    call of one compiled program (the last call padded)."""
    rows = min(rows_per_call, len(clips))
    parts = []
    for start in range(0, len(clips), rows):
        chunk = clips[start:start + rows]
        padded = np.concatenate([chunk, np.zeros((rows - len(chunk),) + chunk.shape[1:], chunk.dtype)])
        parts.append(np.asarray(audio.spectrogram(padded, config.frame_length, config.hop_length))[:len(chunk)])
    return np.concatenate(parts)


class TriggerWordData:
    """The clips of every split, their standardized spectrograms and the :class:`dlcourse.data.Dataset`."""

    def __init__(self, config):
        for name in ("train", "dev", "test"):
            if config[name] < 1:
                raise ValueError(f"{name} must be at least 1 clip; got {config[name]}")
        self.settings = clip_settings(config)
        sizes = (config.train, config.dev, config.test)
        clips = audio.synthesize_clips(sum(sizes), config.seed, self.settings)
        features = spectrograms(config, clips.audio)
        n_freq = features.shape[-1]
        (train_rows, *other_rows), self.statistics = data.standardize(
            *(part.reshape(-1, n_freq) for part in np.split(features, np.cumsum(sizes)[:2])))
        bounds = np.cumsum((0,) + sizes)
        self.clips = {name: audio.Clips(*(a[lo:hi] for a in clips))
                      for name, lo, hi in zip(("train", "dev", "test"), bounds[:-1], bounds[1:])}
        self.features = {name: rows.reshape(-1, *features.shape[1:])
                         for name, rows in zip(("train", "dev", "test"), (train_rows, *other_rows))}
        self.dataset = data.Dataset(*(data.Examples(self.features[name], self.clips[name].labels)
                                      for name in ("train", "dev", "test")))


def step_metrics() -> tuple[metrics.Metric, ...]:
    """Per-step F1 (the objective), accuracy, precision and recall."""
    return (metrics.F1, metrics.ACCURACY, metrics.PRECISION, metrics.RECALL)


def trainable_on(config, dataset: data.Dataset) -> train.Trainable:
    return train.supervised(make_model(config), dataset, optimizer="adam",
                            hparams={k: config[k] for k in NUMERIC}, epochs=config.epochs,
                            batch_size=config.batch_size, loss="sigmoid", metrics=step_metrics(),
                            evaluate_train=False)


def build(config: ml_collections.ConfigDict) -> train.Trainable:
    return trainable_on(config, TriggerWordData(config).dataset)


def save_clip_figure(path: str, features: np.ndarray, labels: np.ndarray, probabilities: np.ndarray,
                     segments: np.ndarray, positive: np.ndarray, config) -> None:
    """One clip: its (standardized) log spectrogram with its words marked (positive green, negative
    blue), over the labels and the predicted probability."""
    from dlcourse.train.reporting import figure, place_axes, save_figure

    seconds = config.clip_seconds
    fig = figure(7, 4.2)
    place_axes(fig, left=0.8, right=0.2, bottom=0.5, top=0.3, hspace=0.15)
    top = fig.add_subplot(2, 1, 1)
    top.imshow(features.T, origin="lower", aspect="auto", cmap="magma",
               extent=(0, seconds, 0, config.sample_rate / 2))
    for (start, end), is_positive in zip(segments, positive):
        if start >= 0:
            top.hlines(0.96 * config.sample_rate / 2, start / config.sample_rate, (end + 1) / config.sample_rate,
                       colors="#4daf4a" if is_positive else "#377eb8", lw=5)
    top.set_ylabel("frequency (Hz)")
    top.set_title("log power spectrogram", fontsize=9)
    top.set_xticklabels([])
    bottom = fig.add_subplot(2, 1, 2)
    t = (np.arange(len(labels)) + 0.5) * seconds / len(labels)
    bottom.fill_between(t, labels, step="mid", color="#4daf4a", alpha=0.35, label="label y⟨t⟩")
    bottom.plot(t, probabilities, color="#e41a1c", lw=1.2, label="predicted P(y⟨t⟩ = 1)")
    bottom.axhline(config.threshold, color="0.4", lw=0.8, ls="--", label="threshold")
    bottom.set_xlim(0, seconds)
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_xlabel("time (s)")
    bottom.legend(fontsize=7, loc="upper right")
    save_figure(fig, path)


def main(config, workdir):
    """Trains one trial; per-step and per-event figures on held-out clips; the clip picture."""
    if not 0 < config.threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1); got {config.threshold}")
    started = time.perf_counter()
    clip_data = TriggerWordData(config)
    synthesized = time.perf_counter()
    trainable = trainable_on(config, clip_data.dataset)
    trainable.check_hparams()
    values = {k: jnp.asarray(v, jnp.float32) for k, v in trainable.hparams.items()}
    key = jax.random.key(config.train_seed)
    model = make_model(config)
    test_x, test_y = clip_data.features["test"], clip_data.clips["test"].labels

    def run(values, key):
        state, curves = trainable.train_with_state(values, key)
        logits = model.apply({"params": state.params, **state.model_state}, test_x)
        weights = jnp.ones(test_y.shape, jnp.float32)
        test = {m.name: m.value(m.statistics(logits, test_y, weights)) for m in step_metrics()}
        return curves, test, jax.nn.sigmoid(logits)

    settings = clip_data.settings
    cli.say(f"trigger word: {config.train}/{config.dev}/{config.test} clips of {config.clip_seconds:g} s, "
            f"T_x = {test_x.shape[1]} frames × {test_x.shape[2]} frequencies, T_y = {settings.output_steps}, "
            f"{settings.label_steps} label steps; synthesized in {synthesized - started:.1f}s; compiling")
    program = train.compile_lowered(jax.jit(run).lower(values, key))
    compiled = time.perf_counter()
    curves, test, probabilities = jax.block_until_ready(program(values, key))
    finished = time.perf_counter()
    cli.say(f"compiled in {compiled - synthesized:.1f}s, trained {config.epochs} epochs in "
            f"{finished - compiled:.1f}s")
    events = audio.event_summary(audio.count_events(probabilities, test_y, config.threshold))
    final = {k[len("final_"):]: float(v) for k, v in curves.items() if k.startswith("final_")}
    names = [m.name for m in step_metrics()]
    summary = {"dev": {name: final[f"dev_{name}"] for name in names},
               "test": {name: float(test[name]) for name in names},
               "test_events": events, "final_dev_f1": final["dev_f1"], "test_f1": float(test["f1"]),
               "detection_rate": events["detection_rate"], "false_alarms_per_clip": events["false_alarms_per_clip"],
               "zero_rate": float(1 - test_y.mean()), "final_train_loss": final["train_loss"],
               "diverged": bool(curves["diverged"]), "input_steps": int(test_x.shape[1]),
               "frequencies": int(test_x.shape[2]), "output_steps": settings.output_steps,
               "label_steps": settings.label_steps,
               "words_given_up": int(sum(int(c.given_up.sum()) for c in clip_data.clips.values())),
               "seconds": round(finished - started, 3), "synthesis_seconds": round(synthesized - started, 3),
               "compile_seconds": round(compiled - synthesized, 3), "config": config.to_dict()}
    cli.print_table(("split", *names), [(split, *summary[split].values()) for split in ("dev", "test")])
    cli.say(f"test events: {events['detected']}/{events['events']} detected ({events['detection_rate']:.3f}), "
            f"{events['false_alarms']} false alarms in {config.test} clips "
            f"({events['false_alarms_per_clip']:.3f} per clip), event precision {events['event_precision']:.3f}")
    if workdir:
        os.makedirs(workdir, exist_ok=True)
        rows = [{k: float(v[i]) for k, v in curves.items() if np.ndim(v) == 1} for i in range(config.epochs)]
        train.plot_learning_curve(rows, os.path.join(workdir, "learning_curve.png"), "per-step sigmoid cost")
        clips = clip_data.clips["test"]
        inserted = clips.segments[..., 0] >= 0      # show the clip with the most words, a positive among them
        shown = int(np.argmax(inserted.sum(axis=1) + 10 * (inserted & clips.positive).any(axis=1)))
        save_clip_figure(os.path.join(workdir, "trigger_word.png"), test_x[shown], test_y[shown],
                         np.asarray(probabilities[shown]), clips.segments[shown], clips.positive[shown], config)
        summary["figure_clip"] = shown
    return summary


if __name__ == "__main__":
    cli.run_experiment(get_config, main=main)
