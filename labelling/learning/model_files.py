"""Where trained models are kept: a folder per database, a file per run, the newest few kept."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import joblib

from labelling.learning import models
from labelling.settings import Settings
from labelling.storage.runs import RunStatus
from labelling.storage.store import Store

__all__ = ["KEEP_MODELS", "delete_project", "load_model", "model_dir", "model_path", "save_model"]

KEEP_MODELS = 3
"""Saved models kept per project (older files are deleted)."""
MAX_NAME_CHARACTERS = 60


def model_dir(store: Store) -> Path:
    """Where this app keeps models and fetched images for this database: a folder named after the
    database inside the `model_dir` setting ($LABELLING_MODEL_DIR), else inside `models/` beside the SQLite file, else inside
    `models/` in the working directory (so two databases never share a model file)."""
    database = store.model_data.location()
    configured = Settings.load().model_dir
    if configured:
        root = Path(configured)
    elif database.file is not None:
        root = database.file.parent / "models"
    else:
        root = Path.cwd() / "models"
    digest = hashlib.sha256(database.identity.encode("utf-8")).hexdigest()[:10]
    return root.resolve() / f"{_safe(database.name)}-{digest}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:MAX_NAME_CHARACTERS]


def model_path(store: Store, project_id: int, run_id: int) -> Path:
    return model_dir(store) / f"project-{int(project_id)}" / f"run-{int(run_id)}.joblib"


def delete_project(store: Store, project: int | str) -> None:
    """Delete a project and everything of it: its rows (`Store.delete_project`) and its saved models, which
    a later project given the same id (SQLite reuses ids) must never load. What the Setup page and the
    command line call."""
    project_id = store.project(project).id
    store.delete_project(project_id)
    shutil.rmtree(model_dir(store) / f"project-{project_id}", ignore_errors=True)


def load_model(store: Store, project_id: int) -> models.TrainedModel | None:
    """The latest saved model of a project, from this app's model directory only (never another path)."""
    for run in reversed(store.runs.all(project_id)):
        path = model_path(store, project_id, run.id)
        if run.status == RunStatus.FINISHED and run.model and path.is_file():
            return joblib.load(path)
    return None


def save_model(trained: models.TrainedModel, path: Path, run_id: int) -> str | None:
    """Save a run's model and delete all but the newest KEEP_MODELS of its project; None, or why it could
    not be saved (e.g. your estimator cannot be pickled: the run still counts)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        joblib.dump(trained, partial)
        os.replace(partial, path)
    except Exception as error:
        return f"The model was not saved ({type(error).__name__}: {error})."
    saved = sorted(
        (p for p in path.parent.glob("run-*.joblib") if p.stem.removeprefix("run-").isdigit()),
        key=lambda p: int(p.stem.removeprefix("run-")),
    )
    for old in saved[:-KEEP_MODELS]:
        if int(old.stem.removeprefix("run-")) < run_id:
            old.unlink(missing_ok=True)
    return None
