"""The Train page's text reading: the embeddings' progress, what installing them would gain, and the
choice in the settings form."""

from __future__ import annotations

import numpy as np
import pytest

from labelling.learning import embeddings
from labelling.learning.training_settings import training_settings


@pytest.fixture
def project(store):
    """A text project of 30 reviews, 8 of them with stored vectors (as a worker part-way through leaves it)."""
    made = store.create_project("reviews", ["good", "bad"], settings={"display": "text", "text_column": "text"})
    store.add_items(made.id, [{"text": f"review number {i}"} for i in range(30)])
    ids, _ = store.embeddings.claim(made.id, "text", embeddings.DEFAULT_MODEL, "test", rows=8)
    store.embeddings.write(made.id, "text", embeddings.DEFAULT_MODEL, ids, np.ones((8, 4)))
    return made


def train_page(app):
    at = app().run().switch_page("pages/train.py").run()
    assert not at.exception
    return at


def test_shows_the_embeddings_progress(app, store, project, monkeypatch):
    monkeypatch.setattr(embeddings, "available", lambda model=embeddings.DEFAULT_MODEL: True)
    at = train_page(app)
    lines = [c.value for c in at.caption if c.value.startswith("Embeddings:")]
    assert len(lines) == 1
    assert lines[0].startswith("Embeddings: 8 of 30 items")
    assert "runs read TF-IDF until they are ready" in lines[0]


def test_without_the_extra_says_what_it_would_gain_and_how_to_install_it(app, store, project, monkeypatch):
    monkeypatch.setattr(embeddings, "available", lambda model=embeddings.DEFAULT_MODEL: False)
    at = train_page(app)
    (hint,) = [i.value for i in at.info if "Sentence embeddings" in i.value]
    assert "pip install -r requirements-embeddings.txt" in hint
    assert not [c for c in at.caption if c.value.startswith("Embeddings:")]


def test_the_form_saves_the_text_reading(app, store, project):
    at = train_page(app)
    next(s for s in at.selectbox if s.label == "Read text as").set_value("tfidf")
    next(t for t in at.text_input if t.label == "Embedding model").set_value("/models/my-sentence-model")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    saved = training_settings(store.project(project.id))
    assert (saved.text_features, saved.embedding_model) == ("tfidf", "/models/my-sentence-model")
    # Read as TF-IDF by choice: no progress line, no install hint.
    assert not [c for c in at.caption if c.value.startswith("Embeddings:")]
    assert not [i for i in at.info if "Sentence embeddings" in i.value]
