"""Word embeddings: vocabulary, the embedding matrix, context/target pairs, word2vec, GloVe,
similarity and analogies, debiasing, and vectors in the GloVe / word2vec text formats.

- :mod:`.vocabulary` — V = [⟨PAD⟩, ⟨EOS⟩, ⟨UNK⟩, words by frequency] with ``min_count``;
  ``tokenize``, ``encode``, ``encode_sentences`` (fixed ``[m, L]`` ids and mask), ``decode``.
- :mod:`.embedding_matrix` — E ``[|V|, n_e]`` and e_j = o_jᵀ E = row j.
- :mod:`.context` — the notes' contexts: last 4 words, 4 left and right, last word, nearby word;
  skip-gram pairs.
- :mod:`.word2vec` — skip-gram with the full softmax or negative sampling (P(w) ∝ f(w)^{3/4}),
  subsampling of frequent words, ``train_skipgram``.
- :mod:`.glove` — X_ij, f(X_ij) = min(1, (X_ij / x_max)^α), Σ f(X_ij)(θ_iᵀ e_j + b_i + b′_j − log X_ij)²,
  e = (e + θ) / 2, ``train_glove``.
- :mod:`.similarity` — cosine similarity, nearest words, analogies argmax_w sim(e_w, e_b − e_a + e_c).
- :mod:`.debiasing` — bias direction, neutralize, equalize (Bolukbasi et al., 2016).
- :mod:`.text_vectors` — load and save the GloVe and word2vec text formats; align them to a vocabulary.
- :mod:`.evaluation` — analogy accuracy by section and Spearman's ρ on similarity sets, with coverage.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["EOS", "EOS_ID", "PAD", "PAD_ID", "SPECIAL_TOKENS", "UNK", "UNK_ID", "EncodedCorpus",
                     "Vocabulary", "build_vocabulary", "decode", "encode", "encode_sentences", "tokenize"],
                    "vocabulary"),
    **dict.fromkeys(["embedding_lookup", "one_hot_words"], "embedding_matrix"),
    **dict.fromkeys(["Contexts", "SkipGramPairs", "context_windows", "last_words_context", "nearby_word_context",
                     "skipgram_pairs", "surrounding_words_context"], "context"),
    **dict.fromkeys(["SUBSAMPLING_FORMULAS", "SkipGram", "draw_from_table", "draw_negatives", "init_skipgram",
                     "negative_sampling_distribution", "negative_sampling_table", "negative_sampling_terms",
                     "skipgram_softmax_terms",
                     "subsample", "subsampling_keep_probabilities", "train_skipgram", "word_counts"], "word2vec"),
    **dict.fromkeys(["COOCCURRENCE_WEIGHTINGS", "CooccurrenceEntries", "GloVe", "cooccurrence_counts",
                     "cooccurrence_entries", "glove_final_embeddings", "glove_loss", "glove_weights", "init_glove",
                     "train_glove"], "glove"),
    **dict.fromkeys(["Neighbours", "analogy", "cosine_similarity", "nearest_words", "unit_rows"], "similarity"),
    **dict.fromkeys(["BIAS_DIRECTION_METHODS", "bias_component", "bias_direction", "equalize", "neutralize"],
                    "debiasing"),
    **dict.fromkeys(["TEXT_VECTOR_FORMATS", "AlignedVectors", "TextVectors", "align_vectors", "load_text_vectors",
                     "save_text_vectors"], "text_vectors"),
    **dict.fromkeys(["AnalogyScores", "SimilarityScores", "evaluate_analogies", "evaluate_similarity", "rank_average",
                     "spearman_correlation"], "evaluation"),
})
