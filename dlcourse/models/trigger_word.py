"""The course's trigger-word detector: a 1-D convolution over the spectrogram, two GRU layers and
a per-step sigmoid readout.

For a spectrogram ``x [m, T_x, n_freq]`` (time along rows)::

    z = Conv1D(filters, kernel_size, stride)(x)          [m, T_y, filters]   'valid': T_y = ⌊(T_x − f)/s⌋ + 1
    a = dropout(ReLU(BatchNorm(z)))
    a = BatchNorm(dropout(GRU(a)))                        [m, T_y, n_a]
    a = dropout(BatchNorm(dropout(GRU(a))))
    z⟨t⟩ = w · a⟨t⟩ + b                                   [m, T_y]            (ŷ⟨t⟩ = σ(z⟨t⟩))

the layers of the course's Keras model (``Conv1D(196, 15, strides=4)``, ``GRU(128,
return_sequences=True)`` twice, ``TimeDistributed(Dense(1, activation='sigmoid'))``; with
``T_x = 5511`` the convolution gives the course's ``T_y = 1375``). The model returns the logits
``z⟨t⟩``, as every model of :mod:`dlcourse.models` (the sigmoid is in the loss,
:func:`dlcourse.losses.sigmoid_binary_cross_entropy_terms`). Sizes are attributes, small by
default; the course's are ``filters=196, hidden_size=128``.

The convolution is :class:`dlcourse.nn.Conv` on ``x`` seen as a one-row image ``[m, 1, T_x, n_freq]``
with a ``1 × f`` kernel (the same parameters and values as a 1-D convolution, and the filter
gradient that runs fast inside ``lax.scan`` on the CPU). Batch norm (:class:`dlcourse.nn.BatchNorm`)
takes its statistics over the examples and the steps, per channel, as Keras's
``BatchNormalization`` on ``[m, T, C]``. Dropout (:class:`dlcourse.nn.Dropout`) keeps each unit with
``keep_prob`` (traced); the course drops with rate 0.8, ``keep_prob = 0.2``.

The GRU is :class:`dlcourse.nn.GRU`: with ``reset_after=False`` the course's lecture equations
(``c̃⟨t⟩ = tanh(W_c[Γ_r * c⟨t−1⟩, x⟨t⟩] + b_c)``), with ``reset_after=True`` the form of Keras's
``GRU`` (TF 2 default; a second candidate bias ``b_cc`` inside the reset product). With the course's
sizes and ``n_freq = 101`` the model holds 522,561 numbers (lecture GRU) or 522,817 (Keras's form),
904 of them batch-norm statistics; the course notebook's summary says 523,329 because Keras's GRU
also keeps a recurrent bias for Γ_u and Γ_r (2 × 128 per layer), which adds to the input bias
and is folded into it here.
"""

from __future__ import annotations

from typing import Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.nn.batch_norm import BatchNorm
from dlcourse.nn.inverted_dropout import Dropout
from dlcourse.nn.loop_friendly_convolution import Conv
from dlcourse.nn.recurrent_layers import GRU

__all__ = ["TriggerWordModel"]


class TriggerWordModel(nn.Module):
    """Per-step trigger-word logits of a spectrogram (module docstring).

    Attributes:
      filters: convolution channels (course: 196).
      kernel_size: ``f``, convolution width in frames (course: 15).
      stride: ``s`` (course: 4).
      hidden_size: ``n_a`` of both GRU layers (course: 128).
      reset_after: the GRU's form (module docstring).
      axis_name: named device axis for batch statistics across devices.

    ``__call__(x [m, T_x, n_freq], *, train=False, keep_prob=1.0, mask=None) -> logits [m, T_y]``;
    ``mask`` ([m], 1 for a real example) keeps padded examples out of the batch statistics.
    """

    filters: int = 32
    kernel_size: int = 15
    stride: int = 4
    hidden_size: int = 32
    reset_after: bool = False
    axis_name: Optional[str] = None

    def output_steps(self, input_steps: int) -> int:
        """``T_y = ⌊(T_x − f)/s⌋ + 1`` (needs no parameters)."""
        if input_steps < self.kernel_size:
            raise ValueError(f"T_x={input_steps} frames is shorter than the kernel of {self.kernel_size}")
        return (input_steps - self.kernel_size) // self.stride + 1

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = False, keep_prob=1.0,
                 mask: Optional[jax.Array] = None) -> jax.Array:
        for name in ("filters", "kernel_size", "stride", "hidden_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        x = jnp.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"x must be a spectrogram [m, T_x, n_freq]; got shape {x.shape}")
        self.output_steps(x.shape[1])

        def batch_norm(a, name):
            return BatchNorm(axis_name=self.axis_name, name=name)(a, train=train, mask=mask)

        def drop(a, name):
            return Dropout(name=name)(a, keep_prob, train=train)

        z = Conv(self.filters, (1, self.kernel_size), strides=(1, self.stride), padding="VALID",
                 name="conv")(x[:, None])[:, 0]
        a = drop(nn.relu(batch_norm(z, "batch_norm_conv")), "dropout_conv")
        _, a = GRU(self.hidden_size, reset_after=self.reset_after, name="gru_1")(a)
        a = batch_norm(drop(a, "dropout_gru_1"), "batch_norm_gru_1")
        _, a = GRU(self.hidden_size, reset_after=self.reset_after, name="gru_2")(a)
        a = drop(batch_norm(drop(a, "dropout_gru_2"), "batch_norm_gru_2"), "dropout_output")
        return nn.Dense(1, name="readout")(a)[..., 0]
