"""Labels out: one row per item (wide) or per annotation (long), and their CSV and JSONL files."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from labelling.quality import consensus
from labelling import labels as label_values
from labelling.records import Project
from labelling.storage.schema import annotations, items, labellers
from labelling.io.serialisation import decode

__all__ = ["annotations_frame", "items_frame", "to_csv", "to_jsonl"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""Spreadsheets run a cell starting with these as a formula (CSV injection); such cells, header cells too,
get a leading '."""
READ_BATCH = 10_000
_NO_LABEL = consensus.Final(None, None, False, 0)


def items_frame(connection: Connection, project: Project) -> pd.DataFrame:
    """Original columns (or `data` for non-dict items), `item_id`, `label` (the final label: a reviewer's,
    a gold item's known label, else the majority; empty on a tie), `tie`, `label_source` (review, gold,
    majority or tie), `reviewed_by` (who adjudicated it), `n_labels`, and `label:<labeller>` for each labeller's current label."""
    votes = consensus.current_votes(connection, project.id)
    finals = consensus.final_labels(connection, project.id, votes)
    rows: list[dict[str, Any]] = []
    ids: list[int] = []
    result = connection.execution_options(yield_per=READ_BATCH).execute(
        select(items.c.id, items.c.data).where(items.c.project_id == project.id).order_by(items.c.id)
    )
    for item_id, data in result:
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
        final = finals.get(item_id, _NO_LABEL)
        ours["label"].append(final.label)
        ours["tie"].append(final.tie)
        ours["label_source"].append(final.source)
        ours["reviewed_by"].append(final.reviewer)
        ours["n_labels"].append(len(by_labeller))
        for name in names:
            ours[f"label:{name}"].append(by_labeller.get(name))
    for column, values in ours.items():
        frame[_free_name(frame, column)] = values
    return frame


def annotations_frame(connection: Connection, project: Project) -> pd.DataFrame:
    """Every annotation ever made (superseded ones with current=False): the audit trail."""
    result = connection.execute(
        select(
            annotations.c.id.label("annotation_id"),
            annotations.c.item_id,
            labellers.c.name.label("labeller"),
            annotations.c.label,
            annotations.c.created_at,
            annotations.c.seconds,
            annotations.c.is_current.label("current"),
            annotations.c.source,
        )
        .join(labellers, labellers.c.id == annotations.c.labeller_id)
        .where(annotations.c.project_id == project.id)
        .order_by(annotations.c.id)
    )
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    frame["label"] = [label_values.from_json(v) for v in frame["label"]]
    frame["created_at"] = pd.to_datetime(frame["created_at"], unit="s", utc=True)
    frame["current"] = frame["current"].astype(bool)
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV safe to open in a spreadsheet, header cells included; multi-labels as `a|b`."""
    safe = _flat(frame).map(_neutralised)
    safe.columns = [_neutralised(c) for c in safe.columns]
    return safe.to_csv(index=False).encode("utf-8")


def to_jsonl(frame: pd.DataFrame) -> bytes:
    """One JSON object per line; multi-labels as lists, times as ISO 8601."""
    return frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False).encode("utf-8")


def _free_name(frame: pd.DataFrame, column: str) -> str:
    while column in frame.columns:
        column = "_" + column
    return column


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: label_values.MULTI_LABEL_SEPARATOR.join(v) if isinstance(v, tuple) else v)


def _neutralised(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
