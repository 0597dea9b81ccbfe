"""Layers and functional ops: initializers, activations, batch norm, dropout, the hand-written net.

The step-by-step network lives in :mod:`dlcourse.nn.step_by_step` (column convention; import it
by module name).
"""

from dlcourse.nn import step_by_step
from dlcourse.nn.activations import (
    ACTIVATION_NAMES,
    get_activation,
    get_activation_derivative,
    identity,
    identity_derivative,
    leaky_relu,
    leaky_relu_derivative,
    log_softmax,
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    softmax,
    softmax_jacobian,
    tanh,
    tanh_derivative,
)
from dlcourse.nn.batch_norm import (
    BatchNorm,
    batch_norm_inference,
    batch_norm_train,
    batch_statistics,
    update_running_average,
)
from dlcourse.nn.dropout import Dropout, check_keep_prob, dropout
from dlcourse.nn.initializers import INITIALIZER_NAMES, fans, get_initializer
from dlcourse.nn.weighted_mean import guarded_divide, weighted_mean

__all__ = [
    "ACTIVATION_NAMES",
    "BatchNorm",
    "Dropout",
    "INITIALIZER_NAMES",
    "batch_norm_inference",
    "batch_norm_train",
    "batch_statistics",
    "check_keep_prob",
    "dropout",
    "fans",
    "get_activation",
    "get_activation_derivative",
    "get_initializer",
    "guarded_divide",
    "identity",
    "identity_derivative",
    "leaky_relu",
    "leaky_relu_derivative",
    "log_softmax",
    "relu",
    "relu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "softmax_jacobian",
    "step_by_step",
    "tanh",
    "tanh_derivative",
    "update_running_average",
    "weighted_mean",
]
