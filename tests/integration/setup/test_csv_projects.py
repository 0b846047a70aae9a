"""labelling.setup.csv_import on SQLite and PostgreSQL: a CSV file becomes a project, or more rows of one, all rows
or none."""

from __future__ import annotations

import io

import pytest

from labelling.setup import csv_import
from labelling.errors import InvalidInput


def test_ragged_row_after_the_preview_writes_nothing(store):
    rows = b"".join(b"row %d,x\n" % i for i in range(csv_import.PREVIEW_ROWS + 500))
    raw = b"text,other\n" + rows + b"bad,row,here\n"
    settings = csv_import.build_settings(["text", "other"], "text", text_column="text")
    with pytest.raises(InvalidInput, match="fields"):
        csv_import.import_csv(store, io.BytesIO(raw), name="p", labels=["a"], settings=settings, chunk_rows=1000)
    assert store.projects() == []


def test_a_file_without_the_chosen_columns_creates_nothing(store):
    settings = csv_import.build_settings(["text"], "text", text_column="text")
    with pytest.raises(InvalidInput, match="no column 'text'"):
        csv_import.import_csv(store, io.BytesIO(b"body\nx\n"), name="p", labels=["a"], settings=settings)
    assert store.projects() == []


def test_streaming_import_reports_progress(store):
    raw = b"text\n" + b"".join(b"item %d\n" % i for i in range(2_500))
    seen: list[int] = []
    settings = csv_import.build_settings(["text"], "text", text_column="text")
    made, added = csv_import.import_csv(
        store, io.BytesIO(raw), name="big", labels=["a"], settings=settings, chunk_rows=1000, on_rows=seen.append
    )
    assert added == 2_500 and seen == [1000, 2000, 2500]
    assert store.progress(made.id).total == 2_500


def test_append_takes_labels_from_the_project_label_column(store, csv_project):
    assert csv_import.append_csv(store, csv_project, io.BytesIO(b"text,sentiment\nsecond,neg\nthird,\n")) == 2
    assert store.annotations(csv_project.id)["label"].tolist() == ["pos", "neg"]
    assert "sentiment" not in store.export(csv_project.id).columns


def test_append_with_unknown_labels_writes_nothing(store, csv_project):
    raw = b"text,sentiment\nsecond,neg\nthird,meh\n"
    with pytest.raises(InvalidInput, match="'meh' is not in the label set"):
        csv_import.append_csv(store, csv_project, io.BytesIO(raw))
    assert store.progress(csv_project.id).total == 1


def test_append_with_labels_in_another_column(store, csv_project):
    raw = b"text,verdict\nsecond,neg\nthird,\n"
    assert csv_import.append_csv(store, csv_project, io.BytesIO(raw), label_column="verdict") == 2
    assert store.annotations(csv_project.id)["label"].tolist() == ["pos", "neg"]
    with pytest.raises(InvalidInput, match="no column 'nope' in the file"):
        csv_import.append_csv(store, csv_project, io.BytesIO(raw), label_column="nope")
    with pytest.raises(InvalidInput, match="'text' is shown to labellers"):  # it would strip the items' text
        csv_import.append_csv(store, csv_project, io.BytesIO(raw), label_column="text")
    assert store.progress(csv_project.id).total == 3


def test_cells_are_imported_as_written_labels_and_codes_included(store):
    """Words pandas reads as missing (NA, None, null) are texts and labels here, and codes keep their zeros: a
    label set with NA in it round-trips through the file."""
    raw = b"code,text,label\n00123,None,NA\n00450,hello,None\n01000,null,pos\n"
    assert csv_import.labels_in_file(io.BytesIO(raw), "label", multi_label=False) == ["NA", "None", "pos"]
    settings = csv_import.build_settings(["code", "text", "label"], "text", text_column="text", label_column="label")
    project, added = csv_import.import_csv(store, io.BytesIO(raw), name="p", labels=["NA", "None", "pos"], settings=settings)
    assert added == 3
    exported = store.export(project.id).sort_values("item_id")
    assert exported["code"].tolist() == ["00123", "00450", "01000"]
    assert exported["text"].tolist() == ["None", "hello", "null"]
    assert exported["label"].tolist() == ["NA", "None", "pos"]


def test_rows_of_empty_cells_are_left_out_with_their_labels_and_a_file_of_them_refused(store):
    raw = b"text,stars,label\nfirst,1,pos\n,,pos\nsecond,,\n,,\n"
    settings = csv_import.build_settings(["text", "stars", "label"], "text", text_column="text", label_column="label")
    read: list[int] = []
    project, added = csv_import.import_csv(
        store, io.BytesIO(raw), name="p", labels=["pos"], settings=settings, on_rows=read.append
    )
    assert (added, read) == (2, [4])
    assert csv_import.left_out(read[-1], added) == " (2 empty rows left out)"
    assert csv_import.left_out(2, 2) == ""
    assert store.export(project.id)["text"].tolist() == ["first", "second"]
    assert store.annotations(project.id)["label"].tolist() == ["pos"]
    with pytest.raises(InvalidInput, match="every row of the file is empty"):
        csv_import.import_csv(store, io.BytesIO(b"text,stars\n,\n, \n"), name="q", labels=["pos"], settings=settings)
    assert [p.name for p in store.projects()] == ["p"]
