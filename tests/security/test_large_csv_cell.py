"""Finding 7 of issue 15: a CSV cell over 128 KiB was refused with Python's csv message ("field larger
than field limit (131072)") though uploads may be 200 MB. Cells up to the upload limit are accepted."""

from __future__ import annotations

import csv
import io

import pytest

from labelling import InvalidInput
from labelling.io import ingest
from labelling.setup import csv_import
from labelling.io.ingest import read_csv

CELL_CHARACTERS = 300 * 1024
"""Over the csv module's default field limit (128 KiB), far under the upload limit."""


def big_file() -> bytes:
    return ("id,text\n1,short\n2," + "x" * CELL_CHARACTERS + "\n3,also short\n").encode("utf-8")


def test_read_csv_accepts_a_cell_over_128_kib():
    frames = list(read_csv(io.BytesIO(big_file())))

    assert [len(t) for t in frames[0]["text"]] == [5, CELL_CHARACTERS, 10]


def test_the_setup_preview_accepts_a_cell_over_128_kib():
    preview = csv_import.preview_csv(io.BytesIO(big_file()))

    assert len(preview.loc[1, "text"]) == CELL_CHARACTERS


def test_a_project_imports_a_cell_over_128_kib(store):
    settings = csv_import.build_settings(["id", "text"], "text", text_column="text")
    project, added = csv_import.import_csv(store, io.BytesIO(big_file()), name="big", labels=["a"], settings=settings)

    assert added == 3
    assert len(store.export(project.id).loc[1, "text"]) == CELL_CHARACTERS


def test_a_cell_over_the_limit_is_refused_with_its_line(monkeypatch):
    """The same code path, scaled down: a limit of 1,000 characters instead of the upload limit."""
    limit = 1000
    monkeypatch.setattr(ingest, "MAX_CELL_CHARS", limit)
    before = csv.field_size_limit(limit)
    try:
        with pytest.raises(InvalidInput, match="cell on line 4 is over 1,000 characters"):
            list(read_csv(io.BytesIO(("id,text\n1,a\n2,b\n3," + "x" * (limit + 1) + "\n").encode())))
    finally:
        csv.field_size_limit(before)
