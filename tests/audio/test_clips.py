"""Clip synthesis: the overlap rule and insert_ones by hand (the course's own checks), the give-up
rule, and labels rebuilt from the inserted segments."""
import numpy as np
import pytest

from dlcourse import audio


def test_overlap_rule_by_hand():
    assert not audio.is_overlapping((5, 9), [])
    assert not audio.is_overlapping((5, 9), [(0, 4), (10, 12)])     # touching ends are not an overlap
    assert audio.is_overlapping((5, 9), [(0, 5)])                   # a shared sample is
    assert audio.is_overlapping((5, 9), [(9, 12)])
    assert audio.is_overlapping((5, 9), [(0, 20)]) and audio.is_overlapping((0, 20), [(5, 9)])
    # The course notebook's two checks (segments in ms).
    assert not audio.is_overlapping((950, 1430), [(2000, 2550), (260, 949)])
    assert audio.is_overlapping((2305, 2950), [(824, 1532), (1900, 2305), (3424, 3656)])


def test_insert_ones_by_hand_and_the_courses_check():
    y = audio.insert_ones(np.zeros(10, np.float32), 3, steps=4)
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0] and y.dtype == np.float32
    assert audio.insert_ones(y, 7, steps=5).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]   # cut at T_y
    # The course: T_y = 1375 over 10,000 ms, positives ending at 9700 ms and 4251 ms.
    assert audio.end_step(9700, 10_000, 1375) == 1333 and audio.end_step(4251, 10_000, 1375) == 584
    arr = audio.insert_ones(audio.insert_ones(np.zeros((1, 1375)), 1333), 584)
    assert (arr[0, 1333], arr[0, 634], arr[0, 635]) == (0.0, 1.0, 0.0)
    assert arr.sum() == 41 + 50


def test_insert_word_places_the_word_at_a_free_segment_or_gives_up_after_max_tries():
    background, word = np.zeros(100, np.float32), np.arange(1, 11, dtype=np.float32)
    rng = np.random.default_rng(0)
    audio_out, segment = audio.insert_word(background, word, [(0, 59)], rng, max_tries=50)
    assert 60 <= segment[0] and segment[1] == segment[0] + 9 <= 99
    expected = np.zeros(100)
    expected[segment[0]:segment[1] + 1] = word
    np.testing.assert_array_equal(audio_out, expected)
    assert not background.any()                                      # the background is not written to
    rng, twin = np.random.default_rng(1), np.random.default_rng(1)
    audio_out, segment = audio.insert_word(background, word, [(0, 99)], rng, max_tries=7)
    assert segment is None and audio_out is background
    twin.integers(0, 91, size=7)                                     # exactly max_tries draws were made
    assert rng.integers(1 << 30) == twin.integers(1 << 30)
    with pytest.raises(ValueError, match="does not fit a clip of 100"):
        audio.insert_word(background, np.ones(101), [], rng)


SETTINGS = audio.ClipSettings(sample_rate=2000, seconds=3.0, output_steps=40, label_steps=5)


@pytest.fixture(scope="module")
def clips():
    return audio.synthesize_clips(24, 3, SETTINGS)


def test_clips_have_non_overlapping_words_and_labels_after_each_positive(clips):
    assert clips.audio.shape == (24, 6000) and clips.audio.dtype == np.float32
    assert clips.labels.shape == (24, 40) and clips.segments.shape == (24, 6, 2)
    for segments, positive, labels in zip(clips.segments, clips.positive, clips.labels):
        used = [tuple(s) for s in segments if s[0] >= 0]
        for i, a in enumerate(used):
            assert 0 <= a[0] <= a[1] < 6000
            assert not audio.is_overlapping(a, used[:i] + used[i + 1:])
        np.testing.assert_array_equal(positive, np.arange(6) < positive.sum())            # positives first
        assert positive.sum() <= 4
        expected = np.zeros(40)
        for (start, end), is_positive in zip(segments, positive):
            if is_positive and start >= 0:
                t_end = end * 40 // 6000
                expected[t_end + 1:t_end + 6] = 1
        np.testing.assert_array_equal(labels, expected)
    positives = ((clips.segments[..., 0] >= 0) & clips.positive).sum(axis=1)
    assert set(positives.tolist()) >= {0, 1, 2, 3}                   # U{0 … 4} positives per clip
    negatives = (clips.segments[..., 0] >= 0) & ~clips.positive
    assert negatives.sum(axis=1).max() <= 2 and negatives.any()


def test_clips_are_seeded_per_clip(clips):
    again = audio.synthesize_clips(3, 3, SETTINGS)
    for ours, theirs in zip(again, clips):
        np.testing.assert_array_equal(ours, theirs[:3])
    assert not np.array_equal(audio.synthesize_clips(1, 4, SETTINGS).audio[0], clips.audio[0])


def test_a_crowded_clip_gives_words_up():
    crowded = SETTINGS._replace(seconds=1.2, max_positives=4, max_negatives=2, max_tries=3)
    clips = audio.synthesize_clips(6, 0, crowded)
    assert clips.given_up.sum() > 0
    positives_given_up = (clips.positive & (clips.segments[..., 0] < 0)).sum(axis=1)
    assert (positives_given_up <= clips.given_up).all()
    for segments, positive, labels in zip(clips.segments, clips.positive, clips.labels):
        ends = [end for (start, end), p in zip(segments, positive) if p and start >= 0]
        assert labels.sum() <= 5 * len(ends)                         # a given-up positive sets no label
        assert sum(end - start + 1 for start, end in segments if start >= 0) <= 2400
