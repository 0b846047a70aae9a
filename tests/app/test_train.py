"""The Train page (admin): status of each kind of run, Retrain now, settings, learning curve and figures;
and the Label page's suggestion once a model exists. Runs are made with `labelling.learning.training.train` on the
test's SQLite file (the worker is tested in tests/integration)."""

from __future__ import annotations

import json
import operator

import pytest
from _city_sentences import city_sentences
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import ui
from labelling.learning import assessment, stopping
from labelling.learning.training import train
from labelling.learning.training_settings import training_settings
from ui import annotate

WORDS = {
    "good": ["great", "lovely", "perfect", "happy", "excellent", "works"],
    "bad": ["broken", "awful", "returned", "late", "poor", "useless"],
}


@pytest.fixture
def project(store):
    """A text project: 24 reviews, 12 of them labelled by the admin."""
    made = store.create_project("reviews", ["good", "bad"], settings={"display": "text", "text_column": "text"})
    texts = [f"{WORDS[label][i % 6]} kettle number {i}" for i in range(12) for label in ("good", "bad")]
    store.add_items(made.id, [{"text": t} for t in texts])
    for _ in range(12):
        item = store.next_item(made.id, "admin")
        label = "good" if any(w in item.data["text"] for w in WORDS["good"]) else "bad"
        store.submit(made.id, item.id, "admin", label)
    return made


def train_page(app):
    at = app().run().switch_page("pages/train.py").run()
    assert not at.exception
    return at


def test_before_any_run_says_how_training_starts_and_retrain_now_files_a_request(app, store, project):
    at = train_page(app)
    assert [t.value for t in at.title] == ["Train"]
    assert "No model yet" in at.info[0].value
    at.button(key="retrain").click().run()
    assert not at.exception
    (run,) = store.training_runs(project.id)
    assert (run.status, run.trigger) == ("queued", "request")
    assert any("waiting for the worker" in i.value for i in at.info)
    assert at.button(key="retrain").disabled  # one request at a time
    assert "Retraining requested" in at.success[0].value


def test_a_finished_run_shows_score_learning_curve_and_figures(app, store, project):
    first = train(store, project.id)
    for _ in range(6):
        item = store.next_item(project.id, "admin")
        store.submit(project.id, item.id, "admin", "good" if "kettle number 1" in item.data["text"] else "bad")
    second = train(store, project.id)
    at = train_page(app)
    message = at.success[0].value
    assert f"Trained on {second.n_labels} labels" in message
    assert f"{second.scores['cv_accuracy']:.1%}" in message.replace("\\", "")
    assert len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart")) == 1  # the learning curve
    per_class, confusion, history = (d.value for d in at.dataframe)
    assert per_class["label"].tolist() == ["good", "bad"]
    assert per_class["labelled"].tolist() == [second.label_counts["good"], second.label_counts["bad"]]
    assert confusion.values.sum() == second.n_labels  # every label predicted out of fold once
    assert history["run"].tolist() == [second.id, first.id]


def test_a_failed_run_shows_its_error(app, store, project):
    class Broken:
        def fit(self, x, y):
            raise RuntimeError("the GPU caught fire")

        def predict_proba(self, x):
            raise AssertionError("never called")

    with pytest.raises(RuntimeError):
        train(store, project.id, model=Broken())
    at = train_page(app)
    assert "The last training failed" in at.error[0].value
    assert "RuntimeError: the GPU caught fire" in at.error[0].value


def test_cold_start_says_why_there_is_no_model(app, store):
    made = store.create_project("one label", ["a", "b"], settings={"display": "text"})
    store.add_items(made.id, [f"text {i}" for i in range(5)], labels=["a", "a", None, None, None])
    train(store, made.id)
    at = train_page(app)
    notes = [i.value for i in at.info]
    assert any("Not trained: all 2 labelled items have the label 'a'" in n for n in notes)
    assert not at.get("vega_lite_chart") and not at.get("arrow_vega_lite_chart")


def test_settings_are_saved_on_the_project(app, store, project):
    at = train_page(app)
    at.selectbox[0].select("random_forest")
    at.selectbox[1].select("entropy")
    at.number_input[0].set_value(50)
    at.button[-1].click().run()  # the form's Save
    assert not at.exception and not at.error
    saved = training_settings(store.project(project.id))
    assert (saved.model, saved.strategy, saved.every_labels) == ("random_forest", "entropy", 50)
    assert store.project(project.id).settings["text_column"] == "text"  # the rest of the settings kept
    assert "Saved" in at.success[0].value


def test_registered_models_are_offered_and_one_that_cannot_be_used_is_named(app, store, project, monkeypatch):
    monkeypatch.setenv("LABELLING_MODELS", "mine=sklearn.linear_model:LogisticRegression, gone=not_installed_anywhere:make")
    at = train_page(app)
    model = at.selectbox[0]
    assert model.options == [
        "Logistic regression", "Random forest", "mine (sklearn.linear_model:LogisticRegression)",
        "gone (not_installed_anywhere:make)",
    ]
    assert [w.value for w in at.warning if "Local mode" not in w.value] == [
        "The model **gone** cannot be used here: no module named 'not_installed_anywhere' is installed."
    ]
    model.select("mine")
    at.button[-1].click().run()  # the form's Save
    assert not at.exception and not at.error
    assert training_settings(store.project(project.id)).model == "mine"


def own_score(model, x, y) -> float:
    return 0.875


def test_the_models_own_eval_method_score_is_shown(app, store, project):
    estimator = make_pipeline(FunctionTransformer(operator.itemgetter("text")), TfidfVectorizer(), LogisticRegression())
    estimator.eval_method = own_score
    train(store, project.id, model=estimator)
    at = train_page(app)
    assert "the model's own eval_method scores **0.875**" in at.success[0].value


def test_the_label_page_shows_the_models_suggestion(app, store, project):
    train(store, project.id)
    at = app().run()
    assert not at.exception
    item_text = at.text[0].value
    suggestion = next(c.value for c in at.caption if "The model suggests" in c.value)
    expected = "good" if any(w in item_text for w in WORDS["good"]) else "bad"
    assert f"**{expected}**" in suggestion
    assert "% sure" in suggestion


def test_a_labeller_cannot_open_the_train_page(app, store, project):
    _, token = store.people.add("alice")
    at = app(token=token, password="pw").run()
    at.switch_page("pages/progress.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This page is for admins."]
    assert not at.button


def test_the_honest_score_its_interval_and_the_stopping_state_are_shown(app, store):
    """A fixed tenth of the items labelled in the cold-start random order is held out to score the model;
    four runs predicting the stop set alike say so, and that the signal waits for enough labels (40 is
    too few to stop)."""
    made = store.create_project("random", ["good", "bad"], settings={"display": "text", "text_column": "text"})
    texts = [f"{WORDS[label][i % 6]} kettle number {i}" for i in range(40) for label in ("good", "bad")]
    store.add_items(made.id, [{"text": t} for t in texts])
    train(store, made.id)  # cold start: the queue in random order
    held = 0
    for _ in range(40):
        item = store.next_item(made.id, "admin")
        store.submit(made.id, item.id, "admin", "good" if any(w in item.data["text"] for w in WORDS["good"]) else "bad")
        held += assessment.evaluation_coin(item.id) < assessment.EVALUATION_SHARE
    runs = [train(store, made.id) for _ in range(4)]  # same labels: the same predictions each time
    latest = runs[-1]
    assert latest.honest_n == held > 0 and [r.stability_kappa for r in runs[1:]] == [1.0, 1.0, 1.0]
    at = train_page(app)
    message = at.success[0].value.replace("\\", "")
    assert f"{latest.honest_accuracy:.1%} (95% interval {latest.honest_low:.0%}–{latest.honest_high:.0%}, {held} items chosen at random and kept out of training)" in message
    assert "cross-validated accuracy on the labelled items" in message and "so this reads low" in message
    assert any("accuracy on items chosen at random" in c.value and "interval" in c.value for c in at.caption)
    assert not any("stopped changing" in s.value for s in at.success)
    assert any("Predictions stable, labels few" in m.value and f"{stopping.MIN_STOP_LABELS} labels" in m.value
               for m in at.markdown)
    assert any("calibration error" in m.value for m in at.markdown)


def learning_curve(at):
    """The learning curve's points (its data, as the chart received it)."""
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    (chart,) = [*at.get("vega_lite_chart"), *at.get("arrow_vega_lite_chart")]
    return convert_arrow_bytes_to_pandas_df(chart.proto.data.data)


def test_a_retrain_on_the_same_labels_replaces_its_point_on_the_curve(app, store, project):
    train(store, project.id)
    again = train(store, project.id)  # Retrain now, no new label
    at = train_page(app)
    curve = learning_curve(at)
    assert set(curve["run"]) == {again.id}  # one point per measure, the latest run's
    assert curve["labelled items"].tolist() == [again.n_labels] * len(curve)
    (chart,) = [*at.get("vega_lite_chart"), *at.get("arrow_vega_lite_chart")]
    marks = [layer["mark"] for layer in json.loads(chart.proto.spec)["layer"] if layer["mark"].get("shape")]
    assert [(m["shape"], m["filled"]) for m in marks] == [("square", False), ("circle", True)]  # one run: both seen


def test_a_cold_start_note_says_which_run_it_is_about(app, store):
    made = store.create_project("few", ["a", "b"], settings={"display": "text"})
    store.add_items(made.id, [f"text {i}" for i in range(14)], labels=["a", "b"] * 3 + [None] * 8)
    run = train(store, made.id)
    for _ in range(6):  # labelled after the run: its "only 6" is about its own day
        item = store.next_item(made.id, "admin")
        store.submit(made.id, item.id, "admin", "a")
    at = train_page(app)
    (note,) = [i.value for i in at.info if "only 6 labelled items" in i.value]
    assert f"(run {run.id}, " in note and "labels given since count at the next run" in note


def test_a_span_project_is_scored_by_span_f1_and_can_be_retrained(app, store):
    """A span project's run shows its cross-validated span F1 (not accuracy), per-class figures over spans
    and a learning curve of span F1; the settings say what applies; Retrain now files a request; the Label
    page starts from the tagger's spans."""
    made = store.create_project("cities", ["LOC"], task="spans")
    truth = dict(city_sentences(40, seed=8))
    store.add_items(made.id, list(truth))
    for _ in range(24):
        item = store.next_item(made.id, "admin")
        store.submit(made.id, item.id, "admin", {"spans": truth[item.data]})
    run = train(store, made.id)
    at = train_page(app)
    message = at.success[0].value
    assert f"span F1 **{run.scores['span_f1']:.2f}** (exact spans, cross-validated" in message
    assert "accuracy" not in message and "Queue ordered by margin" in message
    per_class, history = (d.value for d in at.dataframe)
    assert per_class["label"].tolist() == ["LOC"] and per_class["labelled"].tolist() == [run.label_counts["LOC"]]
    assert history["cross-validated"].tolist() == [run.scores["span_f1"]]
    assert set(learning_curve(at)["measure"]) == {"span F1 (exact spans), cross-validated on the labelled texts"}
    assert not any("calibration error" in m.value for m in at.markdown)
    assert any("token tagger orders the queue by its least sure token" in c.value for c in at.caption)
    at.button(key="retrain").click().run()
    assert not at.exception and store.training_runs(made.id)[-1].status == "queued"

    at = app().run()  # the Label page, with the least sure open item
    shown = store.next_item(made.id, "admin")  # the item the page holds for the admin
    suggested = store.model_data.prediction(made.id, shown.id)
    assert suggested.run_id == run.id
    words = ui.literal(annotate.summary(suggested.label))
    assert f"The model suggests **{words}** ({suggested.probability:.0%} sure)" in at.caption[0].value
