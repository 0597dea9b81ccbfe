"""A recurrent language model (course 5): embedding → stacked RNN/GRU/LSTM → logits of the next token.

At each step ``t`` the model reads ``x⟨t⟩ = y⟨t−1⟩`` and outputs the logits ``z⟨t⟩`` of
``ŷ⟨t⟩ = softmax(z⟨t⟩) = P(y⟨t⟩ | y⟨1⟩, …, y⟨t−1⟩)``::

    e⟨t⟩ = E[x⟨t⟩]                         (0⃗ where x⟨t⟩ = pad_id: the course's x⟨1⟩ = 0⃗)
    a[l]⟨t⟩ = cell_l(a[l]⟨t−1⟩, a[l−1]⟨t⟩)   (a[0]⟨t⟩ = e⟨t⟩; l = 1 … num_layers)
    z⟨t⟩ = W_y a[L]⟨t⟩ + b_y

The cells are :class:`dlcourse.nn.SimpleRNN`, :class:`dlcourse.nn.GRU` or :class:`dlcourse.nn.LSTM`
under the token mask: a padded step leaves every layer's state unchanged, so padding anywhere
(right, left, or a hole) does not change the logits at real steps. The loss
``L = Σ_t L(ŷ⟨t⟩, y⟨t⟩)`` over real steps is :func:`dlcourse.losses.softmax_cross_entropy_terms`
with a per-token mask (:func:`dlcourse.data.next_token_examples` arranges the data) and perplexity
is :data:`dlcourse.metrics.PERPLEXITY`, so :func:`dlcourse.train.supervised` trains it as any
model. Sampling and greedy decoding step the model one token at a time
(:func:`language_model_step` for :mod:`dlcourse.decoding`).
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from dlcourse.nn.gated_recurrent import LSTMState
from dlcourse.nn.recurrent_layers import GRU, LSTM, SimpleRNN

__all__ = ["LanguageModel", "RECURRENT_CELLS", "language_model_step"]

RECURRENT_CELLS = {"rnn": SimpleRNN, "gru": GRU, "lstm": LSTM}


class LanguageModel(nn.Module):
    """Next-token logits of token sequences (module docstring).

    Attributes:
      vocab_size: ``|V|``, the number of token ids (rows of ``E``, outputs per step).
      embedding_size: the width of ``e⟨t⟩`` (``E: (|V|, embedding_size)``).
      hidden_size: ``n_a`` of every layer.
      num_layers: stacked recurrent layers (a deep RNN).
      cell: ``'rnn'``, ``'gru'`` or ``'lstm'``.
      pad_id: the id embedded as the zero vector (the first input and padding); ``None`` for none.

    ``__call__(tokens, token_mask=None) -> logits [m, T, |V|]`` with ``tokens`` int ``[m, T]`` and
    ``token_mask`` ``[m, T]`` (1 at real steps; ``None``: all real). ``tokens`` may also be the pair
    ``(tokens, token_mask)``, as the supervised builder passes a pytree of inputs.
    :meth:`unroll` also takes and returns the layers' states (to continue a sequence).
    """

    vocab_size: int
    embedding_size: int = 32
    hidden_size: int = 64
    num_layers: int = 1
    cell: str = "lstm"
    pad_id: Optional[int] = 0

    def setup(self):
        if self.cell not in RECURRENT_CELLS:
            raise ValueError(f"cell must be one of {sorted(RECURRENT_CELLS)}; got {self.cell!r}")
        for name in ("vocab_size", "embedding_size", "hidden_size", "num_layers"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        self.embedding = nn.Embed(self.vocab_size, self.embedding_size)
        self.layers = [RECURRENT_CELLS[self.cell](self.hidden_size, name=f"{self.cell}_{l}")
                       for l in range(1, self.num_layers + 1)]
        self.readout = nn.Dense(self.vocab_size)

    def __call__(self, tokens, token_mask=None) -> jax.Array:
        if isinstance(tokens, (tuple, list)):
            if len(tokens) != 2 or token_mask is not None:
                raise ValueError("tokens may be a pair (tokens, token_mask), and then no token_mask is passed")
            tokens, token_mask = tokens
        return self.unroll(tokens, token_mask)[1]

    def unroll(self, tokens, token_mask=None, initial_states=None) -> tuple[tuple[Any, ...], jax.Array]:
        """``(final states per layer, logits [m, T, |V|])`` from ``initial_states`` (zeros when ``None``;
        else one state per layer, as :meth:`initial_states` makes them)."""
        tokens = jnp.asarray(tokens)
        if tokens.ndim != 2 or not jnp.issubdtype(tokens.dtype, jnp.integer):
            raise ValueError(f"tokens must be integer ids [batch, T]; got {tokens.dtype} of shape {tokens.shape}")
        if initial_states is not None and len(initial_states) != self.num_layers:
            raise ValueError(f"expected {self.num_layers} initial states (one per layer); got {len(initial_states)}")
        x = self.embedding(tokens)
        if self.pad_id is not None:
            x = x * (tokens != self.pad_id)[..., None].astype(x.dtype)
        states = []
        for l, layer in enumerate(self.layers):
            state, x = layer(x, token_mask, initial_state=None if initial_states is None else initial_states[l])
            states.append(state)
        return tuple(states), self.readout(x)

    def initial_states(self, batch_size: int, dtype=jnp.float32) -> tuple[Any, ...]:
        """Zero states ``a⟨0⟩`` (and ``c⟨0⟩`` for the LSTM) of every layer for ``batch_size`` sequences
        (needs no parameters: callable on an unbound model)."""
        zeros = jnp.zeros((batch_size, self.hidden_size), dtype)
        return tuple(LSTMState(zeros, zeros) if self.cell == "lstm" else zeros for _ in range(self.num_layers))


def language_model_step(model: LanguageModel, variables: Any) -> Callable[[Any, jax.Array], tuple[Any, jax.Array]]:
    """The model as one step ``(states, x⟨t⟩: int [m]) -> (states, z⟨t⟩: [m, |V|])`` for
    :func:`dlcourse.decoding.sample_sequences` and :func:`dlcourse.decoding.greedy_decode`.

    Start from ``model.initial_states(m)`` with ``x⟨1⟩ = pad_id`` (the zero input); to continue a
    prefix ``p⟨1⟩ … p⟨k⟩``, unroll ``[pad_id, p⟨1⟩, …, p⟨k−1⟩]`` (:meth:`LanguageModel.unroll`) and
    step from its states with ``x = p⟨k⟩``.
    """

    def step(states, tokens):
        states, logits = model.apply(variables, jnp.asarray(tokens)[:, None], None, states,
                                     method=LanguageModel.unroll)
        return states, logits[:, 0]

    return step


def check_sampling_settings(samples: int, max_sample_length: int, temperature: float, top_k: int) -> None:
    """Raises ``ValueError`` (naming the language-model programs' config keys) unless ``samples`` ≥ 1,
    ``max_sample_length`` ≥ 1, ``top_k`` ≥ 0 (0: every token) and ``temperature`` ≥ 0; a program calls
    it before training, so bad settings are refused before the work rather than after it."""
    if samples < 1 or max_sample_length < 1 or top_k < 0 or temperature < 0:
        raise ValueError(f"need samples >= 1, max_sample_length >= 1, top_k >= 0, temperature >= 0; got "
                         f"{samples}, {max_sample_length}, {top_k}, {temperature}")


def sample_from_language_model(model: Any, params: Any, count: int, key: jax.Array, max_length: int, *,
                               eos_id: int, pad_id: int, temperature: float = 1.0, top_k: Optional[int] = None,
                               excluded_tokens: tuple[int, ...] = ()) -> list[np.ndarray]:
    """``count`` novel sequences drawn from the trained model — a :class:`LanguageModel` or a
    :class:`dlcourse.models.TransformerLM` (stepped through its key–value cache of ``max_length``
    slots) — one jitted :func:`dlcourse.decoding.sample_sequences` from the zero input
    ``x⟨1⟩ = pad_id``: each row's token ids before ``<EOS>`` (at most ``max_length``), as NumPy arrays
    ready to decode with a vocabulary."""
    from dlcourse.decoding.sampling import sample_sequences
    from dlcourse.models.transformer import TransformerLM, transformer_lm_step

    check_sampling_settings(count, max_length, temperature, top_k or 0)
    if isinstance(model, TransformerLM):
        step, state = transformer_lm_step(model, {"params": params}, count, max_length)
    else:
        step, state = language_model_step(model, {"params": params}), model.initial_states(count)
    drawn = jax.jit(lambda k: sample_sequences(
        step, state, jnp.full(count, pad_id), k, max_length, eos_id, temperature=temperature,
        top_k=top_k, excluded_tokens=excluded_tokens, pad_id=pad_id))(key)
    tokens, mask = np.asarray(drawn.tokens), np.asarray(drawn.mask)
    return [row[keep & (row != eos_id)] for row, keep in zip(tokens, mask)]
