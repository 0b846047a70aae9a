"""The Setup page: demo projects, a project from an uploaded CSV, appending rows, editing; every bad file
gives a clear message and writes nothing."""

from __future__ import annotations

import pytest
from streamlit import config

from tests.app.test_files_pages import as_shown

REVIEWS = b"text,stars,sentiment\ngreat kettle,5,pos\nbroke in a week,1,neg\nit is fine,3,\n"


def upload(at, raw: bytes, name: str = "data.csv", key: str = "new-csv-0"):
    at.file_uploader(key=key).set_value((name, raw, "text/csv"))
    return at.run()


def setup_page(app):
    at = app().run()  # Setup is where the admin lands while there is no project
    if [t.value for t in at.title] != ["Setup"]:
        at.switch_page("pages/setup.py").run()
    assert [t.value for t in at.title] == ["Setup"]
    return at


def errors(at) -> str:
    return " | ".join(as_shown(e.value) for e in at.error)


def create(at):
    return at.button(key="create-0").click().run()


# Demo projects


@pytest.mark.parametrize("demo, first_label", [("reviews", "positive"), ("digits", "0")])
def test_one_click_demo_project(app, store, demo, first_label):
    at = setup_page(app)
    at.button(key=f"demo-{demo}").click().run()
    assert not at.exception
    assert "Created" in at.success[0].value
    (made,) = store.projects()
    assert made.labels[0] == first_label
    assert store.progress(made.id).total in (210, 1797)
    at.switch_page("pages/label.py").run()
    assert not at.exception
    assert at.button(key="label-0").label == first_label


# A new project from a CSV file


def test_empty_rows_are_left_out_and_the_page_says_how_many(app, store):
    at = upload(setup_page(app), b"text,stars\ngreat kettle,5\n,\nfine,3\n,\n", "reviews.csv")
    at.text_area(key="labels-0-None-False").input("pos\nneg")
    create(at)
    assert not at.exception and not at.error, errors(at)
    assert "with 2 items (2 empty rows left out)" in at.success[0].value
    (made,) = store.projects()
    assert store.export(made.id)["text"].tolist() == ["great kettle", "fine"]


def test_create_a_project_from_an_uploaded_csv(app, store):
    at = upload(setup_page(app), REVIEWS, "reviews.csv")
    assert not at.error
    assert at.text_input(key="name-0").value == "reviews"
    assert at.selectbox(key="text-0").value == "text"  # the longest text column is the default
    at.selectbox(key="label-column-0").select("sentiment").run()
    assert at.text_area(key="labels-0-sentiment-False").value == "pos\nneg"  # offered from the column, in order
    at.text_area(key="labels-0-sentiment-False").input("pos\nneg\nmeh")
    at.multiselect(key="features-0-text-sentiment").select("stars")
    at.number_input(key="overlap-0").set_value(2)
    at.text_area(key="instructions-0").input("Be *kind*.")
    create(at)
    assert not at.exception and not at.error
    (made,) = store.projects()
    assert made.labels == ("pos", "neg", "meh")
    assert made.overlap == 2
    assert made.instructions == "Be *kind*."
    assert made.settings == {
        "display": "text",
        "text_column": "text",
        "image_column": None,
        "table_columns": [],
        "feature_columns": ["text", "stars"],
        "label_column": "sentiment",
    }
    exported = store.export(made.id)
    assert exported["text"].tolist() == ["great kettle", "broke in a week", "it is fine"]
    assert "sentiment" not in exported.columns  # the labels became annotations, not item data
    assert store.annotations(made.id)["label"].tolist() == ["pos", "neg"]


def test_the_label_set_comes_from_the_whole_file_not_the_preview(app, store):
    rows = [f"review {i},{'pos' if i % 2 else 'neg'}" for i in range(2_500)]
    rows[2_400] = "review 2400,rare"  # past the 2,000-row preview
    at = upload(setup_page(app), ("text,sentiment\n" + "\n".join(rows) + "\n").encode())
    at.selectbox(key="label-column-0").select("sentiment").run()
    assert at.text_area(key="labels-0-sentiment-False").value == "neg\npos\nrare"  # as the file gives them
    create(at)
    assert not at.exception and not at.error
    (made,) = store.projects()
    assert made.labels == ("neg", "pos", "rare") and store.progress(made.id).complete == 2_500


def test_table_display_and_multi_label(app, store):
    raw = b"name,colour,tags\npen,red,office|cheap\nmug,blue,kitchen\n"
    at = upload(setup_page(app), raw)
    at.radio(key="display-0").set_value("table").run()
    at.selectbox(key="label-column-0").select("tags").run()
    at.toggle(key="multi-0").set_value(True).run()
    assert at.text_area(key="labels-0-tags-True").value.splitlines() == ["office", "cheap", "kitchen"]
    create(at)
    assert not at.error, errors(at)
    (made,) = store.projects()
    assert made.multi_label and made.settings["table_columns"] == ["name", "colour"]
    assert store.annotations(made.id)["label"].tolist() == [("office", "cheap"), ("kitchen",)]


IRIS = (
    b"sepal_length,sepal_width,petal_length,petal_width,species\n"
    b"5.1,3.5,1.4,,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n"
)


def test_a_numeric_file_defaults_to_a_table_without_its_labels_and_is_previewed(app, store):
    at = upload(setup_page(app), IRIS, "iris.csv")
    assert at.radio(key="display-0").value == "table"
    assert at.selectbox(key="label-column-0").value == "species"  # never shown, never learnt from
    measurements = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert at.multiselect(key="table-0").value == measurements
    assert at.multiselect(key="features-0-table-species").value == measurements
    assert at.text_area(key="labels-0-species-False").value == "setosa\nversicolor\nvirginica"
    shown = at.dataframe[-1].value  # the preview's item: the same table the Label page draws
    assert shown["field"].tolist() == measurements
    assert shown["value"].tolist() == ["5.1", "3.5", "1.4", ""]  # an empty cell shows empty, not nan
    assert [b.label for b in at.button if b.key and b.key.startswith("preview-label-")] == [
        "setosa", "versicolor", "virginica"
    ]
    create(at)
    assert not at.error, errors(at)
    (made,) = store.projects()
    assert made.settings["table_columns"] == measurements and made.settings["label_column"] == "species"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"text;label\nhello;a\nbye;b\n", id="semicolon"),
        pytest.param(b"text\tlabel\nhello\ta\nbye\tb\n", id="tab"),
        pytest.param("text,label\ncafé,a\nnaïve,b\n".encode("latin-1"), id="latin-1"),
        pytest.param("text,label\ncafé,a\nnaïve,b\n".encode("utf-16"), id="utf-16-bom"),
    ],
)
def test_delimiter_and_encoding_are_detected(app, store, raw):
    at = upload(setup_page(app), raw)
    assert not at.error, errors(at)
    assert at.dataframe[0].value.columns.tolist() == ["text", "label"]
    assert at.selectbox(key="label-column-0").value == "label"  # guessed from its name
    assert at.text_area(key="labels-0-label-False").value == "a\nb"
    create(at)
    assert not at.error, errors(at)
    (made,) = store.projects()
    assert store.export(made.id)["text"].tolist()[:1] in (["hello"], ["café"])


@pytest.mark.parametrize(
    "raw, message",
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"text,label\n", "header but no rows", id="header-only"),
        pytest.param(b"1,2\n3,4\n", "looks like data, not a header", id="no-header"),
        pytest.param(b"a,a\n1,2\n", "duplicate column names: a", id="duplicate-columns"),
        pytest.param(b"a,b\n1,2\n3,4,5\n", "fields", id="ragged-rows"),
        pytest.param(b"a,b\n1,2\n3\n", "fields", id="short-row"),
        pytest.param(bytes(range(256)) * 8, "not a text CSV file", id="binary"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(200), "not a text CSV file", id="png-renamed"),
    ],
)
def test_bad_files_give_a_clear_message_and_write_nothing(app, store, raw, message):
    at = upload(setup_page(app), raw)
    assert not at.exception
    assert message in errors(at)
    assert not any(b.key == "create-0" for b in at.button)
    assert store.projects() == []


def test_file_over_the_upload_limit(app, store):
    previous = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        at = upload(setup_page(app), b"text\n" + b"x" * 2_000_000 + b"\n")
    finally:
        config.set_option("server.maxUploadSize", previous)
    assert "over the 1 MB limit" in errors(at)
    assert store.projects() == []


def test_one_column_file_gets_a_hint(app):
    at = upload(setup_page(app), b"text label\nhello a\n")
    assert "single column" in at.warning[-1].value


def test_label_values_outside_the_label_set_write_nothing(app, store):
    at = upload(setup_page(app), REVIEWS)
    at.selectbox(key="label-column-0").select("sentiment").run()
    at.text_area(key="labels-0-sentiment-False").input("pos")  # "neg" is missing
    create(at)
    assert "'neg' is not in the label set" in errors(at)
    assert "Nothing was created" in errors(at)
    assert store.projects() == []


def test_empty_label_set_is_refused(app, store):
    at = upload(setup_page(app), REVIEWS)
    create(at)
    assert "label set is empty" in errors(at)
    assert store.projects() == []


# Appending rows and editing a project


def test_append_rows(app, store, csv_project):
    at = setup_page(app)
    upload(at, b"text,sentiment\nsecond,neg\nthird,\n", key="append-csv-0")
    at.button(key="append-0").click().run()
    assert not at.error, errors(at)
    assert "Added 2 items" in at.success[0].value
    assert store.progress(csv_project.id).total == 3
    assert store.annotations(csv_project.id)["label"].tolist() == ["pos", "neg"]


def test_append_with_a_missing_column_is_refused(app, store, csv_project):
    at = upload(setup_page(app), b"body\nsecond\n", key="append-csv-0")
    assert "has no column 'text'" in errors(at)
    assert not any(b.key == "append-0" for b in at.button)
    assert store.progress(csv_project.id).total == 1


def test_edit_labels_and_instructions(app, store, csv_project):
    at = setup_page(app)
    at.text_area[-2].input("pos\nneg\nmixed")
    at.text_area[-1].input("New *rules*.")
    at.button[-1].click().run()
    assert not at.error, errors(at)
    assert store.project(csv_project.id).labels == ("pos", "neg", "mixed")
    assert store.project(csv_project.id).instructions == "New *rules*."


def test_removing_a_label_in_use_is_refused(app, store, csv_project):
    at = setup_page(app)
    at.text_area[-2].input("neg")
    at.button[-1].click().run()
    assert "cannot be removed: 'pos'" in errors(at)
    assert store.project(csv_project.id).labels == ("pos", "neg")



def test_a_single_label_set_is_warned_about_before_it_is_made(app, store):
    at = upload(setup_page(app), REVIEWS, "reviews.csv")
    at.text_area(key="labels-0-None-False").input("pos").run()
    assert [w for w in at.warning if "With one label ('pos'): every item gets the same answer" in as_shown(w.value)]
    at.text_area(key="labels-0-None-False").input("pos\nneg").run()
    assert not [w for w in at.warning if "one label" in w.value]
