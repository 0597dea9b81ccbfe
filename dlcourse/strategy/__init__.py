"""ML strategy as tools: evaluation metrics, bias/variance against human level, error analysis,
data mismatch, multi-task losses and transfer-learning helpers.

Errors and accuracies are fractions in [0, 1] throughout (8% is 0.08).
"""
from dlcourse.strategy.error_analysis import (
    CategoryRow,
    ClassRow,
    LabelErrorReading,
    error_analysis_table,
    format_error_analysis,
    format_per_class_error_table,
    incorrect_labels_reading,
    per_class_error_table,
)
from dlcourse.strategy.human_level import (
    AVOIDABLE_BIAS,
    DATA_MISMATCH,
    DEV_OVERFITTING,
    REMEDIES,
    UNDETERMINED,
    VARIANCE,
    Diagnosis,
    diagnose,
    format_diagnosis,
)
from dlcourse.strategy.metrics import (
    Satisficing,
    Selection,
    combined_cost,
    f1_score,
    precision,
    recall,
    select_optimizing_satisficing,
    single_number_metric,
    weighted_error,
)
from dlcourse.strategy.mismatch import diagnose_data_mismatch, train_dev_split
from dlcourse.strategy.multitask import known_label_mask, multitask_logistic_loss
from dlcourse.strategy.transfer import (
    FROZEN,
    TRAINABLE,
    freeze_all_but_head,
    freeze_all_but_last,
    frozen_layers_optimizer,
    layer_labels,
    replace_head,
)

__all__ = [
    # metrics
    "precision",
    "recall",
    "f1_score",
    "single_number_metric",
    "Satisficing",
    "Selection",
    "select_optimizing_satisficing",
    "combined_cost",
    "weighted_error",
    # human level
    "AVOIDABLE_BIAS",
    "VARIANCE",
    "DATA_MISMATCH",
    "DEV_OVERFITTING",
    "UNDETERMINED",
    "REMEDIES",
    "Diagnosis",
    "diagnose",
    "format_diagnosis",
    # error analysis
    "CategoryRow",
    "error_analysis_table",
    "format_error_analysis",
    "LabelErrorReading",
    "incorrect_labels_reading",
    "ClassRow",
    "per_class_error_table",
    "format_per_class_error_table",
    # data mismatch
    "train_dev_split",
    "diagnose_data_mismatch",
    # multi-task
    "known_label_mask",
    "multitask_logistic_loss",
    # transfer
    "TRAINABLE",
    "FROZEN",
    "layer_labels",
    "freeze_all_but_last",
    "freeze_all_but_head",
    "frozen_layers_optimizer",
    "replace_head",
]
