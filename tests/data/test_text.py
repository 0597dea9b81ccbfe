"""dlcourse.data.text: tokens of the course's sentence, next-token arrays worked by hand, and sequences
from a list or a file with clear errors."""
import numpy as np
import pytest

from dlcourse import data


def test_tokenize_characters_and_words():
    sentence = "Cats average 15 hours of sleep a day."
    assert data.tokenize(sentence, "word") == ["cats", "average", "15", "hours", "of", "sleep", "a", "day", "."]
    assert data.tokenize("Mau B.") == ["M", "a", "u", " ", "B", "."]
    assert data.tokenize("Mau", lowercase=True) == ["m", "a", "u"]
    with pytest.raises(ValueError, match="'sentence'"):
        data.tokenize(sentence, "sentence")


def test_next_token_arrays_by_hand():
    inputs, targets, mask = data.next_token_arrays([[5, 6], [7], []])
    np.testing.assert_array_equal(inputs, [[0, 5, 6], [0, 7, 0], [0, 0, 0]])
    np.testing.assert_array_equal(targets, [[5, 6, 1], [7, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(mask, [[1, 1, 1], [1, 1, 0], [1, 0, 0]])
    assert inputs.dtype == targets.dtype == np.int32 and mask.dtype == np.float32
    examples = data.next_token_examples([[5, 6]], length=4)
    np.testing.assert_array_equal(examples.mask, [[1, 1, 1, 0]])
    with pytest.raises(ValueError, match="sequence 0 has 2 tokens.*length=2"):
        data.next_token_arrays([[5, 6]], length=2)
    inputs, targets, mask = data.next_token_arrays([[5, 6, 7]], length=3, truncate=True)
    np.testing.assert_array_equal(inputs, [[0, 5, 6]])
    np.testing.assert_array_equal(targets, [[5, 6, 1]])


def test_load_sequences_from_a_list_or_a_file(tmp_path):
    assert data.load_sequences(["Ada ", "", "  Bob"], lowercase=True) == ["ada", "bob"]
    path = tmp_path / "names.txt"
    path.write_text("Ada\n\nBob\r\nCyd\n", encoding="utf-8")
    assert data.load_sequences(path) == ["Ada", "Bob", "Cyd"]
    assert data.load_sequences(str(path)) == ["Ada", "Bob", "Cyd"]
    with pytest.raises(data.MissingDataFileError, match="nothing.txt: no such file"):
        data.load_sequences(tmp_path / "nothing.txt")
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(ValueError, match="blank.txt: no sequences"):
        data.load_sequences(tmp_path / "blank.txt")
    (tmp_path / "latin1.txt").write_bytes("Zoë\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt: not utf-8"):
        data.load_sequences(tmp_path / "latin1.txt")
    with pytest.raises(ValueError, match="sequence 1 is a int"):
        data.load_sequences(["Ada", 3])
