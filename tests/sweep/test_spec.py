"""Sweep spec strings and files: parsing, canonical form, strict errors."""

import pytest

from dlcourse.sweep import (
    Choice,
    IntRange,
    LogUniform,
    OneMinusLogUniform,
    Uniform,
    format_spec,
    load_sweep,
    parse_spec,
)

FULL = ("learning_rate=log(1e-4,1),beta1=1-log(1e-3,1e-1),hidden=int(50,100),optimizer=choice(adam,sgd),"
        "l2=uniform(0,0.1)")


def test_parse_full_spec():
    spaces = parse_spec(FULL)
    assert list(spaces) == ["learning_rate", "beta1", "hidden", "optimizer", "l2"]
    assert spaces["learning_rate"] == LogUniform(1e-4, 1.0)
    assert spaces["beta1"] == OneMinusLogUniform(1e-3, 1e-1)
    assert spaces["hidden"] == IntRange(50, 100)
    assert spaces["optimizer"] == Choice(("adam", "sgd"))
    assert spaces["l2"] == Uniform(0.0, 0.1)


@pytest.mark.parametrize("text", [
    FULL,
    " learning_rate = log( 0.00012345678901234 , 0.5 ) , layers=choice(2,3,4)",
    "keep_prob=uniform(0.5,1),x=choice(1.5,2,abc)",
    "none",
])
def test_round_trip(text):
    spaces = parse_spec(text)
    canonical = format_spec(spaces)
    assert parse_spec(canonical) == spaces
    assert format_spec(parse_spec(canonical)) == canonical


def test_none_sweeps_nothing():
    assert parse_spec("none") == {}
    assert format_spec({}) == "none"


@pytest.mark.parametrize("text, message", [
    ("", "empty sweep spec"),
    ("learning_rate", "expected KEY=RANGE"),
    ("learning_rate=log(1e-4)", "exactly two bounds"),
    ("learning_rate=log(1,1e-4)", "inverted"),
    ("learning_rate=log(0,1)", "> 0"),
    ("learning_rate=log(-1,1)", "> 0"),
    ("l2=uniform(0.1,0.1)", "empty range"),
    ("hidden=int(50,50.5)", "integer bounds"),
    ("hidden=int(100,50)", "inverted"),
    ("lr=normal(0,1)", "expected log"),
    ("lr=log(1e-4,1),lr=log(1e-3,1)", "twice"),
    ("lr=log(1e-4,1", "unbalanced"),
    ("lr=log(a,1)", "not a number"),
    ("lr=log(1e-4,inf)", "finite"),
    ("1lr=log(1e-4,1)", "not a valid name"),
    ("opt=choice()", "at least one"),
    ("opt=choice(adam,adam)", "distinct"),
    ("opt=choice(a b)", "bare word"),
    ("beta1=1-log(1e-3,2)", "1-beta"),
])
def test_errors_name_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        parse_spec(text)


def test_error_names_the_entry():
    with pytest.raises(ValueError, match=r"learning_rate=log\(0,1\)"):
        parse_spec("beta1=1-log(1e-3,1e-1),learning_rate=log(0,1)")


def test_load_sweep_from_file(tmp_path):
    as_string = tmp_path / "study.py"
    as_string.write_text("def get_sweep():\n    return 'learning_rate=log(1e-3,1e-1)'\n")
    assert load_sweep(str(as_string)) == {"learning_rate": LogUniform(1e-3, 1e-1)}
    as_dict = tmp_path / "study2.py"
    as_dict.write_text("from dlcourse.sweep import IntRange\n"
                       "def get_sweep():\n    return {'hidden': IntRange(50, 100)}\n")
    assert load_sweep(str(as_dict)) == {"hidden": IntRange(50, 100)}
    bad = tmp_path / "bad.py"
    bad.write_text("def get_sweep():\n    return {'hidden': (50, 100)}\n")
    with pytest.raises(ValueError, match="not a search space"):
        load_sweep(str(bad))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="no get_sweep"):
        load_sweep(str(empty))
    with pytest.raises(ValueError, match="does not exist"):
        load_sweep(str(tmp_path / "missing.py"))
    assert load_sweep("hidden=int(2,4)") == {"hidden": IntRange(2, 4)}
