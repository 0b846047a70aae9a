"""Guesses that make a plain CSV file need no choices on the Setup page or the command line: which column
holds existing labels, how items are shown, which column is shown. Each is only a default the person may change."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["default_table_columns", "guess_column", "guess_display", "guess_label_column"]

IMAGE_COLUMN_HINTS = ("image", "img", "url", "path", "file", "picture", "photo")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "category", "target", "species", "tag", "tags", "y", "answer")
"""Column names that say a column holds existing labels (compared without case)."""
MAX_GUESSED_LABELS = 20
"""A lone text column beside numeric ones is taken for the labels when it has at most this many values..."""
MAX_LABEL_WORDS = 3
"""...and its values repeat or are all this short: a column of sentences (reviews beside an id and a star
count) is the item, not its label."""


def guess_label_column(frame: pd.DataFrame) -> str | None:
    """The column that most likely holds existing labels, so that by default it is neither shown to labellers
    (they would see the answer) nor learnt from: one named like `label`, `class` or `species`, else the one
    text column of few, short or repeated values beside several numeric ones (an iris-like file); None when
    nothing says so."""
    columns = [str(c) for c in frame.columns]
    named = [c for c in columns if c.strip().lower() in LABEL_COLUMN_NAMES]
    if named:
        return named[0]
    numeric = [c for c in columns if _numeric(frame[c])]
    others = [c for c in columns if c not in numeric]
    if len(numeric) < 2 or len(others) != 1:
        return None
    values = frame[others[0]].dropna().astype(str)
    distinct = values.nunique()
    short = values.str.split().str.len().max() <= MAX_LABEL_WORDS if len(values) else False
    return others[0] if distinct <= MAX_GUESSED_LABELS and (distinct < len(values) or short) else None


def guess_display(frame: pd.DataFrame) -> str:
    """"image" for a file with a column of image files or addresses, "table" for one of several numeric
    columns and no text (label column left out beforehand), else "text": a row of measurements reads best as
    a table of them."""
    columns = [str(c) for c in frame.columns]
    if _image_columns(frame):
        return "image"
    numeric = [c for c in columns if _numeric(frame[c])]
    return "table" if len(numeric) >= 2 and len(numeric) == len(columns) else "text"


_IMAGE_VALUE = re.compile(r"(?i)^data:image/|\.(png|jpe?g|gif|webp|bmp)(\?\S*)?$")


def _image_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose every filled cell names an image (a file or address ending .png, .jpg..., a data: URI)."""
    found = []
    for name in frame.columns:
        values = frame[name].dropna()
        if len(values) and values.map(lambda v: isinstance(v, str) and bool(_IMAGE_VALUE.search(v.strip()))).all():
            found.append(str(name))
    return found


def default_table_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric columns when there are several (the measurements), else every column."""
    numeric = [str(c) for c in frame.columns if _numeric(frame[c])]
    return numeric if len(numeric) >= 2 else [str(c) for c in frame.columns]


def _numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def guess_column(frame: pd.DataFrame, display: str) -> str | None:
    """A default that is usually right, so a plain file needs no choices: the longest text, or for images a
    column of image names, else one whose name says image/url/path."""
    columns = [str(c) for c in frame.columns]
    if display == "image":
        named = (c for c in columns if any(hint in c.lower() for hint in IMAGE_COLUMN_HINTS))
        return next(iter(_image_columns(frame)), next(named, columns[0] if columns else None))
    texts = [c for c in columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    if not texts:
        return columns[0] if columns else None
    return max(texts, key=lambda c: frame[c].astype(str).str.len().mean())
