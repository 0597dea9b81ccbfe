"""Layers and functional ops: initializers, activations, batch norm, dropout, the hand-written net.

The step-by-step network lives in :mod:`dlcourse.nn.step_by_step` (column convention; import it
by module name).

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "step_by_step": "step_by_step",
    **dict.fromkeys(["ACTIVATION_NAMES", "get_activation", "get_activation_derivative", "identity",
                     "identity_derivative", "leaky_relu", "leaky_relu_derivative", "log_softmax", "relu",
                     "relu_derivative", "sigmoid", "sigmoid_derivative", "softmax", "softmax_jacobian", "tanh",
                     "tanh_derivative"], "activations"),
    **dict.fromkeys(["BatchNorm", "batch_norm_inference", "batch_norm_train", "batch_statistics",
                     "update_running_average"], "batch_norm"),
    **dict.fromkeys(["Dropout", "check_keep_prob", "dropout"], "inverted_dropout"),
    **dict.fromkeys(["INITIALIZER_NAMES", "fans", "get_initializer"], "initializers"),
    **dict.fromkeys(["guarded_divide", "weighted_mean"], "masked_means"),
})
