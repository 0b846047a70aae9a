"""How a run reads a project's text columns: TF-IDF, or the sentence embeddings the worker stored.

The project's training setting `text_features` chooses: "tfidf"; "embeddings"; or "auto" (the default),
embeddings when the extra is installed. Either way embeddings are used only once they are ready
(READY_SHARE of the project's items have a vector for every text column): until then the run reads
TF-IDF, so labelling never waits for the worker (`labelling.learning.embedding_jobs`) to finish. A run
never computes vectors itself; it reads them through `Store.embeddings` and puts them in place of the
text, which the model then reads as an EMBEDDING column (unit-norm vectors, `features.preprocessor`).
A saved model whose description names sentence embeddings (`model_files.load_model`) therefore wants the
vectors in those columns: pass it `Reading.values(...)`, or `embeddings.encode` of the texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from labelling.io.serialisation import decode
from labelling.learning import embeddings, features, models, projection
from labelling.learning.training_settings import TrainingSettings, training_settings
from labelling.records import Project, Task
from labelling.storage.store import Store

__all__ = ["BASIS_ROWS", "INSTALL", "READY_SHARE", "SAMPLE_ROWS", "EmbeddingStatus", "Reading", "feature_key",
           "project_columns", "reading", "status"]

READY_SHARE = 0.99
"""Embeddings are used once this share of the items has them: rows added a moment ago (read as a typical
item until the worker reaches them) do not send the whole model back to TF-IDF."""
SAMPLE_ROWS = 1000
"""Items read to tell which columns hold text (as `features.feature_columns` does)."""
BASIS_ROWS = 10_000
"""Stored vectors, drawn at random from the project's items, that an embedded column's principal axes are
fitted on: plenty for 384 axes, and a run on a million items reads 15 MB for it, not 1.5 GB."""
INSTALL = "pip install -r requirements-embeddings.txt"
OTHER_MODEL_INSTALL = "pip install sentence-transformers and the CPU build of torch"


def feature_key(column: features.Column) -> str:
    """The name a column's vectors are stored under: the item's field, "" for an item that is the text."""
    return column.name or ""


@dataclass(frozen=True)
class EmbeddingStatus:
    """Where a project's sentence embeddings stand."""

    model: str
    features: tuple[str, ...]
    """The text columns to embed (`feature_key`); empty when text is read as TF-IDF by choice or there
    is no text column."""
    available: bool
    """The packages the model needs are installed."""
    done: int
    """Items with a vector for every text column."""
    total: int

    @property
    def wanted(self) -> bool:
        return bool(self.features)

    @property
    def ready(self) -> bool:
        return self.wanted and self.available and self.total > 0 and self.done >= READY_SHARE * self.total

    @property
    def install(self) -> str:
        """What to install for the model."""
        return INSTALL if self.model == embeddings.DEFAULT_MODEL else OTHER_MODEL_INSTALL


def project_columns(store: Store, project: Project) -> list[features.Column]:
    """The model's columns as read from a sample of the project's items (the worker and the Train page;
    a run reads them from its labelled items)."""
    values = [decode(data) for data in store.embeddings.sample(project.id, SAMPLE_ROWS)]
    return features.feature_columns(project.options, values) if values else []


def status(
    store: Store,
    project: Project,
    columns: Sequence[features.Column] | None = None,
    settings: TrainingSettings | None = None,
) -> EmbeddingStatus:
    """The project's embedding status for its text columns (`columns`, default: `project_columns`). None
    are wanted when text is read as TF-IDF, the project's model is one of your own (it reads raw items) or
    it is a span project (its tagger reads tokens)."""
    settings = settings or training_settings(project)
    model = settings.embedding_model
    if settings.text_features == "tfidf" or settings.model not in models.MODELS or project.options.task is Task.SPANS:
        return EmbeddingStatus(model, (), embeddings.available(model), 0, 0)
    if columns is None:
        columns = project_columns(store, project)
    keys = tuple(feature_key(c) for c in columns if c.kind == features.TEXT)
    counts = [store.embeddings.progress(project.id, key, model) for key in keys]
    done = min((d for d, _ in counts), default=0)
    total = counts[0][1] if counts else 0
    return EmbeddingStatus(model, keys, embeddings.available(model), done, total)


@dataclass(frozen=True)
class Reading:
    """How one run reads items: the model's columns (embedded text as EMBEDDING), the embedding model, and
    a note for the run when embeddings were asked for but could not be used."""

    columns: list[features.Column]
    model: str | None = None
    note: str | None = None
    bases: dict[str | None, projection.Basis] = field(default_factory=dict)
    """The principal axes of each embedded column over the project's items (`projection`), by column name."""

    def describe(self) -> str:
        """The columns in words, naming the embedding model when there is one."""
        words = features.describe(self.columns)
        return f"{words} ({self.model})" if self.model else words

    def values(self, store: Store, project_id: int, ids: Sequence[int], values: Sequence[Any]) -> list[Any]:
        """The decoded items `values` (with their `ids`) with each embedded column's text replaced by its
        stored vector (None where the worker has not reached the item yet)."""
        embedded = [c for c in self.columns if c.kind == features.EMBEDDING]
        if not embedded or self.model is None:
            return list(values)
        out = [dict(v) if isinstance(v, dict) else v for v in values]
        for column in embedded:
            vectors, present = store.embeddings.vectors(project_id, feature_key(column), self.model, ids)
            for row, (vector, found) in enumerate(zip(vectors, present)):
                cell = vector if found else None
                if column.name is None:
                    out[row] = cell
                elif isinstance(out[row], dict):
                    out[row][column.name] = cell
        return out


def reading(store: Store, project: Project, settings: TrainingSettings, values: Sequence[Any], seed: int = 0) -> Reading:
    """How the project's default model reads `values` (decoded labelled items) in this run; `seed` draws
    the items the principal axes of embedded columns are fitted on."""
    columns = features.feature_columns(project.options, values)
    state = status(store, project, columns, settings)
    if not state.wanted:
        return Reading(columns)
    if state.ready:
        embedded = [replace(c, kind=features.EMBEDDING) if c.kind == features.TEXT else c for c in columns]
        return Reading(embedded, state.model, bases=_bases(store, project.id, embedded, state.model, seed))
    if not state.available:
        if settings.text_features == "auto":
            return Reading(columns)
        return Reading(columns, note=f"Text read as TF-IDF: the embedding model {state.model} needs `{state.install}`.")
    return Reading(
        columns,
        note=f"Text read as TF-IDF until its sentence embeddings are ready ({state.done:,} of {state.total:,} items).",
    )


def _bases(
    store: Store, project_id: int, columns: Sequence[features.Column], model: str, seed: int
) -> dict[str | None, projection.Basis]:
    """Each embedded column's principal axes over up to BASIS_ROWS of the project's stored vectors (unit
    length, as the model reads them)."""
    found: dict[str | None, projection.Basis] = {}
    rng = np.random.default_rng(seed)
    for column in columns:
        if column.kind != features.EMBEDDING:
            continue
        key = feature_key(column)
        ids = store.embeddings.stored_item_ids(project_id, key, model)
        drawn = rng.choice(ids, BASIS_ROWS, replace=False) if len(ids) > BASIS_ROWS else ids
        vectors, _ = store.embeddings.vectors(project_id, key, model, drawn)
        basis = projection.fit_basis(embeddings.l2_normalise(vectors))  # None with no stored vectors
        if basis is not None:
            found[column.name] = basis
    return found
