"""The Parquet export (labelling.io.export.to_parquet): one typed column per frame column, as pandas and Arrow
read it back, the same bytes for the same frame."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from labelling.io.export import to_parquet
from labelling.records import Box, Boxes, Span, Spans


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": ["a", "b", None],
            "n": [1, 2, 3],
            "mixed": [1, "x", None],
            "label": [("a", "b"), (), None],
            "digit": [np.arange(4.0).reshape(2, 2), np.ones((2, 2)), None],
            "created_at": pd.to_datetime([0, 1, 2], unit="s", utc=True),
            "label:alice": ["a", None, "b"],
        }
    )


def test_columns_keep_their_types():
    schema = pq.read_schema(io.BytesIO(to_parquet(frame())))
    assert schema.names == list(frame().columns)  # no index column
    assert schema.field("text").type == pa.string() and schema.field("n").type == pa.int64()
    assert schema.field("label").type == pa.list_(pa.string())  # multi-labels as lists
    assert schema.field("digit").type == pa.list_(pa.list_(pa.float64()))
    assert schema.field("mixed").type == pa.string()  # numbers and text mixed: written as text
    assert pa.types.is_timestamp(schema.field("created_at").type)


def test_pandas_reads_it_back():
    loaded = pd.read_parquet(io.BytesIO(to_parquet(frame())))
    assert loaded["mixed"].tolist()[:2] == ["1", "x"] and pd.isna(loaded["mixed"][2])
    assert [list(v) if v is not None else None for v in loaded["label"]] == [["a", "b"], [], None]
    assert np.array(loaded["digit"][0].tolist()).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert loaded["created_at"].dt.tz is not None


def test_same_frame_same_bytes():
    assert to_parquet(frame()) == to_parquet(frame())


def test_boxes_and_spans_are_json_not_reprs():
    boxes = Boxes(640, 480, (Box(1.0, 2.0, 30.0, 40.0, "cat"),))
    spans = Spans((Span(0, 5, "name"),))
    written = pd.DataFrame({"label": [boxes, None], "label:alice": [spans, None]})
    read = pd.read_parquet(io.BytesIO(to_parquet(written)))
    box = {"x": 1.0, "y": 2.0, "w": 30.0, "h": 40.0, "label": "cat"}
    assert json.loads(read["label"][0]) == {"width": 640, "height": 480, "boxes": [box]}
    assert json.loads(read["label:alice"][0]) == {"spans": [{"start": 0, "end": 5, "label": "name"}]}
    assert pd.isna(read["label"][1])
