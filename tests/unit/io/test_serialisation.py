"""labelling.io.serialisation: item values to text and back, exactly."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from labelling.errors import InvalidInput, UnsupportedData
from labelling.io.serialisation import decode, encode, encode_records, encode_rows, is_missing


def roundtrip(value):
    text = encode(value)
    assert isinstance(text, str)
    json.loads(text)  # always valid (extended) JSON text
    return decode(text)


def assert_same_array(got, expected):
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # NaN == NaN here


# numpy --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "array",
    [
        np.array([1.5, np.nan, -np.inf, np.inf, 0.0, -0.0], dtype=np.float64),
        np.array([1.5, np.nan, 3.25], dtype=np.float32),
        np.array([np.nan, 1], dtype=np.float16),
        np.array([1, -2, 3], dtype=np.int64),
        np.array([1, 2, 255], dtype=np.uint8),
        np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min], dtype=np.int64),
        np.array([True, False, True]),
        np.arange(12, dtype=np.float64).reshape(3, 4),
        np.arange(24, dtype=np.int32).reshape(2, 3, 4),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(10.0)[::3],
        np.array(["a", "bé", "中文"]),
        np.array([b"ab", b"\x00c"]),
        np.array([1 + 2j, np.nan], dtype=np.complex128),
        np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"),
        np.array([], dtype=np.float64),
        np.zeros((0, 3), dtype=np.int16),
        np.array(3.5),
        np.array([1.0, 2.0], dtype=">f8"),
    ],
    ids=lambda a: f"{a.dtype}-{a.shape}",
)
def test_numpy_arrays_round_trip_exactly(array):
    assert_same_array(roundtrip(array), array)


def test_object_arrays_round_trip():
    array = np.array([1, "a", None, 2.5], dtype=object)
    got = roundtrip(array)
    assert isinstance(got, np.ndarray) and got.dtype == object
    assert got.tolist() == [1, "a", None, 2.5]
    nested = np.empty((2, 2), dtype=object)
    nested[:] = [[1, "x"], [(1, 2), {"k": 3}]]
    got = roundtrip(nested)
    assert got.shape == (2, 2)
    assert got.tolist() == nested.tolist()


@pytest.mark.parametrize(
    "scalar",
    [
        np.int64(3),
        np.int32(-7),
        np.uint64(2**64 - 1),
        np.int8(0),
        np.float32(1.5),
        np.float64(2.25),
        np.float64("nan"),
        np.float32("inf"),
        np.bool_(True),
        np.bool_(False),
        np.complex64(1 - 1j),
        np.datetime64("2024-05-06T07:08:09", "s"),
        np.timedelta64(5, "ms"),
    ],
    ids=repr,
)
def test_numpy_scalars_keep_their_type_and_value(scalar):
    got = roundtrip(scalar)
    assert got is not None
    assert type(got) is type(scalar)
    if isinstance(scalar, np.floating) and np.isnan(scalar):
        assert np.isnan(got)
    else:
        assert got == scalar


def test_np_int64_is_never_none():
    assert encode(np.int64(3)) != "null"
    got = roundtrip(np.int64(3))
    assert type(got) is np.int64 and got == 3
    nested = roundtrip({"n": np.int64(3), "xs": [np.int64(4), np.float32(0.5)]})
    assert type(nested["n"]) is np.int64 and nested["n"] == 3
    assert type(nested["xs"][0]) is np.int64
    assert type(nested["xs"][1]) is np.float32


# pandas and datetimes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        pd.Timestamp("2024-03-10 12:34:56.789123456"),
        pd.Timestamp("2024-03-10 12:34:56", tz="UTC"),
        pd.Timestamp("2024-03-10 12:34:56", tz="Asia/Kolkata"),
        pd.Timestamp("2024-03-10 12:34:56.5", tz="America/New_York").as_unit("ms"),
        pd.Timestamp("1900-01-01", tz="UTC").as_unit("s"),
    ],
    ids=str,
)
def test_timestamps_round_trip_as_the_same_instant_and_unit(stamp):
    got = roundtrip(stamp)
    assert isinstance(got, pd.Timestamp)
    assert got == stamp
    assert got.unit == stamp.unit
    assert (got.tzinfo is None) == (stamp.tzinfo is None)
    assert got.utcoffset() == stamp.utcoffset()


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "UTC"])
def test_tz_aware_timestamps_keep_their_time_zone(zone):
    stamp = pd.Timestamp("2024-07-01 12:00", tz=zone)
    got = roundtrip(stamp)
    assert got == stamp
    # The zone, not just today's offset: a round trip must not turn Europe/Paris into a fixed UTC+02:00,
    # after which adding six months gives the wrong wall-clock time.
    assert str(got.tz) == str(stamp.tz)
    assert got + pd.DateOffset(months=6) == stamp + pd.DateOffset(months=6)
    assert (got + pd.DateOffset(months=6)).hour == (stamp + pd.DateOffset(months=6)).hour


def test_missing_values_round_trip():
    assert roundtrip(pd.NaT) is pd.NaT
    assert roundtrip(pd.NA) is pd.NA
    assert roundtrip(None) is None
    assert math.isnan(roundtrip(float("nan")))
    got = roundtrip({"a": pd.NaT, "b": pd.NA, "c": [None, float("nan")]})
    assert got["a"] is pd.NaT and got["b"] is pd.NA
    assert got["c"][0] is None and math.isnan(got["c"][1])


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e308, 5e-324, -0.0, 0.1 + 0.2])
def test_special_floats_round_trip(value):
    got = roundtrip(value)
    assert type(got) is float
    assert got == value and math.copysign(1, got) == math.copysign(1, value)


def test_nan_float_round_trips():
    got = roundtrip(float("nan"))
    assert type(got) is float and math.isnan(got)


def test_big_ints_and_bools_keep_their_type():
    for value in [True, False, 0, -1, 2**63, 10**30]:
        got = roundtrip(value)
        assert type(got) is type(value) and got == value


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 1, 2, 3, 4, 5, 678901),
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
        dt.date(1999, 12, 31),
    ],
    ids=str,
)
def test_datetimes_and_dates_round_trip(value):
    got = roundtrip(value)
    assert type(got) is type(value)
    assert got == value
    if isinstance(value, dt.datetime):
        assert got.utcoffset() == value.utcoffset()


def test_tuples_round_trip_as_tuples():
    value = (1, "a", (2.5, None), [3, (4,)], ())
    got = roundtrip(value)
    assert got == value
    assert type(got) is tuple and type(got[2]) is tuple and type(got[3]) is list and type(got[3][1]) is tuple
    assert type(got[4]) is tuple


@pytest.mark.parametrize(
    "value",
    [
        {1: "one", 2: "two"},
        {1.5: "x", None: "none", True: "yes"},
        {(1, 2): "tuple key", "s": "str key"},
        {"$nd": "not an array", "x": 1},
        {"$dict": [[1, 2]]},
        {"$tuple": [1, 2]},
        {"$ts": None},
        {"$bytes": "AAAA"},
        {"$": 1},
        {"a": {"$np": "nested"}},
        {"shape": [1], "$ndo": []},
        {},
        {"a": 1, "b": {"c": [1, {"d": None}]}},
    ],
    ids=repr,
)
def test_dicts_with_unusual_keys_round_trip(value):
    got = roundtrip(value)
    assert got == value
    assert type(got) is dict
    assert list(got) == list(value)  # key order too
    for key in value:
        assert type(next(k for k in got if k == key)) is type(key)


def test_bytes_round_trip():
    for value in [b"", b"\x00\xff\x10binary", bytes(range(256))]:
        got = roundtrip(value)
        assert type(got) is bytes and got == value


def test_strings_round_trip():
    for value in ["", "plain", "émoji 😀", "quote \" and \\ backslash", "line\nbreak\ttab", "NaN", "$nd", "null"]:
        assert roundtrip(value) == value


# pandas Series and DataFrames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.5, np.nan, 3.0], name="floats"),
        pd.Series([1, 2, 3], index=["a", "b", "c"], name="ints"),
        pd.Series([1, None, 3], dtype="Int64", name="nullable"),
        pd.Series(["x", None, "z"], dtype="string", name="text"),
        pd.Series(["x", "y"], dtype=object),
        pd.Series(["low", "high", "low"], dtype="category"),
        pd.Series([True, False], dtype="boolean"),
        pd.Series(pd.to_datetime(["2024-01-01", None])),
        pd.Series(pd.date_range("2024-01-01", periods=3, tz="UTC")),
        pd.Series([0.5, 1.5], index=pd.Index([10, 20], name="row_id"), name="scores"),
        pd.Series([1, 2], index=pd.Index(["p", "q"], name="key")),
        pd.Series([], dtype=np.float64),
    ],
    ids=lambda s: f"{s.dtype}-{s.name}-{s.index.name}",
)
def test_series_round_trip(series):
    got = roundtrip(series)
    assert isinstance(got, pd.Series)
    pd.testing.assert_series_equal(got, series)
    assert got.name == series.name
    assert got.index.name == series.index.name


def test_categorical_series_keep_categories_and_order():
    series = pd.Series(pd.Categorical(["low", "high"], categories=["low", "mid", "high"], ordered=True))
    got = roundtrip(series)
    pd.testing.assert_series_equal(got, series)
    assert list(got.cat.categories) == ["low", "mid", "high"]
    assert got.cat.ordered


def test_dataframes_round_trip():
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan],
            "i": [1, 2],
            "s": ["a", None],
            "b": [True, False],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "n": pd.array([1, None], dtype="Int64"),
        },
        index=pd.Index(["r1", "r2"], name="rows"),
    )
    got = roundtrip(frame)
    assert isinstance(got, pd.DataFrame)
    pd.testing.assert_frame_equal(got, frame)


def test_dataframe_with_range_index_and_int_column_names():
    frame = pd.DataFrame(np.arange(6).reshape(2, 3))
    pd.testing.assert_frame_equal(roundtrip(frame), frame)


def test_pandas_objects_nested_in_dicts():
    value = {"series": pd.Series([1, 2]), "when": pd.Timestamp("2024-01-01", tz="UTC"), "arr": np.ones(2)}
    got = roundtrip(value)
    pd.testing.assert_series_equal(got["series"], value["series"])
    assert got["when"] == value["when"]
    assert_same_array(got["arr"], value["arr"])


# Unsupported -------------------------------------------------------------------------------------------


class Widget:
    pass


@pytest.mark.parametrize(
    "value, name",
    [
        (object(), "object"),
        (Widget(), "Widget"),
        ({1, 2}, "set"),
        (frozenset([1]), "frozenset"),
        (1 + 2j, "complex"),
        ([1, [2, object()]], "object"),
        ({"k": Widget()}, "Widget"),
        ((1, Widget()), "Widget"),
        (lambda: None, "function"),
    ],
    ids=["object", "custom", "set", "frozenset", "complex", "nested-object", "in-dict", "in-tuple", "function"],
)
def test_unsupported_types_raise_unsupported_data_naming_the_type(value, name):
    with pytest.raises(UnsupportedData) as raised:
        encode(value)
    assert name in str(raised.value)
    assert isinstance(raised.value, InvalidInput)
    assert isinstance(raised.value, TypeError)


def test_unsupported_types_in_a_dataframe_object_column_raise():
    frame = pd.DataFrame({"x": [1, 2], "o": [object(), "fine"]})
    with pytest.raises(UnsupportedData) as raised:
        encode_records(frame)
    assert "object" in str(raised.value)


def test_object_arrays_with_unsupported_values_raise():
    with pytest.raises(UnsupportedData):
        encode(np.array([object()], dtype=object))


# Bulk encoders agree with encode ----------------------------------------------------------------------


def _frames():
    rng = np.random.default_rng(1234)
    n = 25
    yield pd.DataFrame(
        {
            "text": [f"row {i}" if i % 5 else None for i in range(n)],
            "int": rng.integers(-1000, 1000, size=n),
            "float": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "bool": rng.random(n) < 0.5,
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
            "nullable": pd.array([None if i % 4 == 0 else i for i in range(n)], dtype="Int64"),
            "cat": pd.Categorical(["a", "b", "c", "a", "b"] * 5),
            "obj": [(i, "t") if i % 2 else {1: "k"} for i in range(n)],
        }
    )
    yield pd.DataFrame({"$weird": [1, 2], "plain": ["x", "y"]})
    yield pd.DataFrame({"inf": [np.inf, -np.inf], "arr": [np.zeros(2), np.ones(3, dtype=np.int8)]})
    yield pd.DataFrame({1: [1.0, 2.0], "s": ["a", "b"]}, index=[7, 3])
    # Only nullable columns beside text: once written as the text <NA>, which no JSON reader reads back.
    yield pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "flag": pd.array([None, True], dtype="boolean"),
            "x": pd.array([0.5, None], dtype="Float64"),
            "s": ["a", "b"],
        }
    )


@pytest.mark.parametrize(
    "frame", list(_frames()), ids=["mixed", "dollar-column", "inf-arrays", "int-column", "nullable-columns"]
)
def test_encode_records_equals_encode_row_by_row(frame):
    fast = encode_records(frame)
    assert len(fast) == len(frame)
    for position, text in enumerate(fast):
        row = {}
        for column in frame.columns:
            value = frame[column].iloc[position]
            if isinstance(value, np.generic) and frame[column].dtype != object:
                value = value.item()  # documented: typed columns become exact Python ints and floats
            row[str(column)] = value
        expected = encode(row)
        assert text == expected
        got, want = decode(text), decode(expected)
        assert list(got) == list(want)


def test_encode_records_refuses_duplicate_columns():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(UnsupportedData) as raised:
        encode_records(frame)
    assert "a" in str(raised.value)


@pytest.mark.parametrize(
    "array",
    [
        np.random.default_rng(0).normal(size=(5, 3)),
        np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32),
        np.arange(24, dtype=np.int64).reshape(4, 3, 2),
        np.asfortranarray(np.arange(12.0).reshape(4, 3)),
        np.arange(20.0).reshape(5, 4)[:, ::2],
        np.array([[1.0, np.nan], [np.inf, -0.0]]),
        np.array([["a", "bc"], ["d", "e"]]),
        np.array([[True, False]]),
        np.array([[1, "x"], [None, 2.5]], dtype=object),
        np.arange(6.0).reshape(3, 2).astype(">f8"),
    ],
    ids=["float64", "float32", "int64-3d", "fortran", "strided", "nan-inf", "str", "bool", "object", "big-endian"],
)
def test_encode_rows_equals_encode_row_by_row(array):
    fast = list(encode_rows(array))
    assert len(fast) == array.shape[0]
    for row, text in zip(array, fast):
        assert text == encode(row)
        got = decode(text)
        assert isinstance(got, np.ndarray)
        assert got.shape == row.shape
        if array.dtype != object:
            assert got.dtype == row.dtype
        np.testing.assert_array_equal(got, row)


def test_encode_rows_of_an_empty_array():
    assert list(encode_rows(np.zeros((0, 3)))) == []


# Compactness -------------------------------------------------------------------------------------------


def test_arrays_are_stored_compactly():
    array = np.random.default_rng(42).normal(size=1000)
    assert array.dtype == np.float64
    text = encode(array)
    assert len(text.encode("utf-8")) < 1.5 * 8000
    assert text.count(",") < 10  # not a JSON list of decimals
    assert_same_array(decode(text), array)
    rows = list(encode_rows(array.reshape(10, 100)))
    assert all(len(r) < 1.5 * 800 + 200 for r in rows)


# is_missing --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NaT, pd.NA, np.float64("nan")])
def test_is_missing_true(value):
    assert is_missing(value)


@pytest.mark.parametrize("value", ["", 0, 0.0, "nan", False, "None"])
def test_is_missing_false(value):
    assert not is_missing(value)
