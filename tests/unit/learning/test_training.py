"""Training without a database: when a project is due, the diversity step, reading items as features,
models and their evaluation, training settings and cold-start reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelling import InvalidInput, Project
from labelling.learning.diversity import candidates, diverse_ranking
from labelling.errors import ImageUnavailable
from labelling.records import ProjectSettings
from labelling.learning.fetch import UrlPolicy
from labelling.learning.features import Column, ImageLoader, ImagePixels, describe, feature_columns, to_frame
from labelling.learning.models import TrainedModel, default_estimator, evaluate, label_probabilities
from labelling.storage.runs import RunStatus, TrainingRun, TrainingState
from labelling.learning.training import MIN_LABELS, _cold_start
from labelling.learning.training_settings import training_settings, with_training_settings
from labelling.learning.worker import due


def run(status: RunStatus, started_at: float | None = 100.0) -> TrainingRun:
    return TrainingRun(1, 1, status, "labels", 90.0, started_at, None, 0.0, 10, None, None, None, None, None, None, None)


def state(*, queued=None, last=None, new_labels=0, now=200.0, lease_taken=False) -> TrainingState:
    return TrainingState(queued, last, new_labels, now, lease_taken)


@pytest.mark.parametrize(
    "situation, expected",
    [
        (state(queued=run(RunStatus.QUEUED, None)), "request"),
        (state(new_labels=MIN_LABELS), "labels"),  # never trained, enough labels for a first model
        (state(new_labels=MIN_LABELS - 1), None),  # never trained: a run would fail for too few labels
        (state(), None),  # never trained, nothing labelled
        (state(last=run(RunStatus.FINISHED), new_labels=19), None),
        (state(last=run(RunStatus.FINISHED), new_labels=20), "labels"),
        (state(last=run(RunStatus.FAILED), new_labels=20), "labels"),
        (state(last=run(RunStatus.FINISHED), new_labels=1, now=100.0 + 300.0), "schedule"),
        (state(last=run(RunStatus.FINISHED), new_labels=0, now=10_000.0), None),  # nothing new: no retrain
        (state(last=run(RunStatus.RUNNING), new_labels=50, lease_taken=True), None),  # someone is on it
        (state(last=run(RunStatus.RUNNING), lease_taken=False), "retry"),  # its worker died
    ],
)
def test_when_a_project_is_due(situation, expected):
    assert due(situation, every_labels=20, every_seconds=300.0) == expected


def test_diverse_ranking_starts_with_the_item_nearest_each_clusters_centre():
    # Six uncertain candidates in two tight groups (near-duplicates), four certain items.
    scores = np.array([0.90, 0.95, 0.94, 0.93, 0.50, 0.92, 0.91, 0.10, 0.20, 0.30])
    chosen = candidates(scores, batch_size=2, per_batch=3)
    assert chosen.tolist() == [1, 2, 3, 5, 6, 0]
    group_a = {1, 2, 3}
    features = np.array([[0.0, 0.0] if i in group_a else [10.0, 10.0] for i in chosen]) + 0.01 * np.arange(6)[:, None]
    ranking = diverse_ranking(scores, chosen, features, 2, np.random.default_rng(0))
    order = np.argsort(-ranking).tolist()
    assert order[:2] == [2, 6]  # the middle of group a, the middle of group b
    assert order[2:] == [1, 3, 5, 0, 4, 9, 8, 7]  # then everything else by score
    assert sorted(ranking) == list(map(float, range(1, 11)))
    again = diverse_ranking(scores, chosen, features, 2, np.random.default_rng(0))
    assert np.array_equal(ranking, again)


def test_diverse_ranking_copes_with_identical_candidates_and_one_cluster():
    scores = np.array([0.3, 0.9, 0.8])
    same = np.zeros((3, 4))
    ranking = diverse_ranking(scores, np.array([1, 2, 0]), same, 3, np.random.default_rng(1))
    assert sorted(ranking) == [1.0, 2.0, 3.0]
    single = diverse_ranking(scores, np.array([1]), same[:1], 1, np.random.default_rng(1))
    assert np.argsort(-single).tolist() == [1, 2, 0]


def test_feature_columns_are_read_from_the_settings_and_the_values():
    values = [
        {"review": "fine", "stars": "4", "price": 3.5, "photo": "http://x/a.png", "label": "good"},
        {"review": "bad", "stars": "", "price": None, "photo": "b.jpg", "label": "bad"},
    ]
    settings = {"display": "text", "text_column": "review", "feature_columns": ["review", "stars", "price", "photo", "label"], "label_column": "label"}
    columns = feature_columns(ProjectSettings.of(settings), values)
    assert columns == [Column("review", "text"), Column("stars", "number"), Column("price", "number"), Column("photo", "image")]
    assert describe(columns) == "TF-IDF of review; pixels of photo; numbers stars, price"
    shown_text = ProjectSettings(display="text", text_column="review")
    assert feature_columns(shown_text, values) == [Column("review", "text")]
    assert feature_columns(ProjectSettings(), ["plain text"]) == [Column(None, "text")]
    assert feature_columns(ProjectSettings(), [np.zeros((8, 8))]) == [Column(None, "image")]
    assert feature_columns(ProjectSettings(), [np.zeros(3)]) == [Column(None, "vector")]


def test_to_frame_turns_missing_and_bad_numbers_into_nan_and_drops_unreadable_images():
    columns = [Column("n", "number"), Column("t", "text"), Column("img", "image")]
    values = [
        {"n": "1,000", "t": None, "img": np.ones((4, 4, 3))},
        {"n": "n/a", "t": "x", "img": np.arange(16.0).reshape(4, 4)},
        {"n": float("inf"), "t": "y", "img": "/no/such/file.png"},
        {"n": 2, "t": "z", "img": np.zeros(5)},
    ]
    frame = to_frame(values, columns, ImageLoader(None, media_roots=[Path("/no")]))
    assert frame.keep.tolist() == [True, True, False, False]
    assert frame.problems == ["/no/such/file.png: no such file", "ndarray: an array of shape (5,) is not an image"]
    assert frame.data["c0"].tolist()[0] == 1000.0 and np.isnan(frame.data["c0"].tolist()[1])
    assert frame.data["c1"].tolist() == ["", "x"]
    grey = frame.data["c2"][1]
    assert grey.dtype == np.float32 and grey.min() == 0.0 and grey.max() == 1.0


def test_an_unreachable_url_is_unavailable_and_not_tried_twice():
    loader = ImageLoader(None, urls=UrlPolicy(allow_private=True, timeout=2))  # a local port: allowed here
    with pytest.raises(ImageUnavailable, match="could not fetch it"):
        loader.load("http://127.0.0.1:9/nothing.png")  # the discard port: refused
    with pytest.raises(ImageUnavailable, match="could not fetch it"):
        loader.load("http://127.0.0.1:9/nothing.png")
    assert list(loader.failed) == ["http://127.0.0.1:9/nothing.png"] and loader.fetched == 0


def test_image_pixels_learns_one_shape_from_the_training_images():
    images = pd.DataFrame({"c0": [np.ones((64, 48), np.float32), np.ones((64, 48), np.float32), np.ones((10, 10), np.float32)]})
    pixels = ImagePixels(side=32).fit(images)
    assert pixels.shape_ == (32, 24)
    assert pixels.transform(images).shape == (3, 32 * 24)


def separable(n=30, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"c0": np.r_[rng.normal(0, 0.3, n // 2), rng.normal(3, 0.3, n - n // 2)], "c1": rng.normal(size=n)})
    return frame, ["a"] * (n // 2) + ["b"] * (n - n // 2)


def test_evaluate_gives_the_cross_validated_figures():
    columns = [Column("x", "number"), Column("noise", "number")]
    model = TrainedModel(default_estimator("logistic_regression", columns, False), ("a", "b", "c"), False, columns)
    x, y = separable()
    scores = evaluate(model, x, y)
    assert scores["cv_accuracy"] == 1.0 and scores["cv_folds"] == 3
    assert scores["confusion"] == {"labels": ["a", "b", "c"], "matrix": [[15, 0, 0], [0, 15, 0], [0, 0, 0]]}
    assert scores["per_class"]["a"] == {"precision": 1.0, "recall": 1.0, "support": 15}
    assert scores["macro_f1"] == 1.0  # over the labels present
    assert evaluate(model, x.iloc[:2], y[:2]) is None


def test_a_fold_with_a_single_class_is_left_out():
    columns = [Column("x", "number")]
    model = TrainedModel(default_estimator("logistic_regression", columns, False), ("a", "b"), False, columns)
    x = pd.DataFrame({"c0": np.arange(10.0)})
    scores = evaluate(model, x, ["a"] * 9 + ["b"])
    # The fold testing the one "b" trains on "a" alone: left out. The other two test 3 + 3 "a"s.
    assert scores["cv_folds"] == 2
    assert scores["confusion"] == {"labels": ["a", "b"], "matrix": [[6, 0], [0, 0]]}


def test_probabilities_are_checked():
    class Wrong:
        classes_ = np.array(["a", "b"])

        def fit(self, x, y):
            return self

        def predict_proba(self, x):
            return np.full((len(x), 3), np.nan)

    model = TrainedModel(Wrong(), ("a", "b"), False).fit([1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="expected \\(2, 2\\)"):
        model.probabilities([1, 2])


def test_label_probabilities_for_single_and_multi_label():
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert label_probabilities(p, ("a", "b"), ("a", "b"), False)[0] == ["b", "a"]
    labels, sure = label_probabilities(np.array([[0.9, 0.2], [0.4, 0.6]]), (), ("red", "round"), True)
    assert labels == [("red",), ("round",)]
    assert sure.tolist() == pytest.approx([0.85, 0.6])


def project(settings=None, multi_label=False) -> Project:
    return Project(1, "p", ("a", "b"), multi_label, 1, "", settings or {})


def test_training_settings_default_and_validate():
    assert training_settings(project()).strategy == "diverse_margin"
    assert training_settings(project({"training": {"strategy": "nonsense"}})).strategy == "diverse_margin"
    updated = with_training_settings(project({"display": "text"}), strategy="entropy", every_labels=5)
    assert updated["display"] == "text" and updated["training"]["strategy"] == "entropy"
    assert updated["training"]["every_labels"] == 5
    for bad in ({"strategy": "best"}, {"model": "svm"}, {"shuffle_prop": 1.5}, {"every_labels": 0}):
        with pytest.raises(InvalidInput):
            with_training_settings(project(), **bad)


def test_cold_start_reasons():
    assert _cold_start([], project()) == "no labelled items yet"
    assert _cold_start(["a"], project()) == "the one labelled item has the label 'a'; the model needs two different labels"
    assert _cold_start(["a", "b"] * 3, project()) == "only 6 labelled items; the model starts at 10"
    assert _cold_start(["a", "b"] * 5, project()) is None
    assert _cold_start([("a",), ("a",)] * 5, project(multi_label=True)).startswith("no label is on some")
    assert _cold_start([("a",), ()] * 5, project(multi_label=True)) is None
