"""TriggerWordModel: the course's parameter count and output length by hand, inference against a
NumPy convolution + batch norm + course-equation GRUs + readout, and padding kept out of batch norm."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse.models import TriggerWordModel


def count(tree):
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))


def random_variables(model, x, rng):
    """Every variable drawn from U(0.2, 0.5) or N(0, 0.5²) (the shapes from ``init``, traced only: no
    initializer is compiled); running variances stay positive."""
    shapes = jax.eval_shape(lambda x: model.init({"params": jax.random.key(0)}, x), x)
    return {"params": jax.tree.map(lambda s: (0.5 * rng.standard_normal(s.shape)).astype(np.float32),
                                   shapes["params"]),
            "batch_stats": jax.tree.map(lambda s: rng.uniform(0.2, 0.5, s.shape).astype(np.float32),
                                        shapes["batch_stats"])}


@pytest.mark.parametrize("reset_after", [False, True])
def test_the_courses_sizes_give_its_output_length_and_parameter_count(reset_after):
    model = TriggerWordModel(filters=196, kernel_size=15, stride=4, hidden_size=128, reset_after=reset_after)
    x = jax.ShapeDtypeStruct((2, 5511, 101), jnp.float32)                # 10 s: T_x = 5511, 101 frequencies
    variables = jax.eval_shape(lambda x: model.init({"params": jax.random.key(0)}, x), x)
    assert jax.eval_shape(lambda v, x: model.apply(v, x), variables, x).shape == (2, 1375)   # T_y = 1375
    conv = 15 * 101 * 196 + 196
    gru_1 = 3 * (128 * (128 + 196) + 128) + (128 if reset_after else 0)  # W_u, W_r, W_c: (n_a, n_a + n_x), b's
    gru_2 = 3 * (128 * (128 + 128) + 128) + (128 if reset_after else 0)
    batch_norm = 2 * (196 + 128 + 128)                                  # γ, β per layer (and as many statistics)
    assert count(variables["params"]) == conv + gru_1 + gru_2 + batch_norm + 128 + 1
    assert count(variables["batch_stats"]) == 904                       # the course's non-trainable count
    # Keras's reset-after GRU also keeps recurrent biases for Γ_u and Γ_r: the course's 523,329.
    assert reset_after is False or count(variables) + 2 * 2 * 128 == 523_329
    assert model.output_steps(5511) == 1375


def numpy_gru(x, p):
    """The course's GRU: Γ_u, Γ_r = σ(W[c⟨t−1⟩, x⟨t⟩] + b), c̃ = tanh(W_c[Γ_r c⟨t−1⟩, x⟨t⟩] + b_c)."""
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    c, outputs = np.zeros((x.shape[0], p["b_u"].shape[0])), []
    for t in range(x.shape[1]):
        both = np.concatenate([c, x[:, t]], axis=1)
        update = sigmoid(both @ p["W_u"].T + p["b_u"])
        reset = sigmoid(both @ p["W_r"].T + p["b_r"])
        candidate = np.tanh(np.concatenate([reset * c, x[:, t]], axis=1) @ p["W_c"].T + p["b_c"])
        c = update * candidate + (1 - update) * c
        outputs.append(c)
    return np.stack(outputs, axis=1)


def test_inference_equals_the_layers_written_out_in_numpy():
    model = TriggerWordModel(filters=3, kernel_size=5, stride=2, hidden_size=4)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 27, 5)).astype(np.float32)
    variables = random_variables(model, x, rng)
    logits = np.asarray(jax.jit(model.apply)(variables, x))
    params = jax.tree.map(lambda a: np.asarray(a, np.float64), variables["params"])
    stats = jax.tree.map(lambda a: np.asarray(a, np.float64), variables["batch_stats"])

    def batch_norm(a, name):
        return (params[name]["scale"] * (a - stats[name]["mean"]) / np.sqrt(stats[name]["var"] + 1e-5)
                + params[name]["bias"])

    kernel = params["conv"]["kernel"][0]                                  # (f, n_freq, filters)
    steps = (27 - 5) // 2 + 1
    z = np.stack([np.einsum("mfi,fic->mc", x[:, 2 * t:2 * t + 5], kernel) for t in range(steps)], axis=1)
    a = np.maximum(batch_norm(z + params["conv"]["bias"], "batch_norm_conv"), 0)
    a = batch_norm(numpy_gru(a, params["gru_1"]), "batch_norm_gru_1")
    a = batch_norm(numpy_gru(a, params["gru_2"]), "batch_norm_gru_2")
    expected = (a @ params["readout"]["kernel"] + params["readout"]["bias"])[..., 0]
    assert logits.shape == (2, steps) == (2, 12)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)


def test_a_masked_padding_row_changes_neither_the_real_rows_nor_the_batch_statistics():
    model = TriggerWordModel(filters=3, kernel_size=5, stride=2, hidden_size=4)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 27, 5)).astype(np.float32)
    x[2] *= 100.0                                                       # a padding row far off the others
    variables = random_variables(model, x, rng)

    @jax.jit
    def train_mode(x, mask):
        return model.apply(variables, x, train=True, keep_prob=1.0, mask=mask, mutable=["batch_stats"],
                           rngs={"dropout": jax.random.key(1)})

    masked, masked_stats = train_mode(x, jnp.array([1.0, 1.0, 0.0]))
    alone, alone_stats = train_mode(np.concatenate([x[:2], x[:1]]), jnp.array([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(masked[:2], alone[:2], rtol=1e-5, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), masked_stats, alone_stats)
    unmasked, unmasked_stats = train_mode(x, jnp.ones(3))
    assert not np.allclose(unmasked[:2], masked[:2], atol=1e-3)         # without the mask the padding counts


def test_a_spectrogram_of_the_wrong_rank_or_length_is_refused():
    model = TriggerWordModel(kernel_size=15)
    with pytest.raises(ValueError, match=r"spectrogram \[m, T_x, n_freq\]"):
        model.init({"params": jax.random.key(0)}, jnp.zeros((40, 5)))
    with pytest.raises(ValueError, match="T_x=10 frames is shorter than the kernel of 15"):
        model.init({"params": jax.random.key(0)}, jnp.zeros((1, 10, 5)))
