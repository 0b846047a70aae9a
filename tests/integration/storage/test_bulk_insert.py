"""`labelling.storage.engine.bulk_insert` on PostgreSQL: COPY's text format, built a column at a time, reads back exactly."""

from __future__ import annotations

import math

import pytest

from labelling.storage.engine import bulk_insert, make_engine, write

COLUMNS = ["n", "x", "flag", "note", "maybe"]
SPECIAL_TEXTS = ["tab\there", "new\nline", "back\\slash", "carriage\rreturn", "\\N", "", "é ☃ \"quoted\""]
FLOATS = [0.1, -0.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.nan]


def round_trip(url: str, rows: list[tuple]) -> list[tuple]:
    engine = make_engine(url)
    try:
        with write(engine) as connection:
            connection.exec_driver_sql(
                "CREATE TEMP TABLE copied (n BIGINT, x DOUBLE PRECISION, flag BOOLEAN, note TEXT, maybe BIGINT)"
            )
            bulk_insert(connection, "copied", COLUMNS, rows)
            return [tuple(r) for r in connection.exec_driver_sql("SELECT * FROM copied ORDER BY n")]
    finally:
        engine.dispose()


def same(got: tuple, want: tuple) -> bool:
    """Equal, with NaN equal to NaN and -0.0 told apart from 0.0."""
    return all(
        (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
        if isinstance(b, float)
        else a == b and type(a) is type(b)
        for a, b in zip(got, want, strict=True)
    )


@pytest.mark.parametrize(
    "texts",
    [["plain", "words only", "{\"$nd\":\"k05VTVBZ\"}"] * 3, SPECIAL_TEXTS],
    ids=["nothing-to-escape", "escapes"],
)
def test_every_value_reads_back_exactly(postgresql_url, texts):
    rows = [
        (i - 2**62, FLOATS[i % len(FLOATS)], i % 2 == 0, text, None if i % 3 else i)
        for i, text in enumerate(texts)
    ]
    got = round_trip(postgresql_url, rows)
    assert len(got) == len(rows)
    for row, want in zip(got, rows):
        assert same(row, want), (row, want)


@pytest.mark.parametrize("x", [-0.0, math.nan, 1.5], ids=repr)
def test_a_column_of_one_repeated_value_reads_back_exactly(postgresql_url, x):
    """Formatted once for the whole column; -0.0 beside 0.0 (equal, but not the same value) each its own."""
    rows = [(i, x, True, "t", 7) for i in range(3)] + [(3, 0.0, False, "t", 7)]
    for row, want in zip(round_trip(postgresql_url, rows), rows, strict=True):
        assert same(row, want), (row, want)


def test_nothing_to_insert_is_no_error(postgresql_url):
    assert round_trip(postgresql_url, []) == []


def test_numeric_arrays_read_back_exactly(postgresql_url):
    """`insert_arrays` (COPY's binary format on PostgreSQL): big-endian int64 and float64, NaN and -0.0 kept."""
    import numpy as np

    from labelling.storage.engine import insert_arrays

    ids = np.array([-(2**63), -1, 0, 1, 2**63 - 1, 7, 8], dtype=np.int64)
    engine = make_engine(postgresql_url)
    try:
        with write(engine) as connection:
            connection.exec_driver_sql("CREATE TEMP TABLE copied (n BIGINT, x DOUBLE PRECISION)")
            insert_arrays(connection, "copied", ["n", "x"], [ids, np.array(FLOATS)])
            got = [tuple(r) for r in connection.exec_driver_sql("SELECT n, x FROM copied")]
    finally:
        engine.dispose()
    for row, want in zip(got, zip(ids.tolist(), FLOATS), strict=True):
        assert same(row, want), (row, want)
