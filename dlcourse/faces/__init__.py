"""Face verification: the triplet loss with in-batch mining, the binary similarity function, and
one-shot verification by a distance threshold (ROC curve, equal-error rate, accuracy).

- :mod:`.triplets` — ``max(‖f(A) − f(P)‖² − ‖f(A) − f(N)‖² + α, 0)``, batch-hard and semi-hard
  mining inside the loss (per-anchor terms for :func:`dlcourse.train.supervised`), the nearest-
  neighbour accuracy metric, and :class:`EncoderWithMask` that hands the example mask to the loss.
- :mod:`.similarity` — the siamese network and ``ŷ = σ(Σ_k w_k |f(x_i)_k − f(x_j)_k| + b)`` (or χ²).
- :mod:`.pairs` — balanced "same"/"different" pairs drawn with a seed.
- :mod:`.verification` — distances, the threshold chosen on dev, ROC, AUC, EER, accuracy, ROC plot.

The encoder itself is :class:`dlcourse.models.FaceEncoder`; a user's own faces load with
:func:`dlcourse.data.load_people`. Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["MINING", "NEAREST_NEIGHBOUR_ACCURACY", "EncoderWithMask", "MaskedEmbeddings",
                     "batch_hard_triplet_terms", "semi_hard_triplet_terms", "split_outputs", "squared_distances",
                     "triplet_loss", "triplet_terms"], "triplets"),
    **dict.fromkeys(["SIMILARITY_FEATURES", "SiameseNetwork", "SimilarityHead", "similarity_features"],
                    "similarity"),
    **dict.fromkeys(["Pairs", "sample_pairs"], "pairs"),
    **dict.fromkeys(["EqualErrorRate", "RocCurve", "Threshold", "best_threshold", "equal_error_rate",
                     "pair_distances", "plot_roc", "roc_auc", "roc_curve", "verification_accuracy",
                     "verification_figures"], "verification"),
})
