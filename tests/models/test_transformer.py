"""dlcourse.models.Transformer and TransformerLM: parameters by name and shape, the key-value-cached
steps equal to the uncached full pass position by position, padding ignored, greedy decoding through
dlcourse.decoding equal to an uncached argmax loop, and beam search through the cached step scoring
each hypothesis as the full teacher-forced pass does. Parameters are drawn with NumPy (compiling
initializers costs seconds)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import decoding, models
from dlcourse.train import compile_lowered

START, EOS = 1, 2


def drawn(model, *args, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(model.init, jax.random.key(0), *args)
    return jax.tree.map(lambda s: (scale * rng.normal(size=s.shape)).astype(np.float32), shapes)


def compiled(f, *args):
    return compile_lowered(jax.jit(f).lower(*args))(*args)


def stepped_logits(step, state, tokens):
    """The step's logits [m, T, |V|] reading tokens [m, T] one position at a time (one lax.scan)."""
    state, logits = jax.lax.scan(step, state, jnp.asarray(tokens).T)
    return jnp.moveaxis(logits, 0, 1), state


def translation_batch():
    rng = np.random.default_rng(1)
    source = rng.integers(3, 11, size=(3, 6)).astype(np.int32)
    source_mask = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], np.int32)
    source = np.where(source_mask > 0, source, 0)
    target_in = np.concatenate([np.full((3, 1), START), rng.integers(3, 13, size=(3, 4))], axis=1).astype(np.int32)
    return source, source_mask, target_in


# one encoder and one decoder layer (the language model's two layers test that each layer keeps its own cache)
TRANSLATOR = models.Transformer(source_vocab=11, target_vocab=13, d_model=16, num_heads=2, num_layers=1, d_ff=24,
                                max_length=8)
LM = models.TransformerLM(vocab_size=11, d_model=16, num_heads=4, num_layers=2, d_ff=24, max_length=8)


def test_parameter_names_shapes_and_errors():
    source, source_mask, target_in = translation_batch()
    params = jax.eval_shape(TRANSLATOR.init, jax.random.key(0), source, source_mask, target_in, None)["params"]
    assert sorted(params) == ["decoder_1", "encoder_1", "readout", "source_embedding", "target_embedding"]
    assert params["source_embedding"]["embedding"]["embedding"].shape == (11, 16)
    assert params["readout"]["kernel"].shape == (16, 13)
    assert params["decoder_1"]["cross_attention"]["key"]["kernel"].shape == (16, 16)
    lm = jax.eval_shape(LM.init, jax.random.key(0), source)["params"]
    assert sorted(lm) == ["embedding", "layer_1", "layer_2", "readout"]
    assert lm["layer_1"]["feed_forward"]["hidden"]["kernel"].shape == (16, 24)
    packed = jax.eval_shape(TRANSLATOR.apply, {"params": params}, (source, source_mask, target_in, None))
    assert packed.shape == (3, 5, 13)      # the supervised builder's pytree of inputs
    with pytest.raises(ValueError, match="more than max_length=8"):
        jax.eval_shape(LM.init, jax.random.key(0), np.zeros((2, 9), np.int32))
    with pytest.raises(ValueError, match="d_model=16 must be divisible by num_heads=3"):
        jax.eval_shape(LM.clone(num_heads=3).init, jax.random.key(0), source)
    with pytest.raises(ValueError, match="max_length must be an int in"):
        models.transformer_lm_step(LM, {}, 2, 9)


def test_encoder_decoder_cached_steps_equal_the_full_pass_and_source_padding_is_ignored():
    source, source_mask, target_in = translation_batch()
    variables = drawn(TRANSLATOR, source, source_mask, target_in, None)
    other_padding = np.where(source_mask > 0, source, 7)

    def run(variables):
        both = TRANSLATOR.apply(variables, np.concatenate([source, other_padding]), np.tile(source_mask, (2, 1)),
                                np.tile(target_in, (2, 1)))
        step, state = models.transformer_decoding(TRANSLATOR, variables, source, source_mask)
        return both[:3], both[3:], *stepped_logits(step, state, target_in)

    full, repadded, stepped, state = compiled(run, variables)
    np.testing.assert_allclose(stepped, full, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(repadded, full, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(state.position, [5, 5, 5])
    assert all(leaf.shape[0] == 3 for leaf in jax.tree.leaves(state))   # beam search tiles axis 0


def teacher_forced(apply, first, tokens, mask):
    """The uncached model run once on [x⟨1⟩, y⟨1⟩ … y⟨T−1⟩]: per row Σ_t log P(y⟨t⟩ | y⟨<t⟩) over the mask, and
    whether every masked y⟨t⟩ is the argmax of its position's logits. A sequence whose every token is the
    argmax given the tokens before it is, by induction over t, what an uncached argmax loop writes."""
    inputs = jnp.concatenate([jnp.broadcast_to(first, (tokens.shape[0], 1)), tokens[:, :-1]], axis=1)
    logits = apply(inputs)
    log_p = jnp.take_along_axis(jax.nn.log_softmax(logits), tokens[..., None], axis=-1)[..., 0]
    is_argmax = (jnp.argmax(logits, axis=-1) == tokens) | ~mask
    return jnp.sum(jnp.where(mask, log_p, 0.0), axis=1), jnp.all(is_argmax, axis=1)


def test_language_model_cached_steps_and_greedy_decoding_equal_the_uncached_model():
    rng = np.random.default_rng(2)
    tokens = rng.integers(0, 11, size=(3, 6)).astype(np.int32)
    variables = drawn(LM, tokens, seed=2)

    def run(variables):
        step, state = models.transformer_lm_step(LM, variables, 3, 6)
        stepped = stepped_logits(step, state, tokens)[0]
        step, state = models.transformer_lm_step(LM, variables, 3, 6)
        greedy = decoding.greedy_decode(step, state, tokens[:, 0], 6, EOS)
        inputs = jnp.concatenate([tokens, jnp.concatenate([tokens[:, :1], greedy.tokens[:, :-1]], axis=1)])
        full = LM.apply(variables, inputs)           # one uncached pass: the tokens and the greedy rows
        log_p = jnp.take_along_axis(jax.nn.log_softmax(full[3:]), greedy.tokens[..., None], axis=-1)[..., 0]
        is_argmax = (jnp.argmax(full[3:], axis=-1) == greedy.tokens) | ~greedy.mask
        return full[:3], stepped, greedy, jnp.sum(jnp.where(greedy.mask, log_p, 0.0), 1), jnp.all(is_argmax, 1)

    full, stepped, greedy, log_p, is_argmax = compiled(run, variables)
    np.testing.assert_allclose(stepped, full, rtol=1e-4, atol=1e-5)
    assert np.all(is_argmax) and np.asarray(greedy.mask).sum() > 3
    np.testing.assert_allclose(greedy.log_probability, log_p, rtol=1e-4, atol=1e-4)


def test_encoder_decoder_greedy_and_beam_search_through_the_cached_step():
    source, source_mask, _ = translation_batch()
    variables = drawn(TRANSLATOR, source, source_mask, source[:, :2], None, seed=3)
    width, length = 3, 5
    first = np.full(3, START, np.int32)

    def run(variables):
        step, state = models.transformer_decoding(TRANSLATOR, variables, source, source_mask)
        greedy = decoding.greedy_decode(step, state, first, length, EOS)
        beams = decoding.beam_search(step, state, first, length, EOS, beam_width=width)
        tokens = jnp.concatenate([greedy.tokens, beams.tokens.reshape(3 * width, length)])
        mask = jnp.concatenate([greedy.mask, beams.mask.reshape(3 * width, length)])
        rows = np.concatenate([np.arange(3), np.repeat(np.arange(3), width)])
        log_p, is_argmax = teacher_forced(lambda y: TRANSLATOR.apply(variables, source[rows], source_mask[rows], y),
                                          START, tokens, mask)
        return greedy, beams, log_p, is_argmax

    greedy, beams, log_p, is_argmax = compiled(run, variables)
    assert np.all(is_argmax[:3]) and np.asarray(greedy.mask).sum() > 3       # greedy: the uncached argmax path
    np.testing.assert_allclose(greedy.log_probability, log_p[:3], rtol=1e-4, atol=1e-4)
    assert beams.tokens.shape == (3, width, length)
    np.testing.assert_allclose(beams.log_probability, log_p[3:].reshape(3, width), rtol=1e-4, atol=1e-4)
    assert np.all(np.diff(np.asarray(beams.score), axis=1) <= 1e-6)            # best first
    assert np.all(np.asarray(beams.log_probability)[:, 0] >= np.asarray(greedy.log_probability) - 1e-4)
