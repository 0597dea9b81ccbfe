"""Data without a network: built-in and generated sets, images, augmentation, splits, scaling, local files.

Every loader takes a ``seed`` and split sizes as fractions (``dev_fraction``, ``test_fraction``),
is deterministic, and returns `Splits` with **examples as rows**: x float32 ``[m, ...]``,
y int32 ``[m]``. The course writes examples as columns (``X`` is ``n_x × m``); use ``x.T``
for that layout.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["load_breast_cancer", "load_digits", "load_iris", "load_wine"], "builtin"),
    **dict.fromkeys(["MissingDataFileError", "load_image_folder", "load_mnist", "read_idx", "read_image_folder"],
                    "files"),
    **dict.fromkeys(["make_circles", "make_flower", "make_moons"], "generators"),
    **dict.fromkeys(["MinMaxStatistics", "StandardizationStatistics", "apply_min_max_scaling",
                     "apply_standardization", "min_max_scale", "standardize"], "scaling"),
    **dict.fromkeys(["Splits", "select_classes", "split_dataset"], "splits"),
    **dict.fromkeys(["Batches", "num_steps", "sequential_batches", "shuffled_batches"], "batching"),
    **dict.fromkeys(["Dataset", "Examples", "as_dataset", "example_count"], "examples"),
    **dict.fromkeys(["PHOTO_FILES", "load_digits_images", "load_faces", "load_photo"], "images"),
    **dict.fromkeys(["COLOURS", "SHAPE_NAMES", "make_shapes"], "shapes"),
    **dict.fromkeys(["People", "load_digits_people", "load_people", "split_identities"], "people"),
    **dict.fromkeys(["LANDMARKS_PER_OBJECT", "SCENE_CLASSES", "SceneSplits", "Scenes", "make_scene_splits",
                     "make_scenes"], "scenes"),
    **dict.fromkeys(["AnnotatedImage", "load_annotated_images", "read_annotations"], "annotations"),
    **dict.fromkeys(["ColourBasis", "Transform", "affine_warp", "augment_images", "compose_transforms",
                     "crop_and_resize", "mirror", "pca_colour_basis", "pca_colour_offsets", "random_colour_shift",
                     "random_crop", "random_mirror", "random_pca_colour_shift", "random_rotation", "random_shear",
                     "rotate", "sample_bilinear", "shear", "shift_colours"], "augment"),
    **dict.fromkeys(["save_augmentation_grid"], "augmentation_grid"),
    **dict.fromkeys(["TOKEN_LEVELS", "load_sequences", "next_token_arrays", "next_token_examples", "tokenize"], "text"),
    **dict.fromkeys(["CORPORA", "SIMILARITY_SETS", "AnalogyQuestions", "SimilarityPairs", "gensim_test_data",
                     "load_analogy_questions", "load_corpus", "load_similarity_pairs"], "corpora"),
    **dict.fromkeys(["NAME_LISTS", "load_names"], "names"),
    **dict.fromkeys(["LabelledText", "load_labelled_text", "load_polarity_sentences", "load_polarity_vectors"],
                    "labelled_text"),
    **dict.fromkeys(["DATE_LOCALES", "DATE_PATTERNS", "DATE_SPECIAL_TOKENS", "ISO_CHARACTERS", "NUMERIC_PATTERNS",
                     "SOS", "SOS_ID", "DatePairs", "DateTranslation", "TranslationInputs", "date_vocabulary",
                     "decode_characters", "encode_characters", "make_date_pairs", "make_date_translation",
                     "translation_examples"], "dates"),
})
