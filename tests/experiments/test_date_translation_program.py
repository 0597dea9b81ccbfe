"""The date-translation program as a user runs it, tiny: its summary, the beam-search error analysis
recounted from its own figures, the attention map; the builder's traced numbers per model."""
import json

import pytest

from tests.experiments.conftest import lesson
from tests.experiments.test_programs import last_json_line, run_program


@pytest.mark.slow   # ~25-30 s on 2 cores: compiling the LSTMs' training, beam and greedy programs
def test_date_translation_reports_decoding_error_analysis_and_attention_map(tmp_path):
    result = run_program("date_translation", f"--workdir={tmp_path}", "--config.train_size=48",
                         "--config.dev_size=12", "--config.test_size=12", "--config.epochs=2",
                         "--config.encoder_size=6", "--config.decoder_size=8", "--config.embedding_size=4",
                         "--config.target_embedding_size=4", "--config.error_rows=4", "--config.batch_size=16")
    summary = last_json_line(result.stdout)
    assert summary == json.loads((tmp_path / "metrics.json").read_text())
    assert summary["model"] == "attention_lstm" and len(summary["dev_exact_match"]) == 2
    # parameters: E_x, two encoder LSTMs (4 gates on [a; x]), attention (10 tanh units on [s; a], energy),
    # the decoder LSTM on [context; E_y y], E_y, readout
    v_x, v_y, n_a, n_s = summary["source_vocabulary"], 4 + 11, 6, 8
    assert summary["parameters"] == (v_x * 4 + 2 * 4 * (n_a * (n_a + 4) + n_a) + ((n_s + 2 * n_a) * 10 + 10 + 10 + 1)
                                     + 4 * (n_s * (n_s + 2 * n_a + 4) + n_s) + v_y * 4 + n_s * v_y + v_y)
    for key in ("dev_greedy_accuracy", "dev_beam_accuracy", "test_greedy_accuracy", "test_beam_accuracy"):
        assert 0.0 <= summary[key] <= 1.0
    analysis = summary["beam_error_analysis"]
    assert analysis["errors"] == round((1 - summary["dev_beam_accuracy"]) * 12)
    assert analysis["beam_errors"] + analysis["model_errors"] == analysis["errors"]
    table = summary["beam_error_table"]
    assert table[0].split()[:2] == ["#", "Human"] and "P(y*|x)" in table[0] and "errors:" in table[-1]
    assert "(M) model" in "\n".join(table) or "(B) beam" in "\n".join(table) or analysis["errors"] == 0
    assert summary["example"]["human"] and any(c.isalpha() for c in summary["example"]["human"])
    assert (tmp_path / "attention_map.png").stat().st_size > 5_000
    assert "epoch 2/2" in result.stdout and (tmp_path / "checkpoints").is_dir()


def test_build_traces_keep_prob_only_for_the_transformer():
    program = lesson("date_translation")
    config = program.get_config()
    config.update(train_size=20, dev_size=5, test_size=0)
    trainable = program.build(config)
    assert set(trainable.hparams) == {"learning_rate", "beta1", "beta2"} and "keep_prob" in trainable.unread
    assert trainable.objective.name == "exact_match"
    config.model = "transformer"
    assert set(program.build(config).hparams) == {"learning_rate", "beta1", "beta2", "keep_prob"}
    config.model = "gru"
    with pytest.raises(ValueError, match="model must be one of"):
        program.build(config)
    config.update(model="transformer", beam_width=0)
    with pytest.raises(ValueError, match="beam_width must be a positive int; got 0"):
        program.build(config)
