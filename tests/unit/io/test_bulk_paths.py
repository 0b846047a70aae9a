"""The bulk paths of an import give exactly what the per-value paths give: JSON text column by column,
field counts in numpy, labels checked once per distinct value."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from labelling import InvalidInput
from labelling.io import ingest
from labelling.io.serialisation import decode, encode, encode_records
from labelling.records import Project

FRAMES = {
    "csv-like": pd.DataFrame({"id": [1, 2, 3], "text": ['a "quoted" \\ word', "é\n\ttab", None]}),
    "floats": pd.DataFrame({"x": [1.5, np.nan, np.inf], "y": [-np.inf, 1e300, 0.1], "z": np.float32([0.1, 2, 3])}),
    "flags": pd.DataFrame({"ok": [True, False, True], "n": np.uint8([1, 2, 255])}),
    "empty text cells": pd.DataFrame({"t": ["x", float("nan"), "\U0001f600\u2028"]}),
    "pandas NA": pd.DataFrame({"t": ["x", pd.NA, "z"]}),
    "mixed objects": pd.DataFrame({"t": ["x", 3, [1, 2]]}),
    "awkward column name": pd.DataFrame({'a "key"\\': ["v", "w", "x"]}),
    "all missing": pd.DataFrame({"t": [None, None, None]}),
}


@pytest.mark.parametrize("name", FRAMES)
def test_records_are_encoded_as_encode_writes_each_row(name):
    frame = FRAMES[name]
    columns = [str(c) for c in frame.columns]

    encoded = encode_records(frame)

    assert encoded == [encode(dict(zip(columns, row))) for row in frame.itertuples(index=False)]
    assert [decode(text) for text in encoded][0] == decode(encode(dict(zip(columns, frame.iloc[0].tolist()))))


@pytest.mark.parametrize(
    ("raw", "fits"),
    [
        (b"a,b\n1,2\n\n3,4\r\n5,6", True),
        (b"a,b\r\n1,2\r\n\r\n", True),
        (b"a,b\n1,2\n3\n", False),  # a short line: the csv module names it
        (b"a,b\n1,2,3\n", False),
        (b'a,b\n"x,y",1\n', False),  # quotes: a record may span lines
        (b"a,b\n1,2\r3,4\n", False),  # a lone carriage return ends a record
        (b"a,b\n1,\x00\n", False),
    ],
)
def test_field_counts_in_numpy_agree_with_the_csv_module(raw, fits):
    assert ingest._records_fit(io.BytesIO(raw), 0, "utf-8", ",", 2) is fits


def test_the_numpy_count_reads_the_file_in_blocks(monkeypatch):
    monkeypatch.setattr(ingest, "CHECK_BLOCK_BYTES", 7)  # lines cut across blocks
    good = b"id,text\n" + b"".join(b"%d,row %d\n" % (i, i) for i in range(50))

    assert ingest._records_fit(io.BytesIO(good), 0, "utf-8", ",", 2)
    assert not ingest._records_fit(io.BytesIO(good + b"51\n"), 0, "utf-8", ",", 2)


def test_bytes_that_are_not_utf8_are_refused_as_utf8():
    with pytest.raises(UnicodeDecodeError):
        ingest._records_fit(io.BytesIO(b"a,b\n1,\xe9\n"), 0, "utf-8", ",", 2)


def test_a_ragged_line_far_down_is_named_after_the_numpy_count():
    raw = b"id,text\n" + b"".join(b"%d,row\n" % i for i in range(5000)) + b"5000\n"

    with pytest.raises(InvalidInput, match="line 5002 has 1 fields but the header has 2"):
        list(ingest.read_csv(io.BytesIO(raw)))


PROJECT = Project(id=1, name="p", labels=("a", "b", "3", "True", "1"), multi_label=False, overlap=1, instructions="",
                  settings={}, created_at=0.0)


def test_labels_are_normalised_once_per_distinct_value_with_the_same_results():
    values = ["a", None, float("nan"), 3, 3.0, "b", "a", True, 1, np.int64(3)]

    assert ingest._labels(PROJECT, values, 0) == ["a", None, None, "3", "3", "b", "a", "True", "1", "3"]


def test_a_refused_label_names_its_first_row_counted_over_the_whole_input():
    with pytest.raises(InvalidInput, match=r"label of row 13: 'z' is not in the label set"):
        ingest._labels(PROJECT, ["a", None, "z", "q", "z"], 10)


def test_new_item_ids_split_into_the_runs_no_other_import_has_ids_in():
    from labelling.storage.items import _runs

    assert _runs([5, 6, 7, 8]) == [(5, 8)]
    assert _runs([5, 6, 9, 10, 12]) == [(5, 6), (9, 10), (12, 12)]
    assert _runs([]) == []
