"""A span project trained by the worker (`worker.orchestrate`, one pass), on SQLite and PostgreSQL: the run
and its span F1, the tagger's spans as the open items' suggestions, and the queue least sure token first."""

from __future__ import annotations

import pytest
from _city_sentences import city_sentences
from _helpers import drain, ids_by_data, new_project

from labelling.io.serialisation import decode
from labelling.io.shapes import parse_spans
from labelling.learning import spans
from labelling.learning.worker import orchestrate
from labelling.records import Spans

LABELLED = 30
F1_BAR = 0.8
CV_F1_BAR = 0.75
"""Cross-validated on the labelled texts: each fold's tagger learns from two thirds of them."""


@pytest.fixture(autouse=True)
def model_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELLING_MODEL_DIR", str(tmp_path / "models"))


def city_project(store, shuffle_prop: float = 0.0):
    """60 sentences (LOC spans on cities); the first LABELLED handed out are labelled by alice."""
    found = city_sentences(60, seed=5)
    truth = {text: parse_spans(marked, ["LOC"], text) for text, marked in found}
    project = new_project(store, ("LOC",), task="spans", settings={"training": {"shuffle_prop": shuffle_prop}})
    store.add_items(project.id, list(truth))
    for _ in range(LABELLED):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", truth[item.data])
    return project, truth


def test_the_worker_trains_a_span_project_suggests_spans_and_orders_by_token_uncertainty(store):
    project, truth = city_project(store)

    assert orchestrate(store, once=True, duty_cycle=1.0) == 1

    (run,) = store.training_runs(project.id)
    assert (run.status, run.trigger, run.n_labels) == ("finished", "labels", LABELLED)
    assert (run.model, run.strategy) == (spans.DESCRIPTION, "margin")
    assert run.scores["cv_folds"] == 3 and run.scores["span_f1"] > CV_F1_BAR
    assert run.scores["items_scored"] == len(truth) - LABELLED
    ids = ids_by_data(store, project.id)
    labelled = store.model_data.labelled(project.id)
    assert run.label_counts == {"LOC": sum(len(label.spans) for label in labelled.labels)}

    texts = [text for text, item_id in ids.items() if item_id not in set(labelled.ids)]
    suggested = {text: store.model_data.prediction(project.id, ids[text]) for text in texts}
    assert all(s.run_id == run.id and isinstance(s.label, Spans) and 0 < s.probability <= 1 for s in suggested.values())
    on_open = spans.span_scores([truth[t] for t in texts], [suggested[t].label for t in texts], ["LOC"])
    assert on_open["span_f1"] > F1_BAR, on_open

    # The same tagger, fitted on the same labels, says how unsure it is of each open item: the queue follows.
    tagger = spans.SpanTagger().fit([decode(value) for value in labelled.data], labelled.labels)
    uncertainty = {text: tagged.uncertainty for text, tagged in zip(texts, tagger.predict(texts))}
    by_id = {ids[text]: u for text, u in uncertainty.items()}
    order = drain(store, project.id, "bob", label={"spans": []})
    assert [by_id[i] for i in order] == sorted(by_id.values(), reverse=True)
    assert max(by_id.values()) > min(by_id.values())


def test_a_span_project_whose_every_labelled_word_is_a_span_is_not_trained_and_says_why(store):
    project = new_project(store, ("LOC",), task="spans")
    store.add_items(project.id, ["Paris", "Rome", "Oslo", "Lima", "Bern", "Kyiv", "Doha", "Riga", "Baku", "Cork", "Nice", "Graz"])
    while (item := store.next_item(project.id, "alice")) is not None:
        text = store.export(project.id).set_index("item_id")["data"][item.id]
        store.submit(project.id, item.id, "alice", {"spans": [{"start": 0, "end": len(text), "label": "LOC"}]})
    store.request_training(project.id)

    assert orchestrate(store, once=True, duty_cycle=1.0) == 1

    (run,) = store.training_runs(project.id)
    assert run.status == "finished"
    assert run.note.startswith("Not trained: every labelled word is inside a span: mark texts with unmarked words too")


def test_a_span_project_without_spans_yet_is_not_trained_and_says_why(store):
    project = new_project(store, ("LOC",), task="spans")
    store.add_items(project.id, [text for text, _ in city_sentences(12, seed=6)])
    for _ in range(12):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", {"spans": []})
    store.request_training(project.id)

    assert orchestrate(store, once=True, duty_cycle=1.0) == 1

    (run,) = store.training_runs(project.id)
    assert (run.status, run.trigger, run.model) == ("finished", "request", None)
    assert run.note.startswith("Not trained: no labelled item has a span yet; the tagger needs some to learn from.")
