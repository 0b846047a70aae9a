"""Vector columns and embedded text in the default model's features, and the text_features training
settings, without a database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelling import InvalidInput, Project
from labelling.learning import embeddings
from labelling.learning.features import EMBEDDING, VECTOR, Column, describe, preprocessor, to_frame
from labelling.learning.training_settings import training_settings, with_training_settings


def project(settings: dict | None = None) -> Project:
    return Project(1, "p", ("a", "b"), False, 1, "", settings or {}, 0.0)


@pytest.mark.parametrize("kind", [VECTOR, EMBEDDING])
def test_vector_columns_are_scaled_to_unit_length_not_standardised(kind):
    rows = [np.array([3.0, 4.0, 0.0]), np.array([0.0, 0.5, 0.0]), np.array([1.0, np.nan, 1.0])]
    frame = to_frame([{"v": r} for r in rows], [Column("v", kind)]).data
    out = preprocessor([Column("v", kind)]).fit_transform(frame)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    # Directions are kept (a standard scaler would centre each dimension and change them).
    np.testing.assert_allclose(out[0], [0.6, 0.8, 0.0], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.0, 1.0, 0.0], atol=1e-6)
    # A missing value takes the column's median (here of 4 and 0.5) before the row is scaled.
    np.testing.assert_allclose(out[2], embeddings.l2_normalise([[1.0, 2.25, 1.0]])[0], atol=1e-6)


def test_a_missing_embedding_reads_as_a_typical_row():
    frame = to_frame([{"t": np.array([1.0, 0.0])}, {"t": None}, {"t": np.array([0.0, 1.0])}], [Column("t", EMBEDDING)])
    out = preprocessor([Column("t", EMBEDDING)]).fit_transform(frame.data)
    assert frame.keep.all() and np.isfinite(out).all()
    np.testing.assert_allclose(out[1], embeddings.l2_normalise([[0.5, 0.5]])[0], atol=1e-6)


def test_described_in_words():
    assert describe([Column("review", EMBEDDING), Column("v", VECTOR)]) == "sentence embeddings of review; values of v"


def test_text_features_settings_default_and_validate():
    settings = training_settings(project())
    assert (settings.text_features, settings.embedding_model) == ("auto", embeddings.DEFAULT_MODEL)
    updated = with_training_settings(project(), text_features="tfidf", embedding_model="  /models/mpnet  ")
    assert updated["training"]["text_features"] == "tfidf"
    assert updated["training"]["embedding_model"] == "/models/mpnet"
    stored = project({"training": updated["training"]})
    assert training_settings(stored).text_features == "tfidf"
    for bad in ({"text_features": "bert"}, {"embedding_model": ""}, {"embedding_model": "x" * 201},
                {"embedding_model": 3}):
        with pytest.raises(InvalidInput):
            with_training_settings(project(), **bad)
    assert training_settings(project({"training": {"text_features": "words"}})).text_features == "auto"


def test_frames_of_vectors_keep_one_row_per_item():
    frame = to_frame([np.ones(4), np.zeros(4)], [Column(None, EMBEDDING)])
    assert isinstance(frame.data, pd.DataFrame) and len(frame.data) == 2
