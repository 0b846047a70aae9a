"""Training runs as the worker makes them (`labelling.learning.training.train`), on SQLite and PostgreSQL: the queue's
new order and the suggestions, failures that leave both alone, cold start, NaN, unreadable images,
multi-label, your own estimator, Retrain-now requests and the trainer lease."""

from __future__ import annotations

import functools
import http.server
import socket
import threading

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from _helpers import new_project, wait_for_db_clock
from labelling import Store
from labelling.errors import TrainingBusy
from labelling.storage.engine import read
from labelling.storage.schema import predictions, tasks
from labelling.learning.model_files import load_model, model_dir
from labelling.learning.training import train

SEED = 7


@pytest.fixture(autouse=True)
def model_folder(tmp_path, monkeypatch):
    """Models and fetched images go under the test's folder (PostgreSQL has no file to sit beside)."""
    monkeypatch.setenv("LABELLING_MODEL_DIR", str(tmp_path / "models"))


def priorities(store, project_id) -> dict[int, float]:
    with read(store.engine) as connection:
        rows = connection.execute(
            sa.select(tasks.c.item_id, tasks.c.priority).where(tasks.c.project_id == project_id, ~tasks.c.done)
        )
        return {int(i): float(p) for i, p in rows}


def suggestions(store, project_id) -> dict[int, tuple]:
    with read(store.engine) as connection:
        rows = connection.execute(
            sa.select(predictions.c.item_id, predictions.c.label, predictions.c.probability, predictions.c.run_id)
            .where(predictions.c.project_id == project_id)
        )
        return {int(r.item_id): (r.label, r.probability, r.run_id) for r in rows}


def label_some(store, project_id, label_of, n, labeller="alice") -> list[int]:
    done = []
    for _ in range(n):
        item = store.next_item(project_id, labeller)
        store.submit(project_id, item.id, labeller, label_of(item.data))
        done.append(item.id)
    return done


def number_project(store, n=60, nan_share=0.0, seed=SEED):
    """Two well separated classes on columns x and y (and a column that is mostly empty)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        cls = i % 2
        x, y = rng.normal(3.0 * cls, 1.0), rng.normal(-2.0 * cls, 1.0)
        if rng.random() < nan_share:
            x = float("nan")
        rows.append({"x": x, "y": y, "empty": None if i % 3 else float("nan"), "truth": "ab"[cls]})
    project = new_project(store, labels=("a", "b"), settings={"display": "table", "feature_columns": ["x", "y", "empty"]})
    store.add_items(project.id, rows)
    return project


def truth(data) -> str:
    return data["truth"]


def test_train_reorders_the_queue_once_and_stores_a_suggestion_per_open_item(store, monkeypatch):
    project = number_project(store)
    label_some(store, project.id, truth, 16)
    calls = []
    original = Store.set_priorities
    monkeypatch.setattr(Store, "set_priorities", lambda self, *a: calls.append(len(a[1])) or original(self, *a))

    run = train(store, project.id, seed=SEED)

    assert (run.status, run.trigger, run.n_labels, run.progress) == ("finished", "script", 16, 1.0)
    assert run.model == "Logistic regression on numbers x, y, empty"
    assert run.strategy == "diverse_margin"
    assert set(run.scores) >= {"cv_accuracy", "macro_f1", "per_class", "confusion", "items_scored"}
    assert run.scores["cv_accuracy"] > 0.8 and run.scores["cv_folds"] == 3
    assert run.scores["confusion"]["labels"] == ["a", "b"]
    assert sum(map(sum, run.scores["confusion"]["matrix"])) == 16
    assert run.label_counts == {"a": 8, "b": 8}
    assert calls == [44]  # one bulk call with every open item
    order = priorities(store, project.id)
    assert sorted(order.values()) == list(map(float, range(1, 45)))
    found = suggestions(store, project.id)
    assert set(found) == set(order)
    assert all(0.5 <= p <= 1.0 and r == run.id for _, p, r in found.values())
    item = store.next_item(project.id, "bob")
    assert item.id == max(order, key=order.get)
    suggested = store.model_data.prediction(project.id, item.id)
    assert suggested.label in ("a", "b") and suggested.run_id == run.id
    assert store.model_data.prediction(project.id, 10**9) is None


@pytest.mark.parametrize("where", ["fit", "predict_proba"])
def test_a_model_that_raises_leaves_the_queue_and_suggestions_as_they_were(store, where):
    project = number_project(store)
    label_some(store, project.id, truth, 16)
    train(store, project.id, seed=SEED)
    order, suggested = priorities(store, project.id), suggestions(store, project.id)

    class Broken(LogisticRegression):
        def preprocess(self, x, y):
            return x[["y"]].to_numpy(), y

        def fit(self, x, y):
            if where == "fit":
                raise ValueError("cannot fit this")
            return super().fit(x, y)

        def predict_proba(self, x):
            raise ValueError("cannot predict this")

    with pytest.raises(ValueError, match="cannot"):
        train(store, project.id, model=Broken(), seed=SEED, evaluate=False)

    failed = store.training_runs(project.id)[-1]
    assert failed.status == "failed"
    assert failed.error == f"ValueError: cannot {'fit' if where == 'fit' else 'predict'} this"
    assert priorities(store, project.id) == order
    assert suggestions(store, project.id) == suggested
    assert train(store, project.id, seed=SEED).status == "finished"  # the lease was given back


def test_a_single_labelled_class_keeps_a_random_order_and_says_why(store):
    project = new_project(store, labels=("a", "b"), settings={"display": "text"})
    store.add_items(project.id, [f"item {i}" for i in range(30)], labels=["a"] * 12 + [None] * 18)

    run = train(store, project.id, seed=SEED)

    assert run.status == "finished" and run.model is None and run.scores is None
    assert run.note == (
        "Not trained: all 12 labelled items have the label 'a'; the model needs two different labels. "
        "The queue is in random order until then."
    )
    assert run.label_counts == {"a": 12, "b": 0}
    order = priorities(store, project.id)
    assert sorted(order.values()) == list(map(float, range(1, 19)))
    by_id = [order[i] for i in sorted(order)]
    assert by_id != sorted(by_id, reverse=True)  # not file order
    assert suggestions(store, project.id) == {}
    assert load_model(store, project.id) is None


def test_too_few_labels_is_a_cold_start_too(store):
    project = number_project(store)
    label_some(store, project.id, truth, 4)
    run = train(store, project.id, seed=SEED)
    assert run.note.startswith("Not trained: only 4 labelled items; the model starts at 10.")


def test_nan_in_numeric_columns(store):
    project = number_project(store, nan_share=0.3)
    label_some(store, project.id, truth, 20)
    run = train(store, project.id, seed=SEED)
    assert run.status == "finished" and run.model
    assert run.scores["items_scored"] == 40
    assert all(np.isfinite(p) for _, p, _ in suggestions(store, project.id).values())


class _Images(http.server.SimpleHTTPRequestHandler):
    served: list[str]

    def do_GET(self):
        self.served.append(self.path)
        super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def image_server(tmp_path, monkeypatch):
    """Digit images as PNG files over HTTP, and a list of the paths requested. The server is on 127.0.0.1,
    which the worker fetches from only when the deployer allows private addresses."""
    monkeypatch.setenv("LABELLING_ALLOW_PRIVATE_URLS", "1")
    folder = tmp_path / "images"
    folder.mkdir()
    served: list[str] = []
    handler = type("Handler", (_Images,), {"served": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder, served
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_image_urls_are_left_out_and_reported(store, image_server):
    base, folder, served = image_server
    digits = load_digits()
    rows = []
    for i in range(40):
        target = int(digits.target[i]) % 2  # even / odd digits
        Image.fromarray((digits.images[i] * 15).astype(np.uint8)).save(folder / f"{i}.png")
        rows.append({"image": f"{base}/{i}.png", "parity": "even" if target == 0 else "odd"})
    dead = f"http://127.0.0.1:{closed_port()}/gone.png"
    rows[0]["image"] = dead  # labelled below: left out of the training set
    rows[39]["image"] = f"{base}/missing.png"  # open: goes to the end of the queue
    project = new_project(store, labels=("even", "odd"), settings={"display": "image", "image_column": "image"})
    store.add_items(project.id, rows, labels=[r["parity"] if i < 21 else None for i, r in enumerate(rows)])

    run = train(store, project.id, seed=SEED)

    assert run.status == "finished" and run.model == "Logistic regression on pixels of image"
    assert run.n_labels == 20
    assert run.note.startswith(f"1 labelled items were left out: their image could not be read ({dead}: could not fetch it")
    assert "1 open items have an image that could not be read; they go to the end of the queue" in run.note
    assert run.scores["items_unreadable"] == 1 and run.scores["items_scored"] == 18
    ids = store.export(project.id)["item_id"].tolist()
    order = priorities(store, project.id)
    assert order[ids[39]] == min(order.values())
    assert ids[39] not in suggestions(store, project.id)
    listed, _ = store.problems.open(project.id)  # both reach the reviewers' list of problems
    assert [(p.item_id, p.kind) for p in listed] == [(ids[0], "unreadable"), (ids[39], "unreadable")]
    assert listed[1].comment == f"{base}/missing.png: could not fetch it (HTTP 404)"
    fetched = len(served)
    assert fetched == 39  # every reachable URL (and the 404) once

    train(store, project.id, seed=SEED)
    assert len(served) == fetched + 1  # cached: only the missing file is asked for again
    assert all(p.is_file() for p in (model_dir(store) / "image-cache").iterdir())


def test_a_multi_label_project_trains_one_versus_rest(store):
    project = new_project(store, labels=("red", "round"), multi_label=True, settings={"display": "text"})
    texts = ["red ball", "red box", "blue ball", "blue box"] * 8
    store.add_items(project.id, texts)

    def tags(text):
        return [t for t, word in (("red", "red"), ("round", "ball")) if word in text]

    label_some(store, project.id, tags, 16)
    run = train(store, project.id, seed=SEED)
    assert run.status == "finished" and run.model.endswith("(one-vs-rest)")
    assert set(run.scores["confusion"]) == {"red", "round"}
    assert run.label_counts == {"red": 8, "round": 8}
    by_text = dict(zip(store.export(project.id)["item_id"], texts))
    for item_id, (label, probability, _) in suggestions(store, project.id).items():
        assert tuple(sorted(eval(label))) == tuple(sorted(tags(by_text[item_id])))  # JSON list of tags
        assert 0.5 <= probability <= 1.0


def test_your_own_estimator_with_preprocess(store):
    project = number_project(store)
    label_some(store, project.id, truth, 16)
    seen = []

    class Mine:
        """Not a scikit-learn estimator: only fit, predict_proba and preprocess."""

        def preprocess(self, x, y):
            seen.append(type(x).__name__)
            return x[["x", "y"]].fillna(0.0).to_numpy(), y

        def fit(self, x, y):
            self.model = LogisticRegression().fit(x, y)
            self.classes_ = self.model.classes_
            return self

        def predict_proba(self, x):
            return self.model.predict_proba(x)

    run = train(store, project.id, model=Mine(), seed=SEED)
    assert run.status == "finished" and run.model == "Mine"
    assert run.scores["cv_accuracy"] > 0.8
    assert set(seen) == {"DataFrame"}
    assert len(suggestions(store, project.id)) == 44


def test_retrain_requests_are_filed_once_and_taken_by_the_next_run(store):
    project = number_project(store)
    label_some(store, project.id, truth, 12)
    first = store.request_training(project.id)
    again = store.request_training(project.id)
    assert first == again and first.status == "queued"
    run = train(store, project.id, seed=SEED)
    assert (run.id, run.trigger, run.status) == (first.id, "request", "finished")
    assert store.request_training(project.id).id != first.id  # a new request after it ran


def test_one_training_per_project_and_a_dead_runs_lease_expires(store):
    project = number_project(store)
    label_some(store, project.id, truth, 12)
    # A worker that took the lease and started a run, then died.
    assert store.runs.claim_lease(project.id, "dead-worker", 1.0)
    dead = store.runs.start(project.id, "labels")
    with pytest.raises(TrainingBusy):
        train(store, project.id)
    assert not store.runs.claim_lease(project.id, "another", 1.0)

    lease_ends = store.runs.state(project.id).now + 1.0
    wait_for_db_clock(store, lease_ends)
    run = train(store, project.id, seed=SEED)

    assert run.status == "finished"
    earlier = {r.id: r for r in store.training_runs(project.id)}[dead.id]
    assert (earlier.status, earlier.error) == ("failed", "the process training it stopped before finishing")


def test_models_are_saved_in_the_apps_folder_and_loaded_only_from_there(store, tmp_path):
    project = number_project(store)
    label_some(store, project.id, truth, 12)
    runs = [train(store, project.id, seed=SEED, evaluate=False) for _ in range(5)]
    folder = model_dir(store) / f"project-{project.id}"
    assert folder.is_relative_to(tmp_path / "models")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"run-{r.id}.joblib" for r in runs[-3:])
    model = load_model(store, project.id)
    x, keep, _ = model.inputs([{"x": 3.0, "y": -2.0}, {"x": 0.0, "y": 0.0}])
    assert model.predict(model.probabilities(x))[0] == ["b", "a"]


def test_the_model_learns_the_final_labels_reviewers_and_gold_included(store):
    """Training takes each item's final label as export does: a reviewer's over the majority, and gold
    items (which nobody labels) with their known label."""
    project = number_project(store)
    store.people.add("rita", "reviewer")
    by_x = {}
    labelled = label_some(store, project.id, truth, 16)
    rows = store.export(project.id).set_index("item_id")
    overruled = labelled[0]  # alice says what it is; the reviewer says otherwise
    given = truth(rows.loc[overruled].to_dict())
    reviewed = {"a": "b", "b": "a"}[given]
    store.adjudicate(project.id, overruled, "rita", reviewed)
    unlabelled = [int(i) for i in rows.index if int(i) not in labelled]
    gold, gold_label = unlabelled[0], truth(rows.loc[unlabelled[0]].to_dict())
    store.set_gold(project.id, [gold], [gold_label])
    for item_id in rows.index:
        by_x[float(rows.loc[item_id, "x"])] = int(item_id)
    fitted = {}

    class Recorder:
        def preprocess(self, x, y):
            return x, y

        def fit(self, x, y):
            fitted.update({by_x[float(v)]: label for v, label in zip(x["x"], y)})
            self.model = LogisticRegression().fit(x[["x", "y"]].fillna(0.0).to_numpy(), y)
            self.classes_ = self.model.classes_
            return self

        def predict_proba(self, x):
            return self.model.predict_proba(x[["x", "y"]].fillna(0.0).to_numpy())

    run = train(store, project.id, model=Recorder(), evaluate=False, seed=SEED)
    assert run.status == "finished" and run.n_labels == 17
    assert set(fitted) == {*labelled, gold}
    assert fitted[overruled] == reviewed
    assert fitted[gold] == gold_label
