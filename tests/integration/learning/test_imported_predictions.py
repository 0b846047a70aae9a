"""Predictions from a model of your own, on SQLite and PostgreSQL: stored as the items' suggestions, and the
queue ordered as their confidences or scores say (least confident first), for classes, boxes and spans; a
bad prediction writes nothing."""

from __future__ import annotations

import json

import pytest
from _helpers import drain, ids_by_data, new_project

from labelling import Box, Boxes, InvalidInput, Span, Spans, cli
from labelling.learning.imported import import_predictions
from labelling.records import IMPORTED_RUN

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def classify(store):
    project = new_project(store, ("a", "b"))
    store.add_items(project.id, WORDS)
    return project, ids_by_data(store, project.id)


def test_imported_confidences_order_the_queue_least_confident_first(store):
    project, ids = classify(store)
    confidence = {"alpha": 0.9, "bravo": 0.55, "charlie": 0.99, "delta": 0.6, "echo": 0.51}  # foxtrot: none
    rows = "".join(f"{ids[w]},{'b' if c < 0.6 else 'a'},{c}\n" for w, c in confidence.items())
    done = import_predictions(store, project.id, "item_id,label,confidence\n" + rows, shuffle_prop=0.0)
    assert (done.predictions, done.ordered) == (5, 5)
    expected = [ids[w] for w in ("echo", "bravo", "delta", "alpha", "charlie", "foxtrot")]
    first = store.next_item(project.id, "alice")
    assert first.id == ids["echo"]
    assert (first.suggestion.label, first.suggestion.probability, first.suggestion.run_id) == ("b", 0.51, IMPORTED_RUN)
    store.skip(project.id, first.id, "alice")
    assert drain(store, project.id, "bob") == expected


def test_a_score_column_and_per_class_probabilities(store):
    project, ids = classify(store)
    lines = [
        {"item_id": ids[w], "probabilities": {"a": p, "b": 1 - p}, "uncertainty": u}
        for w, p, u in [("alpha", 0.8, 0.1), ("bravo", 0.3, 0.7), ("charlie", 0.5, 0.9)]
    ]
    source = "".join(json.dumps(line) + "\n" for line in lines)
    import_predictions(store, project.id, source, format="jsonl", order="score", score_column="uncertainty", shuffle_prop=0)
    item = store.next_item(project.id, "alice")
    assert item.id == ids["charlie"]
    assert (item.suggestion.label, item.suggestion.probability) == ("a", 0.5)  # the likeliest class (ties: first)
    assert drain(store, project.id, "alice")[:3] == [ids["charlie"], ids["bravo"], ids["alpha"]]
    assert store.undo(project.id, "alice").id == ids["foxtrot"]  # items the file did not name come last


def test_box_and_span_predictions_become_suggestions(store):
    boxes = new_project(store, ("cat",), task="boxes", settings={"image_column": "image"})
    store.add_items(boxes.id, [{"image": f"https://example.org/{n}.png"} for n in range(3)])
    first, second, third = (int(i) for i in store.export(boxes.id)["item_id"])
    predicted = [
        {"item_id": first, "label": {"width": 64, "height": 48, "boxes": [{"x": 1, "y": 2, "w": 3, "h": 4, "label": "cat", "score": 0.9}]}},
        {"item_id": second, "label": {"width": 64, "height": 48, "boxes": [
            {"x": 1, "y": 2, "w": 3, "h": 4, "label": "cat", "score": 0.2}, {"x": 9, "y": 9, "w": 3, "h": 4, "label": "cat", "score": 0.4}]}},
        {"item_id": third, "label": {"width": 64, "height": 48, "boxes": []}, "confidence": 0.5},
    ]
    source = "".join(json.dumps(p) + "\n" for p in predicted)
    import_predictions(store, boxes.id, source, format="jsonl", shuffle_prop=0)
    item = store.next_item(boxes.id, "alice")
    assert item.id == second and item.suggestion.probability == pytest.approx(0.3)  # the mean box score
    assert item.suggestion.label == Boxes(64, 48, (Box(1, 2, 3, 4, "cat"), Box(9, 9, 3, 4, "cat")))
    assert drain(store, boxes.id, "bob", label={"width": 64, "height": 48, "boxes": []}) == [third, first]

    spans = new_project(store, ("PER",), task="spans")
    store.add_items(spans.id, ["Ann and Bob"])
    (only,) = (int(i) for i in store.export(spans.id)["item_id"])
    csv = f'item_id,label,confidence\n{only},"{{""spans"": [[0, 3, ""PER""], [8, 11, ""PER""]]}}",0.7\n'
    import_predictions(store, spans.id, csv)
    suggestion = store.next_item(spans.id, "alice").suggestion
    assert suggestion.label == Spans((Span(0, 3, "PER"), Span(8, 11, "PER"))) and suggestion.probability == 0.7


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("{first},b,0.5\n{second},zebra,0.5\n", "item {second}.*zebra"),
        ("{first},b,1.5\n", "between 0 and 1"),
        ("{first},b,0.5\n{first},a,0.4\n", "more than once"),
        ("{first},b,\n", "no confidence"),
        ("999999,b,0.5\n", "no item 999999"),
    ],
)
def test_a_bad_prediction_writes_nothing(store, rows, message):
    project, ids = classify(store)
    first, second = ids["alpha"], ids["bravo"]
    before = [int(i) for i in store.export(project.id)["item_id"]]
    with pytest.raises((InvalidInput, LookupError), match=message.format(first=first, second=second)):
        import_predictions(store, project.id, "item_id,label,confidence\n" + rows.format(first=first, second=second))
    assert store.next_item(project.id, "alice").suggestion is None
    assert before == [int(i) for i in store.export(project.id)["item_id"]]


def test_the_cli_imports_predictions(db_url, tmp_path, monkeypatch, capsys, open_store):
    store = open_store(db_url)
    project, ids = classify(store)
    (tmp_path / "p.csv").write_text(f"item_id,label,confidence,u\n{ids['delta']},a,0.9,5\n{ids['echo']},a,0.2,1\n")
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["predictions", "p.csv", "--project", project.name, "--score-column", "u", "--seed", "1"]) == 0
    assert "imported 2 predictions" in capsys.readouterr().out
    assert store.next_item(project.id, "alice").id == ids["delta"]
