"""A text project trains on sentence embeddings, offline, on SQLite and PostgreSQL: the worker computes
each vector once (rows added later incrementally), training reads them, and TF-IDF stands in until they
are ready. Runs the real model, so it needs the extra (requirements-embeddings.txt)."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from labelling.learning import embeddings
from labelling.learning.embedding_jobs import EmbeddingJobs
from labelling.learning.model_files import load_model
from labelling.learning.projection import MIN_AXES, PoolProjection
from labelling.learning.text_features import status
from labelling.learning.training import train
from labelling.learning.training_settings import with_training_settings
from labelling.learning.worker import orchestrate

pytestmark = pytest.mark.skipif(not embeddings.available(), reason="the embeddings extra is not installed")

GOOD = ["a wonderful, moving film", "great acting and a lovely story", "I enjoyed every minute of it",
        "a delightful and charming movie", "brilliant direction, superb cast"]
BAD = ["a dull, boring mess", "terrible acting and a stupid plot", "I walked out after twenty minutes",
       "an awful waste of money", "tedious, slow and badly written"]


def texts(n: int, start: int = 0) -> tuple[list[dict], list[str]]:
    """n reviews alternating good and bad, each made distinct by its number."""
    rows, labels = [], []
    for i in range(start, start + n):
        label = "good" if i % 2 == 0 else "bad"
        pool = GOOD if label == "good" else BAD
        rows.append({"text": f"{pool[(i // 2) % len(pool)]} (review {i})", "id": i})
        labels.append(label)
    return rows, labels


@pytest.fixture
def no_network(monkeypatch):
    """Opening any connection from Python fails the test; the model is loaded afresh under it."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("something tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    embeddings._encoder.cache_clear()


@pytest.fixture
def project(store):
    """40 reviews, the first 24 labelled."""
    made = store.create_project("reviews", ["good", "bad"], settings={"display": "text", "text_column": "text"})
    rows, labels = texts(40)
    store.add_items(made.id, rows, labels=labels[:24] + [None] * 16)
    return made


def jobs(store, name: str = "w") -> EmbeddingJobs:
    return EmbeddingJobs(store, name, duty_cycle=1.0, slice_seconds=600.0, batch_rows=16)


def test_trains_on_embeddings_computed_once_offline(store, project, no_network):
    first = train(store, project.id, evaluate=False)  # nothing embedded yet: TF-IDF, and the run says so
    assert "TF-IDF of text" in first.model
    assert "0 of 40 items" in first.note

    worker = jobs(store)
    assert worker.work(store.projects()) is False  # all done within the slice
    assert worker.computed == 40
    assert status(store, project).done == 40

    run = train(store, project.id)
    assert run.model == f"Logistic regression on sentence embeddings of text ({embeddings.DEFAULT_MODEL})"
    assert run.note is None
    assert run.scores["cv_accuracy"] >= 0.9  # two clearly different meanings
    # The vectors are read on the principal axes of the project's 40 items, as many as 24 labels support.
    projection = load_model(store, project.id).estimator.named_steps["features"].named_transformers_["vector-0"][-1]
    assert isinstance(projection, PoolProjection)
    assert projection.axes_ == MIN_AXES and len(projection.basis.axes) == 40
    # The stored vectors are the model's own, item by item.
    item = store.next_item(project.id, "someone")
    stored, present = store.embeddings.vectors(project.id, "text", embeddings.DEFAULT_MODEL, [item.id])
    assert present.all()
    np.testing.assert_allclose(stored[0], embeddings.encode([item.data["text"]])[0], atol=1e-5)
    suggestion = store.model_data.prediction(project.id, item.id)
    assert suggestion.label == ("good" if item.data["id"] % 2 == 0 else "bad")

    # Computed once: another pass (another worker, too) finds nothing to do ...
    again = jobs(store, "other")
    again.work(store.projects())
    assert again.computed == 0
    # ... until rows are added: only they are computed.
    rows, _ = texts(5, start=40)
    store.add_items(project.id, rows)
    again.work(store.projects())
    assert again.computed == 5
    assert status(store, project).done == 45


def test_the_worker_computes_them_between_training_checks(store, project, no_network):
    assert orchestrate(store, once=True, duty_cycle=1.0) == 1  # trained (TF-IDF), then embedded
    assert status(store, project).done == 40
    store.request_training(project.id)
    orchestrate(store, once=True, duty_cycle=1.0)
    runs = store.training_runs(project.id)
    assert "TF-IDF of text" in runs[0].model
    assert "sentence embeddings of text" in runs[-1].model


def test_tfidf_by_choice_computes_nothing(store, project):
    store.update_project(project.id, settings=with_training_settings(project, text_features="tfidf"))
    worker = jobs(store)
    worker.work(store.projects())
    assert worker.computed == 0
    run = train(store, project.id, evaluate=False)
    assert "TF-IDF of text" in run.model and run.note is None


def test_without_the_extra_auto_reads_tfidf_and_embeddings_says_why(store, project, monkeypatch):
    monkeypatch.setattr(embeddings, "available", lambda model=embeddings.DEFAULT_MODEL: False)
    worker = jobs(store)
    worker.work(store.projects())
    assert worker.computed == 0
    run = train(store, project.id, evaluate=False)
    assert "TF-IDF of text" in run.model and run.note is None
    chosen = store.update_project(project.id, settings=with_training_settings(project, text_features="embeddings"))
    run = train(store, chosen.id, evaluate=False)
    assert "TF-IDF of text" in run.model
    assert "pip install -r requirements-embeddings.txt" in run.note


def test_a_model_that_does_not_load_is_left_alone(store, project, monkeypatch):
    monkeypatch.setattr(embeddings, "available", lambda model=embeddings.DEFAULT_MODEL: True)
    chosen = store.update_project(
        project.id, settings=with_training_settings(project, embedding_model="/no/such/model")
    )
    worker = jobs(store)
    assert worker.work([chosen]) is False
    assert worker.computed == 0
    assert status(store, chosen).done == 0
