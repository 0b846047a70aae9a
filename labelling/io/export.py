"""Labels out: one row per item (wide) or per annotation (long), and their CSV and JSONL files.

The frames are built here from rows read by labelling.storage.exports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from labelling.io import labels as label_values
from labelling.io.serialisation import decode, is_missing
from labelling.quality import consensus
from labelling.records import Boxes, Label, Spans

__all__ = ["annotations_frame", "file_slug", "items_frame", "to_csv", "to_jsonl", "to_parquet"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Spreadsheets run a cell starting with these as a formula (CSV injection); such cells, header cells too,
get a leading '."""


def items_frame(
    items: Iterable[tuple[int, str]], votes: dict[int, dict[str, Label]], finals: dict[int, consensus.Final]
) -> pd.DataFrame:
    """One row per item, from (item id, encoded data) rows in id order, the current votes and final labels.

    Columns: the original ones (or `data` for non-dict items), `item_id`, `label` (the final label: a
    reviewer's, a gold item's known label, else the majority; empty on a tie), `tie`, `label_source`
    (review, gold, majority or tie), `reviewed_by` (who adjudicated it), `n_labels` (its current labels, as
    `finals` counts them), and `label:<labeller>` for each labeller's current label (none when `votes` is
    empty: a saved version keeps final labels only)."""
    rows: list[dict[str, Any]] = []
    ids: list[int] = []
    for item_id, data in items:
        value = decode(data)
        rows.append(value if isinstance(value, dict) else {"data": value})
        ids.append(item_id)
    frame = pd.DataFrame(rows)
    ours: dict[str, list[Any]] = {
        "item_id": ids, "label": [], "tie": [], "label_source": [], "reviewed_by": [], "n_labels": []
    }
    names = sorted({name for by_labeller in votes.values() for name in by_labeller})
    for name in names:
        ours[f"label:{name}"] = []
    for item_id in ids:
        by_labeller = votes.get(item_id, {})
        final = finals.get(item_id, consensus.NO_LABEL)
        ours["label"].append(final.label)
        ours["tie"].append(final.tie)
        ours["label_source"].append(final.source)
        ours["reviewed_by"].append(final.reviewer)
        ours["n_labels"].append(final.votes)
        for name in names:
            ours[f"label:{name}"].append(by_labeller.get(name))
    for column, values in ours.items():
        frame[_free_name(frame, column)] = values
    return frame


def annotations_frame(rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> pd.DataFrame:
    """Every annotation ever made (superseded ones with current=False), the audit trail, from its rows:
    `columns` name them and include label (as stored), created_at (epoch seconds) and current."""
    frame = pd.DataFrame(rows, columns=list(columns))
    frame["label"] = [label_values.from_json(v) for v in frame["label"]]
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    frame["current"] = frame["current"].astype(bool)
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV safe to open in a spreadsheet, header cells included; multi-labels as `a|b`, boxes and spans
    as their JSON."""
    safe = _flat(frame).map(_neutralised)
    safe.columns = [_neutralised(c) for c in safe.columns]
    return safe.to_csv(index=False).encode("utf-8")


def to_jsonl(frame: pd.DataFrame) -> bytes:
    """One JSON object per line; multi-labels as lists, times as ISO 8601."""
    return frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False).encode("utf-8")


def to_parquet(frame: pd.DataFrame) -> bytes:
    """A Parquet file that `pandas.read_parquet` and Hugging Face `datasets` (`load_dataset("parquet", ...)`,
    `Dataset.from_parquet`) load as they are: one flat column per frame column, labels as strings (lists of
    strings for multi-label), arrays (an 8x8 digit) as nested lists, times as UTC timestamps, no index
    column, boxes and spans as their JSON text (as in CSV). A column whose cells Arrow cannot give one type
    (numbers and text mixed) is written as text."""
    columns = {}
    for name in frame.columns:
        cells = [_arrow_cell(v) for v in frame[name]] if frame[name].dtype == object else frame[name]
        try:
            column = pa.array(cells, from_pandas=True)
            # pandas' own text columns arrive as large_string; one string type for every text column.
            columns[str(name)] = column.cast(pa.string()) if pa.types.is_large_string(column.type) else column
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            columns[str(name)] = pa.array([None if v is None else str(v) for v in cells], type=pa.string())
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue().to_pybytes()


def _arrow_cell(value: Any) -> Any:
    """A cell as Arrow takes it: tuples (multi-labels) and arrays as lists, boxes and spans as JSON text,
    missing values as None."""
    if isinstance(value, (Boxes, Spans)):
        return label_values.to_json(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if is_missing(value):
        return None
    return value


def _free_name(frame: pd.DataFrame, column: str) -> str:
    while column in frame.columns:
        column = "_" + column
    return column


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """One line per cell: multi-labels as `a|b`, arrays (an 8x8 digit) as JSON lists, not numpy's wrapped text."""
    return frame.map(_flat_cell)


def _flat_cell(value: Any) -> Any:
    if isinstance(value, (Boxes, Spans)):
        return label_values.to_json(value)
    if isinstance(value, tuple):
        return label_values.MULTI_LABEL_SEPARATOR.join(value)
    if isinstance(value, np.ndarray):
        return json.dumps(value.tolist(), allow_nan=True)
    return value


def _neutralised(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


SLUG_CHARACTERS = 60
"""Longest project-name part of an export's file name."""


def file_slug(name: str) -> str:
    """A project name as a file name part: `Kettles / 2024 (v2)` -> `kettles-2024-v2`, `project` if nothing is
    left. The Export page's downloads and `export --all` name their files alike."""
    words = "".join(c.lower() if c.isascii() and c.isalnum() else " " for c in name).split()
    return "-".join(words)[:SLUG_CHARACTERS] or "project"
