"""labelling.io.ingest.read_csv: encodings, delimiters, bad files and chunking."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from labelling.errors import InvalidInput
from labelling.io.export import to_csv
from labelling.io.ingest import SNIFF_BYTES, read_csv
from labelling.io.serialisation import decode, encode_records

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


def read_all(source, **options) -> pd.DataFrame:
    frames = list(read_csv(source, **options))
    assert frames, "read_csv yielded nothing"
    assert all(isinstance(f, pd.DataFrame) for f in frames)
    return pd.concat(frames, ignore_index=True)


def records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


# Delimiters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"])
def test_delimiters_are_detected(delimiter):
    lines = ["text" + delimiter + "n" + delimiter + "label"]
    lines += [f"row number {i}{delimiter}{i}{delimiter}{'ab'[i % 2]}" for i in range(20)]
    frame = read_all(io.BytesIO(("\n".join(lines) + "\n").encode()))
    assert list(frame.columns) == ["text", "n", "label"]
    assert len(frame) == 20
    assert frame["text"].iloc[3] == "row number 3"
    assert list(frame["n"]) == list(range(20))


def test_semicolon_file_with_decimal_commas_in_text():
    raw = "name;comment\nAlice;hello, world\nBob;one, two, three\n".encode()
    frame = read_all(io.BytesIO(raw))
    assert list(frame.columns) == ["name", "comment"]
    assert list(frame["comment"]) == ["hello, world", "one, two, three"]


def test_quoted_fields_with_delimiters_and_newlines():
    raw = b'text,label\n"a, quoted\nmultiline",x\nplain,y\n'
    frame = read_all(io.BytesIO(raw))
    assert list(frame["text"]) == ["a, quoted\nmultiline", "plain"]


def test_a_single_column_file():
    frame = read_all(io.BytesIO(b"text\nhello\nworld\n"))
    assert list(frame.columns) == ["text"]
    assert list(frame["text"]) == ["hello", "world"]


def test_explicit_separator_is_honoured():
    frame = read_all(io.BytesIO(b"a;b\n1;2\n"), sep=";")
    assert records(frame) == [{"a": 1, "b": 2}]


# Encodings --------------------------------------------------------------------------------------------


TEXT = "name,city\nAmélie,Besançon\nZoë,Málaga\n"
EXPECTED = [{"name": "Amélie", "city": "Besançon"}, {"name": "Zoë", "city": "Málaga"}]


@pytest.mark.parametrize(
    "raw",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with its BOM (little-endian here)
        b"\xfe\xff" + TEXT.encode("utf-16-be"),
        TEXT.encode("latin-1"),
        TEXT.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "latin-1", "crlf"],
)
def test_encodings_decode_right(raw):
    frame = read_all(io.BytesIO(raw))
    assert list(frame.columns) == ["name", "city"]  # no BOM glued to the first name
    assert records(frame) == EXPECTED


@pytest.mark.parametrize(
    "text",
    [
        "name\ncafé\n",
        "name,city\nBob,Paris\nJosé,Orléans",
        "word\nné\n",
    ],
    ids=["e-acute-at-the-end", "no-final-newline", "short-file"],
)
def test_latin1_accents_near_the_end_of_a_short_file_decode_right(text):
    frame = read_all(io.BytesIO(text.encode("latin-1")))
    expected = pd.read_csv(io.StringIO(text))
    assert records(frame) == records(expected)


def test_latin1_accent_only_after_the_sniffing_window_decodes_right():
    head = "text,n\n" + "".join(f"plain ascii line {i},{i}\n" for i in range(SNIFF_BYTES // 20 + 10))
    assert len(head) > SNIFF_BYTES
    text = head + "crème brûlée,1\n"
    frame = read_all(io.BytesIO(text.encode("latin-1")), chunk_rows=1000)
    assert frame["text"].iloc[-1] == "crème brûlée"


def test_utf8_multibyte_character_cut_by_the_sniffing_window_is_still_utf8():
    # A multi-byte character straddling the sniffing window must not make the file look like Latin-1.
    prefix = "text\n" + "a" * (SNIFF_BYTES - len("text\n") - 1)
    text = prefix + "é\nnext\n"
    raw = text.encode("utf-8")
    assert raw[SNIFF_BYTES - 1 : SNIFF_BYTES + 1] == "é".encode("utf-8")
    frame = read_all(io.BytesIO(raw))
    assert frame["text"].iloc[0].endswith("é")
    assert frame["text"].iloc[1] == "next"


def test_utf16_file_read_in_several_chunks():
    text = "text,n\n" + "".join(f"ligne é {i},{i}\n" for i in range(25))
    frames = list(read_csv(io.BytesIO(text.encode("utf-16")), chunk_rows=10))
    assert [len(f) for f in frames] == [10, 10, 5]
    assert pd.concat(frames)["text"].iloc[24] == "ligne é 24"


# Bad files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"", ["empty"]),
        (b"   \n\n  \n", ["empty"]),
        (PNG_BYTES, ["binary"]),
        (b"\x00\x01\x02\x03" * 100, ["binary"]),
        (b"1,2,3\n4,5,6\n", ["header"]),
        (b"0.5;1e3\n2;3\n", ["header"]),
        (b"a,b,a\n1,2,3\n", ["duplicate", "a"]),
        (b"text,label, text\nx,y,z\n", ["duplicate", "text"]),
        (b"a,,c\n1,2,3\n", ["column"]),
    ],
    ids=["empty", "blank-lines", "png", "nul-bytes", "no-header", "no-header-semicolon", "duplicate", "duplicate-spaced", "empty-name"],
)
def test_bad_files_raise_invalid_input_with_a_clear_message(raw, words):
    with pytest.raises(InvalidInput) as raised:
        read_all(io.BytesIO(raw))
    message = str(raised.value).lower()
    for word in words:
        assert word in message, message


def test_a_png_renamed_csv_on_disk_is_refused(tmp_path):
    path = tmp_path / "picture.csv"
    path.write_bytes(PNG_BYTES)
    with pytest.raises(InvalidInput) as raised:
        read_all(path)
    assert "binary" in str(raised.value).lower()


@pytest.mark.parametrize(
    "raw",
    [
        b"a,b\n1,2\n3,4,5\n",  # a long row
        b"a,b\n1,2\n3\n",  # a short row
        b"a,b,c\n1,2,3\n4,5\n6,7,8\n",  # a short row in the middle
        b"a,b\n1,2,3\n4,5,6\n",  # every row longer than the header
    ],
    ids=["long-row", "short-row", "short-row-middle", "all-rows-long"],
)
def test_ragged_rows_raise_invalid_input(raw):
    with pytest.raises(InvalidInput) as raised:
        read_all(io.BytesIO(raw))
    assert "fields" in str(raised.value).lower()


def test_a_ragged_row_in_a_later_chunk_raises():
    text = "a,b\n" + "".join(f"{i},{i}\n" for i in range(50)) + "1,2,3\n"
    with pytest.raises(InvalidInput):
        list(read_csv(io.BytesIO(text.encode()), chunk_rows=10))


# Chunking and sources ---------------------------------------------------------------------------------


def _numbers_csv(n: int) -> bytes:
    return ("id,text\n" + "".join(f"{i},text {i}\n" for i in range(n))).encode()


def test_chunk_rows_yields_several_frames():
    frames = list(read_csv(io.BytesIO(_numbers_csv(25)), chunk_rows=10))
    assert [len(f) for f in frames] == [10, 10, 5]
    assert all(list(f.columns) == ["id", "text"] for f in frames)
    assert list(pd.concat(frames)["id"]) == list(range(25))


def test_read_csv_is_lazy():
    chunks = read_csv(io.BytesIO(_numbers_csv(30)), chunk_rows=7)
    first = next(iter(chunks))
    assert len(first) == 7


@pytest.mark.parametrize("kind", ["str", "pathlib"])
def test_paths_work(tmp_path, kind):
    path = tmp_path / "items.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "text;label\nà bientôt;x\n".encode("utf-8"))
    frame = read_all(str(path) if kind == "str" else path)
    assert records(frame) == [{"text": "à bientôt", "label": "x"}]


def test_binary_file_objects_work_from_their_current_position():
    buffer = io.BytesIO(b"GARBAGE" + _numbers_csv(3))
    buffer.seek(len(b"GARBAGE"))
    frame = read_all(buffer)
    assert list(frame["id"]) == [0, 1, 2]


def test_opened_files_work(tmp_path):
    path = tmp_path / "items.csv"
    path.write_bytes(_numbers_csv(4))
    with open(path, "rb") as handle:
        frame = read_all(handle)
    assert list(frame["id"]) == [0, 1, 2, 3]


def test_text_file_objects_work():
    frame = read_all(io.StringIO("text,n\nhé,1\n"))
    assert records(frame) == [{"text": "hé", "n": 1}]


def test_column_names_are_stripped():
    frame = read_all(io.BytesIO(b" text , label \nx,y\n"))
    assert list(frame.columns) == ["text", "label"]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-8"])
def test_leaving_the_chunks_early_keeps_the_callers_file_open(encoding):
    source = io.BytesIO("text\ncafé\nnaïve\n".encode(encoding))
    chunks = read_csv(source, chunk_rows=1)
    assert next(chunks)["text"].tolist() == ["café"]
    chunks.close()
    assert not source.closed



def test_arrays_are_written_as_one_line_json_lists():
    digit = np.arange(64, dtype=float).reshape(8, 8)
    written = to_csv(pd.DataFrame({"data": [digit], "label": ["3"]})).decode()
    assert written.count("\n") == 2  # header and one row: no wrapped numpy text
    cell = pd.read_csv(io.StringIO(written))["data"][0]
    assert np.array_equal(np.array(json.loads(cell)), digit)


# Cells kept as written ---------------------------------------------------------------------------------


def test_words_pandas_would_read_as_missing_are_kept_as_written():
    raw = "text,label\nNone,NA\nnull,None\nn/a,pos\nNaN,pos\n,pos\n"
    frame = read_all(io.BytesIO(raw.encode()))
    assert records(frame) == [
        {"text": "None", "label": "NA"},
        {"text": "null", "label": "None"},
        {"text": "n/a", "label": "pos"},
        {"text": "NaN", "label": "pos"},
        {"text": None, "label": "pos"},  # an empty cell is the one missing value
    ]


def test_a_numeric_column_with_missing_words_reads_as_numbers_with_gaps():
    raw = "x,y,name\n1,0.5,NA\nNA,-,b\n3.5,,c\nnull,2,d\n"
    frame = read_all(io.BytesIO(raw.encode()))
    assert pd.api.types.is_float_dtype(frame["x"]) and pd.api.types.is_float_dtype(frame["y"])
    assert records(frame) == [
        {"x": 1.0, "y": 0.5, "name": "NA"},
        {"x": None, "y": None, "name": "b"},
        {"x": 3.5, "y": None, "name": "c"},
        {"x": None, "y": 2.0, "name": "d"},
    ]


def test_whole_numbers_with_empty_cells_stay_whole_numbers():
    raw = "age,share,id\n60,0.5,\n,1,7\n42,,8\n"
    frame = read_all(io.BytesIO(raw.encode()))
    assert records(frame) == [
        {"age": 60, "share": 0.5, "id": None},
        {"age": None, "share": 1.0, "id": 7},
        {"age": 42, "share": None, "id": 8},
    ]
    stored = encode_records(frame)
    assert stored[0].startswith('{"age":60,') and stored[2].startswith('{"age":42,')  # not 60.0
    assert decode(stored[1])["age"] is pd.NA  # an empty cell, shown and exported empty
    assert pd.api.types.is_float_dtype(frame["share"])  # 1 and 0.5: a column of fractions


def test_codes_with_leading_zeros_keep_them():
    raw = " code , n\n00123,1\n00450,2\n7,3\n"
    frame = read_all(io.BytesIO(raw.encode()))
    assert frame["code"].tolist() == ["00123", "00450", "7"]
    assert frame["n"].tolist() == [1, 2, 3]


def test_leading_zeros_in_a_long_file_are_found_in_its_first_bytes_across_chunks():
    rows = [f"{i:06d},{i}" for i in range(SNIFF_BYTES // 8)]
    frame = read_all(io.BytesIO(("zip,n\n" + "\n".join(rows) + "\n").encode()), chunk_rows=1000)
    assert frame["zip"].iloc[-1] == rows[-1].split(",")[0]
    assert frame["zip"].iloc[0] == "000000"
