"""Human-readable dates and their ISO form, for translation with attention (course 5).

Each example is a calendar date written as a person would write it, ``"Wednesday, March 25, 1970"``,
``"25 mars 1970"``, ``"25.03.70"``, paired with ``"1970-03-25"`` (ISO 8601, ``YYYY-MM-DD``). Dates
are drawn uniformly from ``[start, end]`` by Faker (``date_between_dates``, seeded per call), and
each is written with a pattern and a locale drawn uniformly (NumPy, same seed) and formatted by
Babel (CLDR data shipped with it; nothing is downloaded):

- :data:`DATE_PATTERNS`: Babel's named formats ``short``, ``medium``, ``long``, ``full`` (each
  locale's own: ``M/d/yy`` in ``en_US``, ``dd.MM.yy`` in ``de_DE``, ``EEEE d MMMM y`` in
  ``fr_FR`` …) and CLDR patterns with month and day names, e.g. ``d MMM y``, ``MMMM d, y``,
  ``EEE d MMM y``;
- :data:`NUMERIC_PATTERNS`: locale-free numeric forms, ``M/d/y`` (``3/25/1970``), ``dd.MM.yy``
  (``25.03.70``), ``d.M.y``, ``y/MM/dd``, ``dd-MM-y``;
- :data:`DATE_LOCALES`: ``en_US``, ``en_GB``, ``fr_FR``, ``de_DE``, ``es_ES``, ``it_IT``,
  ``pt_BR``, ``nl_NL`` (any locale Babel knows may be passed).

Two conventions keep every text's meaning unique. Two-digit years (``yy``) are read within the
window, so ``end.year − start.year`` must be below 100 (default 1950–2049: ``70`` is 1970,
``07`` is 2007). Numeric forms that read day and month in opposite orders (``en_US``'s ``3/4/70``
is March 4, ``es_ES``'s ``3/4/70`` April 3) would make a text ambiguous: when the text of a date
with day and month both ≤ 12 is also some numeric pattern's text of the swapped date, another
pattern and locale are drawn for it.

Splits hold out *dates*: no calendar date of the dev or test split occurs in the training split
(in any form), and dev and test share none. Tokens are characters. The vocabularies
(:func:`date_vocabulary`, a :class:`dlcourse.embeddings.Vocabulary`) start with four special tokens,
``<PAD> = 0``, ``<EOS> = 1``, ``<UNK> = 2`` (ids as everywhere in dlcourse) and ``<SOS> = 3``; the
source one then lists the training texts' characters (a character seen only in dev or test is
``<UNK>``), the target one ``-0123456789``. Arrays (:func:`translation_examples`)::

    inputs  = TranslationInputs(source [m, T_x] int32, source_mask [m, T_x] bool, target_in [m, T_y] int32,
                                target_mask [m, T_y] bool)
    targets = target_out [m, T_y] int32           mask = the target mask as float32 [m, T_y]

with ``target_in = <SOS> y⟨1⟩ … y⟨T_y − 1⟩`` (teacher forcing) and ``target_out = y⟨1⟩ … y⟨10⟩ <EOS>``,
``T_y = 11``.
"""

from __future__ import annotations

import datetime
import re
from typing import NamedTuple, Sequence

import numpy as np

from dlcourse.data.examples import Dataset, Examples
from dlcourse.embeddings.vocabulary import EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID, Vocabulary

__all__ = ["DATE_LOCALES", "DATE_PATTERNS", "DATE_SPECIAL_TOKENS", "ISO_CHARACTERS", "NUMERIC_PATTERNS", "SOS",
           "SOS_ID", "DatePairs", "DateTranslation", "TranslationInputs", "date_vocabulary", "decode_characters",
           "encode_characters", "make_date_pairs", "make_date_translation", "translation_examples"]

DATE_LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "pt_BR", "nl_NL")
NUMERIC_PATTERNS = ("M/d/y", "dd.MM.yy", "d.M.y", "y/MM/dd", "dd-MM-y")
DATE_PATTERNS = ("short", "medium", "long", "full", "d MMM y", "d MMMM y", "dd MMM y", "d MMM, y", "MMMM d, y",
                 "MMM d y", "EEEE d MMMM y", "EEE d MMM y", "d MMMM yy") + NUMERIC_PATTERNS
SOS = "<SOS>"
DATE_SPECIAL_TOKENS = SPECIAL_TOKENS + (SOS,)
SOS_ID = 3
ISO_CHARACTERS = "-0123456789"
ISO_LENGTH = 10


class DatePairs(NamedTuple):
    """Dates as text: ``human[i]`` is ``iso[i]`` written with CLDR pattern ``pattern[i]`` (the named
    formats resolved to the locale's own) in locale ``locale[i]``."""

    human: list[str]
    iso: list[str]
    locale: list[str]
    pattern: list[str]


class TranslationInputs(NamedTuple):
    """A translation model's inputs (a pytree, the argument order of :class:`dlcourse.models.Transformer`
    and :class:`dlcourse.models.AttentionTranslator`): source ids ``[m, T_x]``, source mask ``[m, T_x]``
    (true at real characters), decoder inputs ``[m, T_y]`` (``<SOS>`` then the target shifted right)
    and their mask ``[m, T_y]``."""

    source: np.ndarray
    source_mask: np.ndarray
    target_in: np.ndarray
    target_mask: np.ndarray


class DateTranslation(NamedTuple):
    """The date-translation data: the pairs of each split, the two vocabularies and the arrays
    (:class:`dlcourse.data.Dataset` of :func:`translation_examples`)."""

    train: DatePairs
    dev: DatePairs
    test: DatePairs | None
    source_vocabulary: Vocabulary
    target_vocabulary: Vocabulary
    dataset: Dataset


def _babel():
    try:
        from babel import Locale, UnknownLocaleError
        from babel.dates import get_date_format, parse_pattern
    except ModuleNotFoundError:
        raise ModuleNotFoundError("date translation needs Babel: pip install babel") from None
    return Locale, UnknownLocaleError, get_date_format, parse_pattern


def _check_arguments(count, locales, patterns, start, end):
    if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 0:
        raise ValueError(f"count must be a non-negative int; got {count!r}")
    if not locales or not patterns:
        raise ValueError(f"need at least one locale and one pattern; got locales={locales!r}, patterns={patterns!r}")
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise ValueError(f"{name} must be a datetime.date; got {value!r}")
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if end.year - start.year >= 100:
        raise ValueError(f"dates from {start} to {end} span {end.year - start.year + 1} years; two-digit years "
                         f"need fewer than 100 (e.g. 1950-01-01 to 2049-12-31)")


def _writers(locales: Sequence[str], patterns: Sequence[str]) -> list[tuple[str, str, object, object]]:
    """``(locale name, CLDR pattern, parsed pattern, Locale)`` for every locale × pattern."""
    Locale, UnknownLocaleError, get_date_format, parse_pattern = _babel()
    writers = []
    for name in locales:
        try:
            locale = Locale.parse(name)
        except (UnknownLocaleError, ValueError, TypeError, LookupError) as error:
            raise ValueError(f"unknown locale {name!r}: {error}") from None
        for pattern in patterns:
            cldr = get_date_format(pattern, locale).pattern if pattern in ("short", "medium", "long", "full") \
                else pattern
            if not isinstance(cldr, str) or not re.search(r"y", cldr) or not re.search(r"d", cldr) \
                    or not re.search(r"M|L", cldr):
                raise ValueError(f"pattern {pattern!r} must write the year (y), month (M) and day (d); got {cldr!r}")
            try:
                parsed = parse_pattern(cldr)
            except (ValueError, TypeError) as error:
                raise ValueError(f"pattern {pattern!r} is not a CLDR date pattern: {error}") from None
            writers.append((name, cldr, parsed, locale))
    return writers


def _is_numeric(text: str) -> bool:
    return not any(character.isalpha() for character in text)


def make_date_pairs(count: int, *, seed: int = 0, locales: Sequence[str] = DATE_LOCALES,
                    patterns: Sequence[str] = DATE_PATTERNS, start: datetime.date = datetime.date(1950, 1, 1),
                    end: datetime.date = datetime.date(2049, 12, 31),
                    exclude_dates: Sequence[datetime.date] | set = ()) -> DatePairs:
    """``count`` dates drawn from ``[start, end]`` (none of ``exclude_dates``), each written with a
    pattern and locale drawn uniformly (module docstring); deterministic for a seed (and Faker's and
    Babel's versions).

    Raises:
      ValueError: a negative ``count``, an unknown locale, a pattern without year, month and day,
        ``end < start``, a window of 100 years or more, or fewer free dates than ``count``.
      ModuleNotFoundError: Babel or Faker missing.
    """
    _check_arguments(count, locales, patterns, start, end)
    try:
        from faker import Faker
    except ModuleNotFoundError:
        raise ModuleNotFoundError("date translation draws its dates with Faker: pip install faker") from None
    excluded = set(exclude_dates)
    free = (end - start).days + 1 - sum(start <= d <= end for d in excluded)
    if count > free:
        raise ValueError(f"count={count} is more than the {free} dates from {start} to {end} left after excluding "
                         f"{len(excluded)}")
    writers = _writers(locales, patterns)
    numeric = [w for w in writers if _is_numeric(w[2].apply(datetime.date(1970, 3, 25), w[3]))]
    faker = Faker()
    faker.seed_instance(seed)
    rng = np.random.default_rng(seed)
    human, iso, locale_names, cldr_patterns = [], [], [], []
    while len(iso) < count:
        day = faker.date_between_dates(start, end)
        if day in excluded:
            continue
        swapped = None
        if day.day <= 12 and day.day != day.month:
            swapped = datetime.date(day.year, day.day, day.month)
        for _ in range(100):
            name, cldr, parsed, locale = writers[rng.integers(len(writers))]
            text = parsed.apply(day, locale)
            if swapped is None or not _is_numeric(text) or not any(
                    w[2].apply(swapped, w[3]) == text for w in numeric):
                break
        else:
            continue  # every draw was ambiguous (only with a few numeric patterns): draw another date
        human.append(text)
        iso.append(day.isoformat())
        locale_names.append(name)
        cldr_patterns.append(cldr)
    return DatePairs(human, iso, locale_names, cldr_patterns)


def date_vocabulary(texts: Sequence[str] | None = None) -> Vocabulary:
    """The character vocabulary: the four special tokens (module docstring), then the sorted
    characters of ``texts``; ``None`` gives the target vocabulary of ISO dates (``-0123456789``)."""
    characters = sorted(set(ISO_CHARACTERS if texts is None else "".join(texts)))
    counts = np.zeros(len(DATE_SPECIAL_TOKENS) + len(characters), np.int64)
    return Vocabulary(DATE_SPECIAL_TOKENS + tuple(characters), counts)


def encode_characters(vocabulary: Vocabulary, text: str) -> np.ndarray:
    """int32 ids of ``text``'s characters (``<UNK>`` for a character outside the vocabulary)."""
    index = vocabulary.index
    return np.asarray([index.get(character, UNK_ID) for character in text], np.int32)


def decode_characters(vocabulary: Vocabulary, ids: Sequence[int] | np.ndarray) -> str:
    """The text of ``ids`` up to the first ``<EOS>`` (exclusive); ``<PAD>`` and ``<SOS>`` are dropped,
    ``<UNK>`` is written ``?``."""
    out = []
    for i in np.asarray(ids).reshape(-1).tolist():
        if i == EOS_ID:
            break
        if not 0 <= i < vocabulary.size:
            raise ValueError(f"id {i} is outside the vocabulary of size {vocabulary.size}")
        if i not in (PAD_ID, SOS_ID):
            out.append("?" if i == UNK_ID else vocabulary.words[i])
    return "".join(out)


def translation_examples(pairs: DatePairs, source_vocabulary: Vocabulary, target_vocabulary: Vocabulary,
                         source_length: int) -> Examples:
    """``Examples(TranslationInputs(source, source_mask, target_in, target_mask), target_out, target_mask)``
    (module docstring); sources right-padded with ``<PAD>`` to ``source_length``.

    Raises:
      ValueError: a text longer than ``source_length``, or a target that is not an ISO date.
    """
    m, target_length = len(pairs.human), ISO_LENGTH + 1
    source = np.full((m, source_length), PAD_ID, np.int32)
    source_mask = np.zeros((m, source_length), bool)
    target_in = np.full((m, target_length), PAD_ID, np.int32)
    target_out = np.full((m, target_length), PAD_ID, np.int32)
    for i, (text, iso) in enumerate(zip(pairs.human, pairs.iso)):
        if len(text) > source_length:
            raise ValueError(f"{text!r} has {len(text)} characters, more than source_length={source_length}")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
            raise ValueError(f"target {iso!r} is not an ISO date YYYY-MM-DD")
        source[i, :len(text)] = encode_characters(source_vocabulary, text)
        source_mask[i, :len(text)] = True
        ids = encode_characters(target_vocabulary, iso)
        target_in[i] = np.concatenate([[SOS_ID], ids])
        target_out[i] = np.concatenate([ids, [EOS_ID]])
    target_mask = np.ones((m, target_length), bool)  # every ISO date has 10 characters and <EOS>
    return Examples(TranslationInputs(source, source_mask, target_in, target_mask), target_out,
                    target_mask.astype(np.float32))


def make_date_translation(train_size: int = 20000, dev_size: int = 1000, test_size: int = 1000, *, seed: int = 0,
                          locales: Sequence[str] = DATE_LOCALES, patterns: Sequence[str] = DATE_PATTERNS,
                          start: datetime.date = datetime.date(1950, 1, 1),
                          end: datetime.date = datetime.date(2049, 12, 31),
                          source_length: int | None = None) -> DateTranslation:
    """Train, dev and test date pairs on held-out dates (module docstring), their vocabularies
    and arrays. ``source_length`` ``T_x`` defaults to the longest text of the three splits.

    Raises:
      ValueError: bad sizes (``train_size``, ``dev_size`` ≥ 1, ``test_size`` ≥ 0), a text longer
        than ``source_length``, or the arguments :func:`make_date_pairs` refuses.
    """
    for name, value, least in (("train_size", train_size, 1), ("dev_size", dev_size, 1), ("test_size", test_size, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise ValueError(f"{name} must be an int >= {least}; got {value!r}")
    options = dict(locales=locales, patterns=patterns, start=start, end=end)
    train = make_date_pairs(train_size, seed=seed, **options)
    used = {datetime.date.fromisoformat(d) for d in train.iso}
    dev = make_date_pairs(dev_size, seed=seed + 1, exclude_dates=used, **options)
    used |= {datetime.date.fromisoformat(d) for d in dev.iso}
    test = make_date_pairs(test_size, seed=seed + 2, exclude_dates=used, **options) if test_size else None
    splits = [s for s in (train, dev, test) if s is not None]
    longest = max(len(text) for s in splits for text in s.human)
    source_length = longest if source_length is None else source_length
    if not isinstance(source_length, (int, np.integer)) or source_length < 1:
        raise ValueError(f"source_length must be a positive int; got {source_length!r}")
    source_vocabulary, target_vocabulary = date_vocabulary(train.human), date_vocabulary()
    arrays = [translation_examples(s, source_vocabulary, target_vocabulary, source_length) for s in splits]
    dataset = Dataset(arrays[0], arrays[1], arrays[2] if test is not None else None)
    return DateTranslation(train, dev, test, source_vocabulary, target_vocabulary, dataset)
