"""Object detection: boxes and IoU, YOLO (targets, loss, decoding), non-max suppression, mAP, and
a region-proposal baseline.

- :mod:`.localization` — one object per image: the target ``[p_c, b_x, b_y, b_h, b_w, c_1 … c_n,
  l_1x, l_1y, …]``, its squared and log losses, box IoU and landmark metrics (the vector's index
  constants ``PRESENCE`` and ``BOX`` stay in the module).
- :mod:`.boxes` — corner ``(x1, y1, x2, y2)`` and centre ``(b_x, b_y, b_h, b_w)`` boxes, :func:`iou`.
- :mod:`.yolo` — the ``S × S × A × (5 + C)`` target of a grid of anchor boxes, the YOLO loss,
  decoding the network's output, :func:`detect`.
- :mod:`.suppression` — score thresholding and per-class non-max suppression, fixed-size output.
- :mod:`.average_precision` — mAP@0.5 (VOC 2010's all-points interpolated AP), exact and as an
  additive :class:`dlcourse.metrics.Metric`.
- :mod:`.proposals` — sliding windows scored by a classifier of crops, then NMS: the baseline.

**Region proposals** (Girshick et al.). *R-CNN* (2014): a segmentation algorithm (selective
search) proposes ~2,000 regions; each region is warped to a fixed size and classified one at a
time by a convnet (with a regression that refines its box). *Fast R-CNN* (2015): the convnet runs
once over the whole image, and every proposed region's features are pooled from that feature map
(RoI pooling) — the convolutional implementation of sliding windows applied to the proposals —
then classified and refined together; the proposals still come from the separate, slow algorithm.
*Faster R-CNN* (Ren et al. 2015): a region proposal network, a small convnet sliding over the same
feature map, scores anchor boxes at every position to propose the regions, so proposing is a
convnet too. YOLO skips proposing: one pass predicts every cell's boxes and classes.
:mod:`.proposals` is R-CNN's shape at toy scale: fixed sliding anchors as proposals, each crop
classified by a small convnet, then non-max suppression.

Names are imported on first use (:mod:`dlcourse.lazy_imports`).
"""

from dlcourse.lazy_imports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    **dict.fromkeys(["CORRECT_IOU", "LOSS_KINDS", "PRESENCE_THRESHOLDS", "box_corners", "box_iou_metric",
                     "class_accuracy_metric", "landmark_error_metric", "landmark_points",
                     "landmark_squared_error_terms", "localization_accuracy_metric", "localization_loss",
                     "localization_targets", "log_localization_terms", "make_localization_splits",
                     "predicted_presence", "presence_accuracy_metric", "presence_probability",
                     "scene_localization_targets", "squared_localization_terms", "target_size"], "localization"),
    **dict.fromkeys(["box_area", "centres_to_corners", "corners_to_centres", "iou", "pairwise_iou"], "boxes"),
    **dict.fromkeys(["COORD_WEIGHT", "NO_OBJECT_WEIGHT", "check_anchors", "decode_outputs", "detect",
                     "encode_targets", "shape_iou", "targets_to_boxes", "yolo_loss"], "yolo"),
    **dict.fromkeys(["IOU_THRESHOLD", "SCORE_THRESHOLD", "Detections", "batched_non_max_suppression",
                     "non_max_suppression"], "suppression"),
    **dict.fromkeys(["MATCH_IOU", "SCORE_BINS", "class_average_precision", "average_precision_statistics",
                     "match_detections", "mean_average_precision", "mean_average_precision_from_statistics",
                     "mean_average_precision_metric"], "average_precision"),
    **dict.fromkeys(["IGNORED", "NEGATIVE_IOU", "POSITIVE_IOU", "crop_windows", "label_windows",
                     "sample_window_examples", "sliding_windows", "windows_to_detections"], "proposals"),
})
