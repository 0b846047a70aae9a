"""Box and span projects on SQLite and PostgreSQL: the queue (submit, undo, skip, gold, overlap, progress,
per-labeller figures, export) works for them unchanged, and a label outside the image, past the end of the
text, of an unknown class or overlapping where the project forbids it is refused with nothing written."""

from __future__ import annotations

import base64
import io
import json

import pandas as pd
import pytest
from _helpers import ids_by_data, item_ids, new_project
from PIL import Image

from labelling import InvalidInput
from labelling.io import export
from labelling.records import Box, Boxes, Span, Spans, Task

TEXTS = ["Ann works at Acme.", "Bob met Cy in Rome.", "Nothing here."]


def png_uri(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def box_project(store, **options):
    project = new_project(
        store, ("cat", "dog"), task="boxes", settings={"display": "image", "image_column": "image"}, **options
    )
    store.add_items(project.id, [{"image": png_uri(40, 30), "name": f"i{n}"} for n in range(3)])
    return project


def span_project(store, **options):
    project = new_project(store, ("PER", "ORG", "LOC"), task="spans", **options)
    store.add_items(project.id, TEXTS)
    return project


def boxes(*found, size=(40, 30)) -> dict:
    return {"width": size[0], "height": size[1], "boxes": [dict(zip("xywh", b[:4]), label=b[4]) for b in found]}


def test_a_box_project_keeps_its_task_and_labels_round_trip(store):
    project = box_project(store)
    assert store.project(project.id).options.task is Task.BOXES
    item = store.next_item(project.id, "alice")
    annotation, following = store.submit_and_next(project.id, item.id, "alice", boxes((1, 2, 10.5, 5, "cat")))
    assert annotation.label == Boxes(40, 30, (Box(1.0, 2.0, 10.5, 5.0, "cat"),))
    assert following is not None and following.id != item.id
    again = store.undo(project.id, "alice")
    assert (again.id, again.my_label) == (item.id, annotation.label)
    store.submit(project.id, item.id, "alice", boxes())  # an image with nothing to box
    store.skip(project.id, following.id, "alice")
    progress = store.progress(project.id)
    assert (progress.complete, progress.per_labeller["alice"].labels, progress.per_labeller["alice"].skips) == (1, 1, 1)
    frame = store.export(project.id).set_index("item_id")
    assert frame.loc[item.id, "label"] == Boxes(40, 30, ())
    written = pd.read_csv(io.BytesIO(export.to_csv(store.export(project.id)))).set_index("item_id")
    assert json.loads(written.loc[item.id, "label"]) == {"width": 40, "height": 30, "boxes": []}


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (boxes((35, 2, 10, 5, "cat")), "reaches outside the 40x30 image"),
        (boxes((1, 2, 0, 5, "cat")), "no area"),
        (boxes((1, 2, 3, 5, "cow")), "not in the label set"),
        (boxes((1, 2, 3, 5, "cat"), size=(80, 60)), "the image is 40x30"),
        ({"boxes": "many"}, "a box label is"),
        ("not json", "must be JSON"),
    ],
)
def test_a_bad_box_is_refused_and_nothing_is_written(store, label, message):
    project = box_project(store)
    item = store.next_item(project.id, "alice")
    with pytest.raises(InvalidInput, match=message):
        store.submit(project.id, item.id, "alice", label)
    assert store.annotations(project.id).empty
    assert store.next_item(project.id, "alice").id == item.id  # still mine to label


def test_spans_submit_undo_skip_and_export(store):
    project = span_project(store)
    ids = ids_by_data(store, project.id)
    first = store.next_item(project.id, "alice")
    assert first.id == ids[TEXTS[0]]
    label = [[13, 17, "ORG"], [0, 3, "PER"]]  # spaCy-style, in any order
    annotation = store.submit(project.id, first.id, "alice", label)
    assert annotation.label == Spans((Span(0, 3, "PER"), Span(13, 17, "ORG")))
    again = store.undo(project.id, "alice")
    assert again.my_label == annotation.label
    store.submit(project.id, first.id, "alice", {"spans": [{"start": 0, "end": 3, "label": "PER"}]})
    second = store.next_item(project.id, "alice")
    store.skip(project.id, second.id, "alice")
    frame = store.export(project.id).set_index("item_id")
    assert frame.loc[first.id, "label"] == Spans((Span(0, 3, "PER"),))
    assert store.progress(project.id).per_labeller["alice"].skips == 1


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ([[13, 19, "ORG"]], "past the end of the text"),
        ([[0, 3, "PER"], [2, 8, "ORG"]], "overlap"),
        ([[3, 3, "PER"]], "empty or backwards"),
        ([[0, 3, "DOG"]], "not in the label set"),
        ([[0, 3, "PER"], [0, 3, "PER"]], "given twice"),
    ],
)
def test_a_bad_span_is_refused_and_nothing_is_written(store, label, message):
    project = span_project(store)
    item = store.next_item(project.id, "alice")
    with pytest.raises(InvalidInput, match=message):
        store.submit(project.id, item.id, "alice", label)
    assert store.annotations(project.id).empty


def test_overlapping_spans_when_the_project_allows_them(store):
    project = span_project(store, settings={"overlapping_spans": True})
    item = store.next_item(project.id, "alice")
    assert len(store.submit(project.id, item.id, "alice", [[0, 3, "PER"], [0, 17, "ORG"]]).label.spans) == 2


def test_gold_and_adjudication_are_checked_against_the_item(store):
    project = span_project(store, overlap=2)
    ids = ids_by_data(store, project.id)
    with pytest.raises(InvalidInput, match="past the end"):
        store.set_gold(project.id, [ids[TEXTS[2]]], [[[0, 40, "LOC"]]])
    assert store.gold(project.id).empty
    store.set_gold(project.id, [ids[TEXTS[2]]], [{"spans": []}])
    store.set_gold_rate(project.id, 1.0)
    item = store.next_item(project.id, "alice")
    assert item.id == ids[TEXTS[2]]
    store.submit(project.id, item.id, "alice", [[0, 7, "ORG"]])
    finals = store.final_labels(project.id).set_index("item_id")
    assert finals.loc[item.id, "label"] == Spans(()) and finals.loc[item.id, "source"] == "gold"
    store.people.add("rita", "reviewer")
    with pytest.raises(InvalidInput, match="past the end"):
        store.adjudicate(project.id, ids[TEXTS[0]], "rita", [[0, 30, "PER"]])
    assert store.adjudicate(project.id, ids[TEXTS[0]], "rita", [[0, 3, "PER"]]) == Spans((Span(0, 3, "PER"),))


def test_a_box_or_span_project_is_not_multi_label_and_knows_its_task(store):
    with pytest.raises(InvalidInput, match="not multi-label"):
        new_project(store, ("a",), task="spans", multi_label=True)
    with pytest.raises(InvalidInput, match="task must be one of"):
        new_project(store, ("a",), task="polygons")
    with pytest.raises(InvalidInput, match="iou_threshold"):
        new_project(store, ("a",), task="boxes", settings={"iou_threshold": 0})
    assert store.projects() == []


def test_labels_loaded_with_the_items_are_checked_against_each_item(store):
    project = new_project(store, ("PER",), task="spans")
    with pytest.raises(InvalidInput, match="label of row 2: span 1 .* past the end"):
        store.add_items(project.id, ["Ann", "Bo"], [[[0, 3, "PER"]], [[0, 3, "PER"]]])
    assert store.add_items(project.id, ["Ann", "Bo"], [[[0, 3, "PER"]], None]) == 2
    assert store.export(project.id)["label"].tolist() == [Spans((Span(0, 3, "PER"),)), None]


def test_a_class_used_by_a_box_cannot_be_removed(store):
    project = box_project(store)
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", boxes((1, 2, 3, 4, "dog")))
    with pytest.raises(InvalidInput, match="dog"):
        store.update_project(project.id, labels=["cat"])
    assert store.update_project(project.id, labels=["dog"]).labels == ("dog",)


def test_a_span_project_from_a_csv_file_as_the_setup_page_makes_it(store):
    from labelling.setup import csv_import

    with pytest.raises(InvalidInput, match="as text"):
        csv_import.build_settings(["text"], "table", table_columns=["text"], task="spans")
    settings = csv_import.build_settings(
        ["text", "spans"], "text", text_column="text", label_column="spans", task="spans", overlapping_spans=True
    )
    source = io.BytesIO(b'text,spans\nAnn,"[[0, 3, ""PER""]]"\nBo,\n')
    project, added = csv_import.import_csv(store, source, name="csv spans", labels=["PER"], settings=settings)
    assert (project.options.task, project.options.overlapping_spans, added) == (Task.SPANS, True, 2)
    assert store.export(project.id)["label"].tolist() == [Spans((Span(0, 3, "PER"),)), None]


def test_two_labellers_on_a_box_project_agreement_review_and_final_labels(store):
    project = box_project(store, overlap=2)
    ids = item_ids(store, project.id)
    drawn = {
        "alice": [boxes((0, 0, 10, 10, "cat")), boxes((0, 0, 10, 10, "cat"), (20, 20, 5, 5, "dog"))],
        "bob": [boxes((2, 0, 10, 10, "cat")), boxes((0, 0, 10, 10, "cat"))],
    }
    for name, labels in drawn.items():
        for label in labels:
            item = store.next_item(project.id, name)
            store.submit(project.id, item.id, name, label)
    finals = store.final_labels(project.id).set_index("item_id")
    assert finals.loc[ids[0], "label"] == Boxes(40, 30, (Box(1.0, 0.0, 10.0, 10.0, "cat"),))  # IoU 2/3 >= 0.5
    assert finals.loc[ids[1], "label"] == Boxes(40, 30, (Box(0.0, 0.0, 10.0, 10.0, "cat"),))  # the dog: 1 of 2
    found = store.agreement(project.id).shapes
    assert found.f1 == pytest.approx(2 * 2 / (2 + 3)) and found.items == 2
    assert found.per_class.set_index("label").loc["dog", "f1"] == 0.0
    listed, count = store.review_items(project.id)
    assert count == 1 and listed[0].item_id == ids[1] and listed[0].agreement == pytest.approx(2 / 3)
    assert store.review_items(project.id, label="dog")[1] == 1 and store.review_items(project.id, label="cow")[1] == 0
    store.people.add("rita", "reviewer")
    store.adjudicate(project.id, ids[1], "rita", drawn["alice"][1])
    assert store.export(project.id).set_index("item_id").loc[ids[1], "label"].boxes[1].label == "dog"
    stats = store.labeller_stats(project.id).set_index("labeller")
    assert stats.loc["bob", "agreement"] == pytest.approx((1 + 2 / 3) / 2)  # mean F1 against the final labels


def test_models_are_not_trained_for_box_projects(store):
    from labelling.errors import NotTrainable
    from labelling.learning import training, worker

    project = box_project(store)
    for _ in range(3):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", boxes())
    with pytest.raises(NotTrainable, match="models are trained for classification and span projects, not for boxes"):
        store.request_training(project.id)
    with pytest.raises(NotTrainable):
        training.train(store, project.id)
    assert worker.orchestrate(store, once=True, every_labels=1) == 0
    assert store.training_runs(project.id) == []


def test_a_projects_task_cannot_change_but_its_settings_can(store):
    project = box_project(store)
    with pytest.raises(InvalidInput, match="task cannot change"):
        store.update_project(project.id, settings={"image_column": "image"})
    with pytest.raises(InvalidInput, match="iou_threshold"):
        store.update_project(project.id, settings={**project.settings, "iou_threshold": 2})
    assert store.project(project.id).options.iou_threshold == 0.5
    changed = store.update_project(project.id, settings={**project.settings, "iou_threshold": 0.75})
    assert (changed.options.task, changed.options.iou_threshold) == (Task.BOXES, 0.75)
    classify = new_project(store, ("a",))
    with pytest.raises(InvalidInput, match="task cannot change"):
        store.update_project(classify.id, settings={"task": "spans"})


def test_renaming_and_merging_classes_rewrite_boxes_and_spans(store):
    """A class lives inside a box or span label: a rename or merge rewrites it there (and nowhere else), keeps
    each label's earlier value in the history, and a merge that makes two spans the same keeps one."""
    project = box_project(store)
    item = store.next_item(project.id, "alice")
    store.submit(project.id, item.id, "alice", boxes((1, 2, 10, 5, "cat"), (20, 2, 5, 5, "dog")))
    change = store.manage.rename_label(project.id, "cat", "kitten", by="admin")
    assert change.annotations == 1
    assert store.export(project.id).set_index("item_id").loc[item.id, "label"] == Boxes(
        40, 30, (Box(1.0, 2.0, 10.0, 5.0, "kitten"), Box(20.0, 2.0, 5.0, 5.0, "dog"))
    )
    assert store.project(project.id).labels == ("kitten", "dog")

    spans = span_project(store, settings={"overlapping_spans": True})
    ids = ids_by_data(store, spans.id)
    marked = {"spans": [{"start": 0, "end": 3, "label": "PER"}, {"start": 0, "end": 3, "label": "ORG"}]}
    store.submit(spans.id, ids[TEXTS[0]], "alice", marked)
    store.manage.merge_labels(spans.id, "ORG", "PER", by="admin")
    assert store.export(spans.id).set_index("item_id").loc[ids[TEXTS[0]], "label"] == Spans((Span(0, 3, "PER"),))
    assert [c.annotations for c in store.manage.label_history(spans.id)] == [1]
