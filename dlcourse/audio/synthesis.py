"""Procedural "words" and background noise, so trigger-word clips are made offline from a seed.

A word is a sequence of :class:`Sound` s, each one of

- ``voiced``: the harmonics ``k·f0(t)`` (``k = 1, 2, …`` below the Nyquist frequency) of a pitch
  ``f0(t)`` gliding linearly from ``pitch[0]·f0`` to ``pitch[1]·f0`` (``f0`` the instance's speaker
  pitch), harmonic ``k`` weighted by the formant resonances
  ``Σ_i g_i exp(−½ ((k·f0(t) − F_i) / B_i)²)`` with ``g = (1, 0.6, 0.3, …)`` and ``B_i = 60 Hz + 0.08·F_i``
  (a vowel: its spectrum peaks at the formants ``F_1, F_2, F_3``);
- ``noise``: white noise band-passed by a Gaussian of centre ``F`` (``formants[0]``) and width
  ``σ = 0.25·F`` in frequency, at 0.4 of a voiced sound's RMS (a consonant burst or fricative);
- ``tone``: one sinusoid gliding linearly from ``pitch[0]`` to ``pitch[1]`` Hz (a whistle or beep);
- ``silence``: zeros (a closure before a plosive, a gap between beeps).

Each sound fades in and out over ``min(8 ms, a quarter of it)`` (raised cosine) so joins do not
click. Every instance is jittered, from its own ``numpy.random.Generator``: speaker pitch
``f0 ~ U(pitch_range)`` Hz, one duration scale ``~ U(duration_scale_range)`` for the whole word,
one formant scale ``~ U(formant_scale_range)`` (a longer or shorter vocal tract; it also scales the
noise bands and the tones' frequencies), and each sound's level by ``U(−3, 3)`` dB. A word comes
back at unit RMS; the clip synthesizer sets its level. Components above the Nyquist frequency
``sample_rate / 2`` are left out.

:data:`WORDS` holds the templates: the positive :data:`POSITIVE_WORD` ``"activate"``
(/æk.tɪ.veɪt/: a stressed open vowel, k-t bursts, a short front vowel, a fricative and a falling
diphthong, ≈ 0.58 s) and the negatives :data:`NEGATIVE_WORDS`, three words of other vowels and
rhythms and two non-speech sounds (a rising whistle and a double beep). Formant values are the
usual adult averages (Peterson & Barney's table), rounded.

With the ``espeak-ng`` program installed (:func:`espeak_available`), :func:`speak` synthesizes real
speech instead; :func:`synthesize_word` with ``source='auto'`` uses it and falls back to the
procedural templates otherwise.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from typing import NamedTuple, Sequence

import numpy as np

SOUND_KINDS = ("voiced", "noise", "tone", "silence")
SOURCES = ("procedural", "espeak", "auto")
NOISE_LEVEL = 0.4          # a noise burst's RMS relative to a voiced sound's
FORMANT_GAINS = (1.0, 0.6, 0.3, 0.15)
FADE_SECONDS = 0.008


class Sound(NamedTuple):
    """One piece of a word (module docstring).

    Attributes:
      kind: one of :data:`SOUND_KINDS`.
      seconds: nominal duration (before the instance's duration scale).
      pitch: ``voiced``: start and end of the pitch as multiples of the speaker's ``f0``;
        ``tone``: start and end frequency in Hz; unused otherwise.
      formants: ``voiced``: formant centres ``F_i`` in Hz; ``noise``: the band's centre (one value).
    """

    kind: str
    seconds: float
    pitch: tuple[float, float] = (1.0, 1.0)
    formants: tuple[float, ...] = ()


def _voiced(seconds, pitch, formants):
    return Sound("voiced", seconds, pitch, formants)


def _noise(seconds, centre):
    return Sound("noise", seconds, formants=(centre,))


def _silence(seconds):
    return Sound("silence", seconds)


def _tone(seconds, start_hz, end_hz):
    return Sound("tone", seconds, (start_hz, end_hz))


POSITIVE_WORD = "activate"

#: Word templates by name (module docstring).
WORDS: dict[str, tuple[Sound, ...]] = {
    "activate": (_voiced(0.12, (1.05, 1.15), (750, 1750, 2500)), _silence(0.03), _noise(0.04, 1500),
                 _noise(0.03, 1900), _voiced(0.07, (1.1, 1.0), (400, 1900, 2550)), _noise(0.04, 700),
                 _voiced(0.11, (1.0, 0.9), (550, 1750, 2500)), _voiced(0.08, (0.9, 0.8), (400, 2000, 2600)),
                 _silence(0.02), _noise(0.04, 1900)),
    "dog": (_noise(0.02, 400), _voiced(0.22, (1.0, 0.85), (570, 840, 2400)), _silence(0.03), _noise(0.03, 900)),
    "computer": (_noise(0.04, 1500), _voiced(0.06, (0.95, 0.95), (500, 1500, 2500)),
                 _voiced(0.05, (0.9, 0.9), (280, 1100, 2300)), _silence(0.03), _noise(0.03, 800),
                 _voiced(0.13, (1.2, 1.05), (300, 900, 2200)), _noise(0.03, 1900),
                 _voiced(0.14, (1.0, 0.8), (490, 1350, 1700))),
    "window": (_voiced(0.07, (1.1, 1.1), (300, 700, 2200)), _voiced(0.10, (1.1, 1.0), (400, 2000, 2550)),
               _voiced(0.06, (1.0, 1.0), (250, 1500, 2500)), _silence(0.03),
               _voiced(0.18, (0.95, 0.8), (450, 900, 2400))),
    "whistle": (_tone(0.35, 800, 1600),),
    "beep": (_tone(0.12, 1000, 1000), _silence(0.08), _tone(0.12, 1000, 1000)),
}
NEGATIVE_WORDS = ("dog", "computer", "window", "whistle", "beep")


def _check_rate(sample_rate) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1:
        raise ValueError(f"sample_rate must be a positive int (Hz); got {sample_rate!r}")


def _check_range(name: str, bounds, low: float = 0.0) -> tuple[float, float]:
    a, b = (float(v) for v in bounds)
    if not low < a <= b:
        raise ValueError(f"{name} must be (low, high) with {low:g} < low <= high; got {tuple(bounds)}")
    return a, b


def _fade(n: int, sample_rate: int) -> np.ndarray:
    """Raised-cosine fade in and out over ``min(FADE_SECONDS, n/4)`` samples; ``[n]``."""
    ramp = min(int(round(FADE_SECONDS * sample_rate)), n // 4)
    envelope = np.ones(n)
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
        envelope[:ramp] = rise
        envelope[n - ramp:] = rise[::-1]
    return envelope


def _glide(start: float, end: float, n: int) -> np.ndarray:
    return np.linspace(start, end, n) if n > 1 else np.full(n, start)


def _voiced_wave(n, sample_rate, f0, pitch, formants):
    pitch_track = f0 * _glide(pitch[0], pitch[1], n)                      # f0(t), Hz
    phase = (2 * np.pi * np.cumsum(pitch_track) / sample_rate).astype(np.float32)
    harmonics = np.arange(1, int(sample_rate / 2 / max(pitch_track.max(), 1e-9)) + 1, dtype=np.float32)
    if harmonics.size == 0:
        return np.zeros(n)
    # float32 from here: sin and exp run several times faster, and k·φ stays within ~1e-3 rad.
    frequencies = harmonics[:, None] * pitch_track.astype(np.float32)[None, :]     # [K, n]
    gains = np.zeros_like(frequencies)
    for i, centre in enumerate(formants):
        width = np.float32(60.0 + 0.08 * centre)
        gain = np.float32(FORMANT_GAINS[min(i, len(FORMANT_GAINS) - 1)])
        gains += gain * np.exp(np.float32(-0.5) * np.square((frequencies - np.float32(centre)) / width))
    gains = np.where(frequencies < sample_rate / 2, gains, np.float32(0.0))
    return np.sum(gains * np.sin(harmonics[:, None] * phase[None, :]), axis=0, dtype=np.float64)


def _noise_wave(n, sample_rate, rng, centre):
    spectrum = np.fft.rfft(rng.standard_normal(n))
    frequencies = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spectrum *= np.exp(-0.5 * ((frequencies - centre) / (0.25 * centre)) ** 2)
    return np.fft.irfft(spectrum, n)


def _tone_wave(n, sample_rate, start_hz, end_hz):
    frequency = _glide(start_hz, end_hz, n)
    phase = (2 * np.pi * np.cumsum(frequency) / sample_rate).astype(np.float32)
    return np.where(frequency < sample_rate / 2, np.sin(phase), np.float32(0.0)).astype(np.float64)


def _unit_rms(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(np.square(x))) if x.size else 0.0
    return x / rms if rms > 0 else x


def procedural_word(sounds: Sequence[Sound], rng: np.random.Generator, sample_rate: int, *,
                    pitch_range=(90.0, 220.0), duration_scale_range=(0.8, 1.25),
                    formant_scale_range=(0.9, 1.1)) -> np.ndarray:
    """One jittered instance of a word template (module docstring); float32 ``[n]`` at unit RMS.

    Raises:
      ValueError: an unknown sound kind, a bad range, or a word of no samples.
    """
    _check_rate(sample_rate)
    f0 = rng.uniform(*_check_range("pitch_range", pitch_range))
    duration_scale = rng.uniform(*_check_range("duration_scale_range", duration_scale_range))
    formant_scale = rng.uniform(*_check_range("formant_scale_range", formant_scale_range))
    pieces = []
    for sound in sounds:
        if sound.kind not in SOUND_KINDS:
            raise ValueError(f"sound kind must be one of {SOUND_KINDS}; got {sound.kind!r}")
        n = int(round(sound.seconds * duration_scale * sample_rate))
        level = 10 ** (rng.uniform(-3.0, 3.0) / 20)
        if n < 1:
            continue
        if sound.kind == "voiced":
            piece = _unit_rms(_voiced_wave(n, sample_rate, f0, sound.pitch,
                                           [formant_scale * f for f in sound.formants]))
        elif sound.kind == "noise":
            piece = NOISE_LEVEL * _unit_rms(_noise_wave(n, sample_rate, rng, formant_scale * sound.formants[0]))
        elif sound.kind == "tone":
            piece = _unit_rms(_tone_wave(n, sample_rate, formant_scale * sound.pitch[0],
                                         formant_scale * sound.pitch[1]))
        else:
            piece = np.zeros(n)
        pieces.append(level * piece * _fade(n, sample_rate))
    if not pieces:
        raise ValueError("the word has no samples at this sample rate and duration")
    return _unit_rms(np.concatenate(pieces)).astype(np.float32)


def background_noise(rng: np.random.Generator, n_samples: int, sample_rate: int, *, colour_range=(0.0, 2.0),
                     hum_probability: float = 0.5) -> np.ndarray:
    """Background noise at unit RMS; float32 ``[n_samples]``.

    Coloured noise of power spectrum ``∝ 1/f^α`` with ``α ~ U(colour_range)`` (0 white, 1 pink,
    2 brown; shaped in the frequency domain, no DC), plus with probability ``hum_probability`` a
    mains hum: ``Σ_{k=1..5} (1/k) sin(2π k f_hum t + φ_k)`` with ``f_hum`` 50 or 60 Hz and random
    phases, at ``U(0.2, 1)`` of the noise's RMS.
    """
    _check_rate(sample_rate)
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples must be an int >= 2; got {n_samples!r}")
    low, high = (float(v) for v in colour_range)
    if not 0 <= low <= high:
        raise ValueError(f"colour_range must be (low, high) with 0 <= low <= high; got {tuple(colour_range)}")
    if not 0 <= hum_probability <= 1:
        raise ValueError(f"hum_probability must lie in [0, 1]; got {hum_probability}")
    alpha = rng.uniform(low, high)
    frequencies = np.fft.rfftfreq(n_samples, 1.0 / sample_rate)
    shape = np.zeros_like(frequencies)
    shape[1:] = frequencies[1:] ** (-alpha / 2)
    noise = _unit_rms(np.fft.irfft(np.fft.rfft(rng.standard_normal(n_samples)) * shape, n_samples))
    hum_on = rng.uniform() < hum_probability
    hum_hz = rng.choice((50.0, 60.0))
    phases = rng.uniform(0, 2 * np.pi, 5)
    hum_level = rng.uniform(0.2, 1.0)
    if hum_on:
        samples = np.arange(n_samples)
        hum = np.zeros(n_samples)
        for k in range(1, 6):
            if k * hum_hz < sample_rate / 2:
                angle = samples * (2 * np.pi * k * hum_hz / sample_rate) + phases[k - 1]
                hum += np.sin(angle.astype(np.float32)) / k
        noise = noise + hum_level * _unit_rms(hum)
    return _unit_rms(noise).astype(np.float32)


def espeak_available() -> bool:
    """Whether the ``espeak-ng`` program is on the PATH."""
    return shutil.which("espeak-ng") is not None


def speak(text: str, sample_rate: int, *, pitch: int = 50, words_per_minute: int = 175, voice: str = "en",
          silence_threshold: float = 0.02) -> np.ndarray:
    """``text`` spoken by ``espeak-ng`` (pitch 0–99, speed in words per minute), resampled to
    ``sample_rate``, leading and trailing samples below ``silence_threshold`` of the peak trimmed;
    float32 ``[n]`` at unit RMS.

    Raises:
      ValueError: ``espeak-ng`` is not installed, or it failed.
    """
    _check_rate(sample_rate)
    program = shutil.which("espeak-ng")
    if program is None:
        raise ValueError("espeak-ng is not installed (not on the PATH); use source='procedural'")
    result = subprocess.run([program, "--stdout", "-v", voice, "-p", str(int(pitch)), "-s",
                             str(int(words_per_minute)), text], capture_output=True, timeout=60)
    if result.returncode != 0:
        raise ValueError(f"espeak-ng failed on {text!r}: {result.stderr.decode(errors='replace').strip()}")
    with wave.open(io.BytesIO(result.stdout)) as recording:
        rate, width = recording.getframerate(), recording.getsampwidth()
        frames = recording.readframes(recording.getnframes())
    if width != 2:
        raise ValueError(f"espeak-ng wrote {8 * width}-bit samples; expected 16-bit")
    samples = np.frombuffer(frames, "<i2").astype(np.float64) / 32768.0
    if rate != sample_rate:
        from math import gcd

        from scipy.signal import resample_poly

        divisor = gcd(rate, sample_rate)
        samples = resample_poly(samples, sample_rate // divisor, rate // divisor)
    loud = np.flatnonzero(np.abs(samples) >= silence_threshold * np.max(np.abs(samples), initial=0.0))
    if loud.size == 0:
        raise ValueError(f"espeak-ng produced only silence for {text!r}")
    return _unit_rms(samples[loud[0]:loud[-1] + 1]).astype(np.float32)


def synthesize_word(word: str, rng: np.random.Generator, sample_rate: int, *, source: str = "procedural",
                    **jitter) -> np.ndarray:
    """One instance of the word named ``word``; float32 ``[n]`` at unit RMS.

    ``source``: ``'procedural'`` (the template :data:`WORDS`\\ [word], jittered as
    :func:`procedural_word` with ``jitter``), ``'espeak'`` (``espeak-ng`` speaking ``word`` with pitch
    ``~ U{25..75}`` and ``~ U{140..210}`` words per minute), or ``'auto'`` (espeak when installed).

    Raises:
      ValueError: an unknown source or word, or ``'espeak'`` without ``espeak-ng``.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}; got {source!r}")
    if source == "espeak" or (source == "auto" and espeak_available()):
        return speak(word, sample_rate, pitch=int(rng.integers(25, 76)), words_per_minute=int(rng.integers(140, 211)))
    if word not in WORDS:
        raise ValueError(f"unknown word {word!r}; the procedural words are {sorted(WORDS)}")
    return procedural_word(WORDS[word], rng, sample_rate, **jitter)
