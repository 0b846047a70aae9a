"""One training run: learn from the labels so far, score every open item, reorder the queue, keep suggestions.

    from labelling import Store
    from labelling.learning.training import train
    run = train(Store.connect(), project_id)                 # the project's default model
    run = train(store, project_id, model=MyEstimator())      # anything with fit / predict_proba

A run holds the project's trainer lease (one training per project across processes), reads the labelled
items, cross-validates (`models.evaluate`), fits, scores the open items a page at a time, turns the
scores into priorities (`acquisition`, with a k-means diversity step by default) and writes them with ONE
`Store.set_priorities` call, after the predictions. Anything raising before then leaves the queue as it
was and records the run as failed with the message. With too few labels (cold start) the queue is put in
random order, unless an earlier model ordered it, and the run says why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from labelling.learning import acquisition, diversity, features, models
from labelling.storage import votes
from labelling.storage import runs
from labelling.storage.engine import read
from labelling.errors import InvalidInput, LabellingError
from labelling.records import Label, Project
from labelling.storage.runs import TrainingRun, TrainingState
from labelling.io.serialisation import decode
from labelling.storage.store import Store

__all__ = [
    "DEFAULT_STRATEGY",
    "LEASE_SECONDS",
    "MIN_LABELS",
    "MODEL_DIR_ENV",
    "STRATEGIES",
    "TrainingBusy",
    "TrainingInterrupted",
    "TrainingSettings",
    "load_model",
    "model_dir",
    "new_holder",
    "train",
    "training_settings",
    "with_training_settings",
]

log = logging.getLogger(__name__)

DEFAULT_STRATEGY = "diverse_margin"
STRATEGIES = {
    "diverse_margin": "Margin, diverse batches (k-means over the most uncertain)",
    "margin": "Margin (gap between the two likeliest labels)",
    "least_confidence": "Least confidence",
    "entropy": "Entropy",
    "random": "Random order (no active learning)",
}
"""Acquisition choices (the Train page's select box): name -> words."""
MIN_LABELS = 10
"""Fewer labelled items than this: no model yet (cold start), the queue stays in random order."""
SCORE_CHUNK_ROWS = 5_000
"""Open items are read, scored and dropped this many at a time: memory stays bounded."""
LEASE_SECONDS = 60.0
"""A trainer lease lasts this long and is renewed every third of it while the run is alive."""
KEEP_MODELS = 3
"""Saved models kept per project (older files are deleted)."""
MODEL_DIR_ENV = "LABELLING_MODEL_DIR"
MAX_REPORTED_PROBLEMS = 5
DEFAULT_EVERY_LABELS = 20
DEFAULT_EVERY_SECONDS = 300.0
MAX_DIVERSITY_BATCH = 100


class TrainingBusy(LabellingError):
    """Another process is training this project now (it holds the project's trainer lease)."""


class TrainingInterrupted(LabellingError):
    """This run lost its trainer lease (it stalled past its expiry and another run took over); it wrote nothing."""


@dataclass(frozen=True)
class TrainingSettings:
    """A project's `settings["training"]`, edited on the Train page."""

    model: str = "logistic_regression"
    strategy: str = DEFAULT_STRATEGY
    shuffle_prop: float = acquisition.DEFAULT_SHUFFLE_PROP
    every_labels: int = DEFAULT_EVERY_LABELS
    """Retrain once this many labels arrived since the last run started."""
    every_seconds: float = DEFAULT_EVERY_SECONDS
    """...or once this long passed since then, if any label arrived meanwhile."""


def training_settings(project: Project) -> TrainingSettings:
    """The project's training settings; anything missing or unusable is the default."""
    stored = project.settings.get("training") or {}
    try:
        known = {k: v for k, v in stored.items() if k in TrainingSettings.__dataclass_fields__}
        return _checked(TrainingSettings(**known))
    except (InvalidInput, TypeError):
        return TrainingSettings()


def with_training_settings(project: Project, **changes: Any) -> dict[str, Any]:
    """The project's settings with its training settings changed (checked), for `Store.update_project`."""
    updated = _checked(replace(training_settings(project), **changes))
    return {**project.settings, "training": asdict(updated)}


def _checked(settings: TrainingSettings) -> TrainingSettings:
    if settings.model not in models.MODELS:
        raise InvalidInput(f"no model {settings.model!r}: choose one of {', '.join(models.MODELS)}")
    if settings.strategy not in STRATEGIES:
        raise InvalidInput(f"no strategy {settings.strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if not 0.0 <= float(settings.shuffle_prop) <= 1.0:
        raise InvalidInput("shuffle_prop is a fraction between 0 and 1")
    if int(settings.every_labels) < 1 or float(settings.every_seconds) <= 0:
        raise InvalidInput("retrain every 1 or more labels and a positive number of seconds")
    return replace(
        settings,
        shuffle_prop=float(settings.shuffle_prop),
        every_labels=int(settings.every_labels),
        every_seconds=float(settings.every_seconds),
    )


def new_holder() -> str:
    """Who holds a lease: host, process and a random part (two runs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def model_dir(store: Store) -> Path:
    """Where this app keeps models and fetched images for this database: a folder named after the
    database inside $LABELLING_MODEL_DIR, else inside `models/` beside the SQLite file, else inside
    `models/` in the working directory (so two databases never share a model file)."""
    url = store.engine.url
    sqlite_file = url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:"
    configured = os.environ.get(MODEL_DIR_ENV)
    if configured:
        root = Path(configured)
    elif sqlite_file:
        root = Path(url.database).resolve().parent / "models"
    else:
        root = Path.cwd() / "models"
    identity = url.render_as_string(hide_password=True)
    if sqlite_file:
        identity = str(Path(url.database).resolve())
    name = Path(url.database or "memory").stem if sqlite_file else f"{url.get_backend_name()}-{url.database}"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:10]
    return root.resolve() / f"{_safe(name)}-{digest}"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]


def _model_path(store: Store, project_id: int, run_id: int) -> Path:
    return model_dir(store) / f"project-{int(project_id)}" / f"run-{int(run_id)}.joblib"


def load_model(store: Store, project_id: int) -> models.TrainedModel | None:
    """The latest saved model of a project, from this app's model directory only (never another path)."""
    for run in reversed(runs.runs(store.engine, project_id)):
        path = _model_path(store, project_id, run.id)
        if run.status == runs.FINISHED and run.model and path.is_file():
            return joblib.load(path)
    return None


class _Lease:
    """The project's trainer lease, renewed from a thread while held; `check` raises once it was lost."""

    def __init__(self, store: Store, project_id: int, holder: str, seconds: float):
        self.store, self.project_id, self.holder, self.seconds = store, project_id, holder, seconds
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{project_id}", daemon=True)

    def __enter__(self) -> _Lease:
        if not runs.claim_lease(self.store.engine, self.project_id, self.holder, self.seconds):
            raise TrainingBusy(f"project {self.project_id} is being trained by another process")
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not runs.renew_lease(self.store.engine, self.project_id, self.holder, self.seconds):
                    self._lost.set()
                    return
            except Exception as error:  # the database is away: the run itself will fail or recover
                log.warning("could not renew the trainer lease of project %s: %s", self.project_id, error)

    def check(self) -> None:
        if self._lost.is_set():
            raise TrainingInterrupted(f"the trainer lease of project {self.project_id} expired and was taken over")

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        try:
            runs.release_lease(self.store.engine, self.project_id, self.holder)
        except Exception as error:
            log.warning("could not release the trainer lease of project %s (it expires): %s", self.project_id, error)


def train(
    store: Store,
    project_id: int,
    *,
    model: Any = None,
    preprocess: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    strategy: str | None = None,
    shuffle_prop: float | None = None,
    seed: int | None = None,
    evaluate: bool = True,
    trigger: str = "script",
    when: Callable[[TrainingState], str | None] | None = None,
    holder: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
    duty_cycle: float = 1.0,
) -> TrainingRun | None:
    """Train the project's model and reorder its queue; returns the finished (or failed) run.

    `model`: your estimator (fit / predict_proba, optional `preprocess(x, y)`), else the project's default.
    `strategy`, `shuffle_prop`: override the project's training settings. `seed`: for the shuffle and
    k-means (default: the run's id). `evaluate=False` skips cross-validation. `when`: called with the
    project's state once the lease is held; returning None means "not due" and train returns None.
    `duty_cycle` < 1 pauses between pages and batches so the run works that share of the time (the worker
    runs at 0.5, leaving the database and the CPU to the people labelling).
    Raises TrainingBusy if another process trains the project; re-raises the model's own exception
    after recording the run as failed.
    """
    project = store.project(project_id)
    settings = training_settings(project)
    chosen = strategy or settings.strategy
    if chosen not in STRATEGIES:
        raise InvalidInput(f"no strategy {chosen!r}: choose one of {', '.join(STRATEGIES)}")
    mix = settings.shuffle_prop if shuffle_prop is None else float(shuffle_prop)
    holder = holder or new_holder()
    with _Lease(store, project.id, holder, lease_seconds) as lease:
        if when is not None:
            due = when(runs.training_state(store.engine, project.id, holder))
            if due is None:
                return None
            trigger = due
        # Only the lease holder runs: a run still marked running was left by a process that died.
        runs.abandon_running(store.engine, project.id, "the process training it stopped before finishing")
        run = runs.start_run(store.engine, project.id, trigger)
        job = _Run(store, project, run, lease, settings, chosen, mix, seed if seed is not None else run.id)
        job.duty_cycle = min(max(float(duty_cycle), 0.05), 1.0)
        try:
            return job.go(model, preprocess, evaluate)
        except BaseException as error:
            if isinstance(error, Exception):
                log.exception("training run %s of project %s failed", run.id, project.id)
                message = f"{type(error).__name__}: {error}"
            else:
                message = "stopped before finishing (the process was asked to exit)"
            runs.fail_run(store.engine, run.id, message, n_labels=job.n_labels, model=job.description)
            raise


class _Run:
    """The steps of one run, sharing what they learn."""

    def __init__(self, store, project, run, lease, settings, strategy, shuffle_prop, seed):
        self.store: Store = store
        self.project: Project = project
        self.run: TrainingRun = run
        self.lease: _Lease = lease
        self.settings: TrainingSettings = settings
        self.strategy: str = strategy
        self.shuffle_prop: float = shuffle_prop
        self.rng = np.random.default_rng(seed)
        self.seed = int(seed)
        self.loader = features.ImageLoader(model_dir(store) / "image-cache")
        self.notes: list[str] = []
        self.n_labels: int | None = None
        self.description: str | None = None
        self.duty_cycle = 1.0
        self._working_since = time.monotonic()

    def progress(self, fraction: float) -> None:
        self.breathe()
        self.lease.check()
        runs.set_progress(self.store.engine, self.run.id, fraction)

    def breathe(self) -> None:
        """Pause so that the work since the last pause is `duty_cycle` of the time."""
        worked = time.monotonic() - self._working_since
        if self.duty_cycle < 1.0:
            time.sleep(worked * (1.0 / self.duty_cycle - 1.0))
        self._working_since = time.monotonic()

    def go(self, model: Any, preprocess: Any, evaluate: bool) -> TrainingRun:
        engine, project = self.store.engine, self.project
        ids, encoded = runs.labelled_items(engine, project.id)
        with read(engine) as connection:  # a reviewer's label, else gold truth, else the majority
            finals = votes.final_labels(connection, project.id)
        values, targets = [], []
        for item_id, value in zip(ids, encoded):
            final = finals.get(item_id)
            if final is not None and final.label is not None:
                values.append(decode(value))
                targets.append(final.label)
        self.progress(0.05)
        trained = self._model(model, preprocess, values)
        x, keep, problems = trained.inputs(values, self.loader)
        targets = [t for t, kept in zip(targets, keep) if kept]
        self._report(problems, "labelled items were left out: their image could not be read")
        self.n_labels = len(targets)
        counts = _label_counts(targets, project)
        self.progress(0.15)
        reason = _cold_start(targets, project)
        if reason is not None:
            return self._cold_start(reason, counts)
        scores = models.evaluate(trained, x, targets, seed=self.seed) if evaluate else None
        self.progress(0.35)
        trained.fit(x, targets)
        self.progress(0.45)
        self._save(trained)
        ordered = self._score_open_items(trained)
        scored_ids, priorities, suggestions, certainty, n_unreadable = ordered
        self.lease.check()
        runs.write_predictions(
            engine, project.id, self.run.id, scored_ids[: len(suggestions)], suggestions, certainty, self.breathe
        )
        self.progress(0.9)
        self.lease.check()
        self.store.set_priorities(project.id, scored_ids, priorities)
        figures = dict(scores or {})
        figures["items_scored"] = len(suggestions)
        figures["items_unreadable"] = n_unreadable
        return runs.finish_run(
            engine,
            self.run.id,
            n_labels=len(targets),
            strategy=self.strategy,
            model=self.description,
            scores=figures,
            label_counts=counts,
            note=" ".join(self.notes) or None,
        )

    def _model(self, model: Any, preprocess: Any, values: list[Any]) -> models.TrainedModel:
        project = self.project
        if model is None:
            columns = features.feature_columns(project.settings, values)
            estimator = models.default_estimator(self.settings.model, columns, project.multi_label)
            self.description = f"{models.MODELS[self.settings.model]} on {features.describe(columns)}"
            if project.multi_label:
                self.description += " (one-vs-rest)"
            return models.TrainedModel(estimator, project.labels, project.multi_label, columns, None, self.description)
        preprocess = preprocess or getattr(model, "preprocess", None)
        self.description = type(model).__name__
        return models.TrainedModel(model, project.labels, project.multi_label, None, preprocess, self.description)

    def _report(self, problems: list[str], what: str) -> None:
        if problems:
            shown = "; ".join(problems[:MAX_REPORTED_PROBLEMS])
            if len(problems) > MAX_REPORTED_PROBLEMS:
                shown += "; …"
            self.notes.append(f"{len(problems)} {what} ({shown}).")

    def _cold_start(self, reason: str, counts: dict[str, int]) -> TrainingRun:
        """No model yet: put the queue in random order unless an earlier model already ordered it."""
        earlier = any(r.status == runs.FINISHED and r.model for r in runs.runs(self.store.engine, self.project.id))
        if earlier:
            self.notes.insert(0, f"Not trained: {reason}. The queue keeps the last model's order.")
        else:
            ids = runs.open_item_ids(self.store.engine, self.project.id)
            self.lease.check()
            if ids:
                self.store.set_priorities(self.project.id, ids, acquisition.priorities(self.rng.random(len(ids)), 0.0))
            self.notes.insert(0, f"Not trained: {reason}. The queue is in random order until then.")
        return runs.finish_run(
            self.store.engine,
            self.run.id,
            n_labels=self.n_labels or 0,
            strategy=self.strategy,
            model=None,
            scores=None,
            label_counts=counts,
            note=" ".join(self.notes),
        )

    def _save(self, trained: models.TrainedModel) -> None:
        path = _model_path(self.store, self.project.id, self.run.id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            joblib.dump(trained, partial)
            os.replace(partial, path)
        except Exception as error:  # e.g. your estimator cannot be pickled: the run still counts
            self.notes.append(f"The model was not saved ({type(error).__name__}: {error}).")
            return
        saved = sorted(
            (p for p in path.parent.glob("run-*.joblib") if p.stem.removeprefix("run-").isdigit()),
            key=lambda p: int(p.stem.removeprefix("run-")),
        )
        for old in saved[:-KEEP_MODELS]:
            if int(old.stem.removeprefix("run-")) < self.run.id:
                old.unlink(missing_ok=True)

    def _score_open_items(self, trained: models.TrainedModel):
        """Scores of every open item, a page at a time; returns ids (scored first, then unreadable ones),
        their priorities, and the scored items' suggestions and certainty."""
        engine, project = self.store.engine, self.project
        measure = "margin" if self.strategy == DEFAULT_STRATEGY else self.strategy
        total = max(runs.open_item_count(engine, project.id), 1)
        ids: list[int] = []
        scores: list[np.ndarray] = []
        suggestions: list[Label] = []
        certainty: list[np.ndarray] = []
        unreadable: list[int] = []
        problems: list[str] = []
        for page_ids, page_data in runs.open_items(engine, project.id, SCORE_CHUNK_ROWS):
            x, keep, page_problems = trained.inputs([decode(d) for d in page_data], self.loader)
            problems += page_problems
            kept = [i for i, k in zip(page_ids, keep) if k]
            unreadable += [i for i, k in zip(page_ids, keep) if not k]
            if kept:
                p = trained.probabilities(x)
                scores.append(acquisition.score(measure, trained.acquisition_input(p), self.rng))
                guessed, sure = trained.predict(p)
                suggestions += guessed
                certainty.append(sure)
                ids += kept
            self.progress(0.45 + 0.4 * min(1.0, (len(ids) + len(unreadable)) / total))
        self._report(problems, "open items have an image that could not be read; they go to the end of the queue")
        score = np.concatenate(scores) if scores else np.zeros(0)
        if self.strategy == DEFAULT_STRATEGY and len(score) > 1:
            score = self._diverse(trained, np.asarray(ids), score)
        if unreadable:
            low = (score.min() if len(score) else 0.0) - 1.0
            score = np.concatenate([score, np.full(len(unreadable), low)])
        priorities = acquisition.priorities(score, self.shuffle_prop, self.rng)
        sure = np.concatenate(certainty) if certainty else np.zeros(0)
        return ids + unreadable, priorities, suggestions, sure, len(unreadable)

    def _diverse(self, trained: models.TrainedModel, ids: np.ndarray, score: np.ndarray) -> np.ndarray:
        batch = min(max(2, self.settings.every_labels), MAX_DIVERSITY_BATCH)
        chosen = diversity.candidates(score, batch)
        found = runs.items_by_id(self.store.engine, self.project.id, ids[chosen].tolist())
        x, keep, _ = trained.inputs([decode(found[int(i)]) for i in ids[chosen]], self.loader)
        chosen = chosen[keep]
        embedded = trained.embedding(x)
        if embedded is None:
            embedded = trained.probabilities(x)
        return diversity.diverse_ranking(score, chosen, embedded, batch, self.rng)


def _label_counts(targets: Sequence[Label], project: Project) -> dict[str, int]:
    tally = Counter(label for t in targets for label in (t if isinstance(t, tuple) else (t,)))
    return {label: int(tally.get(label, 0)) for label in project.labels}


def _cold_start(targets: Sequence[Label], project: Project) -> str | None:
    """Why there can be no model yet, or None."""
    n = len(targets)
    if n == 0:
        return "no labelled items yet"
    if project.multi_label:
        tally = Counter(label for t in targets for label in t)
        if not any(0 < count < n for count in tally.values()):
            return "no label is on some labelled items and not on others yet"
    else:
        distinct = set(targets)
        if len(distinct) < 2:
            which = "the one labelled item has" if n == 1 else f"all {n} labelled items have"
            return f"{which} the label {next(iter(distinct))!r}; the model needs two different labels"
    if n < MIN_LABELS:
        return f"only {n} labelled items; the model starts at {MIN_LABELS}"
    return None
