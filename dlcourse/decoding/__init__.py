"""Decoding sequence models: sampling novel sequences (temperature, top-k), greedy decoding, and the
probability of a given sequence by the chain rule.

- :mod:`.sampling` — :func:`sample_sequences` and :func:`greedy_decode` over any one-token step
  ``(state, x⟨t⟩) -> (state, logits)``, vectorized over a batch, jittable, keyed, ended at ``<EOS>``.
- :mod:`.sequence_probability` — ``log P(y⟨1⟩ … y⟨T_y⟩) = Σ_t log P(y⟨t⟩ | y⟨<t⟩)`` from per-step
  logits under a mask, and per-sequence perplexity.

The language model is :class:`dlcourse.models.LanguageModel` (its step:
:func:`dlcourse.models.language_model_step`). Names are imported on first use
(:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["Beams", "beam_search", "length_normalized_score"], "beam"),
    **dict.fromkeys(["BeamErrorAnalysis", "beam_error_analysis", "format_beam_error_analysis",
                     "teacher_forced_log_probability"], "beam_errors"),
    **dict.fromkeys(["BleuScore", "bleu", "ngram_counts", "sentence_bleu"], "bleu_score"),
    **dict.fromkeys(["Samples", "choose_tokens", "greedy_decode", "sample_sequences", "without_tokens"],
                    "sampling"),
    **dict.fromkeys(["sequence_log_probability", "sequence_perplexity", "token_log_probabilities"],
                    "sequence_probability"),
})
