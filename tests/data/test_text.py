"""dlcourse.data.text: tokens of the course's sentence, the vocabulary's ids and <UNK>, next-token arrays
worked by hand, and sequences from a list or a file with clear errors."""
import numpy as np
import pytest

from dlcourse import data


def test_tokenize_characters_and_words():
    sentence = "Cats average 15 hours of sleep a day."
    assert data.tokenize(sentence, "word") == ["Cats", "average", "15", "hours", "of", "sleep", "a", "day", "."]
    assert data.tokenize("Don't, Mau!", "word", lowercase=True) == ["don't", ",", "mau", "!"]
    assert data.tokenize("a b.") == ["a", " ", "b", "."]
    with pytest.raises(ValueError, match="'sentence'"):
        data.tokenize(sentence, "sentence")


def test_vocabulary_orders_by_count_and_maps_the_rest_to_unk():
    vocab = data.build_vocabulary(["abcab", "bd"])          # counts: b 3, a 2, c 1, d 1
    assert vocab.tokens == ("<PAD>", "<EOS>", "<UNK>", "b", "a", "c", "d")
    assert (vocab.pad_id, vocab.eos_id, vocab.unk_id, vocab.size) == (0, 1, 2, 7)
    np.testing.assert_array_equal(vocab.encode("abz"), [4, 3, 2])
    assert vocab.decode([4, 3, 0, 5, 1, 6]) == ["a", "b", "c"]             # <PAD> dropped, stops at <EOS>
    assert vocab.decode([4, 1, 6], stop_at_eos=False) == ["a", "<EOS>", "d"]
    assert data.build_vocabulary(["abcab", "bd"], min_count=2).tokens[3:] == ("b", "a")
    assert data.build_vocabulary(["abcab", "bd"], max_size=4).tokens[3:] == ("b",)
    words = data.build_vocabulary([["the", "cat"], ["the", "end"]])
    np.testing.assert_array_equal(words.encode(["the", "dog"]), [3, 2])
    with pytest.raises(ValueError, match="<EOS>"):
        data.build_vocabulary([["a", "<EOS>"]])
    with pytest.raises(ValueError, match="id 9"):
        vocab.decode([9])
    with pytest.raises(ValueError, match="max_size"):
        data.build_vocabulary(["ab"], max_size=2)


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
