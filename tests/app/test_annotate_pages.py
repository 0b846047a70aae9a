"""Box and span projects on the Label, Setup and Review pages through AppTest: the editor instead of label
buttons, Submit/Skip/Undo, the starting value (my earlier label, else the suggestion), the task chosen on
Setup, and the reviewer's choice between labellers' versions. Drawing itself needs a browser
(tests/e2e/test_annotate_browser.py); AppTest submits what the editor started from."""

from __future__ import annotations

import base64
import io

import pyarrow as pa
import pytest
from PIL import Image

from labelling.records import Box, Boxes, Span, Spans, Task
from ui import annotate

TEXTS = ["Ada met Bob in Paris.", "Nothing here."]


def png(width: int = 40, height: int = 30) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "#abc").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
def boxes_project(store):
    made = store.create_project(
        "faces", ["face", "hand"], task="boxes", settings={"display": "image", "image_column": "image"}
    )
    store.add_items(made.id, [{"image": png()}, {"image": png(50, 20)}])
    return made


@pytest.fixture
def spans_project(store):
    made = store.create_project("names", ["PER", "LOC"], task="spans", settings={"display": "text", "text_column": "text"})
    store.add_items(made.id, [{"text": text} for text in TEXTS])
    return made


def editors(at) -> list:
    return list(at.get("bidi_component"))


def notices(at) -> list[str]:
    """The warnings shown, less the local-mode banner."""
    return [w.value for w in at.warning if w.icon != ":material/lock_open:"]


def test_a_box_project_shows_the_editor_and_submit_instead_of_label_buttons(app, store, boxes_project):
    at = app().run()
    assert not at.exception
    assert len(editors(at)) == 1
    assert not [b for b in at.button if b.key and b.key.startswith("label-")]
    assert {"submit", "skip", "undo"} <= {b.key for b in at.button}

    at.button(key="submit").click().run()  # nothing drawn: the image has no boxes (its size read on the server)
    assert not at.exception and not notices(at), notices(at)
    (label,) = store.annotations(boxes_project.id)["label"]
    assert label == Boxes(40, 30, ())

    at.button(key="undo").click().run()
    assert not at.exception
    assert "You labelled this **no boxes**" in at.info[0].value
    at.button(key="skip").click().run()
    assert not at.exception


def test_the_editor_starts_from_my_earlier_label_after_undo(app, store, spans_project):
    first = store.next_item(spans_project.id, "admin")
    mine = Spans((Span(0, 3, "PER"), Span(15, 20, "LOC")))
    store.submit(spans_project.id, first.id, "admin", mine)
    at = app().run()
    at.button(key="undo").click().run()
    assert not at.exception
    assert "You labelled this **2 spans\\: LOC, PER**" in at.info[0].value  # as markdown, escaped
    at.button(key="submit").click().run()  # submitted unchanged: the same label again
    assert store.annotations(spans_project.id).query("current")["label"].tolist() == [mine]


def test_an_imported_prediction_is_the_starting_point(app, store, spans_project):
    ids = [int(i) for i in store.export(spans_project.id)["item_id"]]
    predicted = Spans((Span(8, 11, "PER"),))
    store.item_labels.write_predictions(spans_project.id, ids[:1], [predicted], [0.4])
    at = app().run()
    assert "The model suggests **1 span\\: PER** (40% sure)" in at.caption[0].value
    at.button(key="submit").click().run()  # accepted as it stands
    assert store.annotations(spans_project.id)["label"].tolist() == [predicted]


def test_a_wrong_value_from_the_browser_is_refused_with_a_notice(app, store, spans_project):
    at = app().run()
    item = store.next_item(spans_project.id, "admin")
    start = annotate.starting_value(item)
    # what a tampered browser could send: a span past the end of the text
    at.session_state[annotate.editor_key(item.id, start)] = {"value": {"spans": [{"start": 5, "end": 99, "label": "PER"}]}}
    at.button(key="submit").click().run()
    assert not at.exception
    assert "span" in " ".join(notices(at)), notices(at)
    assert store.annotations(spans_project.id).empty


def test_summary_and_starting_value():
    assert annotate.summary(Boxes(4, 3, (Box(0, 0, 1, 1, "b"), Box(1, 1, 1, 1, "a")))) == "2 boxes: a, b"
    assert annotate.summary(Boxes(4, 3, (Box(0, 0, 1, 1, "a"),))) == "1 box: a"
    assert annotate.summary(Spans()) == "no spans"
    assert annotate.summary(("a", "b")) == "a, b"
    assert annotate.summary("a") == "a"
    assert annotate.as_json(Spans((Span(0, 2, "X"),))) == {"spans": [{"start": 0, "end": 2, "label": "X"}]}
    assert annotate.as_json("a") is None
    assert annotate.editor_key(3, None) != annotate.editor_key(3, {"spans": []})


def test_setup_makes_a_span_project_with_overlapping_spans(app, store):
    at = app().run()
    if [t.value for t in at.title] != ["Setup"]:
        at.switch_page("pages/setup.py").run()
    at.file_uploader(key="new-csv-0").set_value(("names.csv", b"text\nAda met Bob.\nIn Paris.\n", "text/csv")).run()
    at.radio(key="task-0").set_value(Task.SPANS).run()
    assert not at.exception
    assert not [r for r in at.radio if r.key == "display-0"]  # spans are marked in text: no other way to show
    assert len(editors(at)) == 1  # the preview is the editor over the first row
    at.toggle(key="overlapping-0").set_value(True)
    at.text_area(key="labels-0-None-False").input("PER\nLOC")
    at.button(key="create-0").click().run()
    assert not at.exception and not at.error
    (made,) = store.projects()
    assert (made.options.task, made.options.overlapping_spans, made.labels) == (Task.SPANS, True, ("PER", "LOC"))


@pytest.fixture
def two_versions(store, boxes_project):
    """Overlap 2: ann and bob boxed both images: the same face (a little apart), and bob a hand too; rita
    reviews."""
    store.set_overlap(boxes_project.id, 2)
    versions = {"ann": (Box(1, 1, 10, 10, "face"),), "bob": (Box(3, 1, 10, 8, "face"), Box(20, 10, 5, 5, "hand"))}
    for name, boxes in versions.items():
        store.people.add(name)
        for _ in range(2):
            item = store.next_item(boxes_project.id, name)
            size = (40, 30) if item.data["image"] == png() else (50, 20)
            store.submit(boxes_project.id, item.id, name, Boxes(*size, boxes))
    _, token = store.people.add("rita", "reviewer")
    ids = [int(i) for i in store.export(boxes_project.id)["item_id"]]
    return ids, versions, token


def test_the_reviewer_sees_both_versions_and_accepts_or_sets_one(app, store, boxes_project, two_versions):
    ids, versions, token = two_versions
    at = app(token=token, password="pw").run()
    at.switch_page("pages/review.py").run()
    assert not at.exception
    assert len(editors(at)) == 4  # per card: both versions one over another, and the final version's editor
    assert not [s for s in at.selectbox if s.key == "review-label"]  # a class filter means nothing for boxes
    at.button(key=f"accept-{ids[1]}-bob").click().run()
    assert not at.exception
    at.button(key=f"adjudicate-{ids[0]}").click().run()  # the final version as it started: the labellers' merge
    assert not at.exception
    final = store.final_labels(boxes_project.id).set_index("item_id")["label"]
    assert final[ids[0]] == Boxes(40, 30, (Box(2, 1, 10, 9, "face"),))  # the face both drew, at their mean
    assert final[ids[1]] == Boxes(50, 20, versions["bob"])


def test_the_progress_page_shows_f1_between_labellers_of_a_box_project(app, store, boxes_project, two_versions):
    at = app().run()
    at.switch_page("pages/progress.py").run()
    assert not at.exception
    f1 = {m.label: m.value for m in at.metric}
    # ann's face matches bob's on both images (IoU 0.8); bob's hands match nothing: 2 * 2 / (2 + 4).
    assert f1["F1 between labellers"] == "0.67" and f1["Items labelled by two or more"] == "2"
    (pairs,) = [d.value for d in at.dataframe if "f1" in d.value.columns and "labeller_a" in d.value.columns]
    assert pairs[["labeller_a", "labeller_b", "items"]].values.tolist() == [["ann", "bob", 2]]
    assert "Agreement needs items labelled by two or more people" not in " ".join(c.value for c in at.caption)
    # The label distribution counts boxes per class: ann's two faces, bob's two faces and two hands.
    (tally,) = [c.proto for c in at.get("vega_lite_chart") if '"field": "boxes"' in c.proto.spec]
    counted = pa.ipc.open_stream(tally.datasets[0].data.data).read_all().to_pandas()
    assert dict(zip(counted["label"], counted["boxes"])) == {"face": 4, "hand": 2}
