"""The spectrogram: a short-time Fourier transform of a signal, in ``jax.numpy``.

For a signal ``x[0 … n−1]``, frame length ``N`` and hop ``H``, frame ``τ = 0 … T_x − 1`` starts at
sample ``τH`` and

    X[τ, k] = Σ_{j=0}^{N−1} w[j] x[τH + j] e^{−2πi kj/N},   k = 0 … ⌊N/2⌋,

with the periodic Hann window ``w[j] = ½ − ½ cos(2πj/N)`` (scipy's and PyTorch's default). Only
whole frames are taken, no padding: ``T_x = 1 + ⌊(n − N)/H⌋``. The power spectrogram is ``|X[τ, k]|²``
and the log spectrogram ``log(|X|² + ε)``. Rows are time (``[…, T_x, ⌊N/2⌋ + 1]``), the layout the
trigger-word model reads (the course's Keras model takes ``(T_x, n_freq)``).

The course computes its spectrograms with matplotlib's ``specgram(x, NFFT=200, Fs=8000,
noverlap=120)`` on 44.1 kHz audio: 200-sample frames, hop 80, so a 10 s clip gives ``T_x = 5511``
frames of 101 frequencies; ``frame_length=200, hop_length=80`` reproduce those shapes (matplotlib
uses a symmetric Hann window and scales to a density; the values differ by that window and a constant).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


def _check_sizes(frame_length, hop_length) -> None:
    for name, value in (("frame_length", frame_length), ("hop_length", hop_length)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")


def frame_count(n_samples: int, frame_length: int, hop_length: int) -> int:
    """``T_x = 1 + ⌊(n − N)/H⌋`` whole frames of a signal of ``n`` samples.

    Raises:
      ValueError: bad sizes, or a signal shorter than one frame.
    """
    _check_sizes(frame_length, hop_length)
    if n_samples < frame_length:
        raise ValueError(f"a signal of {n_samples} samples is shorter than one frame of {frame_length}")
    return 1 + (n_samples - frame_length) // hop_length


def hann_window(length: int) -> jax.Array:
    """The periodic Hann window ``w[j] = ½ − ½ cos(2πj/N)``, ``j = 0 … N−1``; float32 ``[N]``."""
    _check_sizes(length, 1)
    return (0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(length) / length)).astype(jnp.float32)


@partial(jax.jit, static_argnames=("frame_length", "hop_length"))
def stft(signal, frame_length: int, hop_length: int) -> jax.Array:
    """``X[…, τ, k]`` of the module docstring for ``signal [..., n]``; complex64 ``[..., T_x, ⌊N/2⌋ + 1]``.
    Jitted, with the sizes static."""
    signal = jnp.asarray(signal, jnp.float32)
    frames = frame_count(signal.shape[-1], frame_length, hop_length)
    starts = hop_length * np.arange(frames)
    windows = signal[..., starts[:, None] + np.arange(frame_length)[None, :]]     # [..., T_x, N]
    return jnp.fft.rfft(windows * hann_window(frame_length), axis=-1)


@partial(jax.jit, static_argnames=("frame_length", "hop_length", "log"))
def spectrogram(signal, frame_length: int, hop_length: int, *, log: bool = True, epsilon=1e-10) -> jax.Array:
    """``|X|²`` or (``log=True``) ``log(|X|² + ε)`` (``ε > 0``) of :func:`stft`; float32
    ``[..., T_x, ⌊N/2⌋ + 1]``. Jitted, with the sizes and ``log`` static."""
    spectrum = stft(signal, frame_length, hop_length)
    power = jnp.square(spectrum.real) + jnp.square(spectrum.imag)
    return jnp.log(power + epsilon) if log else power
