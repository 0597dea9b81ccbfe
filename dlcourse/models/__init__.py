"""Flax Linen models. Outputs are logits.

Row models (logistic regression, shallow net, MLP) take ``[batch, features]``; the convolutional
ones (LeNet-5, AlexNet, VGG-16/19, ResNet, Inception v1, MobileNet v1/v2; for seeing objects
LocalizationNet, YOLO, the sliding-window classifier, U-Net, FaceEncoder) take NHWC images
``[batch, n_H, n_W, n_C]``; the language model and the sentiment classifiers take tokens ``[batch, T]``
(with a token mask).
Every model is called the same way so a training loop can treat them alike (each declares the
keywords it uses among ``train``, ``keep_prob`` and ``mask``)::

    model.apply(variables, x, train=..., keep_prob=..., mask=...,
                rngs={'dropout': key}, mutable=['batch_stats'])

Models with batch norm have an ``axis_name`` attribute for batch statistics across devices.
:func:`summary` tabulates any model's layers from shapes alone. :func:`load_torchvision` fills a
ResNet or MobileNetV2 with torchvision's published weights from a local ``.safetensors``/``.npz`` file;
:func:`load_vgg` fills VGG-16/19 from a Keras ``.h5`` or a torchvision/Keras-named state dict.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(['LogisticRegression'], "logistic"),
    **dict.fromkeys(['MLP'], "mlp"),
    **dict.fromkeys(['ShallowNet'], "shallow"),
    **dict.fromkeys(['AdaptiveAveragePool', 'AveragePool', 'ConvBatchNorm', 'GlobalAveragePool', 'MaxPool',
                     'adaptive_average_pool', 'adaptive_bins'], "cnn_layers"),
    **dict.fromkeys(['LeNet5'], "lenet"),
    **dict.fromkeys(['LocalizationNet'], "localization_net"),
    **dict.fromkeys(['AlexNet'], "alexnet"),
    **dict.fromkeys(['VGG', 'VGG16', 'VGG19', 'VGG16_STAGES', 'VGG19_STAGES', 'vgg_layer_names'], "vgg"),
    **dict.fromkeys(['imagenet_normalize', 'load_vgg', 'read_vgg_weights', 'vgg_weight_names',
                     'weights_convention'], "vgg_weights"),
    **dict.fromkeys(['read_keras_h5'], "keras_weights"),
    **dict.fromkeys(['BasicBlock', 'BottleneckBlock', 'ResNet', 'resnet18', 'resnet34', 'resnet50', 'resnet101',
                     'resnet152'], "resnet"),
    **dict.fromkeys(['InceptionModule', 'InceptionOutputs', 'InceptionV1', 'SideClassifier'], "inception"),
    **dict.fromkeys(['DepthwiseSeparableConv', 'InvertedResidual', 'MobileNetV1', 'MobileNetV2'], "mobilenet"),
    **dict.fromkeys(['LayerSummary', 'format_summary', 'summary'], "model_summary"),
    **dict.fromkeys(['DoubleConv', 'UNet', 'up_sampling_padding'], "unet"),
    **dict.fromkeys(['WindowClassifier', 'conv_kernel_as_dense', 'dense_kernel_as_conv', 'fully_connected_logits',
                     'sliding_window_logits'], "sliding_window"),
    **dict.fromkeys(['YOLO'], "yolo"),
    **dict.fromkeys(['load_torchvision', 'read_state_dict', 'torchvision_names'], "pretrained_weights"),
    **dict.fromkeys(['FaceEncoder'], "face_encoder"),
    **dict.fromkeys(['LanguageModel', 'RECURRENT_CELLS', 'check_sampling_settings', 'language_model_step',
                     'sample_from_language_model'],
                    "language_model"),
    **dict.fromkeys(['AverageEmbeddingClassifier', 'LSTMClassifier', 'embedding_matrix_init'], "sentiment"),
    **dict.fromkeys(['TriggerWordModel'], "trigger_word"),
    **dict.fromkeys(['Transformer', 'TransformerDecodingState', 'TransformerLM', 'TransformerLMState',
                     'transformer_decoding', 'transformer_lm_step'], "transformer"),
    **dict.fromkeys(['AttentionTranslator', 'TranslatorState', 'translator_decoding'],
                    "attention_translator"),
})
