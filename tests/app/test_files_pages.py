"""Files of other tools through the pages: the Export page offers exactly the formats of the project's task (and
its COCO file holds the boxes), the Setup page imports a model's predictions (reordering the queue; a bad file
writes nothing) and makes a box or span project from an annotation file."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

import pytest
from _helpers import expire_leases
from streamlit.runtime.media_file_manager import MediaFileManager

import ui
from labelling.io import formats
from labelling.learning.training_settings import with_training_settings
from labelling.records import Box, Boxes, Span, Spans, Task
from tests.app.test_annotate_pages import TEXTS, png

BOX_DOWNLOADS = ["Download COCO JSON", "Download YOLO (zip)"]
SPAN_DOWNLOADS = ["Download span JSONL", "Download spaCy JSON", "Download IOB/CoNLL"]


def export_page(app, project_id: int, *, tool_files: bool = True):
    at = app()
    at.session_state["project_id"] = project_id  # the project the sidebar starts on
    at.session_state["tool-files"] = tool_files  # "Download for other tools" open (or not)
    return at.run().switch_page("pages/export.py").run()


@pytest.fixture
def deferred(monkeypatch) -> dict:
    """{file name: what its download button builds when clicked}: the callables the page hands Streamlit."""
    found = {}
    add = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        found[file_name] = data_callable
        return add(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return found


def setup_page(app):
    return app().run().switch_page("pages/setup.py").run()


def tool_downloads(at) -> list[str]:
    return [b.label for b in at.download_button if b.key.startswith("download-tool-")]


def as_shown(markdown: str) -> str:
    """Markdown as the page shows it: the escapes of ui.literal gone."""
    return re.sub(r"\\(.)", r"\1", markdown)


def create_from_file(at, upload: tuple[str, bytes, str], guessed: str, classes: str) -> None:
    """Upload an annotation file on the Setup page, check the format it guesses and the classes it offers,
    and create the project."""
    at.file_uploader(key="annotation-file-0").set_value(upload)
    at.run()
    assert at.selectbox(key="annotation-format-0").value == guessed
    assert at.text_area(key=f"annotation-labels-0-{guessed}").value == classes
    at.button(key="annotation-create-0").click().run()
    assert not at.exception and not errors(at), errors(at)


def errors(at) -> list[str]:
    """The errors as shown (their Markdown source: `at.error[n].value`)."""
    return [as_shown(e.value) for e in at.error]


def test_the_export_page_offers_exactly_the_tasks_formats_and_coco_holds_the_boxes(app, store):
    classify = store.create_project("plain", ["a", "b"], settings={"display": "text"})
    store.add_items(classify.id, ["one"])
    at = export_page(app, classify.id)
    assert not at.exception
    assert tool_downloads(at) == []  # the first project, classification: its tables only

    boxes = store.create_project("faces", ["face", "hand"], task="boxes", settings={"display": "image", "image_column": "image"})
    store.add_items(boxes.id, [{"image": png()}, {"image": png(50, 20)}])
    drawn = Boxes(40, 30, (Box(1, 2, 10, 8, "hand"), Box(5, 5, 20, 20, "face")))
    first = store.next_item(boxes.id, "admin")
    store.submit(boxes.id, first.id, "admin", drawn)
    at = export_page(app, boxes.id, tool_files=False)
    assert not at.exception
    assert tool_downloads(at) == []  # the labels are read only when the admin opens "Download for other tools"
    at = export_page(app, boxes.id)
    assert not at.exception
    assert tool_downloads(at) == BOX_DOWNLOADS

    # What the COCO button downloads, read back: the boxes of the one labelled item, in the project's classes.
    coco = formats.EXPORTS["coco"][1](store.project(boxes.id), store.export(boxes.id))
    parsed = formats.read_coco(coco)
    assert parsed.classes == ("face", "hand")
    (label,) = parsed.labels
    assert Boxes(label["width"], label["height"], tuple(Box(**b) for b in label["boxes"])) == drawn
    assert json.loads(coco)["images"][0]["id"] == first.id

    spans = store.create_project("names", ["PER", "LOC"], task="spans", settings={"display": "text", "text_column": "text"})
    store.add_items(spans.id, [{"text": t} for t in TEXTS])
    at = export_page(app, spans.id)
    assert not at.exception
    assert tool_downloads(at) == SPAN_DOWNLOADS


def test_the_export_page_says_why_conll_cannot_hold_overlapping_spans_and_the_others_download(app, store, deferred):
    project = store.create_project(
        "nested", ["PER", "LOC"], task="spans", settings={"display": "text", "text_column": "text", "overlapping_spans": True}
    )
    store.add_items(project.id, [{"text": "New York City"}, {"text": "Ann Lee"}])
    nested, flat = store.export(project.id)["item_id"].tolist()
    store.adjudicate(project.id, nested, "admin", Spans((Span(0, 8, "LOC"), Span(4, 13, "LOC"))))
    store.adjudicate(project.id, flat, "admin", Spans((Span(0, 7, "PER"),)))

    at = export_page(app, project.id)
    assert not at.exception and not errors(at), errors(at)
    buttons = {b.label: b for b in at.download_button if b.key.startswith("download-tool-")}
    assert list(buttons) == SPAN_DOWNLOADS
    assert [label for label, b in buttons.items() if b.disabled] == ["Download IOB/CoNLL"]
    why = f"IOB/CoNLL cannot hold overlapping spans, as in item {nested}; span JSONL and spaCy JSON can"
    assert ui.literal(why) in [w.value for w in at.warning]
    assert buttons["Download IOB/CoNLL"].help == ui.literal(why)

    # the other two download what the library writes: both spans of the nested item kept
    assert "nested-conll.conll" not in deferred  # a disabled button leaves nothing to build
    spacy = json.loads(deferred["nested-spacy.json"]())
    assert spacy == [["New York City", {"entities": [[0, 8, "LOC"], [4, 13, "LOC"]]}], ["Ann Lee", {"entities": [[0, 7, "PER"]]}]]
    lines = [json.loads(line) for line in deferred["nested-spans-jsonl.jsonl"]().splitlines()]
    assert [line["item_id"] for line in lines] == [nested, flat]
    # a file is built from the labels as they are when its button is clicked, not as the page found them
    store.adjudicate(project.id, flat, "admin", Spans((Span(4, 7, "PER"),)))
    lines = [json.loads(line) for line in deferred["nested-spans-jsonl.jsonl"]().splitlines()]
    assert lines[1]["spans"] == [{"start": 4, "end": 7, "label": "PER"}]


def test_predictions_reorder_the_queue_and_a_bad_file_writes_nothing(app, store):
    project = store.create_project("words", ["a", "b"], settings={"display": "text"})
    store.add_items(project.id, ["alpha", "bravo", "charlie"])
    store.update_project(project.id, settings=with_training_settings(project, shuffle_prop=0.0))
    ids = dict(zip(store.export(project.id)["data"], store.export(project.id)["item_id"]))
    at = setup_page(app)
    assert "Import predictions" in [t.label for t in at.tabs]

    bad = f"item_id,label,confidence\n{ids['alpha']},a,0.9\n{ids['bravo']},a,lots\n".encode()
    at.file_uploader(key="predictions-0").set_value(("bad.csv", bad, "text/csv"))
    at.run()
    at.button(key="predictions-import-0").click().run()
    assert not at.exception
    assert any("Nothing was imported" in e and "row 2" in e for e in errors(at)), errors(at)
    assert store.next_item(project.id, "bob").suggestion is None  # nothing written
    store.skip(project.id, store.next_item(project.id, "bob").id, "bob")

    good = "\n".join(
        json.dumps({"item_id": int(ids[w]), "label": "b", "confidence": c})
        for w, c in (("alpha", 0.9), ("bravo", 0.95), ("charlie", 0.51))
    ).encode()
    at.file_uploader(key="predictions-0").set_value(("model.jsonl", good, "application/jsonl"))
    at.run()
    at.button(key="predictions-import-0").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert "Imported 3 predictions" in at.success[0].value
    assert "the queue was reordered: 3 open items by them" in at.success[0].value
    first = store.next_item(project.id, "carol")
    assert first.id == ids["charlie"] and first.suggestion.label == "b"


SPACY = [[text, {"entities": [[0, 3, "PER"], [15, 20, "LOC"]] if "Ada" in text else []}] for text in TEXTS]


def test_an_annotation_file_creates_a_span_project(app, store):
    at = app().run()  # no project yet: the Setup page offers a CSV file or an annotation file
    at.file_uploader(key="annotation-file-0").set_value(("people.json", json.dumps(SPACY).encode(), "application/json"))
    at.run()
    assert not at.exception and not errors(at), errors(at)
    assert at.selectbox(key="annotation-format-0").value == "spacy"  # a JSON list: spaCy, not COCO
    assert at.text_area(key="annotation-labels-0-spacy").value == "PER\nLOC"
    assert at.text_input(key="annotation-name-0").value == "people"
    at.button(key="annotation-create-0").click().run()
    assert not at.exception and not errors(at), errors(at)
    (made,) = store.projects()
    assert made.name == "people" and made.options.task is Task.SPANS and made.labels == ("PER", "LOC")
    labels = store.annotations(made.id)["label"].tolist()
    assert labels == [Spans((Span(0, 3, "PER"), Span(15, 20, "LOC"))), Spans(())]


def test_a_file_that_is_not_the_chosen_format_is_refused_and_creates_nothing(app, store):
    at = app().run()
    at.file_uploader(key="annotation-file-0").set_value(("boxes.json", b'{"images": []}', "application/json"))
    at.run()
    assert not at.exception
    assert any("Cannot read boxes.json as COCO JSON" in e for e in errors(at)), errors(at)
    assert store.projects() == []


def test_a_coco_export_makes_a_box_project_with_the_same_boxes(app, store):
    boxes = store.create_project("faces", ["face", "hand"], task="boxes", settings={"display": "image", "image_column": "image"})
    store.add_items(boxes.id, [{"image": png()}])
    drawn = Boxes(40, 30, (Box(1, 2, 10, 8, "hand"),))
    store.submit(boxes.id, store.next_item(boxes.id, "admin").id, "admin", drawn)
    coco = formats.EXPORTS["coco"][1](store.project(boxes.id), store.export(boxes.id))

    create_from_file(setup_page(app), ("faces-coco.json", coco, "application/json"), "coco", "face\nhand")
    made = store.project("faces-coco")
    assert made.options.task is Task.BOXES
    assert store.annotations(made.id)["label"].tolist() == [drawn]



def test_an_uploaded_yolo_zip_makes_a_box_project(app, store):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("images/hand.png", base64.b64decode(png().partition(",")[2]))
        archive.writestr("labels/hand.txt", "1 0.15 0.2 0.25 0.2\n")
        archive.writestr("classes.txt", "face\nhand\n")
    create_from_file(setup_page(app), ("hands.zip", buffer.getvalue(), "application/zip"), "yolo", "face\nhand")
    made = store.project("hands")
    assert store.annotations(made.id)["label"].tolist() == [Boxes(40, 30, (Box(1, 3, 10, 6, "hand"),))]


def test_predictions_ordered_by_a_score_column(app, store):
    project = store.create_project("words", ["a", "b"], settings={"display": "text"})
    store.add_items(project.id, ["alpha", "bravo"])
    store.update_project(project.id, settings=with_training_settings(project, shuffle_prop=0.0))
    ids = dict(zip(store.export(project.id)["data"], store.export(project.id)["item_id"]))
    rows = f"item_id,label,confidence,u\n{ids['alpha']},a,0.1,0.2\n{ids['bravo']},a,0.9,0.8\n".encode()
    at = setup_page(app)
    at.file_uploader(key="predictions-0").set_value(("p.csv", rows, "text/csv"))
    at.run()
    at.radio(key="predictions-order-0").set_value("score").run()
    at.button(key="predictions-import-0").click().run()
    assert any("name the column" in e for e in errors(at)), errors(at)  # no column named yet
    at.text_input(key="predictions-score-0").input("u")
    at.button(key="predictions-import-0").click().run()
    assert not errors(at), errors(at)
    assert store.next_item(project.id, "carol").id == ids["bravo"]  # the higher score, though more confident


def test_an_annotation_file_attaches_to_the_chosen_projects_items_as_predictions_or_labels(app, store):
    project = store.create_project("names", ["PER", "LOC"], task="spans", settings={"display": "text", "text_column": "text"})
    store.add_items(project.id, [{"text": t} for t in TEXTS])
    ids = dict(zip(store.export(project.id)["text"], store.export(project.id)["item_id"]))
    scored = f'{{"text": "{TEXTS[0]}", "spans": [{{"start": 0, "end": 3, "label": "PER", "score": 0.4}}]}}\n'
    at = setup_page(app)
    at.file_uploader(key="annotation-file-0").set_value(("tagger.jsonl", scored.encode(), "application/jsonl"))
    at.run()
    assert at.radio(key="annotation-use-0").options[1:] == [
        "Label the items of **names** it names (imported labels)",
        "Suggest labels for the items of **names** it names (predictions; ordering the queue)",
    ]
    at.radio(key="annotation-use-0").set_value("predictions").run()
    at.button(key="annotation-attach-0").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert "Attached predictions to 1 item of **names**" in at.success[0].value
    suggestion = store.model_data.prediction(project.id, int(ids[TEXTS[0]]))
    assert (suggestion.label, suggestion.probability) == (Spans((Span(0, 3, "PER"),)), 0.4)

    unknown = '{"text": "Somebody else", "spans": []}\n'
    at.file_uploader(key="annotation-file-1").set_value(("more.jsonl", (scored + unknown).encode(), "application/jsonl"))
    at.run()
    at.radio(key="annotation-use-1").set_value("labels").run()
    at.button(key="annotation-attach-1").click().run()
    assert any("Nothing was attached" in e and "'Somebody else' (entry 2)" in e for e in errors(at)), errors(at)
    assert store.annotations(project.id).empty
    expire_leases(store, int(ids[TEXTS[0]]))  # the admin's Label page held it: a label there would be its second
    at.file_uploader(key="annotation-file-1").set_value(("tagger.jsonl", scored.encode(), "application/jsonl"))
    at.run()
    at.button(key="annotation-attach-1").click().run()
    assert not errors(at), errors(at)
    assert store.export(project.id).set_index("item_id")["label"][ids[TEXTS[0]]] == Spans((Span(0, 3, "PER"),))
    # text of the file in a refusal is shown as typed: an image in Markdown would be fetched from elsewhere
    evil = '{"text": "![](https://evil.example/p.png)", "spans": []}\n'
    at.file_uploader(key="annotation-file-2").set_value(("evil.jsonl", evil.encode(), "application/jsonl"))
    at.run()
    at.radio(key="annotation-use-2").set_value("labels").run()
    at.button(key="annotation-attach-2").click().run()
    [shown] = [e.value for e in at.error]
    assert shown.startswith("Nothing was attached") and r"'\!\[\]\(https\://evil\.example/p\.png\)'" in shown, shown
    # a CoNLL file has no scores: it may label the items, not suggest labels
    at.file_uploader(key="annotation-file-2").set_value(("tagger.conll", f"{TEXTS[0].split()[0]}\tO\n".encode(), "text/plain"))
    at.run()
    at.selectbox(key="annotation-format-2").set_value("conll").run()
    assert at.radio(key="annotation-use-2").options[1:] == ["Label the items of **names** it names (imported labels)"]
