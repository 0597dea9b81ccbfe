"""Training clips for trigger-word detection, synthesized as the course does, and their labels.

A clip of ``n`` samples is a background (:func:`dlcourse.audio.background_noise`) with words laid
over it, as the course's ``create_training_example``:

1. draw ``U{0 … max_positives}`` instances of the positive word and insert each, then
   ``U{0 … max_negatives}`` instances of negative words (each uniform over ``negative_words``);
2. inserting a word of ``L`` samples picks ``start ~ U{0 … n − L}`` and the segment
   ``(start, end = start + L − 1)`` (both ends inclusive, the course's ``get_random_time_segment``),
   and redraws while it overlaps a segment inserted before (**the overlap rule**,
   :func:`is_overlapping`: ``start ≤ end′ and end ≥ start′`` for some earlier ``(start′, end′)``, so
   even a shared sample is an overlap). The course redraws without bound; here after ``max_tries``
   overlapping draws **the word is given up**: left out of the clip and its labels, and counted in
   :attr:`Clips.given_up`;
3. each inserted positive sets the labels by :func:`insert_ones`: ``y⟨t⟩ = 1`` for the ``label_steps``
   output steps after the step its segment ends in, ``t_end = ⌊end · T_y / n⌋`` (the course's
   ``int(segment_end_ms · Ty / 10000)``, here in samples; the course has ``label_steps = 50`` of
   ``T_y = 1375`` steps for 10 s, 0.36 s).

Levels: the background has RMS ``b = 10^(β/20)`` with ``β ~ U(background_db)``; each word has RMS
``b · 10^(s/20)`` with its signal-to-noise ratio ``s ~ U(snr_db)`` dB; words add to the background.

Labels are float32 ``[m, T_y]`` of 0 and 1 (what :func:`dlcourse.losses.sigmoid_binary_cross_entropy_terms`
takes with the model's per-step logits ``[m, T_y]``).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from dlcourse.audio.synthesis import NEGATIVE_WORDS, POSITIVE_WORD, SOURCES, background_noise, synthesize_word


class ClipSettings(NamedTuple):
    """How clips are made (module docstring).

    Attributes:
      sample_rate: samples per second.
      seconds: clip length (the course's 10 s); ``n = round(seconds · sample_rate)``.
      output_steps: ``T_y``, the label steps (the model's output length).
      label_steps: ones after each positive's end (course: 50 of 1375).
      max_positives, max_negatives: the most words of each kind drawn (course: 4 and 2).
      max_tries: draws of a position before a word is given up.
      snr_db: range of a word's level over the background's, dB.
      background_db: range of the background's RMS level, dB.
      source: ``'procedural'``, ``'espeak'`` or ``'auto'`` (:func:`dlcourse.audio.synthesize_word`).
      positive_word: the trigger word's name.
      negative_words: names of the negative words.
    """

    sample_rate: int = 4000
    seconds: float = 5.0
    output_steps: int = 153
    label_steps: int = 11
    max_positives: int = 4
    max_negatives: int = 2
    max_tries: int = 10
    snr_db: tuple[float, float] = (3.0, 20.0)
    background_db: tuple[float, float] = (-30.0, -15.0)
    source: str = "procedural"
    positive_word: str = POSITIVE_WORD
    negative_words: tuple[str, ...] = NEGATIVE_WORDS

    @property
    def n_samples(self) -> int:
        return int(round(self.seconds * self.sample_rate))


class Clips(NamedTuple):
    """Synthesized clips.

    Attributes:
      audio: float32 ``[m, n]``.
      labels: float32 ``[m, T_y]``, 1 in the ``label_steps`` after each positive.
      segments: int32 ``[m, S, 2]``, ``S = max_positives + max_negatives``: the inclusive first and
        last sample of each inserted word, in the order drawn (positives first); ``(−1, −1)`` in
        unused slots and for a word given up.
      positive: bool ``[m, S]``: the slot was drawn for the positive word.
      given_up: int32 ``[m]``: words left out by the overlap rule.
    """

    audio: np.ndarray
    labels: np.ndarray
    segments: np.ndarray
    positive: np.ndarray
    given_up: np.ndarray


def random_segment(rng: np.random.Generator, segment_length: int, clip_length: int) -> tuple[int, int]:
    """``(start, start + L − 1)`` with ``start ~ U{0 … n − L}`` (both ends inclusive).

    Raises:
      ValueError: ``L`` is not in ``1 … n``.
    """
    if not 1 <= segment_length <= clip_length:
        raise ValueError(f"a word of {segment_length} samples does not fit a clip of {clip_length}")
    start = int(rng.integers(0, clip_length - segment_length + 1))
    return start, start + segment_length - 1


def is_overlapping(segment: tuple[int, int], previous_segments: Sequence[tuple[int, int]]) -> bool:
    """The overlap rule: ``start ≤ end′`` and ``end ≥ start′`` for some earlier ``(start′, end′)``
    (inclusive ends, so segments sharing one sample overlap; ``(0, 4)`` and ``(5, 9)`` do not)."""
    start, end = segment
    return any(start <= previous_end and end >= previous_start for previous_start, previous_end in previous_segments)


def insert_word(background: np.ndarray, word: np.ndarray, previous_segments: Sequence[tuple[int, int]],
                rng: np.random.Generator, max_tries: int = 10) -> tuple[np.ndarray, tuple[int, int] | None]:
    """``(audio, segment)``: ``word`` added to a copy of ``background`` at a random segment that
    overlaps none of ``previous_segments``, drawn at most ``max_tries`` times; after that many
    overlapping draws, ``(background unchanged, None)`` (the word is given up)."""
    if not isinstance(max_tries, (int, np.integer)) or max_tries < 1:
        raise ValueError(f"max_tries must be a positive int; got {max_tries!r}")
    for _ in range(max_tries):
        segment = random_segment(rng, len(word), len(background))
        if not is_overlapping(segment, previous_segments):
            audio = np.array(background, copy=True)
            audio[segment[0]:segment[1] + 1] += word
            return audio, segment
    return background, None


def end_step(segment_end: int, n_samples: int, output_steps: int) -> int:
    """``t_end = ⌊end · T_y / n⌋``, the output step the sample ``end`` falls in."""
    return int(segment_end) * int(output_steps) // int(n_samples)


def insert_ones(y: np.ndarray, segment_end_step: int, steps: int = 50) -> np.ndarray:
    """The course's ``insert_ones``: a copy of labels ``y [..., T_y]`` with ``y⟨t⟩ = 1`` for
    ``t = t_end + 1 … t_end + steps`` (those below ``T_y``)."""
    y = np.asarray(y)
    t = np.arange(y.shape[-1])
    return np.where((t > segment_end_step) & (t <= segment_end_step + steps), np.ones((), y.dtype), y)


def _check_settings(settings: ClipSettings) -> None:
    for name in ("sample_rate", "output_steps", "label_steps", "max_tries"):
        value = getattr(settings, name)
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    for name in ("max_positives", "max_negatives"):
        value = getattr(settings, name)
        if not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an int >= 0; got {value!r}")
    if settings.n_samples < 2:
        raise ValueError(f"a clip of {settings.seconds} s at {settings.sample_rate} Hz has under 2 samples")
    if settings.source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {settings.source!r}")
    if not settings.negative_words and settings.max_negatives:
        raise ValueError("max_negatives > 0 needs at least one negative word")


def synthesize_clip(rng: np.random.Generator, settings: ClipSettings = ClipSettings()) -> Clips:
    """One clip (module docstring), as :class:`Clips` with ``m = 1``."""
    _check_settings(settings)
    n, rate = settings.n_samples, settings.sample_rate
    level = 10 ** (rng.uniform(*settings.background_db) / 20)
    audio = level * background_noise(rng, n, rate)
    labels = np.zeros(settings.output_steps, np.float32)
    slots = settings.max_positives + settings.max_negatives
    segments = np.full((slots, 2), -1, np.int32)
    positive = np.zeros(slots, bool)
    inserted: list[tuple[int, int]] = []
    given_up = 0
    names = [settings.positive_word] * int(rng.integers(0, settings.max_positives + 1))
    positive[:len(names)] = True
    names += [settings.negative_words[int(rng.integers(len(settings.negative_words)))]
              for _ in range(int(rng.integers(0, settings.max_negatives + 1)))]
    for slot, name in enumerate(names):
        word = synthesize_word(name, rng, rate, source=settings.source)
        word = (level * 10 ** (rng.uniform(*settings.snr_db) / 20)) * word
        audio, segment = insert_word(audio, word, inserted, rng, settings.max_tries)
        if segment is None:
            given_up += 1
            continue
        inserted.append(segment)
        segments[slot] = segment
        if positive[slot]:
            labels = insert_ones(labels, end_step(segment[1], n, settings.output_steps), settings.label_steps)
    return Clips(audio[None].astype(np.float32), labels[None], segments[None], positive[None],
                 np.array([given_up], np.int32))


def synthesize_clips(count: int, seed: int, settings: ClipSettings = ClipSettings()) -> Clips:
    """``count`` clips, clip ``i`` drawn from ``numpy.random.default_rng((seed, i))`` (so the first
    clips do not depend on ``count``)."""
    if not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive int; got {count!r}")
    clips = [synthesize_clip(np.random.default_rng((int(seed), i)), settings) for i in range(count)]
    return Clips(*(np.concatenate(parts) for parts in zip(*clips)))
