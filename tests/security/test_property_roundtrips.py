"""Property-based round trips (Hypothesis), from issue 15, finding 10: item values through
labelling.io.serialisation, and through the store (add_items, then export) on SQLite, come back exactly;
text that is not valid Unicode is refused, whatever else it holds.

The strategies follow the peer's (superintendent's): arrays of every dtype incl. datetime64, complex and
big-endian; Series; DataFrames; nested values with NaN, None and tuples; text with tabs, newlines and
backslashes. Examples are derandomised (the same every run) and few, so the suite stays fast.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

from labelling import InvalidInput, Store
from labelling.io.serialisation import decode, encode, encode_records

EXAMPLES = 50
STORE_EXAMPLES = 20
"""Examples per property: each store example is a project and a transaction on a SQLite file."""
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)

TEXT = st.text(st.one_of(st.characters(), st.sampled_from("\t\n\r\\\"'$,;|=")), max_size=20)
"""Valid Unicode (Hypothesis leaves out surrogates) with the characters that break naive escaping."""
SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), TEXT
)
NESTED = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(TEXT, inner, max_size=4),
    ),
    max_leaves=12,
)
DTYPES = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?"),
    hnp.complex_number_dtypes(endianness="?"),
    hnp.datetime64_dtypes(endianness="?"),
    hnp.timedelta64_dtypes(endianness="?"),
    hnp.byte_string_dtypes(endianness="?", max_len=8),
    hnp.unicode_string_dtypes(endianness="?", max_len=8),
)
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
SERIES_DTYPES = st.sampled_from(["int64", "float64", "bool", "datetime64[ns]", "complex128", ">f4"])
SERIES = st.one_of(
    SERIES_DTYPES.flatmap(lambda dtype: hpd.series(dtype=dtype, index=hpd.range_indexes(max_size=6))),
    hpd.series(elements=SCALARS, dtype=object, index=hpd.range_indexes(max_size=6)),
)
FRAMES = hpd.data_frames(
    [
        hpd.column("count", dtype="int64"),
        hpd.column("score", dtype="float64"),
        hpd.column("when", dtype="datetime64[ns]"),
        hpd.column("note", elements=TEXT, dtype=object),
    ],
    index=hpd.range_indexes(max_size=6),
)


def same(got: Any, expected: Any) -> bool:
    """Equal in type and value, NaN equal to NaN and NaT to NaT; arrays byte for byte with the same dtype and shape."""
    if isinstance(expected, np.ndarray):
        return (
            isinstance(got, np.ndarray)
            and got.dtype == expected.dtype
            and got.shape == expected.shape
            and np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(expected).tobytes()
        )
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected, check_exact=True)
        return True
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        return True
    if type(got) is not type(expected):
        return False
    if expected is pd.NaT:
        return got is pd.NaT
    if isinstance(expected, float) and math.isnan(expected):
        return math.isnan(got)
    if isinstance(expected, (list, tuple)):
        return len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))
    if isinstance(expected, dict):
        return list(got) == list(expected) and all(same(got[k], v) for k, v in expected.items())
    return got == expected


@pytest.mark.parametrize("values", [NESTED, ARRAYS, SERIES], ids=["nested", "arrays of every dtype", "series"])
def test_values_round_trip(values):
    @SETTINGS
    @given(values)
    def round_trip(value):
        assert same(decode(encode(value)), value)

    round_trip()


@SETTINGS
@given(FRAMES)
def test_frames_round_trip_whole_and_row_by_row(frame):
    assert same(decode(encode(frame)), frame)
    rows = [decode(text) for text in encode_records(frame)]
    assert len(rows) == len(frame)
    for row, (_, expected) in zip(rows, frame.iterrows()):
        assert list(row) == list(frame.columns)
        assert same(row["note"], expected["note"]) and row["count"] == expected["count"]


@SETTINGS
@given(st.text(st.one_of(st.characters(), SURROGATES), max_size=12), NESTED)
def test_text_is_refused_exactly_when_it_is_not_valid_unicode(text, around):
    """Surrogates come alone, paired or mixed in: a Python str holding even a pair is not valid Unicode."""
    try:
        text.encode("utf-8")
        valid = True
    except UnicodeEncodeError:
        valid = False
    value = [around, {"key": text}]
    if valid:
        assert same(decode(encode(value)), value)
    else:
        with pytest.raises(InvalidInput, match="not valid Unicode"):
            encode(value)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    """One SQLite store for the module: Hypothesis runs many examples per test, each in a project of its own."""
    store = Store.connect(f"sqlite:///{tmp_path_factory.mktemp('roundtrip') / 'labelling.db'}")
    yield store
    store.close()


_projects = itertools.count()


@settings(SETTINGS, max_examples=STORE_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(NESTED.map(lambda v: [v]), ARRAYS, SERIES), min_size=1, max_size=5))
def test_store_items_round_trip_through_export(sqlite_store, values):
    """Values are wrapped in a list or are arrays/Series, so the export's DataFrame keeps them as objects
    (a bare None beside a float would become NaN in a float column: pandas, not the store)."""
    project = sqlite_store.create_project(f"roundtrip-{next(_projects)}", ["a", "b"])
    assert sqlite_store.add_items(project.id, values) == len(values)
    exported = sqlite_store.export(project.id)["data"].tolist()
    assert len(exported) == len(values)
    for got, expected in zip(exported, values):
        assert same(got, expected)


@settings(SETTINGS, max_examples=STORE_EXAMPLES, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FRAMES)
def test_store_frames_round_trip_through_export(sqlite_store, frame):
    """A DataFrame's rows (what a CSV import gives) come back as the export's first columns."""
    if frame.empty:
        return
    project = sqlite_store.create_project(f"roundtrip-{next(_projects)}", ["a", "b"])
    sqlite_store.add_items(project.id, frame)
    exported = sqlite_store.export(project.id)[list(frame.columns)]
    for column in frame.columns:
        assert all(same(g, e) for g, e in zip(exported[column].tolist(), frame[column].tolist())), column
