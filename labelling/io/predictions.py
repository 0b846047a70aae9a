"""Predictions from a model of your own, as a CSV or JSONL file keyed by item: read and checked for shape here
(the labels are checked against their items where they are written, labelling.storage.item_labels).

A row (CSV) or line (JSONL) holds `item_id` (the ids `Store.export` gives) and either
- `label`: a class, or a box or span label as JSON ({"width", "height", "boxes"} / {"spans"}) whose boxes
  or spans may carry a `score` each, and the item's `confidence` (or `probability`, 0..1); without it a
  box or span label's confidence is the mean score of its boxes or spans (1.0 when it has none: nothing
  found, and nothing to doubt); or
- one probability per class (classification): JSONL `probabilities: {class: p}`, CSV a column per class
  named as the class; the label is the likeliest class and its probability the confidence;
and optionally a score column of your own (`score_column`, e.g. an uncertainty) to order the queue by.
"""

from __future__ import annotations

import io
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import pandas as pd

from labelling.errors import InvalidInput
from labelling.io.serialisation import is_missing

__all__ = ["FORMATS", "ImportedPredictions", "format_of", "read_predictions", "scored_confidence"]

FORMATS = ("csv", "jsonl")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CONFIDENCE_KEYS = ("confidence", "probability")


@dataclass(frozen=True)
class ImportedPredictions:
    """One entry per item of the file: its id, its label (as given: checked when written), the model's
    confidence in it (0..1) and, when a score column was named, that score."""

    item_ids: list[int]
    labels: list[Any]
    confidences: list[float]
    scores: list[float] | None


def format_of(file_name: str) -> str:
    """The format a predictions file's name says (JSONL for .jsonl or .ndjson, else CSV), so the CLI and the
    Setup page read an uploaded file alike."""
    return "jsonl" if PurePath(file_name).suffix.lower() in JSONL_SUFFIXES else "csv"


def read_predictions(
    source: bytes | str, format: str, classes: Sequence[str], score_column: str | None = None
) -> ImportedPredictions:
    """The file's predictions (see the module docstring); InvalidInput names the first bad row."""
    if format not in FORMATS:
        raise InvalidInput(f"predictions come as {' or '.join(FORMATS)}, not {format!r}")
    try:
        text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
    except UnicodeDecodeError:
        raise InvalidInput("the predictions file is not UTF-8 text") from None
    rows = _csv_rows(text, classes) if format == "csv" else _jsonl_rows(text)
    ids, labels, confidences, scores = [], [], [], []
    for n, row in enumerate(rows, start=1):
        try:
            item_id, label, confidence = _entry(row, classes)
            if score_column is not None:
                scores.append(_number(row.get(score_column), score_column))
        except InvalidInput as error:
            raise InvalidInput(f"{'row' if format == 'csv' else 'line'} {n}: {error}") from None
        ids.append(item_id)
        labels.append(label)
        confidences.append(confidence)
    if not ids:
        raise InvalidInput("the file holds no predictions")
    if len(set(ids)) != len(ids):
        raise InvalidInput("an item_id appears more than once: give one prediction per item")
    return ImportedPredictions(ids, labels, confidences, scores if score_column is not None else None)


def _csv_rows(text: str, classes: Sequence[str]) -> list[dict[str, Any]]:
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as error:
        raise InvalidInput(f"the predictions are not a readable CSV file: {error}") from None
    if "item_id" not in frame.columns:
        raise InvalidInput("the predictions file needs an item_id column (the ids the export gives)")
    rows = frame.to_dict("records")
    per_class = [c for c in classes if c in frame.columns]
    for row in rows:
        if per_class and is_missing(row.get("label")):
            row["probabilities"] = {c: row.pop(c) for c in per_class}
        if isinstance(row.get("label"), str) and row["label"].lstrip().startswith(("{", "[")):
            row["label"] = _json(row["label"])
    return rows


def _jsonl_rows(text: str) -> list[Mapping[str, Any]]:
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            row = _json(line, f"line {n}")
            if not isinstance(row, Mapping):
                raise InvalidInput(f"line {n} must be a JSON object with item_id and label")
            rows.append(row)
    return rows


def _entry(row: Mapping[str, Any], classes: Sequence[str]) -> tuple[int, Any, float]:
    item_id = _number(row.get("item_id"), "item_id")
    if not item_id.is_integer():
        raise InvalidInput(f"item_id must be a whole number, not {row.get('item_id')!r}")
    given = next((row[k] for k in CONFIDENCE_KEYS if not is_missing(row.get(k))), None)
    probabilities = row.get("probabilities")
    if isinstance(probabilities, Mapping) and probabilities:
        unknown = [c for c in probabilities if c not in classes]
        if unknown:
            raise InvalidInput(f"{unknown[0]!r} is not in the label set {list(classes)}")
        values = {c: _probability(p, f"the probability of {c!r}") for c, p in probabilities.items()}
        label = max(values, key=values.__getitem__)
        return int(item_id), label, values[label]
    label = row.get("label")
    if is_missing(label):
        raise InvalidInput("no label: give a label (with its confidence) or one probability per class")
    if given is not None:
        return int(item_id), label, _probability(given, "the confidence")
    if not (isinstance(label, Mapping) and isinstance(label.get("boxes", label.get("spans")), list)):
        raise InvalidInput("no confidence: give a confidence (or probability) column")
    return int(item_id), label, scored_confidence(label)


def scored_confidence(label: Any) -> float:
    """A box or span label's confidence from the `score` of each of its boxes or spans (a COCO annotation's,
    YOLO's sixth number, a span's): their mean; 1.0 when it has none (nothing found, nothing to doubt)."""
    parts = label.get("boxes", label.get("spans")) if isinstance(label, Mapping) else None
    parts = parts if isinstance(parts, list) else []  # a malformed label is refused where it is checked
    scores = [_probability(p["score"], "a score") for p in parts if isinstance(p, Mapping) and "score" in p]
    if len(scores) != len(parts):
        raise InvalidInput("no confidence: give the item's confidence, or a score on each of its boxes or spans")
    return sum(scores) / len(scores) if scores else 1.0


def _number(value: Any, what: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, not {value!r}")
    return float(value)


def _probability(value: Any, what: str) -> float:
    number = _number(value, what)
    if not 0.0 <= number <= 1.0:
        raise InvalidInput(f"{what} must be between 0 and 1, not {number:g}")
    return number


def _json(text: str, where: str = "a cell") -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput(f"{where} is not valid JSON") from None
