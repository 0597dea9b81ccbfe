"""Procedural words and noise: seeded, at unit RMS, of the template's length, with the pitch,
formant, chirp and noise colour they are built with (checked with NumPy's FFT)."""
import numpy as np
import pytest

from dlcourse import audio


def peak_frequency(x, sample_rate):
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sample_rate)[np.argmax(spectrum)]


@pytest.mark.parametrize("word", sorted(audio.WORDS))
def test_every_word_is_seeded_at_unit_rms_and_as_long_as_its_template(word):
    first = audio.synthesize_word(word, np.random.default_rng(5), 4000)
    np.testing.assert_array_equal(first, audio.synthesize_word(word, np.random.default_rng(5), 4000))
    assert not np.array_equal(first, audio.synthesize_word(word, np.random.default_rng(6), 4000))
    assert first.dtype == np.float32 and np.sqrt(np.mean(first.astype(np.float64) ** 2)) == pytest.approx(1, 1e-5)
    nominal = sum(sound.seconds for sound in audio.WORDS[word]) * 4000
    pieces = len(audio.WORDS[word])
    assert 0.8 * nominal - pieces <= len(first) <= 1.25 * nominal + pieces


def test_a_vowel_is_harmonics_of_its_pitch_loudest_at_its_formant():
    vowel = (audio.Sound("voiced", 0.5, (1.0, 1.0), (600.0,)),)
    x = audio.procedural_word(vowel, np.random.default_rng(0), 8000, pitch_range=(150, 150),
                              duration_scale_range=(1, 1), formant_scale_range=(1, 1))
    middle = x[200:-200]
    power = np.abs(np.fft.rfft(middle * np.hanning(len(middle)))) ** 2
    frequencies = np.fft.rfftfreq(len(middle), 1 / 8000)
    assert peak_frequency(middle, 8000) == pytest.approx(600, abs=10)         # the 4th harmonic of 150 Hz
    near_harmonic = np.min(np.abs(frequencies[:, None] - 150 * np.arange(1, 27)[None, :]), axis=1) < 10
    assert power[near_harmonic].sum() > 0.999 * power.sum()


def test_the_whistle_glides_from_800_to_1600_hz_and_its_scale_moves_both():
    x = audio.synthesize_word("whistle", np.random.default_rng(0), 8000, duration_scale_range=(1, 1),
                              formant_scale_range=(1, 1))
    assert len(x) == 2800
    assert peak_frequency(x[100:500], 8000) == pytest.approx(800 + 800 * 300 / 2800, abs=40)
    assert peak_frequency(x[-500:-100], 8000) == pytest.approx(1600 - 800 * 300 / 2800, abs=40)
    higher = audio.synthesize_word("whistle", np.random.default_rng(0), 8000, duration_scale_range=(1, 1),
                                   formant_scale_range=(1.1, 1.1))
    assert peak_frequency(higher[-500:-100], 8000) == pytest.approx(1.1 * (1600 - 800 * 300 / 2800), abs=40)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_background_noise_has_power_falling_as_one_over_f_to_the_alpha(alpha):
    rng = np.random.default_rng(0)
    x = audio.background_noise(rng, 2 ** 16, 4000, colour_range=(alpha, alpha), hum_probability=0.0)
    assert np.sqrt(np.mean(x.astype(np.float64) ** 2)) == pytest.approx(1, rel=1e-4)
    power = np.abs(np.fft.rfft(x)) ** 2
    frequencies = np.fft.rfftfreq(len(x), 1 / 4000)
    bands = np.geomspace(20, 1800, 12)
    centres = np.sqrt(bands[:-1] * bands[1:])
    mean_power = [power[(frequencies >= lo) & (frequencies < hi)].mean() for lo, hi in zip(bands[:-1], bands[1:])]
    slope = np.polyfit(np.log(centres), np.log(mean_power), 1)[0]
    assert slope == pytest.approx(-alpha, abs=0.15)


def test_mains_hum_shows_at_its_frequency():
    x = audio.background_noise(np.random.default_rng(3), 8000, 4000, colour_range=(0, 0), hum_probability=1.0)
    power = np.abs(np.fft.rfft(x)) ** 2                               # 0.5 Hz bins
    hum = max(power[100], power[120])                                 # 50 or 60 Hz
    assert hum > 100 * np.median(power)


def test_sources_and_bad_words():
    with pytest.raises(ValueError, match="unknown word 'hello'"):
        audio.synthesize_word("hello", np.random.default_rng(0), 4000)
    with pytest.raises(ValueError, match="source must be one of"):
        audio.synthesize_word("dog", np.random.default_rng(0), 4000, source="tape")
    if audio.espeak_available():
        assert audio.synthesize_word("dog", np.random.default_rng(0), 8000, source="espeak").size > 0
    else:
        with pytest.raises(ValueError, match="espeak-ng is not installed"):
            audio.synthesize_word("dog", np.random.default_rng(0), 4000, source="espeak")
        np.testing.assert_array_equal(audio.synthesize_word("dog", np.random.default_rng(0), 4000, source="auto"),
                                      audio.synthesize_word("dog", np.random.default_rng(0), 4000))
