"""ML strategy as tools: evaluation metrics, bias/variance against human level, error analysis,
data mismatch, multi-task losses and transfer-learning helpers.

Errors and accuracies are fractions in [0, 1] throughout (8% is 0.08).

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["CategoryRow", "ClassRow", "LabelErrorReading", "error_analysis_table", "format_error_analysis",
                     "format_per_class_error_table", "incorrect_labels_reading", "per_class_error_table"],
                    "error_analysis"),
    **dict.fromkeys(["AVOIDABLE_BIAS", "DATA_MISMATCH", "DEV_OVERFITTING", "Diagnosis", "REMEDIES", "UNDETERMINED",
                     "VARIANCE", "diagnose", "format_diagnosis"], "human_level"),
    **dict.fromkeys(["Satisficing", "Selection", "combined_cost", "f1_score", "precision", "recall",
                     "select_optimizing_satisficing", "single_number_metric", "weighted_error"], "metric_choice"),
    **dict.fromkeys(["diagnose_data_mismatch", "train_dev_split"], "mismatch"),
    **dict.fromkeys(["known_label_mask", "multitask_logistic_loss"], "multitask"),
    **dict.fromkeys(["FROZEN", "TRAINABLE", "freeze_all_but_head", "freeze_all_but_last", "frozen_layers_optimizer",
                     "layer_labels", "per_class_mask", "replace_head", "check_sizes_per_class"], "transfer"),
})
