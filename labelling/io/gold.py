"""Gold items from a file: the known labels an admin adds to an Export file, read back as (ids, labels)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from labelling.errors import InvalidInput
from labelling.io.serialisation import is_missing

__all__ = ["gold_rows"]


def gold_rows(frames: Iterable[pd.DataFrame], id_column: str, label_column: str) -> tuple[list[int], list[Any]]:
    """(item ids, known labels) from table chunks (a CSV file: an Export file with a gold column added):
    the rows with a value in `label_column`; rows whose cell there is empty are left out."""
    ids: list[int] = []
    labels: list[Any] = []
    for frame in frames:
        for column in (id_column, label_column):
            if column not in frame.columns:
                raise InvalidInput(f"no column {column!r} in the file")
        for item_id, label in zip(frame[id_column], frame[label_column]):
            if is_missing(label) or not str(label).strip():
                continue
            try:
                number = float(item_id)
            except (TypeError, ValueError):
                number = math.nan
            if not number.is_integer():
                raise InvalidInput(f"{item_id!r} in column {id_column!r} is not an item id")
            ids.append(int(number))
            labels.append(label)
    if not ids:
        raise InvalidInput(f"no row has a label in column {label_column!r}")
    return ids, labels
