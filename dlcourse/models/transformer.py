"""The Transformer (Vaswani et al. 2017): the encoder–decoder for translation and a decoder-only
language model, with cached one-token steps for :mod:`dlcourse.decoding` (course 5).

Inputs are embedded and given their position::

    x⟨t⟩ = √d_model · E[token⟨t⟩] + PE(t)      (E ~ N(0, 1/d_model), so √d_model E has unit variance)

with :func:`dlcourse.nn.positional_encoding` (``t = 0 …``; at most ``max_length`` positions), then
dropout; the encoder is ``num_layers`` :class:`dlcourse.nn.EncoderLayer` s under the source's padding
mask, the decoder ``num_layers`` :class:`dlcourse.nn.DecoderLayer` s under the look-ahead and target
padding masks, attending to the encoder's output over the source's real tokens; a Dense layer
``readout`` gives the logits of ``P(y⟨t⟩ | x, y⟨<t⟩)``. Layers are post-norm, as in the paper. The
decoder-only :class:`TransformerLM` is the encoder stack under the look-ahead mask (a "decoder" with
no memory to attend to), reading ``x⟨t⟩ = y⟨t−1⟩`` as :class:`dlcourse.models.LanguageModel` does.
Dense kernels start LeCun normal and biases at 0 (Flax's defaults). ``apply(…, mutable=['intermediates'])``
also returns every attention's weights ``[m, h, T_q, T_k]`` (sown as 1-tuples, e.g.
``['intermediates']['decoder_1']['cross_attention']['attention_weights'][0]``: the map over the source).

Dropout keeps units with probability ``keep_prob``: by default ``1 − dropout_rate``, or the
``keep_prob`` passed to ``__call__`` (a possibly traced hyperparameter, as
:func:`dlcourse.train.supervised` passes it). The supervised builder passes inputs as one pytree:
both models also take their arguments packed, ``(source, source_mask, target_in, target_mask)`` and
``(tokens, token_mask)``.

Decoding. :func:`transformer_decoding` and :func:`transformer_lm_step` return a step
``(state, x⟨t⟩: int [m]) -> (state, logits [m, |V|])`` for :func:`dlcourse.decoding.greedy_decode`,
``sample_sequences`` and ``beam_search``: the state holds, per layer, a :class:`dlcourse.nn.KeyValueCache`
of the positions read so far (and the encoder memory's projected keys and values, computed once), so a
step costs one position, not the whole prefix. Every leaf has leading axis ``m`` (beam search tiles
and gathers rows). The cache has ``max_length`` slots: a step past them is not defined.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.nn.attention import KeyValueCache, look_ahead_mask, padding_mask, positional_encoding
from dlcourse.nn.inverted_dropout import Dropout
from dlcourse.nn.transformer_layers import DecoderLayer, EncoderLayer

__all__ = ["Transformer", "TransformerDecodingState", "TransformerLM", "TransformerLMState", "transformer_decoding",
           "transformer_lm_step"]

Step = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


class TransformerDecodingState(NamedTuple):
    """The encoder–decoder's decoding state (every leaf ``[m, …]``).

    Attributes:
      position: int32 ``[m]``, the index of the next target position (= tokens read so far).
      self_attention: per decoder layer, the keys and values of the positions read, ``[m, T_cache, h, d_head]``.
      memory: per decoder layer, the encoder output's keys and values, ``[m, T_x, h, d_head]``.
      source_mask: bool ``[m, T_x]``, the source's real tokens.
    """

    position: jax.Array
    self_attention: tuple[KeyValueCache, ...]
    memory: tuple[KeyValueCache, ...]
    source_mask: jax.Array


class TransformerLMState(NamedTuple):
    """The language model's decoding state: ``position`` int32 ``[m]`` and, per layer, the keys and
    values of the positions read, ``[m, T_cache, h, d_head]``."""

    position: jax.Array
    self_attention: tuple[KeyValueCache, ...]


def _check_sizes(module) -> None:
    for name in ("d_model", "num_heads", "num_layers", "d_ff", "max_length"):
        value = getattr(module, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if module.d_model % module.num_heads:
        raise ValueError(f"d_model={module.d_model} must be divisible by num_heads={module.num_heads}")
    if not 0 <= module.dropout_rate < 1:
        raise ValueError(f"dropout_rate must lie in [0, 1); got {module.dropout_rate!r}")


def _check_tokens(tokens, max_length: int, name: str = "tokens") -> jax.Array:
    tokens = jnp.asarray(tokens)
    if tokens.ndim != 2 or not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise ValueError(f"{name} must be integer ids [m, T]; got {tokens.dtype} of shape {tokens.shape}")
    if tokens.shape[1] > max_length:
        raise ValueError(f"{name} has {tokens.shape[1]} positions, more than max_length={max_length}")
    return tokens


def _key_mask(token_mask, tokens) -> jax.Array:
    """bool ``[m, 1, 1, T]`` of the real tokens (all when ``token_mask`` is None)."""
    return padding_mask(jnp.ones(tokens.shape, bool) if token_mask is None else jnp.asarray(token_mask))


def _empty_caches(batch_size: int, length: int, module, dtype=jnp.float32) -> tuple[KeyValueCache, ...]:
    shape = (batch_size, length, module.num_heads, module.d_model // module.num_heads)
    return tuple(KeyValueCache(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(module.num_layers))


class _Embedding(nn.Module):
    """``√d_model · E[token] + PE(position)`` (module docstring)."""

    vocab_size: int
    d_model: int
    max_length: int

    def setup(self):
        self.embedding = nn.Embed(self.vocab_size, self.d_model,
                                  embedding_init=nn.initializers.normal(self.d_model ** -0.5))

    def __call__(self, tokens, positions) -> jax.Array:
        table = positional_encoding(self.max_length, self.d_model)
        return self.embedding(tokens) * np.float32(np.sqrt(self.d_model)) + jnp.asarray(table)[positions]


class Transformer(nn.Module):
    """The encoder–decoder Transformer (module docstring).

    Attributes:
      source_vocab, target_vocab: ``|V_x|`` and ``|V_y|``.
      d_model: the width of every position's vector; ``num_heads`` ``h`` must divide it.
      num_layers: ``N``, encoder layers and decoder layers each.
      d_ff: the feed-forward network's hidden width.
      dropout_rate: ``1 − keep_prob`` when ``__call__`` gets no ``keep_prob``.
      max_length: the most positions of a source or target (the positional encoding's rows).

    ``__call__(source [m, T_x], source_mask [m, T_x], target_in [m, T_y], target_mask [m, T_y], train=False,
    keep_prob=None) -> logits [m, T_y, target_vocab]``: ``target_in`` is the target shifted right
    (``<BOS>``/start token first), the masks are nonzero at real tokens (``None``: all real).
    :meth:`encode` and :meth:`decode` are its halves. Parameters: ``source_embedding``,
    ``target_embedding``, ``encoder_1 … N``, ``decoder_1 … N``, ``readout``.
    """

    source_vocab: int
    target_vocab: int
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int = 256
    dropout_rate: float = 0.1
    max_length: int = 64

    def setup(self):
        _check_sizes(self)
        self.source_embedding = _Embedding(self.source_vocab, self.d_model, self.max_length)
        self.target_embedding = _Embedding(self.target_vocab, self.d_model, self.max_length)
        self.encoder = [EncoderLayer(self.d_model, self.num_heads, self.d_ff, name=f"encoder_{l}")
                        for l in range(1, self.num_layers + 1)]
        self.decoder = [DecoderLayer(self.d_model, self.num_heads, self.d_ff, name=f"decoder_{l}")
                        for l in range(1, self.num_layers + 1)]
        self.readout = nn.Dense(self.target_vocab)
        self.dropout = Dropout()

    def _keep(self, keep_prob):
        return 1.0 - self.dropout_rate if keep_prob is None else keep_prob

    def __call__(self, source, source_mask=None, target_in=None, target_mask=None, train: bool = False,
                 keep_prob=None) -> jax.Array:
        if isinstance(source, (tuple, list)):
            if len(source) != 4 or not (source_mask is None and target_in is None and target_mask is None):
                raise ValueError("source may be the tuple (source, source_mask, target_in, target_mask), and then "
                                 "nothing else is passed")
            source, source_mask, target_in, target_mask = source
        if target_in is None:
            raise ValueError("target_in is required (the target shifted right)")
        memory = self.encode(source, source_mask, train=train, keep_prob=keep_prob)
        return self.decode(memory, source_mask, target_in, target_mask, train=train, keep_prob=keep_prob)

    def encode(self, source, source_mask=None, train: bool = False, keep_prob=None) -> jax.Array:
        """The encoder's output ``memory [m, T_x, d_model]``."""
        source = _check_tokens(source, self.max_length, "source")
        keep = self._keep(keep_prob)
        x = self.dropout(self.source_embedding(source, jnp.arange(source.shape[1])), keep, train=train)
        mask = _key_mask(source_mask, source)
        for layer in self.encoder:
            x = layer(x, mask, train=train, keep_prob=keep)
        return x

    def decode(self, memory, source_mask, target_in, target_mask=None, train: bool = False,
               keep_prob=None) -> jax.Array:
        """``logits [m, T_y, target_vocab]`` of the targets after ``target_in`` given the encoder's ``memory``."""
        target_in = _check_tokens(target_in, self.max_length, "target_in")
        keep = self._keep(keep_prob)
        y = self.dropout(self.target_embedding(target_in, jnp.arange(target_in.shape[1])), keep, train=train)
        self_mask = _key_mask(target_mask, target_in) & look_ahead_mask(target_in.shape[1])
        memory_mask = _key_mask(source_mask, memory[..., 0])
        for layer in self.decoder:
            y = layer(y, memory, self_mask, memory_mask, train=train, keep_prob=keep)
        return self.readout(y)

    def start_decoding(self, source, source_mask=None, max_length: Optional[int] = None) -> TransformerDecodingState:
        """Encodes ``source`` and returns the state before the first target token (empty caches of
        ``max_length`` slots, ``self.max_length`` when ``None``)."""
        length = self.max_length if max_length is None else max_length
        if not isinstance(length, int) or not 1 <= length <= self.max_length:
            raise ValueError(f"max_length must be an int in [1, {self.max_length}]; got {max_length!r}")
        source = _check_tokens(source, self.max_length, "source")
        memory = self.encode(source, source_mask)
        real = jnp.ones(source.shape, bool) if source_mask is None else jnp.asarray(source_mask) != 0
        m = source.shape[0]
        return TransformerDecodingState(jnp.zeros(m, jnp.int32), _empty_caches(m, length, self, memory.dtype),
                                        tuple(layer.project_memory(memory) for layer in self.decoder), real)

    def decode_step(self, state: TransformerDecodingState, tokens) -> tuple[TransformerDecodingState, jax.Array]:
        """Reads ``y⟨t⟩`` (``tokens`` int ``[m]``) at ``state.position``: ``(state, logits [m, target_vocab])``."""
        y = self.target_embedding(jnp.asarray(tokens)[:, None], state.position[:, None])
        memory_mask = padding_mask(state.source_mask)
        caches = []
        for layer, cache, memory in zip(self.decoder, state.self_attention, state.memory):
            y, cache = layer.step(y, cache, state.position, memory, memory_mask)
            caches.append(cache)
        return state._replace(position=state.position + 1, self_attention=tuple(caches)), self.readout(y)[:, 0]


def transformer_decoding(model: Transformer, variables: Any, source, source_mask=None,
                         max_length: Optional[int] = None) -> tuple[Step, TransformerDecodingState]:
    """``(step, state)`` to decode ``source`` with :func:`dlcourse.decoding.greedy_decode` or ``beam_search``:
    the source is encoded once; ``step(state, y⟨t⟩ [m]) -> (state, logits [m, target_vocab])`` reads one
    target token (first the start token) with the key–value caches (module docstring). ``max_length``:
    the cache's slots (``model.max_length`` when ``None``), at least the decoder's ``max_length``."""
    state = model.apply(variables, source, source_mask, max_length, method=Transformer.start_decoding)

    def step(state, tokens):
        return model.apply(variables, state, tokens, method=Transformer.decode_step)

    return step, state


class TransformerLM(nn.Module):
    """A decoder-only Transformer language model (module docstring): ``logits [m, T, |V|]`` of
    ``P(y⟨t⟩ | y⟨<t⟩)`` from inputs ``x⟨t⟩ = y⟨t−1⟩``.

    Attributes:
      vocab_size: ``|V|``.
      d_model, num_heads, num_layers, d_ff, dropout_rate, max_length: as :class:`Transformer`.

    ``__call__(tokens [m, T], token_mask=None [m, T], train=False, keep_prob=None)``; ``tokens`` may be
    the pair ``(tokens, token_mask)``. Causal, so right padding leaves the real positions alone (the
    mask also hides padded keys elsewhere). Parameters: ``embedding``, ``layer_1 … N``, ``readout``.
    """

    vocab_size: int
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    d_ff: int = 256
    dropout_rate: float = 0.1
    max_length: int = 64

    def setup(self):
        _check_sizes(self)
        self.embedding = _Embedding(self.vocab_size, self.d_model, self.max_length)
        self.layers = [EncoderLayer(self.d_model, self.num_heads, self.d_ff, name=f"layer_{l}")
                       for l in range(1, self.num_layers + 1)]
        self.readout = nn.Dense(self.vocab_size)
        self.dropout = Dropout()

    def __call__(self, tokens, token_mask=None, train: bool = False, keep_prob=None) -> jax.Array:
        if isinstance(tokens, (tuple, list)):
            if len(tokens) != 2 or token_mask is not None:
                raise ValueError("tokens may be a pair (tokens, token_mask), and then no token_mask is passed")
            tokens, token_mask = tokens
        tokens = _check_tokens(tokens, self.max_length)
        keep = 1.0 - self.dropout_rate if keep_prob is None else keep_prob
        x = self.dropout(self.embedding(tokens, jnp.arange(tokens.shape[1])), keep, train=train)
        mask = _key_mask(token_mask, tokens) & look_ahead_mask(tokens.shape[1])
        for layer in self.layers:
            x = layer(x, mask, train=train, keep_prob=keep)
        return self.readout(x)

    def initial_state(self, batch_size: int, max_length: Optional[int] = None,
                      dtype=jnp.float32) -> TransformerLMState:
        """Empty caches of ``max_length`` slots (``self.max_length`` when ``None``) for ``batch_size`` rows
        (needs no parameters: callable on an unbound model)."""
        length = self.max_length if max_length is None else max_length
        if not isinstance(length, int) or not 1 <= length <= self.max_length:
            raise ValueError(f"max_length must be an int in [1, {self.max_length}]; got {max_length!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        return TransformerLMState(jnp.zeros(batch_size, jnp.int32), _empty_caches(batch_size, length, self, dtype))

    def step(self, state: TransformerLMState, tokens) -> tuple[TransformerLMState, jax.Array]:
        """Reads ``x⟨t⟩`` (``tokens`` int ``[m]``) at ``state.position``: ``(state, logits [m, |V|])``."""
        x = self.embedding(jnp.asarray(tokens)[:, None], state.position[:, None])
        caches = []
        for layer, cache in zip(self.layers, state.self_attention):
            x, cache = layer.step(x, cache, state.position)
            caches.append(cache)
        return TransformerLMState(state.position + 1, tuple(caches)), self.readout(x)[:, 0]


def transformer_lm_step(model: TransformerLM, variables: Any, batch_size: int,
                        max_length: Optional[int] = None) -> tuple[Step, TransformerLMState]:
    """``(step, state)``: the model as one cached step ``(state, x⟨t⟩ [m]) -> (state, logits [m, |V|])`` for
    :mod:`dlcourse.decoding`, from empty caches of ``max_length`` slots (``model.max_length`` when ``None``)
    for ``batch_size`` rows, like :func:`dlcourse.models.language_model_step`: start with ``x⟨1⟩`` (e.g.
    ``pad_id``); at most ``max_length`` steps."""
    state = model.initial_state(batch_size, max_length)

    def step(state, tokens):
        return model.apply(variables, state, tokens, method=TransformerLM.step)

    return step, state
