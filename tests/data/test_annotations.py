"""Tests for dlcourse.data.annotations: a user's images and annotation file as Scenes."""

import numpy as np
import pytest
from PIL import Image

from dlcourse import data
from dlcourse.data.annotations import load_annotated_images, read_annotations


def _write_png(path, width, height, colour=(255, 0, 0), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (width, height), colour if mode == "RGB" else colour[0]).save(path)


@pytest.fixture
def folder(tmp_path):
    _write_png(tmp_path / "pictures" / "a.png", 40, 20, (255, 0, 0))
    _write_png(tmp_path / "pictures" / "b.png", 16, 16, (128, 0, 0), mode="L")
    _write_png(tmp_path / "c.png", 8, 8, (0, 0, 255))
    return tmp_path


def _annotate(folder, text):
    path = folder / "boxes.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_boxes_classes_and_pixels(folder):
    path = _annotate(folder, "# image_path,class_name,x1,y1,x2,y2\n"
                             "pictures/a.png, dog, 10, 5, 30, 15\n"
                             "\n"
                             "pictures/b.png,cat,0,0,8,16\n"
                             "pictures/a.png,cat,0,0,20.5,10\n"
                             "c.png\n")
    scenes = load_annotated_images(path, size=8)
    assert scenes.images.shape == (3, 8, 8, 3) and scenes.images.dtype == np.float32
    assert scenes.num_classes == 2  # inferred and sorted: cat = 0, dog = 1
    np.testing.assert_array_equal(scenes.classes, [[1, 0], [0, -1], [-1, -1]])
    np.testing.assert_array_equal(scenes.present, scenes.classes >= 0)
    # a.png is 40 wide, 20 high: (10, 5, 30, 15) → (0.25, 0.25, 0.75, 0.75).
    np.testing.assert_allclose(scenes.corners[0], [[0.25, 0.25, 0.75, 0.75], [0, 0, 20.5 / 40, 0.5]])
    np.testing.assert_allclose(scenes.centres[0, 0], [0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(scenes.centres[1, 0], [0.25, 0.5, 1.0, 0.5])
    assert not scenes.corners[2].any() and not scenes.landmarks.any()
    # Images: colours of the files, grey repeated into RGB.
    np.testing.assert_allclose(scenes.images[0], np.broadcast_to([1.0, 0, 0], (8, 8, 3)))
    np.testing.assert_allclose(scenes.images[1], np.full((8, 8, 3), 128 / 255), atol=1e-6)
    np.testing.assert_allclose(scenes.images[2], np.broadcast_to([0, 0, 1.0], (8, 8, 3)))
    # Pixel map: pixel centres (j + ½)/8 inside a box; the later line (cat) is on top.
    expected = np.zeros((8, 8), dtype=np.int32)
    expected[2:6, 2:6] = 2
    expected[0:4, 0:4] = 1  # x ≤ 20.5/40 covers centres 0.0625 … 0.4375; y < 0.5 rows 0 … 3
    np.testing.assert_array_equal(scenes.pixel_classes[0], expected)
    np.testing.assert_array_equal(scenes.pixel_classes[1][:, :4], 1)
    np.testing.assert_array_equal(scenes.pixel_classes[1][:, 4:], 0)
    np.testing.assert_array_equal(scenes.pixel_classes[2], 0)


def test_given_class_names_and_slots(folder):
    path = _annotate(folder, "c.png,square,1,1,4,4\n")
    scenes = data.load_annotated_images(path, size=4, class_names=("circle", "square"), max_objects=3)
    assert scenes.num_classes == 2 and scenes.classes.tolist() == [[1, -1, -1]]
    assert scenes.landmarks.shape == (1, 3, data.LANDMARKS_PER_OBJECT, 2)
    records = read_annotations(path)
    assert records[0].width == 8 and records[0].boxes == ((1.0, 1.0, 4.0, 4.0),) and records[0].lines == (1,)


@pytest.mark.parametrize("text, line, message", [
    ("c.png,dog,1,1,4\n", 1, "expected 6 comma-separated fields"),
    ("# comment\nc.png,dog,1,one,4,4\n", 2, "must be numbers"),
    ("c.png,dog,1,1,9,4\n", 1, "must satisfy"),
    ("c.png,dog,4,1,4,4\n", 1, "must satisfy"),
    ("c.png,dog,1,5,4,4\n", 1, "must satisfy"),
    ("c.png,dog,-1,1,4,4\n", 1, "must satisfy"),
    ("c.png,dog,1,1,4,4\nmissing.png,dog,1,1,4,4\n", 2, "not found"),
    ("c.png,,1,1,4,4\n", 1, "empty class_name"),
])
def test_bad_lines_name_the_file_and_line(folder, text, line, message):
    path = _annotate(folder, text)
    with pytest.raises(ValueError, match=message) as raised:
        load_annotated_images(path)
    assert f"{path}:{line}:" in str(raised.value)


def test_bad_files_and_options(folder):
    with pytest.raises(ValueError, match="no such annotation file"):
        load_annotated_images(folder / "nothing.csv")
    (folder / "broken.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="boxes.csv:1: .*readable PNG"):
        load_annotated_images(_annotate(folder, "broken.png\n"))
    with pytest.raises(ValueError, match="no annotation lines"):
        load_annotated_images(_annotate(folder, "# nothing\n\n"))
    path = _annotate(folder, "c.png,dog,1,1,4,4\nc.png,cat,1,1,4,4\n")
    with pytest.raises(ValueError, match="boxes.csv:2: .*more than max_objects=1"):
        load_annotated_images(path, max_objects=1)
    with pytest.raises(ValueError, match="boxes.csv:1: class 'dog' is not one of"):
        load_annotated_images(path, class_names=("cat",))
    with pytest.raises(ValueError, match="size"):
        load_annotated_images(path, size=0)
