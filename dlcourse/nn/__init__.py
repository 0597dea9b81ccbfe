"""Layers and functional ops: initializers, activations, batch norm, dropout, convolution and pooling
from scratch (NHWC), the hand-written net.

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
    **dict.fromkeys(["conv1d", "conv2d", "conv2d_backward", "conv3d", "conv_output_size", "overlap_add_windows",
                     "padding_pair", "same_padding", "sliding_windows", "zero_pad"], "convolution"),
    **dict.fromkeys(["HORIZONTAL_EDGE_FILTER", "SCHARR_HORIZONTAL_EDGE_FILTER", "SCHARR_VERTICAL_EDGE_FILTER",
                     "SOBEL_HORIZONTAL_EDGE_FILTER", "SOBEL_VERTICAL_EDGE_FILTER", "VERTICAL_EDGE_FILTER"],
                    "edge_filters"),
    **dict.fromkeys(["depthwise_conv2d", "depthwise_separable_conv2d", "pointwise_conv2d"], "separable_convolution"),
    **dict.fromkeys(["conv2d_transpose", "conv_transpose_output_size"], "transposed_convolution"),
    **dict.fromkeys(["ConvTranspose", "loop_friendly_conv2d_transpose"], "transposed_convolution_layer"),
    **dict.fromkeys(["avg_pool", "avg_pool_backward", "max_pool", "max_pool_backward"], "pooling"),
    **dict.fromkeys(["bottleneck_multiplications", "conv_multiplications", "conv_parameter_count",
                     "depthwise_multiplications", "depthwise_separable_cost_ratio",
                     "depthwise_separable_multiplications", "pointwise_multiplications"], "convolution_costs"),
    **dict.fromkeys(["Conv", "conv_general_dilated"], "loop_friendly_convolution"),
    **dict.fromkeys(["bidirectional_scan", "check_sequences", "flax_simple_cell_to_rnn", "rnn_concatenated_weights",
                     "rnn_forward", "rnn_output", "rnn_step", "scan_cell", "stacked_scan"], "recurrent"),
    **dict.fromkeys(["LSTMState", "flax_gru_cell_to_gru", "flax_lstm_cell_to_lstm", "gru_forward", "gru_step",
                     "lstm_forward", "lstm_step", "split_state_weights"], "gated_recurrent"),
    **dict.fromkeys(["GRU", "LSTM", "Bidirectional", "DeepRNN", "SimpleRNN", "state_and_input_weights_init"],
                    "recurrent_layers"),
    **dict.fromkeys(["RecurrentGradients", "lstm_backward", "rnn_backward", "rnn_softmax_loss_and_gradients"],
                    "backprop_through_time"),
    **dict.fromkeys(["clip_gradients_by_global_norm", "clip_gradients_by_value", "global_norm"], "gradient_clipping"),
    **dict.fromkeys(["KeyValueCache", "MultiHeadAttention", "look_ahead_mask", "padding_mask", "positional_encoding",
                     "scaled_dot_product_attention"], "attention"),
    **dict.fromkeys(["DecoderLayer", "EncoderLayer", "PositionwiseFeedForward"], "transformer_layers"),
    **dict.fromkeys(["AdditiveAttention", "bahdanau_attention", "masked_softmax"], "additive_attention"),
})
