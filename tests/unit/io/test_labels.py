"""labelling.io.labels: label sets and label values."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from labelling.errors import InvalidInput
from labelling.io.labels import MAX_LABEL_LENGTH, from_json, normalise, to_json, validate_label_set
from labelling.records import Project


def project(labels, multi_label=False):
    return Project(id=1, name="p", labels=tuple(labels), multi_label=multi_label, overlap=1, instructions="")


def _id(value):
    """Stable test ids (set reprs depend on the hash seed, which differs between xdist workers)."""
    if isinstance(value, (set, frozenset)):
        return f"{type(value).__name__}({sorted(map(str, value))})"
    return repr(value)


SINGLE = project(["cat", "dog", "3", "1.5", "True"])
MULTI = project(["cat", "dog", "bird", "3"], multi_label=True)


# validate_label_set ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["a", "b"], ("a", "b")),
        (("b", "a"), ("b", "a")),  # order kept: it is the display order
        ([1, 2, 3], ("1", "2", "3")),
        ([3.0, 4.5], ("3", "4.5")),
        (np.array([1, 2]), ("1", "2")),
        (np.array([1.0, 2.0]), ("1", "2")),
        ([np.int64(7), np.float32(2.0)], ("7", "2")),
        (pd.Series(["x", "y"]), ("x", "y")),
        (iter(["a", "b"]), ("a", "b")),
        (["Positive", "positive"], ("Positive", "positive")),
        (["a|b"], ("a|b",)),
        (["x" * MAX_LABEL_LENGTH], ("x" * MAX_LABEL_LENGTH,)),
        (["é", "中文", "😀"], ("é", "中文", "😀")),
    ],
)
def test_validate_label_set_accepts_and_normalises(labels, expected):
    result = validate_label_set(labels)
    assert result == expected
    assert isinstance(result, tuple)
    assert all(type(label) is str for label in result)


@pytest.mark.parametrize(
    "labels, words",
    [
        ([], ["empty"]),
        ((), ["empty"]),
        (iter([]), ["empty"]),
        (["a", "b", "a"], ["duplicate", "a"]),
        (["3", 3], ["duplicate", "3"]),
        ([3, 3.0], ["duplicate", "3"]),
        (["a", ""], ["empty"]),
        (["a", "   "], ["empty"]),
        (["x" * (MAX_LABEL_LENGTH + 1)], [str(MAX_LABEL_LENGTH)]),
        ("abc", ["one string"]),
        ([None], []),
        ([["a"]], []),
        ([object()], []),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, list) and v and type(v[0]) is object else (
        "iterator" if not isinstance(v, (list, tuple, str)) else repr(v)),
)
def test_validate_label_set_refuses(labels, words):
    with pytest.raises(InvalidInput) as raised:
        validate_label_set(labels)
    message = str(raised.value).lower()
    for word in words:
        assert word in message, message


def test_a_multi_label_set_refuses_the_csv_separator_a_single_label_set_takes_it():
    assert validate_label_set(["a", "a|b"]) == ("a", "a|b")
    with pytest.raises(InvalidInput, match=r"'a\|b' has a \| in it"):
        validate_label_set(["a", "a|b"], multi_label=True)


# normalise: single label -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("cat", "cat"),
        (3, "3"),
        (3.0, "3"),
        ("3", "3"),
        (np.int64(3), "3"),
        (np.float64(3.0), "3"),
        (np.float32(3.0), "3"),
        (1.5, "1.5"),
        (True, "True"),
        (np.str_("dog"), "dog"),
    ],
    ids=_id,
)
def test_normalise_single_label(value, expected):
    result = normalise(SINGLE, value)
    assert result == expected
    assert isinstance(result, str)


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_labels_normalise_to_none(value):
    assert normalise(SINGLE, value) is None
    assert normalise(MULTI, value) is None


@pytest.mark.parametrize(
    "value, word",
    [
        ("zebra", "zebra"),
        ("Cat", "Cat"),
        (4, "4"),
        (3.5, "3.5"),
        ("", ""),
        (["cat"], "one label"),
        (("cat",), "one label"),
        ({"cat"}, "one label"),
        ("cat|dog", "cat|dog"),
    ],
    ids=_id,
)
def test_normalise_single_label_refuses(value, word):
    with pytest.raises(InvalidInput) as raised:
        normalise(SINGLE, value)
    assert word in str(raised.value)


def test_unknown_label_message_names_the_label_set():
    with pytest.raises(InvalidInput) as raised:
        normalise(SINGLE, "zebra")
    message = str(raised.value)
    assert "zebra" in message and "cat" in message and "dog" in message


@pytest.mark.parametrize("value", [object(), b"cat", {"cat": 1}], ids=["object", "bytes", "dict"])
def test_normalise_refuses_non_text(value):
    with pytest.raises(InvalidInput):
        normalise(SINGLE, value)


def test_whole_numbers_of_other_numeric_types_count_as_their_text():
    assert normalise(SINGLE, Fraction(6, 2)) == "3"
    assert normalise(project(["0"]), -0.0) == "0"


# normalise: multi-label --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("cat|dog", ("cat", "dog")),
        ("dog|cat", ("cat", "dog")),
        (" bird | cat ", ("cat", "bird")),
        ("cat", ("cat",)),
        (["bird", "cat"], ("cat", "bird")),
        (("dog",), ("dog",)),
        ({"bird", "dog", "cat"}, ("cat", "dog", "bird")),
        (frozenset({"3"}), ("3",)),
        (["cat", "cat"], ("cat",)),
        ([3, "cat"], ("cat", "3")),
        ([3.0], ("3",)),
        ("3|cat", ("cat", "3")),
    ],
    ids=_id,
)
def test_normalise_multi_label_orders_as_the_label_set(value, expected):
    result = normalise(MULTI, value)
    assert result == expected
    assert type(result) is tuple


@pytest.mark.parametrize(
    "value, words",
    [
        ("cat|zebra", ["zebra"]),
        (["cat", "zebra", "yak"], ["zebra", "yak"]),
        ("Cat", ["Cat"]),
        (["cat", 4], ["4"]),
        (3, []),
        ({"cat": 1}, []),
    ],
    ids=_id,
)
def test_normalise_multi_label_refuses_unknown_labels(value, words):
    with pytest.raises(InvalidInput) as raised:
        normalise(MULTI, value)
    for word in words:
        assert word in str(raised.value)


# JSON form ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["cat", "", "é|x", ("cat", "dog"), ("3",), ()])
def test_label_json_round_trip(label):
    text = to_json(label)
    assert isinstance(text, str)
    assert from_json(text) == label
    assert type(from_json(text)) is type(label)
