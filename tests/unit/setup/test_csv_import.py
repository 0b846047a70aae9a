"""labelling.setup.csv_import without a database: the Setup page's and the command line's column choices, label
sets and settings."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from labelling.setup import csv_import
from labelling.errors import InvalidInput


def test_preview_reads_the_first_rows_and_rewinds():
    source = io.BytesIO(b"text,label\n" + b"".join(b"row %d,a\n" % i for i in range(50)))
    frame = csv_import.preview_csv(source, rows=10)
    assert len(frame) == 10 and list(frame.columns) == ["text", "label"]
    assert source.tell() == 0
    with pytest.raises(InvalidInput, match="header but no rows"):
        csv_import.preview_csv(io.BytesIO(b"text,label\n"))


def test_one_column_hint():
    assert "single column, 'a;b'" in csv_import.one_column_hint(["a;b"])
    assert csv_import.one_column_hint(["a", "b"]) is None


def test_guess_column_is_the_longest_text_or_a_column_named_like_an_image():
    frame = pd.DataFrame({"id": [1, 2], "body": ["a long text", "another long one"], "img_url": ["u", "v"]})
    assert csv_import.guess_column(frame, "text") == "body"
    assert csv_import.guess_column(frame, "image") == "img_url"
    assert csv_import.guess_column(pd.DataFrame({"n": [1, 2], "m": [3, 4]}), "text") == "n"


def test_the_label_column_is_not_offered_to_show_unless_it_is_the_only_one():
    assert csv_import.columns_to_show(["text", "label"], "label") == ["text"]
    assert csv_import.columns_to_show(["text", "label"], None) == ["text", "label"]
    assert csv_import.columns_to_show(["label"], "label") == ["label"]  # build_settings then refuses it by name


def test_distinct_labels_most_frequent_first():
    labels = pd.DataFrame({"y": [1.0, 2.0, 1.0, None]})
    assert csv_import.distinct_labels(labels, "y", multi_label=False) == ["1", "2"]
    chunks = [pd.DataFrame({"y": ["a|b", "b"]}), pd.DataFrame({"y": [" b ", None]})]
    assert csv_import.distinct_labels(chunks, "y", multi_label=True) == ["b", "a"]


def test_labels_in_file_reads_every_row_and_rewinds():
    source = io.BytesIO(b"text,label\nx,b\ny,a\nz,b\nw,\nv,1\n")
    assert csv_import.labels_in_file(source, "label", multi_label=False) == ["b", "1", "a"]
    assert source.tell() == 0
    multi = io.BytesIO(b"text,label\nx,a|b\ny,b\n")
    assert csv_import.labels_in_file(multi, "label", multi_label=True) == ["b", "a"]


def test_parse_label_set_ignores_empty_entries():
    assert csv_import.parse_label_set(" a \n\n b\n") == ["a", "b"]
    assert csv_import.parse_label_set("a, b,,c,", ",") == ["a", "b", "c"]


def test_build_settings_checks_every_column():
    columns = ["text", "url", "label"]
    with pytest.raises(InvalidInput, match="choose the column to show"):
        csv_import.build_settings(columns, "image")
    with pytest.raises(InvalidInput, match="choose how to show items"):
        csv_import.build_settings(columns, "video", text_column="text")
    with pytest.raises(InvalidInput, match="cannot also be shown"):
        csv_import.build_settings(columns, "text", text_column="label", label_column="label")
    with pytest.raises(InvalidInput, match="model cannot also learn from it"):
        csv_import.build_settings(columns, "text", text_column="text", feature_columns=["label"], label_column="label")
    with pytest.raises(InvalidInput, match="no column 'nope' in the file; its columns are: text, url, label"):
        csv_import.build_settings(columns, "text", text_column="text", feature_columns=["nope"])
    assert csv_import.build_settings(columns, "image", image_column="url")["image_column"] == "url"


def test_check_columns_names_what_is_missing_and_what_is_there():
    settings = csv_import.build_settings(["text", "n", "label"], "text", text_column="text", feature_columns=["n"],
                                         label_column="label")
    assert csv_import.required_columns(settings) == ["text", "n"]
    csv_import.check_columns(["n", "text"], settings)  # the label column may be left out of a later file
    with pytest.raises(InvalidInput, match="no column 'text', which the project uses; its columns are: body, n"):
        csv_import.check_columns(["body", "n"], settings)
