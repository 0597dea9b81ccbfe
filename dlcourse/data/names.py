"""Person names that ship with Faker, offline: the corpus of the course's character-level language model.

The course trains a character model on dinosaur names; here the names are those of Faker's
``en_US`` person provider (``faker.providers.person.en_US.Provider``), read from the module's
tables, never from a network and never drawn at random:

- ``"first"``: ``Provider.first_names`` (US first names, female, male and unisex; 690 in Faker 40);
- ``"last"``: ``Provider.last_names`` (US surnames; 1000 in Faker 40);
- ``"both"``: the union of the two.

The result is sorted and duplicate-free, so it depends only on Faker's version.
"""

from __future__ import annotations

__all__ = ["NAME_LISTS", "load_names"]

NAME_LISTS = ("first", "last", "both")


def load_names(which: str = "both", *, lowercase: bool = False) -> list[str]:
    """Faker's ``en_US`` names (module docstring), sorted, each once; lower-cased when ``lowercase``.

    Raises:
      ValueError: ``which`` not one of :data:`NAME_LISTS`.
      ModuleNotFoundError: Faker is not installed (``pip install faker``).
    """
    if which not in NAME_LISTS:
        raise ValueError(f"which must be one of {NAME_LISTS}; got {which!r}")
    try:
        from faker.providers.person.en_US import Provider
    except ModuleNotFoundError:
        raise ModuleNotFoundError("the names corpus needs Faker's name lists: pip install faker") from None
    names = set()
    if which in ("first", "both"):
        names.update(Provider.first_names)
    if which in ("last", "both"):
        names.update(Provider.last_names)
    names = {name.strip().lower() if lowercase else name.strip() for name in names}
    return sorted(name for name in names if name)
