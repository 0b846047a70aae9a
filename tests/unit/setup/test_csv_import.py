"""labelling.setup.csv_import without a database: the Setup page's and the command line's column choices, label
sets and settings."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from labelling.setup import csv_import, guesses
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
    assert guesses.guess_column(frame, "text") == "body"
    assert guesses.guess_column(frame, "image") == "img_url"
    assert guesses.guess_column(pd.DataFrame({"n": [1, 2], "m": [3, 4]}), "text") == "n"


def test_a_column_of_image_names_makes_an_image_project_shown_from_that_column():
    frame = pd.DataFrame({
        "caption": ["a cat on a mat", None],
        "file": ["images/cat.PNG", "https://example.org/dog.jpg?size=2"],
        "id": [1, 2],
    })
    assert guesses.guess_display(frame) == "image"
    assert guesses.guess_column(frame, "image") == "file"
    assert guesses.guess_display(frame.assign(file=["images/cat.png", "not an image"])) == "text"
    assert guesses.guess_display(pd.DataFrame({"src": ["data:image/png;base64,iVBOR"]})) == "image"


def test_the_label_column_is_not_offered_to_show_unless_it_is_the_only_one():
    assert csv_import.columns_to_show(["text", "label"], "label") == ["text"]
    assert csv_import.columns_to_show(["text", "label"], None) == ["text", "label"]
    assert csv_import.columns_to_show(["label"], "label") == ["label"]  # build_settings then refuses it by name


def test_distinct_labels_in_the_order_the_file_gives_them():
    labels = pd.DataFrame({"y": ["c", "b", "c", "a", None, "b"]})
    assert csv_import.distinct_labels(labels, "y", multi_label=False) == ["c", "b", "a"]
    chunks = [pd.DataFrame({"y": ["a|b", "b"]}), pd.DataFrame({"y": [" c ", None]})]
    assert csv_import.distinct_labels(chunks, "y", multi_label=True) == ["a", "b", "c"]


def test_numeric_labels_are_in_numeric_order():
    labels = pd.DataFrame({"y": [5.0, 0.0, 10.0, 1.0, None]})  # read as floats when a cell is empty
    assert csv_import.distinct_labels(labels, "y", multi_label=False) == ["0", "1", "5", "10"]


def test_labels_in_file_reads_every_row_and_rewinds():
    source = io.BytesIO(b"text,label\nx,b\ny,a\nz,b\nw,\nv,1\n")
    assert csv_import.labels_in_file(source, "label", multi_label=False) == ["b", "a", "1"]
    assert source.tell() == 0
    multi = io.BytesIO(b"text,label\nx,a|b\ny,b\n")
    assert csv_import.labels_in_file(multi, "label", multi_label=True) == ["a", "b"]


IRIS = pd.DataFrame(
    {
        "sepal_length": [5.1, 7.0, 6.3, None],
        "sepal_width": [3.5, 3.2, 3.3, 3.0],
        "petal_length": [1.4, 4.7, 6.0, 1.3],
        "petal_width": [0.2, 1.4, 2.5, 0.2],
        "kind": ["setosa", "versicolor", "virginica", "setosa"],
    }
)


def test_an_iris_like_file_defaults_to_a_table_of_its_measurements_without_the_label_column():
    label = guesses.guess_label_column(IRIS)
    assert label == "kind"  # the one text column of few values beside numeric ones
    shown = IRIS[csv_import.columns_to_show(list(IRIS.columns), label)]
    assert guesses.guess_display(shown) == "table"
    assert guesses.default_table_columns(shown) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert csv_import.preview_item(IRIS, label) == {
        "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2
    }


def test_label_column_guessed_by_name_or_not_at_all():
    assert guesses.guess_label_column(pd.DataFrame({"text": ["a"], "Label": ["x"]})) == "Label"
    assert guesses.guess_label_column(pd.DataFrame({"text": ["a b"], "notes": ["x"]})) is None
    reviews = pd.DataFrame({"id": [1, 2], "text": ["good", "bad"]})
    assert guesses.guess_label_column(reviews) is None  # one numeric column is not a table of measurements
    kettles = pd.DataFrame({"id": [1, 2], "review": ["Sturdy kettle, boils fast.", "Lid broke within a week."],
                            "stars": [5, 1]})
    assert guesses.guess_label_column(kettles) is None  # distinct sentences are the items, not labels
    assert guesses.guess_display(reviews) == "text"


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
