"""Decoding sequence models: sampling novel sequences (temperature, top-k), greedy and beam search, the
probability of a given sequence by the chain rule, error analysis on beam search, and BLEU.

- :mod:`.sampling` — :func:`sample_sequences` and :func:`greedy_decode` over any one-token step
  ``(state, x⟨t⟩) -> (state, logits)``, vectorized over a batch, jittable, keyed, ended at ``<EOS>``.
- :mod:`.beam` — :func:`beam_search` with width ``B`` over the same step, ``arg max_y (1/T_y^α) Σ_t
  log P(y⟨t⟩ | x, y⟨<t⟩)`` approximately, finished hypotheses kept (:class:`Beams`); ``B = 1`` is greedy.
- :mod:`.sequence_probability` — ``log P(y⟨1⟩ … y⟨T_y⟩) = Σ_t log P(y⟨t⟩ | y⟨<t⟩)`` from per-step
  logits under a mask, and per-sequence perplexity.
- :mod:`.beam_errors` — :func:`beam_error_analysis`: per wrong dev output, beam search at fault when
  ``P(y*|x) > P(ŷ|x)``, else the model; the fractions and :func:`format_beam_error_analysis`'s table;
  :func:`teacher_forced_log_probability` gives ``log P(y*|x)`` through the search's step.
- :mod:`.bleu_score` — :func:`bleu` (corpus level) and :func:`sentence_bleu`: clipped modified ``n``-gram
  precisions, brevity penalty, their geometric mean.

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
