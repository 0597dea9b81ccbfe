"""Generated dates: each text says its ISO date (its numbers and month names read back independently,
numeric locale formats re-parsed by Babel), no text means two dates, held-out splits, arrays."""
import datetime
import re

import numpy as np
import pytest
from babel.dates import get_date_format, get_month_names, parse_date

from dlcourse import data, embeddings


@pytest.fixture(scope="module")
def pairs():
    return data.make_date_pairs(400, seed=3)


def _month_names(month, locale):
    names = set()
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            names.add(get_month_names(width, context, locale)[month].lower().rstrip("."))
    return names


def test_every_text_says_its_iso_date(pairs):
    start, end = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
    assert len(pairs.human) == len(pairs.iso) == 400
    assert set(pairs.locale) == set(data.DATE_LOCALES)
    for text, iso, locale in zip(pairs.human, pairs.iso, pairs.locale):
        day = datetime.date.fromisoformat(iso)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso) and start <= day <= end
        numbers = sorted(int(n) for n in re.findall(r"\d+", text))
        year_written = day.year if str(day.year) in text else day.year % 100
        if not any(c.isalpha() for c in text):          # numeric: exactly day, month and year
            assert numbers == sorted([day.day, day.month, year_written]), (text, iso)
        else:                                            # day and year as numbers, the month by name
            assert numbers == sorted([day.day, year_written]), (text, iso)
            assert any(name in text.lower() for name in _month_names(day.month, locale)), (text, iso, locale)


def test_the_locales_short_numeric_formats_parse_back_with_babel(pairs):
    parsed = 0
    for text, iso, locale, pattern in zip(pairs.human, pairs.iso, pairs.locale, pairs.pattern):
        if pattern == get_date_format("short", locale).pattern and not any(c.isalpha() for c in text):
            assert parse_date(text, locale=locale) == datetime.date.fromisoformat(iso), (text, locale)
            parsed += 1
    assert parsed >= 5


def test_the_formats_are_varied_and_the_draws_seeded(pairs):
    assert len(set(pairs.pattern)) >= 20
    assert data.make_date_pairs(400, seed=3) == pairs
    assert data.make_date_pairs(20, seed=4).iso != pairs.iso[:20]


def test_day_month_orders_that_disagree_never_write_an_ambiguous_text():
    pairs = data.make_date_pairs(300, seed=1, locales=("en_US",), patterns=("M/d/y", "d/M/y"))
    used = set()
    for text, iso, pattern in zip(pairs.human, pairs.iso, pairs.pattern):
        day = datetime.date.fromisoformat(iso)
        used.add(pattern)
        assert text == (f"{day.month}/{day.day}/{day.year}" if pattern == "M/d/y" else
                        f"{day.day}/{day.month}/{day.year}")
        # with day and month both <= 12 (and different) the other order reads another date: such texts are refused
        assert day.day > 12 or day.day == day.month, f"{text} also reads {day.year}-{day.day:02d}-{day.month:02d}"
    assert used == {"M/d/y", "d/M/y"}
    meanings = {}
    for text, iso in zip(*data.make_date_pairs(1000, seed=2)[:2]):
        assert meanings.setdefault(text, iso) == iso


def test_splits_hold_out_dates_and_arrays_encode_them():
    translation = data.make_date_translation(120, 30, 20, seed=5)
    train_dates, dev_dates, test_dates = (set(s.iso) for s in (translation.train, translation.dev, translation.test))
    assert not train_dates & dev_dates and not train_dates & test_dates and not dev_dates & test_dates
    source, target = translation.source_vocabulary, translation.target_vocabulary
    assert source.words[:4] == target.words[:4] == ("<PAD>", "<EOS>", "<UNK>", "<SOS>")
    assert data.SOS_ID == 3 and target.words[4:] == tuple("-0123456789")
    assert set(source.words[4:]) == set("".join(translation.train.human))
    dev = translation.dataset.dev
    width = max(len(t) for s in (translation.train, translation.dev, translation.test) for t in s.human)
    assert dev.inputs.source.shape == (30, width) and dev.targets.shape == (30, 11)
    for i, (text, iso) in enumerate(zip(translation.dev.human, translation.dev.iso)):
        known = "".join(c if c in source.index else "?" for c in text)
        assert data.decode_characters(source, dev.inputs.source[i]) == known
        assert dev.inputs.source_mask[i].sum() == len(text) and not dev.inputs.source_mask[i, len(text):].any()
        assert data.decode_characters(target, dev.targets[i]) == iso
        assert dev.targets[i, -1] == embeddings.EOS_ID and dev.inputs.target_in[i, 0] == data.SOS_ID
        np.testing.assert_array_equal(dev.inputs.target_in[i, 1:], dev.targets[i, :-1])
    assert dev.mask.shape == (30, 11) and dev.mask.dtype == np.float32 and dev.mask.all()


@pytest.mark.parametrize("call, message", [
    (lambda: data.make_date_pairs(-1), "count must be a non-negative int; got -1"),
    (lambda: data.make_date_pairs(3, start=datetime.date(2000, 1, 2), end=datetime.date(2000, 1, 1)),
     "end 2000-01-01 is before start 2000-01-02"),
    (lambda: data.make_date_pairs(3, start=datetime.date(1900, 1, 1)), "span 150 years"),
    (lambda: data.make_date_pairs(3, locales=("xx_YY",)), "unknown locale 'xx_YY'"),
    (lambda: data.make_date_pairs(3, patterns=("MMMM y",)), "pattern 'MMMM y' must write the year (y), month (M)"),
    (lambda: data.make_date_pairs(5, start=datetime.date(2000, 1, 1), end=datetime.date(2000, 1, 3)),
     "count=5 is more than the 3 dates"),
    (lambda: data.make_date_translation(10, 0), "dev_size must be an int >= 1; got 0"),
    (lambda: data.make_date_translation(10, 2, 0, source_length=4), "more than source_length=4"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
