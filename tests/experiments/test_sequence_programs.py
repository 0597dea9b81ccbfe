"""Course 5's sequence programs: the vanishing-gradient measurement (its Jacobian norms against a
hand product of the RNN's step Jacobians) and the character language model of names (perplexity
against the uniform model, samples made of the vocabulary's characters; recurrent and Transformer),
each run as a user runs it with small flags."""
import importlib.util
import json
import string

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dlcourse import data
from tests.experiments.conftest import EXPERIMENTS, lesson
from tests.experiments.test_programs import last_json_line, run_program


def test_vanishing_gradients_program_shows_decay_and_explosion(tmp_path):
    result = run_program("vanishing_gradients", f"--workdir={tmp_path}", "--config.max_length=12",
                         "--config.report_lengths=(1, 2, 6, 12)", "--config.hidden_size=8", "--config.input_size=4",
                         "--config.examples=4", "--config.seeds=2", "--config.recurrent_scales=(1.0, 3.0)")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["lengths"] == [1, 2, 6, 12]
    norms = summary["gradient_norm"]
    assert set(norms) == {"rnn@1", "rnn@3", "gru@1", "gru@3", "lstm@1", "lstm@3", "lstm@1+forget_bias1"}
    for values in norms.values():
        assert values[0] == pytest.approx(1.0)          # J_1 = I (the LSTM: [I | 0])
    for cell in ("rnn", "gru", "lstm"):                  # default initialization: each step shrinks it
        values = norms[f"{cell}@1"]
        assert values[1] > values[2] > values[3] and values[3] < 0.1, (cell, values)
    # a tanh step's Jacobian diag(1 − a²) W_aa has norm ≤ ‖W_aa‖₂ = scale: scale 3 lets it grow
    assert norms["rnn@3"][3] > 1.0 > 100 * norms["rnn@1"][3]
    # the forget-gate bias 1 keeps more of c⟨1⟩ than 0 (Γ_f ≈ 0.73 instead of 0.5)
    assert norms["lstm@1+forget_bias1"][3] > norms["lstm@1"][3]
    assert (tmp_path / "gradient_norms.png").stat().st_size > 10_000


def test_rnn_jacobian_norm_equals_the_product_of_step_jacobians():
    spec = importlib.util.spec_from_file_location("lesson_vanishing_gradients", EXPERIMENTS / "vanishing_gradients.py")
    vanishing = importlib.util.module_from_spec(spec)   # a program with main= only (no build)
    spec.loader.exec_module(vanishing)
    stacked, step = vanishing.initial_params("rnn", 5, 3, 0.0, 1, 1)
    params = vanishing.scale_recurrent_weights(jax.tree.map(lambda leaf: leaf[0], stacked), 1.5)
    x = np.random.default_rng(2).standard_normal((7, 3)).astype(np.float32)
    norms = np.asarray(jax.jit(lambda p, x: vanishing.jacobian_norms(step, p, x, jnp.zeros((1, 5))))(params, x))
    w_aa, w_ax, b_a = (np.asarray(params[k], np.float64) for k in ("W_aa", "W_ax", "b_a"))
    a, jacobian, expected = np.zeros(5), np.eye(5), []
    for t, x_t in enumerate(np.asarray(x, np.float64)):
        a = np.tanh(w_aa @ a + w_ax @ x_t + b_a)
        if t > 0:                                        # ∂a⟨t⟩/∂a⟨t−1⟩ = diag(1 − a⟨t⟩²) W_aa
            jacobian = np.diag(1 - a ** 2) @ w_aa @ jacobian
        expected.append(np.linalg.norm(jacobian) / np.sqrt(5))
    np.testing.assert_allclose(norms, expected, rtol=1e-4)


def test_char_lm_learns_names_and_samples_from_their_characters(tmp_path):
    result = run_program("char_lm", f"--workdir={tmp_path}", "--config.names=first", "--config.hidden_size=32",
                         "--config.embedding_size=8", "--config.epochs=4", "--config.cell=rnn",
                         "--config.learning_rate=0.01", "--config.samples=6", "--config.top_k=5",
                         "--config.temperature=0.8")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    names = data.load_names("first", lowercase=True)
    assert summary["train_names"] + summary["dev_names"] + summary["test_names"] == len(names)
    # |V|: the training names' letters plus <PAD>, <EOS>, <UNK>; knowing nothing scores |V|
    assert 3 + 20 <= summary["vocabulary_size"] <= 3 + 26
    assert summary["uniform_perplexity"] == summary["vocabulary_size"]
    dev = summary["dev_perplexity"]
    assert len(dev) == 4 and dev[-1] < dev[0] and summary["final_dev_perplexity"] < 0.6 * summary["vocabulary_size"]
    assert summary["test_perplexity"] < 0.6 * summary["vocabulary_size"]
    samples = summary["samples"]
    assert len(samples) == 6 and all(isinstance(s, str) for s in samples)
    assert set("".join(samples)) <= set(string.ascii_lowercase) and sum(map(len, samples)) > 6
    assert "epoch 4/4" in result.stdout and (tmp_path / "checkpoints").is_dir()   # babysat


def test_char_lm_trains_a_transformer_and_samples_through_its_cache(tmp_path):
    result = run_program("char_lm", f"--workdir={tmp_path}", "--config.names=first", "--config.cell=transformer",
                         "--config.d_model=32", "--config.num_heads=2", "--config.d_ff=64", "--config.epochs=3",
                         "--config.learning_rate=0.01", "--config.test_fraction=0", "--config.samples=4",
                         "--config.max_sample_length=12")
    summary = last_json_line(result.stdout)
    v, d, d_ff = summary["vocabulary_size"], 32, 64
    # E, one layer (W^Q, W^K, W^V, W_o with biases; two layer norms; the FFN), the readout
    assert summary["parameters"] == v * d + 4 * (d * d + d) + 2 * 2 * d + (d * d_ff + d_ff + d_ff * d + d) + d * v + v
    assert summary["hparams"]["keep_prob"] == 0.9 and summary["seconds_per_epoch"] > 0
    dev = summary["dev_perplexity"]
    assert len(dev) == 3 and dev[-1] < dev[0] and summary["final_dev_perplexity"] < 0.6 * v
    samples = summary["samples"]
    assert len(samples) == 4 and set("".join(samples)) <= set(string.ascii_lowercase)
    assert all(len(s) <= 12 for s in samples) and sum(map(len, samples)) > 4


def test_char_lm_reads_a_users_file_and_refuses_bad_values(tmp_path):
    char_lm = lesson("char_lm")
    path = tmp_path / "words.txt"
    path.write_text("abc\n\nabd\n  bcd  \nxyz\nyzx\nzzy\nab\nba\nca\nac\n")
    config = char_lm.get_config()
    config.update(text_file=str(path), dev_fraction=0.2, test_fraction=0.1)
    names = char_lm.NameData(config)
    assert sorted(names.train + names.dev + names.test) == sorted(
        ["abc", "abd", "bcd", "xyz", "yzx", "zzy", "ab", "ba", "ca", "ac"])
    assert (len(names.dev), len(names.test)) == (2, 1)
    assert names.dataset.train.inputs.shape == (7, 4)   # the longest word and its <EOS>
    assert "keep_prob" in char_lm.build(config).unread            # the recurrent cells have no dropout
    config.update(cell="elman")
    with pytest.raises(ValueError, match="cell must be one of"):
        char_lm.build(config)
    with pytest.raises(ValueError, match="which must be one of"):
        data.load_names("middle")
    first, last, both = (data.load_names(which) for which in data.NAME_LISTS)
    assert both == sorted(set(first) | set(last)) and first == sorted(set(first)) and "Aaron" in first
    assert data.load_names("last", lowercase=True) == sorted({name.lower() for name in last})
