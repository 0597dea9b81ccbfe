"""The attention model of translation (course 5): a bidirectional LSTM encoder, Bahdanau attention,
a post-attention LSTM decoder and a softmax over the target tokens.

For a source ``x⟨1⟩ … x⟨T_x⟩`` (e.g. the characters of ``"25 mars 1970"``) and a target
``y⟨1⟩ … y⟨T_y⟩`` (``"1970-03-25<EOS>"``)::

    a⟨t′⟩ = [a→⟨t′⟩; a←⟨t′⟩]                        bidirectional LSTM over the embedded source (masked)
    context⟨t⟩, α⟨t,·⟩ = attention(s⟨t−1⟩, a)         :class:`dlcourse.nn.AdditiveAttention` (its parameters)
    s⟨t⟩, c⟨t⟩ = LSTM(s⟨t−1⟩, c⟨t−1⟩; [context⟨t⟩; E_y y⟨t−1⟩])     s⟨0⟩ = c⟨0⟩ = 0, y⟨0⟩ = <SOS>
    P(y⟨t⟩ | x, y⟨<t⟩) = softmax(W_y s⟨t⟩ + b_y)

In training ``y⟨t−1⟩`` is the true previous token (teacher forcing: the decoder reads
``target_in = <SOS> y⟨1⟩ … y⟨T_y−1⟩``); decoding feeds back its own outputs (:func:`translator_decoding`
for :func:`dlcourse.decoding.greedy_decode` and beam search), so ``P(y | x) = Π_t P(y⟨t⟩ | x, y⟨<t⟩)``
by the chain rule and beam search has something to search. The course's assignment
feeds the post-attention LSTM only ``context⟨t⟩`` (its outputs are then conditionally independent
given ``x``); ``feed_previous_output=False`` is that model.

Its training figure is :data:`dlcourse.metrics.EXACT_MATCH`: on teacher-forced logits, greedy
decoding's sequence accuracy, cheap enough for every epoch.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from dlcourse.nn.additive_attention import bahdanau_attention
from dlcourse.nn.gated_recurrent import LSTM_GATES, LSTMState, lstm_step
from dlcourse.nn.recurrent_layers import LSTM, Bidirectional, state_and_input_weights_init

__all__ = ["AttentionTranslator", "TranslatorState", "translator_decoding"]


class TranslatorState(NamedTuple):
    """The decoder's state between steps (every leaf has the batch axis first, so beam search can
    tile and reorder it): the encoder outputs ``a [m, T_x, 2 n_a]``, the source mask ``[m, T_x]``,
    the post-attention LSTM's ``(s, c)`` and the last step's attention weights ``α [m, T_x]``."""

    encoded: jax.Array
    source_mask: jax.Array
    cell: LSTMState
    attention: jax.Array


class _Decoder(nn.Module):
    """The post-attention decoder over ``T`` steps ``(s⟨t−1⟩, c⟨t−1⟩), y⟨t−1⟩ -> (s⟨t⟩, c⟨t⟩), (logits⟨t⟩,
    α⟨t,·⟩)``: its parameters declared once, the steps a ``lax.scan`` of a pure function of them (one
    trace of the step, where a lifted ``nn.scan`` traces it again at initialization). Parameters and their
    initialization: ``attention`` as :class:`dlcourse.nn.AdditiveAttention`'s and ``readout`` as a Dense
    layer's (LeCun normal kernels, zero biases), ``target_embedding`` as ``flax.linen.Embed``'s, the LSTM's
    ``W_f, W_u, W_c, W_o, b_·`` as :class:`dlcourse.nn.LSTM`'s."""

    target_vocab: int
    decoder_size: int
    attention_size: int
    target_embedding_size: int
    feed_previous_output: bool

    @nn.compact
    def __call__(self, cell: LSTMState, previous: jax.Array, encoded: jax.Array, source_mask: jax.Array):
        n_s, n_a, width = self.decoder_size, encoded.shape[-1], self.attention_size
        lecun, zeros = nn.initializers.lecun_normal(), nn.initializers.zeros_init()

        def attention_init(key):
            hidden_key, energy_key = jax.random.split(key)
            return {"hidden_kernel": lecun(hidden_key, (n_s + n_a, width)), "hidden_bias": zeros(key, (width,)),
                    "energy_kernel": lecun(energy_key, (width, 1)), "energy_bias": zeros(key, (1,))}

        attention = self.param("attention", attention_init)
        n_x = n_a
        if self.feed_previous_output:
            embedding = self.param("target_embedding", lambda key: {"embedding": nn.initializers.variance_scaling(
                1.0, "fan_in", "normal", out_axis=0)(key, (self.target_vocab, self.target_embedding_size))})
            n_x += self.target_embedding_size
        init = state_and_input_weights_init(nn.initializers.orthogonal(), lecun, n_s)
        lstm = {f"W_{g}": self.param(f"W_{g}", init, (n_s, n_s + n_x)) for g in LSTM_GATES}
        lstm.update({f"b_{g}": self.param(f"b_{g}", zeros, (n_s,)) for g in LSTM_GATES})
        readout = self.param("readout", lambda key: {"kernel": lecun(key, (n_s, self.target_vocab)),
                                                     "bias": zeros(key, (self.target_vocab,))})

        def step(cell, tokens):
            context, alpha = bahdanau_attention(attention, cell.a, encoded, source_mask)
            x = context
            if self.feed_previous_output:
                x = jnp.concatenate([context, jnp.take(embedding["embedding"], tokens, axis=0)], axis=-1)
            cell, s = lstm_step(lstm, cell, x)
            return cell, (s @ readout["kernel"] + readout["bias"], alpha)

        cell, (logits, alphas) = jax.lax.scan(step, LSTMState(*cell), jnp.swapaxes(previous, 0, 1))
        return cell, (jnp.swapaxes(logits, 0, 1), jnp.swapaxes(alphas, 0, 1))


class AttentionTranslator(nn.Module):
    """Sequence-to-sequence translation with attention (module docstring).

    Attributes:
      source_vocab, target_vocab: ``|V_x|``, ``|V_y|``.
      embedding_size: the width of the source tokens' embedding.
      encoder_size: ``n_a`` of each direction of the encoder (``a⟨t′⟩`` has ``2 n_a``).
      decoder_size: ``n_s`` of the post-attention LSTM.
      attention_size: the width of the attention's scoring layer (10 in the course).
      target_embedding_size: the width of ``E_y y⟨t−1⟩`` (unused without ``feed_previous_output``).
      feed_previous_output: feed ``y⟨t−1⟩`` to the decoder (True) or only the context (the course's assignment).

    ``__call__(source [m, T_x] int, source_mask [m, T_x], target_in [m, T_y] int, target_mask=None,
    return_attention=False) -> logits [m, T_y, |V_y|]`` (and ``α [m, T_y, T_x]`` with ``return_attention``);
    the first argument may also be the tuple ``(source, source_mask, target_in, target_mask)``
    (:class:`dlcourse.data.TranslationInputs`), as the supervised builder passes its inputs. ``target_mask``
    is accepted for that tuple and not read: the decoder runs left to right, so padding after a target
    changes nothing before it (the loss's mask leaves it out). :meth:`initial_state` and :meth:`decode_step` step the
    decoder one token at a time.
    """

    source_vocab: int
    target_vocab: int
    embedding_size: int = 16
    encoder_size: int = 32
    decoder_size: int = 64
    attention_size: int = 10
    target_embedding_size: int = 16
    feed_previous_output: bool = True

    def setup(self):
        for name in ("source_vocab", "target_vocab", "embedding_size", "encoder_size", "decoder_size",
                     "attention_size", "target_embedding_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        self.source_embedding = nn.Embed(self.source_vocab, self.embedding_size)
        self.encoder = Bidirectional(LSTM(self.encoder_size, name="encoder_forward"),
                                     LSTM(self.encoder_size, name="encoder_backward"))
        self.decoder = _Decoder(self.target_vocab, self.decoder_size, self.attention_size,
                                self.target_embedding_size, self.feed_previous_output)

    def encode(self, source: jax.Array, source_mask: Optional[jax.Array] = None) -> tuple[jax.Array, jax.Array]:
        """``(a [m, T_x, 2 n_a], mask [m, T_x] bool)``: the encoder's outputs (0 at padding)."""
        source = jnp.asarray(source)
        if source.ndim != 2 or not jnp.issubdtype(source.dtype, jnp.integer):
            raise ValueError(f"source must be integer ids [m, T_x]; got {source.dtype} of shape {source.shape}")
        mask = jnp.ones(source.shape, bool) if source_mask is None else jnp.asarray(source_mask).astype(bool)
        if mask.shape != source.shape:
            raise ValueError(f"source_mask must have the source's shape {source.shape}; got {mask.shape}")
        _, encoded = self.encoder(self.source_embedding(source), mask)
        return encoded, mask

    def initial_state(self, source: jax.Array, source_mask: Optional[jax.Array] = None) -> TranslatorState:
        """The state before the first decoder step: the encoded source, ``s⟨0⟩ = c⟨0⟩ = 0``, ``α = 0``."""
        encoded, mask = self.encode(source, source_mask)
        zeros = jnp.zeros((encoded.shape[0], self.decoder_size), encoded.dtype)
        return TranslatorState(encoded, mask, LSTMState(zeros, zeros), jnp.zeros(mask.shape, encoded.dtype))

    def decode_step(self, state: TranslatorState, previous: jax.Array) -> tuple[TranslatorState, jax.Array]:
        """One step ``(state, y⟨t−1⟩: int [m]) -> (state, logits [m, |V_y|])``; the new state's
        ``attention`` holds ``α⟨t,·⟩``."""
        cell, (logits, alpha) = self.decoder(state.cell, jnp.asarray(previous)[:, None], state.encoded,
                                             state.source_mask)
        return TranslatorState(state.encoded, state.source_mask, cell, alpha[:, 0]), logits[:, 0]

    def __call__(self, source, source_mask=None, target_in=None, target_mask=None, return_attention: bool = False):
        if isinstance(source, (tuple, list)):
            if len(source) != 4 or not (source_mask is None and target_in is None and target_mask is None):
                raise ValueError("source may be the tuple (source, source_mask, target_in, target_mask), and then "
                                 "nothing else is passed")
            source, source_mask, target_in, _ = source
        if target_in is None:
            raise ValueError("the decoder needs target_in [m, T_y] (<SOS> then the target shifted right)")
        target_in = jnp.asarray(target_in)
        state = self.initial_state(source, source_mask)
        if target_in.ndim != 2 or target_in.shape[0] != state.encoded.shape[0]:
            raise ValueError(f"target_in must be ids [m={state.encoded.shape[0]}, T_y]; got {target_in.shape}")
        _, (logits, alpha) = self.decoder(state.cell, target_in, state.encoded, state.source_mask)
        return (logits, alpha) if return_attention else logits


def translator_decoding(model: AttentionTranslator, variables: Any, source: jax.Array,
                        source_mask: Optional[jax.Array] = None
                        ) -> tuple[Callable[[TranslatorState, jax.Array], tuple[TranslatorState, jax.Array]],
                                   TranslatorState]:
    """``(step, state)`` for :func:`dlcourse.decoding.greedy_decode` and beam search: ``state`` holds
    the encoded ``source`` (every leaf ``[m, ...]``), ``step(state, y⟨t−1⟩) -> (state, logits)``.
    Start from ``first_tokens = <SOS>``. The attention map of a decoded sequence is
    ``model.apply(variables, source, source_mask, [<SOS>, ŷ⟨1⟩, …], return_attention=True)[1]``."""
    state = model.apply(variables, source, source_mask, method=AttentionTranslator.initial_state)

    def step(state, previous):
        return model.apply(variables, state, previous, method=AttentionTranslator.decode_step)

    return step, state
