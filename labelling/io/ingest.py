"""Items into the store: every accepted input shape becomes chunks of encoded rows, written in bulk.

Memory stays flat: inputs are consumed CHUNK_ROWS at a time (CSV files through pandas' chunked reader),
and labelling.storage.items writes each chunk before the next is read, all inside one transaction, so a
bad row in the last chunk leaves nothing behind.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from labelling.io import labels as label_values
from labelling.errors import InvalidInput, UnsupportedData
from labelling.records import Label, Project, Task
from labelling.io.serialisation import decode, encode, encode_array_rows, encode_records, encode_rows, is_missing

__all__ = ["CHUNK_ROWS", "Chunk", "chunks", "read_csv"]

CHUNK_ROWS = 50_000
SNIFF_BYTES = 64 * 1024
CHECK_BLOCK_BYTES = 4 * 1024 * 1024
"""Bytes per block when every line's fields are counted, before anything is imported."""
DELIMITERS = ",;\t|"
MAX_CELL_CHARS = 200 * 1024 * 1024
"""Longest CSV cell read, in characters: the Setup page's default upload limit (server.maxUploadSize, 200 MB),
so every cell of a file it accepts fits. Python's csv module stops at 128 KiB unless told."""


@dataclass(frozen=True)
class Chunk:
    rows: list[str] | np.ndarray  # encoded item values; for a numeric array, one ASCII bytes array (encode_array_rows)
    labels: list[Label | None] | None  # validated, aligned with rows


def chunks(
    project: Project, data: Any, labels: Any = None, media_roots: Sequence[Path] | None = None
) -> Iterator[Chunk]:
    """Validated chunks from a DataFrame, list, numpy array or an iterator of those (or of (data, labels)).

    Box labels are checked against their image, read under `media_roots` (default: the working directory;
    the store passes the deployer's). Errors name the row counted from 1 over the whole input, across chunks."""
    if _is_chunk_iterator(data):
        if labels is not None:
            raise InvalidInput("with an iterator of chunks, give labels inside each chunk as (data, labels)")
        offset = 0
        for part in data:
            part_data, part_labels = part if isinstance(part, tuple) and len(part) == 2 else (part, None)
            for chunk in _chunks_of(project, part_data, part_labels, offset, media_roots):
                offset += len(chunk.rows)
                yield chunk
    else:
        yield from _chunks_of(project, data, labels, 0, media_roots)


def _is_chunk_iterator(data: Any) -> bool:
    return isinstance(data, Iterator) or (
        isinstance(data, Iterable)
        and not isinstance(data, (str, bytes, dict, set, frozenset, list, tuple, np.ndarray, pd.DataFrame, pd.Series))
    )


def _chunks_of(
    project: Project, data: Any, labels: Any, offset: int, media_roots: Sequence[Path] | None
) -> Iterator[Chunk]:
    n = _length(data)
    label_list = None if labels is None else _as_list(labels, "labels")
    if label_list is not None and len(label_list) != n:
        raise InvalidInput(f"{len(label_list)} labels for {n} items: give one label (or None) per item")
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        rows = _encode_slice(data, start, stop)
        chunk_labels = (
            None if label_list is None else _labels(project, label_list[start:stop], offset + start, rows, media_roots)
        )
        yield Chunk(rows, chunk_labels)


def _length(data: Any) -> int:
    if isinstance(data, (str, bytes)):
        raise UnsupportedData("data is one string: give a list of items (one string per item)")
    if isinstance(data, (set, frozenset)):
        raise UnsupportedData("data is a set, which has no order: give a list (one entry per item)")
    if isinstance(data, dict):
        raise UnsupportedData("data is one dict: give a list of dicts (one per item) or a DataFrame")
    if isinstance(data, np.ndarray) and data.ndim == 0:
        raise UnsupportedData("data is a single numpy scalar: give an array with one row per item")
    if not isinstance(data, (list, tuple, np.ndarray, pd.DataFrame, pd.Series)):
        raise UnsupportedData(
            f"cannot add items from a {type(data).__name__}: give a DataFrame, a list, a numpy array "
            "or an iterator of those"
        )
    return len(data)


def _encode_slice(data: Any, start: int, stop: int) -> list[str] | np.ndarray:
    if isinstance(data, pd.DataFrame):
        return encode_records(data.iloc[start:stop])
    if isinstance(data, pd.Series):
        return [encode(v) for v in data.iloc[start:stop].tolist()]
    if isinstance(data, np.ndarray):
        part = data[start:stop]
        if part.ndim > 1:
            return list(encode_rows(part)) if part.dtype.hasobject else encode_array_rows(part)
        return [encode(v) for v in part.tolist()]
    return [encode(v) for v in data[start:stop]]


def _as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (pd.Series, pd.Index, np.ndarray)):
        return values.tolist()
    if isinstance(values, (list, tuple)):
        return list(values)
    raise InvalidInput(f"{what} must be a list, numpy array or pandas Series")


_FACTORIZABLE = {str, int, float, type(None), type(pd.NA), np.int64, np.float64}
"""Label value types whose equal values normalise alike, so each distinct one is checked once."""


def _labels(
    project: Project, values: list[Any], offset: int, rows: Sequence[str] = (), media_roots: Sequence[Path] | None = None
) -> list[Label | None]:
    """The labels normalised, each distinct value once (a file's label column repeats a few values), not a
    call per row; an error names the first row with the refused value, counted from 1 after `offset` rows.
    Boxes and spans are checked one by one against their item (`rows`, encoded): its image (under
    `media_roots`), its text."""
    if project.options.task is not Task.CLASSIFY:
        normalised = []
        for row, (value, data) in enumerate(zip(values, rows), start=offset + 1):
            try:
                normalised.append(None if is_missing(value) else label_values.normalise(project, value, item=decode(data), media_roots=media_roots))
            except InvalidInput as error:
                raise InvalidInput(f"label of row {row}: {error}") from None
        return normalised
    if set(map(type, values)) <= _FACTORIZABLE:
        codes, distinct = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    else:  # lists (multi-label), or True, which pandas would count as 1: one value at a time
        codes, distinct = np.arange(len(values)), values
    normalised = []
    for code, value in enumerate(distinct):
        try:
            normalised.append(label_values.normalise(project, value))
        except InvalidInput as error:
            row = offset + int(np.flatnonzero(codes == code)[0]) + 1
            raise InvalidInput(f"label of row {row}: {error}") from None
    return [normalised[code] for code in codes.tolist()]


def read_csv(source: str | IO[bytes] | IO[str], chunk_rows: int = CHUNK_ROWS, **options: Any) -> Iterator[pd.DataFrame]:
    """A CSV file in DataFrame chunks, its encoding and delimiter detected (UTF-8/16 with BOM, Latin-1; , ; tab |).

    A first streaming pass settles the encoding over the whole file and checks that every record has as
    many fields as the header, so a bad line far down is reported before any chunk is handed out.
    Raises InvalidInput for an empty or binary file, no header, duplicate column names, ragged rows.
    """
    _allow_long_cells()
    handle = open(source, "rb") if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") else source
    if isinstance(handle, io.TextIOBase):  # a text stream (StringIO): its text, as UTF-8 bytes
        handle = io.BytesIO(handle.read().encode("utf-8"))
    start = handle.tell()
    try:
        head = handle.read(SNIFF_BYTES)
        handle.seek(start)
        if not head.strip():
            raise InvalidInput("the file is empty")
        encoding = _bom_encoding(head)
        if encoding is None and b"\x00" in head:
            raise InvalidInput("this is not a text CSV file (it contains binary data)")
        sample = head.decode(encoding or "utf-8", errors="replace")
        delimiter = options.pop("sep", None) or _delimiter(sample)
        names = [h.strip() for h in next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])]
        _check_header(names)
        encoding = encoding or _first_decoding(handle, start, ("utf-8", "latin-1"), delimiter, len(names))
        if encoding.startswith("utf-16") or encoding == "utf-8-sig":
            _check_records(handle, start, encoding, delimiter, len(names))
        handle.seek(start)
        codes = {name: str for name in _zero_padded_columns(sample, delimiter, len(head) < SNIFF_BYTES)}
        options = {"keep_default_na": False, "na_values": [""], "dtype": codes or None, **options}
        # Our own text layer, detached afterwards: pandas closes a wrapper it makes, and with it the caller's file.
        text = io.TextIOWrapper(handle, encoding=encoding, newline="")
        try:
            for frame in pd.read_csv(text, sep=delimiter, chunksize=chunk_rows, skipinitialspace=True, **options):
                frame.columns = [str(c).strip() for c in frame.columns]
                yield _whole_numbers_with_gaps(_numbers_with_gaps(frame))
        finally:
            text.detach()
    finally:
        if handle is not source:
            handle.close()


MISSING_WORDS = frozenset({"NA", "N/A", "n/a", "na", "NaN", "nan", "NULL", "null", "None", "none", "-", "?"})
"""Words that stand for a missing number in a column that is otherwise numbers (R writes NA, databases NULL).
Elsewhere a cell is kept as written: "None" may be a text to label, or a label."""
_ZERO_PADDED = re.compile(r"[+-]?0\d")


def _zero_padded_columns(sample: str, delimiter: str, whole: bool) -> list[str]:
    """Columns whose values in the file's first bytes start with a zero before another digit (codes such as
    00123 or 007): read as text, so the zeros are kept. Named as pandas reads the header (leading spaces
    skipped, trailing kept); the last line of a partial sample may be cut off."""
    records = list(csv.reader(io.StringIO(sample), delimiter=delimiter, skipinitialspace=True))
    names, rows = (records[0], records[1:] if whole else records[1:-1]) if records else ([], [])
    return [
        name for j, name in enumerate(names) if any(len(row) > j and _ZERO_PADDED.match(row[j].strip()) for row in rows)
    ]


def _numbers_with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """A text column whose cells are numbers but for some MISSING_WORDS becomes numbers, those cells missing:
    the file meant a numeric column with gaps (pandas reads every other word as written, since read_csv
    asks it to)."""
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_object_dtype(column) and not pd.api.types.is_string_dtype(column):
            continue
        gaps = column.isin(MISSING_WORDS)
        if not gaps.any():
            continue
        values = column[~gaps & column.notna()]
        numbers = pd.to_numeric(values, errors="coerce")
        if len(values) and numbers.notna().all() and not values.astype(str).str.match(_ZERO_PADDED).any():
            frame[name] = pd.to_numeric(column.mask(gaps))
    return frame


def _whole_numbers_with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """A column of whole numbers with empty cells stays whole numbers (pandas' nullable Int64), where pandas
    reads it as floats: an age of 60 was shown, and exported, as 60.0."""
    for name in frame.columns:
        column = frame[name]
        if column.dtype != np.float64 or not column.hasnans:
            continue
        present = column.to_numpy()[column.notna().to_numpy()]
        if len(present) and (np.abs(present) <= _EXACT_INTEGERS).all() and (present == np.trunc(present)).all():
            frame[name] = column.astype("Int64")
    return frame


_EXACT_INTEGERS = 2.0**53
"""Floats beyond this are not all whole numbers exactly as written (the file's digits were rounded): kept."""


def _allow_long_cells() -> None:
    """Raise the csv module's field limit to MAX_CELL_CHARS; never lower it.

    The limit is process-wide and the csv module has no per-reader one. Setting it around each read and
    restoring it would race between the server's threads (one import restoring 128 KiB while another is
    mid-file); raising it, idempotently, to a bounded value (not sys.maxsize) cannot. The limit only
    bounds one field's memory, which the upload limit bounds already. Done on first read, not on import."""
    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)


def _check_header(names: list[str]) -> None:
    if not names or any(not n for n in names):
        raise InvalidInput("the first line must be a header naming every column (a column name is empty)")
    if all(_is_number(n) for n in names):
        raise InvalidInput("the first line looks like data, not a header: add a line naming the columns")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidInput("duplicate column names: " + ", ".join(repeated))


def _first_decoding(handle: IO[bytes], start: int, encodings: tuple[str, ...], delimiter: str, fields: int) -> str:
    """The first encoding the whole file decodes in (Latin-1 decodes anything), records checked on the way."""
    for encoding in encodings:
        try:
            _check_records(handle, start, encoding, delimiter, fields)
        except UnicodeDecodeError:
            continue
        return encoding
    raise AssertionError("latin-1 decodes every byte")


def _check_records(handle: IO[bytes], start: int, encoding: str, delimiter: str, fields: int) -> None:
    if _records_fit(handle, start, encoding, delimiter, fields):
        return
    handle.seek(start)
    text = io.TextIOWrapper(handle, encoding=encoding, newline="")
    try:
        reader = csv.reader(text, delimiter=delimiter, skipinitialspace=True)
        for record in reader:
            if record and len(record) != fields:
                raise InvalidInput(
                    f"line {reader.line_num} has {len(record)} fields but the header has {fields}: "
                    "every row needs one value per column (check the delimiter and quoting)"
                )
    except csv.Error as error:
        if "field limit" in str(error):
            raise InvalidInput(
                f"a cell on line {reader.line_num} is over {MAX_CELL_CHARS:,} characters, the longest a cell may be"
            ) from None
        raise InvalidInput(f"the file is not valid CSV: {error}") from None
    finally:
        text.detach()


def _records_fit(handle: IO[bytes], start: int, encoding: str, delimiter: str, fields: int) -> bool:
    """True when every line of the file has `fields` fields, counted in numpy over the bytes: the common file
    (UTF-8 or Latin-1, no quotes, no lone carriage returns) checked at disk speed. False when it cannot tell
    (quotes, which make a record span lines) or a line is wrong: the csv module then checks it and says
    where. A byte sequence the encoding refuses raises UnicodeDecodeError, as reading it as text would."""
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig", "iso8859-1"):
        return False  # UTF-16: the delimiter is not one byte
    decoder = codecs.getincrementaldecoder(encoding)()
    handle.seek(start)
    carry = b""
    while block := handle.read(CHECK_BLOCK_BYTES):
        decoder.decode(block)
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if any(special in block for special in (b'"', b"\x00")) or not _lines_fit(data[:cut], delimiter, fields):
            return False
        carry = data[cut:]
    decoder.decode(b"", final=True)
    return _lines_fit(carry + b"\n", delimiter, fields) if carry else True


def _lines_fit(data: bytes, delimiter: str, fields: int) -> bool:
    """Whether each non-empty line of `data` (whole lines) holds fields - 1 delimiters, and no line is long
    enough to hold a cell over MAX_CELL_CHARS."""
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return False  # a lone carriage return ends a record for the csv module
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    starts = np.concatenate(([0], ends[:-1] + 1))
    separators = np.flatnonzero(raw == ord(delimiter))
    counts = np.searchsorted(separators, ends) - np.searchsorted(separators, starts)
    lengths = ends - starts - (raw[ends - 1] == ord("\r")) * (ends > starts)
    if len(lengths) and lengths.max() > MAX_CELL_CHARS:
        return False  # a cell may be too long (a character is at least a byte): the csv module measures it
    return bool(np.all((counts == fields - 1) | (lengths == 0)))


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _bom_encoding(raw: bytes) -> str | None:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return None


def _delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut by the sniffing window
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS} if lines else {}
        best = max(counts, key=counts.get, default=",")
        return best if counts.get(best) else ","
