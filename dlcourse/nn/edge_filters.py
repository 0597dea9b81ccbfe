"""Hand-designed 3×3 edge filters: the course's vertical/horizontal detectors, Sobel and Scharr.

Each constant is a read-only ``(3, 3)`` float32 NumPy array ``W[row, column]`` used as-is by the
course's convolution (cross-correlation, no flip): for :func:`dlcourse.nn.conv2d` on one channel,
reshape to ``(3, 3, 1, 1)``. Orientation: a *vertical* filter responds to a vertical edge (brightness
changing from left to right) and is positive where the image is **brighter on the left**; a
*horizontal* filter responds to a horizontal edge and is positive where the image is **brighter
on top**. Each horizontal filter is the transpose of its vertical one. (With true convolution —
SciPy's ``convolve2d`` — the filter is flipped and the signs swap.)

The course's worked example (notes, "Vertical edge detection")::

    conv2d(6×6 image of three columns of 10 then three of 0, VERTICAL_EDGE_FILTER)
        = 4×4 with columns 0, 30, 30, 0      (dark/bright: 0, −30, −30, 0)
"""

from __future__ import annotations

import numpy as np


def _constant(rows) -> np.ndarray:
    array = np.array(rows, np.float32)
    array.setflags(write=False)
    return array


VERTICAL_EDGE_FILTER = _constant([[1, 0, -1],
                                  [1, 0, -1],
                                  [1, 0, -1]])
"""The course's vertical edge detector; positive where the image is brighter on the left."""

HORIZONTAL_EDGE_FILTER = _constant([[1, 1, 1],
                                    [0, 0, 0],
                                    [-1, -1, -1]])
"""The course's horizontal edge detector; positive where the image is brighter on top."""

SOBEL_VERTICAL_EDGE_FILTER = _constant([[1, 0, -1],
                                        [2, 0, -2],
                                        [1, 0, -1]])
"""Sobel filter for vertical edges (weights 1, 2, 1 down the rows); positive when brighter on the left."""

SOBEL_HORIZONTAL_EDGE_FILTER = _constant(SOBEL_VERTICAL_EDGE_FILTER.T)
"""Sobel filter for horizontal edges (the transpose); positive when brighter on top."""

SCHARR_VERTICAL_EDGE_FILTER = _constant([[3, 0, -3],
                                         [10, 0, -10],
                                         [3, 0, -3]])
"""Scharr filter for vertical edges (weights 3, 10, 3 down the rows); positive when brighter on the left."""

SCHARR_HORIZONTAL_EDGE_FILTER = _constant(SCHARR_VERTICAL_EDGE_FILTER.T)
"""Scharr filter for horizontal edges (the transpose); positive when brighter on top."""
