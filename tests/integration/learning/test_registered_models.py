"""A model of your own chosen by name, as the Train page stores it, on SQLite and PostgreSQL: a factory in a
module on sys.path, registered through the `models` setting, trains a project (its suggestions, queue and
eval_method score); one that cannot be made fails the run with the reason and leaves the queue alone."""

from __future__ import annotations

import pytest

from _helpers import new_project
from labelling.errors import ModelUnavailable
from labelling.io.serialisation import decode
from labelling.learning.training import train
from labelling.learning.training_settings import with_training_settings
from labelling.storage.runs import RunStatus

SEED = 3
FACTORY = '''
import numpy as np
from sklearn.linear_model import LogisticRegression


class OnNumbers(LogisticRegression):
    """Reads the items' columns x and y (it sees the items' data, not the project's features)."""

    def preprocess(self, x, y):
        return x[["x", "y"]].to_numpy(), y


def make():
    return OnNumbers()


def train_accuracy(model, x, y):
    return np.mean(model.predict(x) == y)


make.eval_method = train_accuracy
'''


@pytest.fixture(autouse=True)
def registered(tmp_path, monkeypatch):
    """`registered_numbers:make` in a module on sys.path, registered as `numbers` through the setting."""
    (tmp_path / "registered_numbers.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LABELLING_MODELS", "numbers=registered_numbers:make, gone=not_installed_anywhere:make")
    monkeypatch.setenv("LABELLING_MODEL_DIR", str(tmp_path / "models"))


def numbers_project(store, model: str):
    """40 items on two separated clusters, 16 of them labelled; the project's model is `model`."""
    rows = [{"x": float(i % 2) * 4 + i % 5 * 0.1, "y": -float(i % 2) * 3, "truth": "ab"[i % 2]} for i in range(40)]
    project = new_project(store, settings={"display": "table", "feature_columns": ["x", "y"]})
    store.add_items(project.id, rows, labels=[r["truth"] if i < 16 else None for i, r in enumerate(rows)])
    settings = with_training_settings(store.project(project.id), ["logistic_regression", model], model=model)
    store.update_project(project.id, settings=settings)
    return store.project(project.id)


def test_a_registered_factory_trains_the_project_that_chose_it(store):
    project = numbers_project(store, "numbers")
    run = train(store, project.id, seed=SEED)
    assert run.status == RunStatus.FINISHED
    assert run.model == "numbers (registered_numbers:make): OnNumbers"
    assert run.scores["eval_score"] == 1.0  # its own eval_method, on the labelled items
    assert run.scores["cv_accuracy"] == 1.0 and run.scores["items_scored"] == 24
    open_items = store.model_data.open_item_ids(project.id)
    for item_id, data in store.model_data.items_by_id(project.id, open_items).items():
        assert store.model_data.prediction(project.id, item_id).label == decode(data)["truth"]


def test_a_model_that_cannot_be_made_fails_the_run_with_the_reason(store):
    project = numbers_project(store, "gone")
    with pytest.raises(ModelUnavailable):
        train(store, project.id, seed=SEED)
    (run,) = store.training_runs(project.id)
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "ModelUnavailable: the model not_installed_anywhere:make cannot be loaded: "
        "ModuleNotFoundError: No module named 'not_installed_anywhere'"
    )
    assert store.model_data.prediction(project.id, store.model_data.open_item_ids(project.id)[0]) is None
