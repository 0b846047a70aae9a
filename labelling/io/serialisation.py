"""Item values to text and back, exactly.

Plain rows (CSV lines, dicts of str/int/float/bool/None, strings) are stored as ordinary JSON, readable in
any SQL console. Values JSON cannot hold exactly are stored as one-key tagged objects:
numpy arrays as base64 `.npy` bytes (dtype, shape and NaN kept, 8 bytes a float64, not a JSON list of
decimal strings), numpy scalars as 0-d `.npy`, timestamps as ISO strings, pandas objects as their
arrays plus index. superintendent turned `np.int64(3)` into null; here an unknown type is refused, and so is
text that is not valid Unicode (a lone surrogate), which JSON would escape and keep for a later export to
trip on. NaN and infinities use Python's JSON extensions (`NaN`, `Infinity`), so floats round-trip.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import math
from collections.abc import Iterator
from itertools import repeat
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any

import numpy as np
import pandas as pd

from labelling.errors import UnsupportedData
from labelling.text import check_unicode

__all__ = ["decode", "encode", "encode_array_rows", "encode_records", "encode_rows", "is_missing"]

_TAG = "$"
_TEXT, _KEY, _COLUMN = "the item text", "the item key", "the column name"
"""What a message calls refused text."""


def encode(value: Any) -> str:
    """Text for one item value; raises UnsupportedData naming a type it cannot keep, InvalidInput for
    text that is not valid Unicode."""
    return json.dumps(_tagged(value), separators=(",", ":"), allow_nan=True)


def decode(text: str) -> Any:
    return _decoder.decode(text)


def encode_records(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row, column by column: ~10x faster than `encode` per row for big CSVs."""
    columns = [check_unicode(str(c), _COLUMN) for c in frame.columns]
    if len(set(columns)) != len(columns):
        raise UnsupportedData("duplicate column names: " + ", ".join(sorted(_repeated(columns))))
    if any(c.startswith(_TAG) for c in columns):
        return [encode(dict(zip(columns, row))) for row in zip(*_column_values(frame))]
    fields = [_json_column(column) for _, column in frame.items()] if columns else [None]
    if all(field is not None for field in fields):
        # Plain columns (what a CSV file gives): each encoded whole, then the rows put together in C.
        keys = [_json_string(c) + ":" for c in columns]
        pieces = ["{" + keys[0], *("," + k for k in keys[1:]), "}"]
        parts = [repeat(pieces[0])]
        for field, piece in zip(fields, pieces[1:]):
            parts += [field, repeat(piece)]
        return list(map("".join, zip(*parts)))
    dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=True, default=_tagged_leaf).encode
    return [dumps(dict(zip(columns, row))) for row in zip(*_column_values(frame))]


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_NA_TEXT = '{"' + _TAG + 'na":null}'
"""pd.NA as `encode` writes it (a test checks they agree)."""


def _json_column(column: pd.Series) -> list[str] | None:
    """A column's values as JSON text, exactly as `encode` writes them, when it holds only numbers, or only
    text and empty cells (None, NaN): a few passes in C instead of one Python call per value. None otherwise."""
    kind = column.dtype.kind
    if kind in "iubf" and isinstance(column.dtype, pd.api.extensions.ExtensionDtype) and column.hasnans:
        # pandas' nullable Int64, boolean, Float64: the values as numpy's, and pd.NA tagged as `encode` tags it
        missing = column.isna().to_numpy()
        texts = np.full(len(column), _NA_TEXT, dtype=object)
        texts[~missing] = _json_column(pd.Series(column[~missing].to_numpy(dtype=column.dtype.numpy_dtype)))
        return texts.tolist()
    if kind in "iu":
        return list(map(str, column.tolist()))
    if kind == "b":
        return np.where(column.to_numpy(), "true", "false").tolist()
    if kind == "f":
        texts = list(map(float.__repr__, column.tolist()))
        for i in np.flatnonzero(~np.isfinite(column.to_numpy())).tolist():
            texts[i] = _NON_FINITE[texts[i]]
        return texts
    if kind != "O" or pd.api.types.infer_dtype(column, skipna=True) not in ("string", "empty"):
        return None
    values = column.tolist()
    missing = np.flatnonzero(column.isna().to_numpy()).tolist()
    for i in missing:
        if values[i] is not None and not (isinstance(values[i], float) and math.isnan(values[i])):
            return None  # pd.NA, NaT: tagged by `encode`
        values[i] = ""
    try:
        "".join(values).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: `encode` names it
        return None
    texts = list(map(_json_string, values))
    for i in missing:
        texts[i] = "null" if column.iat[i] is None else "NaN"
    return texts


def encode_rows(array: np.ndarray) -> Iterator[str]:
    """Each row of an n-d array (n >= 2) as its own array; the .npy header is built once."""
    if array.dtype.hasobject:
        yield from (encode(row) for row in array)
        return
    for text in encode_array_rows(array).tolist():
        yield text.decode("ascii")


ROWS_PER_BLOCK = 4_096
"""Rows put together at once by `encode_array_rows`: a block's scratch copy stays a few MB."""


def encode_array_rows(array: np.ndarray) -> np.ndarray:
    """`encode_rows` of a numeric (not object) array as one fixed-width bytes array (ASCII, numpy `S`): every
    row's text has the same length, so the rows are laid out in numpy and base64-encoded straight from it,
    and the store writes them without making a str each (a million rows of 64 floats)."""
    rows = np.ascontiguousarray(array)
    n = len(rows)
    if not n:
        return np.empty(0, dtype="S1")
    head = np.frombuffer(_npy_bytes(rows[0])[: -rows[0].nbytes or None], dtype=np.uint8)
    body = rows.reshape(n, -1).view(np.uint8).reshape(n, -1)
    prefix, suffix = b'{"$nd":"', b'"}'
    encoded = 4 * -(-(len(head) + body.shape[1]) // 3)
    out = np.empty((n, len(prefix) + encoded + len(suffix)), dtype=np.uint8)
    out[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    out[:, len(prefix) + encoded :] = np.frombuffer(suffix, dtype=np.uint8)
    for start in range(0, n, ROWS_PER_BLOCK):
        block = body[start : start + ROWS_PER_BLOCK]
        raw = np.empty((len(block), len(head) + body.shape[1]), dtype=np.uint8)
        raw[:, : len(head)] = head
        raw[:, len(head) :] = block
        texts = b"".join([binascii.b2a_base64(row, newline=False) for row in raw])
        out[start : start + len(block), len(prefix) : len(prefix) + encoded] = np.frombuffer(texts, np.uint8).reshape(len(block), -1)
    return out.view(f"S{out.shape[1]}").ravel()


def _column_values(frame: pd.DataFrame) -> list[list[Any]]:
    values = []
    for _, column in frame.items():
        if column.dtype == object or _python_strings(column.dtype):
            values.append([_tagged(v) for v in column.tolist()])
        else:
            values.append(column.tolist())  # numeric columns become exact Python ints and floats
    return values


def _python_strings(dtype: Any) -> bool:
    """Pandas strings kept as Python str, which may hold lone surrogates (Arrow-backed ones cannot)."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "python"


def _repeated(names: list[str]) -> set[str]:
    seen: set[str] = set()
    return {n for n in names if n in seen or seen.add(n)}


def _tagged(value: Any) -> Any:
    """A JSON-ready copy of value: containers walked, every non-JSON leaf tagged."""
    if isinstance(value, str):
        return check_unicode(value, _TEXT)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith(_TAG) for k in value):
            return {check_unicode(k, _KEY): _tagged(v) for k, v in value.items()}
        return {"$dict": [[_tagged(k), _tagged(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [_tagged(v) for v in value]}
    return _tagged_leaf(value)


def _tagged_leaf(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return {"$ndo": [_tagged(v) for v in value.ravel().tolist()], "shape": list(value.shape)}
        if value.dtype.kind == "U":
            for text in value.ravel().tolist():
                check_unicode(text, _TEXT)
        return {"$nd": base64.b64encode(_npy_bytes(value)).decode("ascii")}
    if isinstance(value, np.generic):
        if isinstance(value, np.object_):
            return _tagged(value.item())
        return {"$np": base64.b64encode(_npy_bytes(np.asarray(value))).decode("ascii")}
    if value is pd.NaT:
        return {"$ts": None}
    if value is pd.NA:
        return {"$na": None}
    if isinstance(value, pd.Timestamp):
        # The zone's name, not just today's offset: Europe/Paris must stay Europe/Paris across summer time.
        return {"$ts": [value.isoformat(), value.unit, None if value.tz is None else str(value.tz)]}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, pd.Series):
        return {"$series": _series_parts(value)}
    if isinstance(value, pd.DataFrame):
        return {
            "$frame": [_tagged(list(value.columns)), [_series_parts(value.iloc[:, i]) for i in range(value.shape[1])]],
            "index": _index_parts(value.index),
        }
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, (dict, list, tuple)):
        return _tagged(value)
    raise UnsupportedData(
        f"cannot store a value of type {type(value).__module__}.{type(value).__qualname__}: "
        "use text, numbers, lists, dicts, numpy arrays or pandas objects"
    )


def _series_parts(series: pd.Series) -> dict[str, Any]:
    return {**_array_parts(series.array, series.dtype), "name": _tagged(series.name), "index": _index_parts(series.index)}


def _index_parts(index: pd.Index) -> Any:
    if isinstance(index, pd.RangeIndex):
        return {"range": [index.start, index.stop, index.step], "name": _tagged(index.name)}
    return {**_array_parts(index.array, index.dtype), "name": _tagged(index.name)}


def _array_parts(values: Any, dtype: Any) -> dict[str, Any]:
    """Values plus what rebuilds the dtype: categories and their order are kept, not re-inferred."""
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "codes": _tagged_leaf(np.asarray(values.codes)),
            "categories": _index_parts(dtype.categories),
            "ordered": bool(dtype.ordered),
        }
    return {"values": _tagged_leaf(np.asarray(values, dtype=object if _extension(dtype) else None)), "dtype": str(dtype)}


def _array(parts: dict[str, Any]) -> Any:
    if "codes" in parts:
        categories = _index(parts["categories"])
        return pd.Categorical.from_codes(parts["codes"], dtype=pd.CategoricalDtype(categories, parts["ordered"]))
    return pd.array(parts["values"], dtype=parts["dtype"])


def _extension(dtype: Any) -> bool:
    return not isinstance(dtype, np.dtype)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _from_npy(text: str) -> np.ndarray:
    return np.lib.format.read_array(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) > 2 or not obj or not next(iter(obj)).startswith(_TAG):
        return obj
    tag, payload = next(iter(obj.items()))
    if tag == "$nd":
        return _from_npy(payload)
    if tag == "$np":
        return _from_npy(payload)[()]
    if tag == "$ndo":
        array = np.empty(len(payload), dtype=object)
        array[:] = payload
        return array.reshape(obj["shape"])
    if tag == "$ts":
        if payload is None:
            return pd.NaT
        iso, unit, zone = payload
        stamp = pd.Timestamp(iso).as_unit(unit)
        return stamp if zone is None else stamp.tz_convert(zone)
    if tag == "$na":
        return pd.NA
    if tag == "$dt":
        return dt.datetime.fromisoformat(payload)
    if tag == "$date":
        return dt.date.fromisoformat(payload)
    if tag == "$tuple":
        return tuple(payload)
    if tag == "$dict":
        return {_hashable(k): v for k, v in payload}
    if tag == "$bytes":
        return base64.b64decode(payload)
    if tag == "$series":
        return _series(payload)
    if tag == "$frame":
        columns, parts = payload
        frame = pd.concat([_series(p) for p in parts], axis=1) if parts else pd.DataFrame()
        frame.columns = pd.Index(columns) if columns else frame.columns
        frame.index = _index(obj["index"])
        return frame
    return obj


_decoder = json.JSONDecoder(object_hook=_untag)
"""`decode`'s decoder, made once: `json.loads` with a hook builds a new one per call (every hand-out decodes an item)."""


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _series(parts: dict[str, Any]) -> pd.Series:
    values = _array(parts)
    return pd.Series(values, index=_index(parts["index"]), name=parts["name"], dtype=values.dtype)


def _index(parts: dict[str, Any]) -> pd.Index:
    if "range" in parts:
        return pd.RangeIndex(*parts["range"], name=parts["name"])
    values = _array(parts)
    return pd.Index(values, name=parts["name"], dtype=values.dtype)


def is_missing(value: Any) -> bool:
    """True for the empty cells of a CSV or DataFrame (None, NaN, NaT), which mean 'no label'."""
    return value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value))
