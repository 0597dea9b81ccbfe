"""The region-proposal baseline's pieces: the windows, crops against data.crop_and_resize, R-CNN's
labels by hand, and windows turned into detections."""

import jax
import jax.numpy as jnp
import numpy as np

from dlcourse import data
from dlcourse.detection import IGNORED, crop_windows, label_windows, sliding_windows, windows_to_detections


def test_sliding_windows_cover_the_positions_that_fit():
    windows = sliding_windows([(0.5, 0.5), (0.25, 1.0)], 0.25)
    assert windows.shape == (9 + 4, 4)                     # 3 x 3 squares, then 4 rows of a full-width band
    np.testing.assert_allclose(windows[0], [0, 0, 0.5, 0.5])
    np.testing.assert_allclose(windows[8], [0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(windows[-1], [0, 0.75, 1.0, 1.0])


def test_crops_equal_crop_and_resize_at_the_image_size():
    image = jnp.asarray(np.random.default_rng(0).uniform(size=(12, 12, 3)), jnp.float32)
    windows = jnp.array([[0.0, 0.0, 1.0, 1.0], [0.25, 0.5, 0.75, 1.0]])       # x1, y1, x2, y2
    crops, reference = jax.jit(lambda image: (
        crop_windows(image, windows, 12),
        data.crop_and_resize(jnp.stack([image, image]), jnp.array([[0.0, 0, 1, 1], [0.5, 0.25, 0.5, 0.5]]))))(image)
    np.testing.assert_allclose(crops[0], image, atol=1e-6)                      # the whole image is the identity
    np.testing.assert_allclose(crops, reference, atol=1e-5)                     # (top, left, height, width) there


def test_windows_are_labelled_by_their_best_overlap_and_become_detections():
    truth = jnp.array([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]])
    windows = jnp.array([[0.0, 0.0, 0.5, 0.5],        # IoU 1 with the square (class 2): label 3
                         [0.0, 0.0, 0.5, 0.3],        # IoU 0.6: label 3
                         [0.0, 0.0, 0.5, 0.2],        # IoU 0.4: neither (ignored)
                         [0.6, 0.6, 1.0, 1.0]])       # IoU 0: background
    labels = jax.jit(label_windows)(windows, truth, jnp.array([2, 0]), jnp.array([True, False]))
    np.testing.assert_array_equal(labels, [3, 3, IGNORED, 0])
    logits = jnp.log(jnp.array([[0.05, 0.05, 0.1, 0.8], [0.1, 0.0, 0.2, 0.7], [0.9, 0.0, 0.05, 0.05],
                                [0.3, 0.7, 0.0, 0.0]]) + 1e-9)
    found = jax.jit(lambda w, z: windows_to_detections(w, z, max_outputs=3))(windows, logits)
    # Scores max_c P(c ≥ 1): 0.8 (class 2), 0.7 (class 2, IoU 0.6 with the first: suppressed),
    # 0.1 (discarded), 0.7 (class 0, kept).
    np.testing.assert_array_equal(found.valid, [True, True, False])
    np.testing.assert_array_equal(found.classes[:2], [2, 0])
    np.testing.assert_allclose(found.boxes[:2], windows[jnp.array([0, 3])])
