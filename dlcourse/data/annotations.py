"""A user's own images with boxes, read from a simple annotation file into `Scenes`.

The annotation file is UTF-8 text, one object per line::

    # image_path, class_name, x1, y1, x2, y2
    photos/cat.jpg, cat, 12, 30, 140, 200
    photos/cat.jpg, dog, 150, 20, 310, 230
    photos/empty.png

- ``image_path``: a PNG or JPEG file, relative to the annotation file's folder (or absolute);
- ``class_name``: any name without a comma;
- ``x1, y1, x2, y2``: the box's left, top, right and bottom edges in pixels of the original image,
  x across, y down, origin at the top-left corner of the image (``0 ≤ x1 < x2 ≤ width``,
  ``0 ≤ y1 < y2 ≤ height``; numbers may have decimals).

Several lines naming one image are its objects, in the order given (a later one is drawn over an
earlier one in the pixel map). A line holding only an image path adds an image without objects.
Blank lines and lines starting with ``#`` are skipped; fields are stripped of spaces. Images appear
in the order of their first line. Any other line raises a ValueError naming the file and line.
"""

from __future__ import annotations

import pathlib
from typing import NamedTuple

import numpy as np
from PIL import Image

from dlcourse.data.files import MissingDataFileError, _read_image
from dlcourse.data.scenes import LANDMARKS_PER_OBJECT, Scenes

FIELDS = ("image_path", "class_name", "x1", "y1", "x2", "y2")


class AnnotatedImage(NamedTuple):
    """One image of an annotation file: its path, ``(width, height)`` in pixels, class names and
    pixel boxes ``(x1, y1, x2, y2)`` of its objects, and the line number of each object."""

    path: pathlib.Path
    width: int
    height: int
    class_names: tuple[str, ...]
    boxes: tuple[tuple[float, float, float, float], ...]
    lines: tuple[int, ...]


def read_annotations(annotation_file) -> tuple[AnnotatedImage, ...]:
    """Parses and checks an annotation file (module docstring); reads each image's size.

    Raises:
      MissingDataFileError: the annotation file does not exist.
      ValueError: ``<file>:<line>: …`` for a wrong field count, a coordinate that is not a number,
        a box outside its image or with ``x2 ≤ x1`` or ``y2 ≤ y1``, a missing or unreadable image.
    """
    source = pathlib.Path(annotation_file)
    if not source.is_file():
        raise MissingDataFileError(f"{source}: no such annotation file; expected lines "
                                   f"{', '.join(FIELDS)}")
    images: dict[pathlib.Path, dict] = {}
    text = source.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{source}:{number}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) not in (1, len(FIELDS)):
            raise ValueError(f"{where}: expected {len(FIELDS)} comma-separated fields {', '.join(FIELDS)} "
                             f"(or an image path alone), got {len(fields)}: {line.strip()!r}")
        path = source.parent / fields[0]
        if path not in images:
            if not fields[0] or not path.is_file():
                raise ValueError(f"{where}: image file {str(path)!r} not found")
            try:
                with Image.open(path) as image:
                    width, height = image.size
            except (OSError, SyntaxError, ValueError) as error:
                raise ValueError(f"{where}: {path}: expected a readable PNG or JPEG image ({error})") from None
            images[path] = dict(width=width, height=height, names=[], boxes=[], lines=[])
        if len(fields) == 1:
            continue
        entry = images[path]
        if not fields[1]:
            raise ValueError(f"{where}: empty class_name")
        try:
            box = tuple(float(field) for field in fields[2:])
        except ValueError:
            raise ValueError(f"{where}: x1, y1, x2, y2 must be numbers, got {', '.join(fields[2:])}") from None
        x1, y1, x2, y2 = box
        if not (0 <= x1 < x2 <= entry["width"] and 0 <= y1 < y2 <= entry["height"]):
            raise ValueError(f"{where}: box (x1, y1, x2, y2) = {box} must satisfy 0 <= x1 < x2 <= {entry['width']} "
                             f"and 0 <= y1 < y2 <= {entry['height']} (the image's width and height)")
        entry["names"].append(fields[1])
        entry["boxes"].append(box)
        entry["lines"].append(number)
    if not images:
        raise ValueError(f"{source}: no annotation lines; expected lines {', '.join(FIELDS)}")
    return tuple(AnnotatedImage(path, entry["width"], entry["height"], tuple(entry["names"]),
                                tuple(entry["boxes"]), tuple(entry["lines"]))
                 for path, entry in images.items())


def load_annotated_images(annotation_file, size: int = 64, *, class_names=None,
                          max_objects: int | None = None) -> Scenes:
    """A user's annotated images (module docstring) as `Scenes`, each image resized to ``size × size``.

    Boxes become fractions of the original width and height, so they still fit the resized image;
    ``centres`` is ``(b_x, b_y, b_h, b_w)`` of the same boxes. ``pixel_classes`` is filled from the boxes
    (a pixel whose centre lies in a box, left and top edges included, takes 1 + its class id; later
    lines on top); ``landmarks`` are 0.

    Args:
      annotation_file: path of the annotation file.
      size: side of the resized images (bilinear), an int ≥ 1.
      class_names: the names class ids index; None: the file's names in sorted order.
      max_objects: slots ``K`` per image; None: the most objects any image has (at least 1).

    Returns:
      `Scenes` with ``images`` float32 ``[m, size, size, 3]`` (grey images repeated into RGB) and
      ``num_classes = len(class_names)``.

    Raises:
      ValueError: from :func:`read_annotations`; a class name not in ``class_names`` or an image with
        more than ``max_objects`` objects (naming the file and line); a bad ``size``.
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be an int >= 1, got {size!r}")
    source = pathlib.Path(annotation_file)
    annotated = read_annotations(source)
    if class_names is None:
        class_names = sorted({name for image in annotated for name in image.class_names})
    class_names = tuple(class_names)
    if not class_names or len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must be distinct names, at least one, got {class_names!r}")
    most = max(len(image.boxes) for image in annotated)
    slots = max(most, 1) if max_objects is None else max_objects
    if not isinstance(slots, (int, np.integer)) or slots < 1:
        raise ValueError(f"max_objects must be an int >= 1, got {max_objects!r}")

    m = len(annotated)
    images = np.zeros((m, size, size, 3), dtype=np.float32)
    corners = np.zeros((m, slots, 4), dtype=np.float32)
    classes = np.full((m, slots), -1, dtype=np.int32)
    pixel_classes = np.zeros((m, size, size), dtype=np.int32)
    centres_1d = (np.arange(size) + 0.5) / size
    for i, image in enumerate(annotated):
        if len(image.boxes) > slots:
            raise ValueError(f"{source}:{image.lines[slots]}: image {image.path} has {len(image.boxes)} objects, "
                             f"more than max_objects={slots}")
        pixels = _read_image(image.path, (size, size))
        images[i] = np.broadcast_to(pixels, (size, size, 3)).astype(np.float32) / np.float32(255.0)
        for k, (name, box, line) in enumerate(zip(image.class_names, image.boxes, image.lines)):
            if name not in class_names:
                raise ValueError(f"{source}:{line}: class {name!r} is not one of class_names {class_names}")
            classes[i, k] = class_names.index(name)
            corners[i, k] = np.array(box) / [image.width, image.height, image.width, image.height]
            x1, y1, x2, y2 = corners[i, k]
            columns = (x1 <= centres_1d) & (centres_1d < x2)
            rows = (y1 <= centres_1d) & (centres_1d < y2)
            pixel_classes[i][np.ix_(rows, columns)] = classes[i, k] + 1
    x1, y1, x2, y2 = np.moveaxis(corners, -1, 0)
    centres = np.stack([(x1 + x2) / 2, (y1 + y2) / 2, y2 - y1, x2 - x1], axis=-1).astype(np.float32)
    return Scenes(
        images=images,
        corners=corners,
        centres=centres,
        classes=classes,
        present=classes >= 0,
        landmarks=np.zeros((m, slots, LANDMARKS_PER_OBJECT, 2), dtype=np.float32),
        pixel_classes=pixel_classes,
        num_classes=len(class_names),
    )
