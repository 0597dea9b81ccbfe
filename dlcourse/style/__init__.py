"""Neural style transfer (content and style costs, Gram matrices, the image as the parameter) and
"what units see" (the dataset patches that activate a convnet's units most).

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["CONTENT_NORMALIZATIONS", "content_cost", "gram_matrix", "layer_style_cost", "style_cost",
                     "total_cost"], "costs"),
    **dict.fromkeys(["StyleTransferResult", "style_transfer_cost", "transfer_style"], "transfer"),
    **dict.fromkeys(["FeatureClassifier", "vgg_features"], "features"),
    **dict.fromkeys(["ReceptiveField", "TopActivations", "crop_patches", "layer_activations", "patch_boxes",
                     "receptive_field", "top_activations"], "unit_patches"),
})
