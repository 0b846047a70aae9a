"""Train: the model and the queue's order. Status of the latest run, Retrain now, model, acquisition,
schedule and how text is read (with the embeddings' progress), the learning curve across runs, and the
latest run's confusion matrix and per-class figures. A span project's runs are scored by span F1 (its
token tagger, `labelling.learning.spans`, has no settings of its own to choose).

Training happens in the worker process (`python -m labelling.learning.worker`; the app starts one itself with the
embedded SQLite database); this page only files requests and reads runs.
"""

import time

import pandas as pd
import streamlit as st

import ui
from labelling import LabellingError
from labelling.learning import registry, stopping
from labelling.storage.runs import RunStatus, TrainingRun
from labelling.learning.training import MIN_LABELS, STRATEGIES
from labelling.learning.text_features import status as embedding_status
from labelling.learning.training_settings import TEXT_FEATURES, training_settings, with_training_settings
from labelling.records import Task

STATUS_REFRESH_SECONDS = 2  # while a run is queued or running, its status is re-read this often
EMBEDDING_REFRESH_SECONDS = 5  # while the worker computes embeddings, their progress is re-read this often
WAITING_HINT_SECONDS = 30  # a request waiting this long gets a hint to check the worker
NOTICE = "train_notice"
HONEST = "accuracy on items chosen at random"
CROSS_VALIDATED = "cross-validation on the labelled items"
BIASED = "active learning picks hard ones, so this reads low"
STOPPED = "The model has stopped changing — more labels will add little."

store = ui.store()
ui.page_user(store, admin=True)
project = ui.project_picker(store)

if project is None:
    st.title("Train")
    st.info("There is no project yet.")
    st.stop()
SPANS = project.options.task is Task.SPANS
SPAN_F1 = "span F1 (exact spans), cross-validated on the labelled texts"
MEASURE = SPAN_F1 if SPANS else CROSS_VALIDATED  # the learning curve's cross-validated measure (`_cross_validated`)


@ui.guarded
def _retrain(project_id: int) -> None:
    try:
        store.request_training(project_id)
    except LabellingError as error:
        st.session_state[NOTICE] = ("error", ui.refusal(error))
    else:
        st.session_state[NOTICE] = ("success", "Retraining requested: the status below follows it.")


def _ago(moment: float | None) -> str:
    if moment is None:
        return ""
    seconds = max(0.0, time.time() - moment)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))


def _status(run: TrainingRun | None) -> None:
    if run is None:
        st.info(
            f"No model yet. Training starts once items are labelled (at least {MIN_LABELS}, with two different "
            "labels), on the schedule below, or when you press **Retrain now**.",
            icon=":material/model_training:",
        )
        return
    if run.status == RunStatus.QUEUED:
        st.info(f"Retraining requested {_ago(run.requested_at)}; waiting for the worker.", icon=":material/schedule:")
        if time.time() - run.requested_at > WAITING_HINT_SECONDS:
            st.caption("Still waiting? Check that a worker runs: `python -m labelling.learning.worker`.")
    elif run.status == RunStatus.RUNNING:
        st.progress(run.progress, text=f"Training (run {run.id}, started {_ago(run.started_at)}): {run.progress:.0%}")
    elif run.status == RunStatus.FAILED:
        st.error(f"The last training failed ({_ago(run.finished_at)}): {run.error}", icon=":material/error:")
    elif run.model:
        accuracy = (run.scores or {}).get("cv_accuracy")
        f1 = (run.scores or {}).get("macro_f1")
        figures = "not cross-validated"
        if run.honest_n:
            figures = f"accuracy **{_estimate(run.honest_accuracy, run.honest_low, run.honest_high, run.honest_n)}**"
        elif accuracy is not None:
            figures = "no items chosen at random labelled yet to score it on"
        if accuracy is not None:
            figures += f" (cross-validated accuracy on the labelled items {accuracy:.1%}, macro-F1 {f1:.2f}: {BIASED})"
        if (span_f1 := (run.scores or {}).get("span_f1")) is not None:
            figures = f"span F1 **{span_f1:.2f}** (exact spans, cross-validated on the labelled texts)"
        if (own := (run.scores or {}).get("eval_score")) is not None:
            figures += f"; the model's own eval_method scores **{own:.3f}**"
        st.success(
            f"Trained on {run.n_labels:,} labels {_ago(run.finished_at)} in {run.duration or 0:.1f} s: {figures}. "
            f"Queue ordered by {STRATEGIES.get(run.strategy, run.strategy).split(' (')[0].lower()}.",
            icon=":material/check_circle:",
        )
    if run.note and run.status == RunStatus.FINISHED and not run.model:
        # Said of the labels of its day ("only 7 labelled items"): the run's age keeps it from reading as today's.
        st.info(f"{run.note} (run {run.id}, {_ago(run.finished_at)}; labels given since count at the next run)")
    elif run.note:
        st.warning(run.note)


def _estimate(value: float, low: float, high: float, n: int, items: str = "items chosen at random and kept out of training") -> str:
    items = items if n != 1 else items.replace("items", "item", 1)
    return f"{value:.1%} (95% interval {low:.0%}–{high:.0%}, {n:,} {items})"


def _learning_curve(finished: list[TrainingRun]) -> None:
    st.subheader("Learning curve")
    # One point per label count, the latest run's: a retrain on the same labels replaces its point, so the
    # curve never turns back on itself.
    scored = [r for r in finished if r.honest_n or _cross_validated(r) is not None]
    points = list({r.n_labels: r for r in scored}.values())
    if not points:
        st.caption(
            "Each trained run adds a point: its accuracy on labelled items the queue chose at random and the "
            "model never trains on, against the number of labels."
        )
        return
    curve = pd.DataFrame(
        [
            {"labelled items": r.n_labels, "accuracy": r.honest_accuracy, "low": r.honest_low, "high": r.honest_high,
             "items": r.honest_n, "measure": HONEST, "run": r.id}
            for r in points
            if r.honest_n
        ]
        + [
            {"labelled items": r.n_labels, "accuracy": _cross_validated(r), "measure": MEASURE, "run": r.id}
            for r in points
            if _cross_validated(r) is not None
        ]
    )
    ui.learning_curve(curve, HONEST, MEASURE, "span F1" if SPANS else "accuracy")
    if SPANS:
        return
    st.caption(
        f"**{HONEST}**, with its 95% interval (the band): the random items the queue hands out (its random "
        "share, and a tenth of a wholly random order) are kept out of training, so they test the model as new "
        "items would. With few of them the band is wide: read the interval, not the point. "
        f"**{CROSS_VALIDATED}**: {BIASED}."
    )


def _cross_validated(run: TrainingRun) -> float | None:
    """The run's cross-validated figure: accuracy, or a span project's span F1."""
    return (run.scores or {}).get("span_f1" if SPANS else "cv_accuracy")


def _trust(trained: list[TrainingRun]) -> None:
    """Calibration, the stopping signal and the recent slope of the learning curve."""
    latest = trained[-1]
    if latest.ece is not None:
        st.markdown(
            f"**Certainty shown on the Label page**: calibrated (temperature {latest.temperature:.2f}); calibration "
            f"error {latest.ece:.3f}, {latest.ece_uncalibrated:.3f} before (0 means \"80% sure\" is right 80% of the time)."
        )
    kappas = [r.stability_kappa for r in trained[1:]]  # the first trained run has nothing to compare with
    signal = stopping.stabilised(kappas, latest.n_labels or 0)
    if signal.stop:
        st.success(STOPPED, icon=":material/flag:")
    elif signal.recent is not None and signal.recent >= stopping.STOP_KAPPA:
        st.markdown(
            f"**Predictions stable, labels few**: the last {stopping.STOP_WINDOW} runs agree (Cohen's kappa at least "
            f"{signal.recent:.3f}), but with {latest.n_labels or 0:,} labels the model is usually still learning "
            f"fast; the signal waits for {stopping.MIN_STOP_LABELS} labels."
        )
    elif signal.recent is not None:
        st.markdown(
            f"**Still changing**: predictions on the stop set agree {signal.recent:.3f} (Cohen's kappa, lowest of the "
            f"last {stopping.STOP_WINDOW} runs) with the run before; stable at {stopping.STOP_KAPPA} from "
            f"{stopping.MIN_STOP_LABELS} labels on."
        )
    else:
        st.caption(f"Stopping signal: after {stopping.STOP_WINDOW + 1} trained runs in a row that predict more than "
                   f"one label (so far: {len(kappas)} compared).")
    if latest.progressive_n:
        st.markdown(
            "**Suggestions on the random items when handed out** (by the earlier models of the time): "
            f"{_estimate(latest.progressive_accuracy, latest.progressive_low, latest.progressive_high, latest.progressive_n, 'items chosen at random')}."
        )
    honest = [r for r in trained if r.honest_n]
    slope = stopping.labels_per_point([r.n_labels for r in honest], [r.honest_accuracy for r in honest])
    if slope is not None:
        words = "no gain lately" if slope == float("inf") else f"about {slope:,.0f} labels per point of accuracy"
        st.markdown(f"**Recent slope** of the learning curve: {words}.")


def _latest_figures(run: TrainingRun) -> None:
    scores = run.scores or {}
    st.subheader(f"Latest model ({run.n_labels:,} labels): per label")
    per_class = scores.get("per_class") or {}
    if per_class:
        table = pd.DataFrame(
            [
                {
                    "label": label,
                    "labelled": (run.label_counts or {}).get(label, 0),
                    "recall": figures["recall"],
                    "precision": figures["precision"],
                }
                for label, figures in per_class.items()
            ]
        )
        st.dataframe(
            table,
            hide_index=True,
            column_config={
                "recall": st.column_config.ProgressColumn("recall", min_value=0.0, max_value=1.0, format="%.2f"),
                "precision": st.column_config.NumberColumn("precision", format="%.2f"),
            },
        )
    confusion = scores.get("confusion")
    if isinstance(confusion, dict) and "matrix" in confusion:
        st.markdown("**Confusion matrix** (rows: the label given; columns: the model's, out of fold)")
        labels = confusion["labels"]
        st.dataframe(pd.DataFrame(confusion["matrix"], index=labels, columns=labels))


def _history(all_runs: list[TrainingRun]) -> None:
    with st.expander(f"All runs ({len(all_runs)})"):
        rows = [
            {
                "run": r.id,
                "status": r.status,
                "why": r.trigger,
                "labels": r.n_labels,
                "accuracy (random items)": r.honest_accuracy,
                "random items": r.honest_n,
                "cross-validated": _cross_validated(r),
                "kappa": r.stability_kappa,
                "seconds": r.duration,
                "when": _ago(r.finished_at or r.started_at or r.requested_at),
                "message": r.error or r.note or "",
            }
            for r in reversed(all_runs)
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)


with ui.database_guard():
    text_state = embedding_status(store, project)
computing = text_state.wanted and text_state.available and text_state.done < text_state.total


@st.fragment(run_every=EMBEDDING_REFRESH_SECONDS if computing else None)
def text_reading(was_computing: bool) -> None:
    """How text is read: the embeddings' progress, or what installing them would gain."""
    state = text_state
    if was_computing:  # re-read on the fragment's own reruns; once complete, redraw the page and stop polling
        with ui.database_guard():
            state = embedding_status(store, project)
        if state.done >= state.total:
            st.rerun()
    if not state.wanted:
        return
    if not state.available:
        st.info(
            f"Text is read as TF-IDF (words and word pairs). Sentence embeddings ({state.model}) make active "
            "learning pay off on text: on a movie-review corpus they reached 68% accuracy at 100 labels against "
            f"55% with TF-IDF, and 95% of the best accuracy at 250 labels. Install them on the server with "
            f"`{state.install}` and restart the app and its workers.",
            icon=":material/lightbulb:",
        )
        return
    when = "runs read them" if state.ready else "the worker computes them; runs read TF-IDF until they are ready"
    st.caption(f"Embeddings: {state.done:,} of {state.total:,} items ({state.model}): {when}.")


def _models() -> dict[str, str]:
    """The models a project can choose here (name -> words), each registered one that cannot be made named
    with the reason; the project's current model stays listed even if it is no longer registered."""
    configured = ui.settings().models
    choices = registry.choices(configured)
    for entry in registry.registered(configured).values():
        if (why := registry.problem(entry)) is not None:
            st.warning(f"The model **{entry.name}** cannot be used here: {why}.", icon=":material/warning:")
    current = training_settings(project).model
    return choices if current in choices else {**choices, current: f"{current} (not registered here)"}


def _settings_form() -> None:
    if SPANS:
        st.caption("A span project's token tagger orders the queue by its least sure token: the model, the order "
                   "and how text is read are for classification projects; the random share and schedule apply.")
    current = training_settings(project)
    choices = _models()
    with st.form(f"training-settings-{project.id}"):
        left, right = st.columns(2)
        model = left.selectbox("Model", list(choices), index=list(choices).index(current.model), format_func=choices.get)
        strategy = right.selectbox(
            "Which items to label first",
            list(STRATEGIES),
            index=list(STRATEGIES).index(current.strategy),
            format_func=STRATEGIES.get,
        )
        shuffle_prop = st.slider(
            "Random share of the queue",
            0.0,
            1.0,
            current.shuffle_prop,
            0.05,
            help="This share of queue positions is shuffled, so the queue keeps exploring beyond what the model "
            "is unsure of.",
        )
        left, right = st.columns(2)
        schedule = (
            None if "every_labels" in project.options.training else "Until saved here, a worker started with "
            "--every-labels or --every-seconds uses those for this project."
        )
        every_labels = left.number_input(
            "Retrain after this many new labels", 1, 100_000, current.every_labels, help=schedule
        )
        every_seconds = right.number_input(
            "...or after this many seconds (if any label arrived)", 10, 7 * 86_400, int(current.every_seconds), help=schedule
        )
        left, right = st.columns(2)
        text_features = left.selectbox(
            "Read text as",
            list(TEXT_FEATURES),
            index=list(TEXT_FEATURES).index(current.text_features),
            format_func=TEXT_FEATURES.get,
        )
        embedding_model = right.text_input(
            "Embedding model",
            current.embedding_model,
            help="The packaged all-MiniLM-L6-v2, or a sentence-transformers model installed on the server "
            "(a directory, or a model id in its Hugging Face cache). Nothing is downloaded.",
        )
        saved = st.form_submit_button("Save", type="primary")
    if saved:
        try:
            settings = with_training_settings(
                project,
                registry.choices(ui.settings().models),
                model=model,
                strategy=strategy,
                shuffle_prop=float(shuffle_prop),
                every_labels=int(every_labels),
                every_seconds=float(every_seconds),
                text_features=text_features,
                embedding_model=embedding_model,
            )
            with ui.database_guard():
                store.update_project(project.id, settings=settings)
        except LabellingError as error:
            st.error(f"Not saved: {error}", icon=":material/error:")
        else:
            st.session_state[NOTICE] = ("success", "Saved. The next run uses these settings.")
            st.rerun()


with ui.database_guard():
    runs = store.training_runs(project.id)
active = bool(runs and runs[-1].status in (RunStatus.QUEUED, RunStatus.RUNNING))


@st.fragment(run_every=STATUS_REFRESH_SECONDS if active else None)
def status_and_figures(project_id: int, was_active: bool) -> None:
    with ui.database_guard():  # the fragment's own reruns run outside the page's guard
        all_runs = store.training_runs(project_id)
    latest = all_runs[-1] if all_runs else None
    if was_active and (latest is None or latest.status not in (RunStatus.QUEUED, RunStatus.RUNNING)):
        st.rerun()  # the run ended: redraw the page, and stop polling
    _status(latest)
    finished = [r for r in all_runs if r.status == RunStatus.FINISHED]
    _learning_curve(finished)
    trained = [r for r in finished if r.model]
    if trained:
        if not SPANS:  # calibration and the stopping signal measure classifiers
            _trust(trained)
        _latest_figures(trained[-1])
    if all_runs:
        _history(all_runs)


st.title("Train")
st.caption(project.name)
if notice := st.session_state.pop(NOTICE, None):
    (st.success if notice[0] == "success" else st.error)(notice[1])
st.button(
    "Retrain now",
    key="retrain",
    type="primary",
    icon=":material/refresh:",
    on_click=_retrain,
    args=(project.id,),
    disabled=bool(runs) and runs[-1].status == RunStatus.QUEUED,
    help="Train on the labels so far and reorder the queue now, without waiting for the schedule.",
)
status_and_figures(project.id, active)
st.subheader("Settings")
text_reading(computing)
_settings_form()
