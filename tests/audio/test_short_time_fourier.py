"""The STFT against scipy.signal.stft and a DFT written out; frame counts by hand."""
import numpy as np
import pytest
import scipy.signal

from dlcourse import audio


def test_stft_equals_scipy_with_its_window_normalization_undone():
    x = np.random.default_rng(0).standard_normal((2, 1000)).astype(np.float32)
    ours = np.asarray(audio.stft(x, 64, 24))
    _, _, reference = scipy.signal.stft(x, nperseg=64, noverlap=64 - 24, window="hann", boundary=None, padded=False,
                                        detrend=False, return_onesided=True)
    window_sum = scipy.signal.get_window("hann", 64).sum()   # scipy scales the spectrum by 1 / Σ w
    assert ours.shape == (2, 40, 33)
    np.testing.assert_allclose(ours, np.swapaxes(reference, -1, -2) * window_sum, atol=2e-4, rtol=1e-4)


def test_log_power_spectrogram_is_the_written_out_dft_of_each_hann_windowed_frame():
    rng = np.random.default_rng(1)
    x, n_frame, hop = rng.standard_normal(100), 16, 10
    j, k = np.arange(n_frame), np.arange(n_frame // 2 + 1)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * j / n_frame)
    frames = [x[t * hop:t * hop + n_frame] for t in range(1 + (100 - n_frame) // hop)]
    dft = np.array([[np.sum(window * f * np.exp(-2j * np.pi * kk * j / n_frame)) for kk in k] for f in frames])
    power = np.abs(dft) ** 2
    np.testing.assert_allclose(audio.spectrogram(x, n_frame, hop, log=False), power, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(audio.spectrogram(x, n_frame, hop, epsilon=1e-3), np.log(power + 1e-3),
                               rtol=1e-4, atol=1e-4)


def test_frame_counts_and_the_courses_shapes():
    assert audio.frame_count(1000, 64, 24) == 40            # last frame: samples 936 … 999
    assert audio.frame_count(1001, 64, 24) == 40 and audio.frame_count(1000 + 24, 64, 24) == 41
    assert audio.frame_count(441000, 200, 80) == 5511        # the course's 10 s at 44.1 kHz: T_x = 5511
    with pytest.raises(ValueError, match="shorter than one frame"):
        audio.spectrogram(np.zeros(10), 16, 4)
    with pytest.raises(ValueError, match="hop_length must be a positive int"):
        audio.frame_count(100, 16, 0)
