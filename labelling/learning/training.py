"""One training run: learn from the labels so far, score every open item, reorder the queue, keep suggestions.

    from labelling import Store
    from labelling.learning.training import train
    run = train(Store.connect(), project_id)                 # the project's default model
    run = train(store, project_id, model=MyEstimator())      # anything with fit / predict_proba
    run = train(store, project_id, model="svm")              # a model by name (learning/registry.py)

A run holds the project's trainer lease (one training per project across processes), reads the labelled
items, cross-validates (`models.evaluate`), fits, scores the open items a page at a time, turns the
scores into priorities (the project's query strategy, `strategies`, then `acquisition.priorities`) and writes them with ONE
`Store.set_priorities` call, after the predictions. Anything raising before then leaves the queue as it
was and records the run as failed with the message. With too few labels (cold start) the queue is put in
random order, unless an earlier model ordered it, and the run says why. A span project is trained the same
way with the token tagger of `labelling.learning.spans` (its own model, features and queue order).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labelling.io.serialisation import decode
from labelling.learning import acquisition, assessment, features, models, registry, spans, strategies, text_features
from labelling.learning.lease import LEASE_SECONDS, Lease, new_holder
from labelling.learning.model_files import model_dir, model_path, save_model
from labelling.learning.strategies import QueryStrategy
from labelling.learning.training_settings import TrainingSettings, check_strategy, training_settings
from labelling.records import Label, Project, Task, label_classes
from labelling.settings import Settings
from labelling.storage.runs import RunStatus, TrainingRun, TrainingState, check_trainable
from labelling.storage.store import Store

__all__ = ["MIN_LABELS", "STRATEGIES", "train"]

log = logging.getLogger(__name__)

MIN_LABELS = 10
"""Fewer labelled items than this: no model yet (cold start), the queue stays in random order."""
SCORE_CHUNK_ROWS = 5_000
"""Open items are read, scored and dropped this many at a time: memory stays bounded."""
MAX_REPORTED_PROBLEMS = 5
MAX_DIVERSITY_BATCH = 100
"""The batch a diversity step forms (the number of k-means clusters) is the schedule's every_labels, at most this."""
MIN_DUTY_CYCLE = 0.05
STRATEGIES: dict[str, str] = {name: strategy.description for name, strategy in strategies.STRATEGIES.items()}
"""Query strategy name -> words, for the Train page's select box (a view of `strategies.STRATEGIES`)."""


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

    `model`: your estimator (fit / predict_proba, optional `preprocess(x, y)` and `eval_method(model, x,
    y)`), or a model's name (built-in, registered or `package.module:factory`), else the project's choice.
    `strategy`, `shuffle_prop`: override the project's training settings. `seed`: for the shuffle and
    k-means (default: the run's id). `evaluate=False` skips cross-validation. `when`: called with the
    project's state once the lease is held; returning None means "not due" and train returns None.
    `duty_cycle` < 1 pauses between pages and batches so the run works that share of the time (the worker
    runs at 0.5 by default, leaving the database and the CPU to the people labelling).
    A span project always uses the token tagger (`labelling.learning.spans`): `model`, `preprocess` and
    `strategy` are for classification projects (its queue goes least sure token first, `shuffle_prop` random).
    Raises TrainingBusy if another process trains the project (NotTrainable for a box project); re-raises
    the model's own exception after recording the run as failed.
    """
    project = store.project(project_id)
    check_trainable(project)
    settings = training_settings(project)
    chosen = check_strategy(strategy or settings.strategy)
    mix = settings.shuffle_prop if shuffle_prop is None else float(shuffle_prop)
    holder = holder or new_holder()
    with Lease(store.runs, project.id, holder, lease_seconds) as lease:
        if when is not None:
            due = when(store.runs.state(project.id, holder))
            if due is None:
                return None
            trigger = due
        # Only the lease holder runs: a run still marked running was left by a process that died.
        store.runs.abandon_running(project.id, "the process training it stopped before finishing")
        run = store.runs.start(project.id, trigger)
        job = _Run(store, project, run, lease, settings, chosen, mix, seed if seed is not None else run.id)
        job.duty_cycle = min(max(float(duty_cycle), MIN_DUTY_CYCLE), 1.0)
        try:
            return job.go(model, preprocess, evaluate)
        except BaseException as error:
            if isinstance(error, Exception):
                log.exception("training run %s of project %s failed", run.id, project.id)
                message = f"{type(error).__name__}: {error}"
            else:
                message = "stopped before finishing (the process was asked to exit)"
            store.runs.fail(run.id, message, n_labels=job.n_labels, model=job.description)
            raise


class _Run:
    """The steps of one run, sharing what they learn."""

    def __init__(self, store, project, run, lease, settings, strategy, shuffle_prop, seed):
        self.store: Store = store
        self.project: Project = project
        self.run: TrainingRun = run
        self.lease: Lease = lease
        self.settings: TrainingSettings = settings
        self.strategy_name: str = strategy
        self.strategy: QueryStrategy = strategies.STRATEGIES[strategy]
        self.shuffle_prop: float = shuffle_prop
        self.rng = np.random.default_rng(seed)
        self.seed = int(seed)
        self.loader = features.ImageLoader.configured(model_dir(store) / "image-cache")
        self.notes: list[str] = []
        self.n_labels: int | None = None
        self.description: str | None = None
        self.eval_method: Callable[[Any, Any, Any], Any] | None = None
        self.duty_cycle = 1.0
        self._working_since = time.monotonic()
        self.reading = text_features.Reading([])
        """How the default model reads text this run (TF-IDF or stored embeddings)."""

    def _values(self, ids: Sequence[int], values: list[Any]) -> list[Any]:
        """Decoded items as the model reads them: embedded text columns hold their stored vectors."""
        return self.reading.values(self.store, self.project.id, [int(i) for i in ids], values)

    def progress(self, fraction: float) -> None:
        self.breathe()
        self.lease.check()
        self.store.runs.set_progress(self.run.id, fraction)

    def breathe(self) -> None:
        """Pause so that the work since the last pause is `duty_cycle` of the time."""
        worked = time.monotonic() - self._working_since
        if self.duty_cycle < 1.0:
            time.sleep(worked * (1.0 / self.duty_cycle - 1.0))
        self._working_since = time.monotonic()

    def go(self, model: Any, preprocess: Any, evaluate: bool) -> TrainingRun:
        project = self.project
        if project.options.task is Task.SPANS:
            return self._spans(evaluate)
        assessment.keep_random_picks(self.store, project.id, self.store.runs.all(project.id))
        labelled = self.store.model_data.labelled(project.id)  # a reviewer's label, else gold truth, else the majority
        values = [decode(value) for value in labelled.data]
        if self._name(model) in models.MODELS:  # your own estimator reads the items as they are
            self.reading = text_features.reading(self.store, project, self.settings, values, self.seed)
            values = self._values(labelled.ids, values)
        self.progress(0.05)
        trained = self._model(model, preprocess)
        x, keep, problems = trained.inputs(values, self.loader)
        targets = [t for t, kept in zip(labelled.labels, keep) if kept]
        self._report(problems, "labelled items were left out: their image could not be read")
        self._unreadable([i for i, kept in zip(labelled.ids, keep) if not kept], problems)
        self.n_labels = len(targets)
        counts = _label_counts(targets, project)
        self.progress(0.15)
        reason = _cold_start(targets, project)
        if reason is not None:
            return self._cold_start(reason, counts)
        self.notes += [self.reading.note] if self.reading.note else []  # why text is read as TF-IDF
        ids = [i for i, kept in zip(labelled.ids, keep) if kept]
        picks = self.store.assessment.random_picks(project.id) if evaluate else []
        held = self._evaluation_rows(picks, ids, targets)
        rows = np.setdiff1d(np.arange(len(targets)), held)
        fit_x, fit_targets = models.take(x, rows), [targets[i] for i in rows]
        scores = models.evaluate(trained, fit_x, fit_targets, seed=self.seed) if evaluate else None
        self.progress(0.25)
        trained.fit(fit_x, fit_targets)
        assessed = assessment.assess(trained, x, targets, held, picks, ids, self.seed) if evaluate else None
        self.progress(0.35)
        trained.temperature = assessed.temperature if assessed else 1.0
        own = self._own_score(trained, fit_x, fit_targets)
        self.progress(0.45)
        note = save_model(trained, model_path(self.store, project.id, self.run.id), self.run.id)
        if note:
            self.notes.append(note)
        scored_ids, priorities, suggestions, certainty, random_share = self._score_open_items(trained)
        self.lease.check()
        self.store.model_data.write_predictions(
            project.id,
            self.run.id,
            scored_ids[: len(suggestions)],
            suggestions,
            certainty,
            self.breathe,
            random_picks=random_share[: len(suggestions)],
        )
        self.progress(0.9)
        self.lease.check()
        self.store.set_priorities(project.id, scored_ids, priorities)
        figures = {**(scores or {}), **own}
        figures["items_scored"] = len(suggestions)
        figures["items_unreadable"] = len(scored_ids) - len(suggestions)
        evaluation = dict(assessed.figures) if assessed else {}
        if assessed:
            self.store.assessment.set_label_issues(project.id, self.run.id, assessed.issues)
        evaluation["stability_kappa"] = assessment.stability(
            self.store, project.id, self.run.id, trained, self.loader, self.seed, (scored_ids, suggestions), self._values
        )
        return self._finish(len(targets), self.description, figures, counts, evaluation)

    def _spans(self, evaluate: bool) -> TrainingRun:
        """A span project's run: the token tagger's suggestions and queue order, its span F1 the score."""
        self.strategy_name, self.description = spans.STRATEGY, spans.DESCRIPTION
        labelled = self.store.model_data.labelled(self.project.id)
        self.n_labels = len(labelled.labels)
        counts = _label_counts(labelled.labels, self.project)
        self.progress(0.15)
        if (reason := _cold_start(labelled.labels, self.project) or spans.cold_start(self.project, labelled)) is not None:
            return self._cold_start(reason, counts)
        scores = spans.train_and_suggest(
            self.store, self.project, self.run.id, labelled, shuffle_prop=self.shuffle_prop, rng=self.rng,
            progress=self.progress, between_batches=self.breathe, evaluate_first=evaluate,
        )
        return self._finish(self.n_labels, self.description, scores, counts)

    def _finish(
        self, n_labels: int, model: str | None, scores: dict | None, counts: dict[str, int], evaluation: dict | None = None
    ) -> TrainingRun:
        return self.store.runs.finish(
            self.run.id,
            n_labels=n_labels,
            strategy=self.strategy_name,
            model=model,
            scores=scores,
            label_counts=counts,
            note=" ".join(self.notes) or None,
            evaluation=evaluation,
        )

    def _name(self, model: Any) -> str | None:
        """The name of the model this run makes (built-in or registered); None for an estimator given as is."""
        return model if isinstance(model, str) else self.settings.model if model is None else None

    def _model(self, model: Any, preprocess: Any) -> models.TrainedModel:
        project = self.project
        name = self._name(model)
        if name in models.MODELS:
            columns = self.reading.columns
            estimator = models.default_estimator(name, columns, project.multi_label, self.reading.bases)
            self.description = f"{models.MODELS[name]} on {self.reading.describe()}"
            if project.multi_label:
                self.description += " (one-vs-rest)"
            return models.TrainedModel(estimator, project.labels, project.multi_label, columns, None, self.description)
        if name is not None:  # a model of your own, by name: made fresh for this run
            made = registry.make(name, Settings.load().models)
            model, preprocess = made.estimator, preprocess or made.preprocess
            self.eval_method, self.description = made.eval_method, made.description
        else:
            preprocess = preprocess or getattr(model, "preprocess", None)
            self.eval_method, self.description = getattr(model, "eval_method", None), type(model).__name__
        return models.TrainedModel(model, project.labels, project.multi_label, None, preprocess, self.description)

    def _evaluation_rows(self, picks, ids: list[int], targets: list[Label]) -> np.ndarray:
        """The evaluation sample's rows (`assessment.evaluation_rows`), or none when training without them
        would leave a model that cannot be fitted (the cold-start conditions)."""
        if not picks:
            return np.zeros(0, dtype=int)
        runs = self.store.runs.all(self.project.id)
        random_order = {r.id for r in runs if r.strategy in strategies.STRATEGIES and strategies.STRATEGIES[r.strategy].random_order}
        held = assessment.evaluation_rows(picks, ids, random_order)
        left = np.setdiff1d(np.arange(len(targets)), held)
        return held if _cold_start([targets[i] for i in left], self.project) is None else np.zeros(0, dtype=int)

    def _own_score(self, trained: models.TrainedModel, x: Any, targets: list[Label]) -> dict[str, float]:
        """`{"eval_score": ...}` from the model's own eval_method, if it has one; its failure is a note."""
        if self.eval_method is None:
            return {}
        try:
            return {"eval_score": models.own_score(trained, self.eval_method, x, targets)}
        except Exception as error:  # the deployer's code: the model is still good to use
            self.notes.append(f"eval_method failed: {type(error).__name__}: {error}.")
            return {}

    def _report(self, problems: list[str], what: str) -> None:
        if problems:
            shown = "; ".join(problems[:MAX_REPORTED_PROBLEMS])
            if len(problems) > MAX_REPORTED_PROBLEMS:
                shown += "; …"
            self.notes.append(f"{len(problems)} {what} ({shown}).")

    def _unreadable(self, item_ids: list[int], problems: list[str]) -> None:
        """List the items whose image cannot be read (one problem each, in order) for reviewers to resolve."""
        if item_ids:
            self.store.problems.record_unreadable(self.project.id, dict(zip(item_ids, problems)))

    def _cold_start(self, reason: str, counts: dict[str, int]) -> TrainingRun:
        """No model yet: put the queue in random order unless an earlier model already ordered it."""
        runs = self.store.runs.all(self.project.id)
        if any(r.status == RunStatus.FINISHED and r.model for r in runs):
            self.notes.insert(0, f"Not trained: {reason}. The queue keeps the last model's order.")
        else:
            ids = self.store.model_data.open_item_ids(self.project.id)
            self.lease.check()
            if ids:
                self.store.set_priorities(self.project.id, ids, acquisition.priorities(self.rng.random(len(ids)), 0.0))
            self.notes.insert(0, f"Not trained: {reason}. The queue is in random order until then.")
        return self._finish(self.n_labels or 0, None, None, counts)

    def _score_open_items(self, trained: models.TrainedModel):
        """Scores of every open item, a page at a time; returns ids (scored first, then unreadable ones),
        their priorities, the scored items' suggestions and certainty, and which ids the random share placed."""
        data, project = self.store.model_data, self.project
        total = max(data.open_item_count(project.id), 1)
        ids: list[int] = []
        scores: list[np.ndarray] = []
        suggestions: list[Label] = []
        certainty: list[np.ndarray] = []
        unreadable: list[int] = []
        problems: list[str] = []
        for page_ids, page_data in data.open_items(project.id, SCORE_CHUNK_ROWS):
            x, keep, page_problems = trained.inputs(self._values(page_ids, [decode(d) for d in page_data]), self.loader)
            problems += page_problems
            kept = [i for i, k in zip(page_ids, keep) if k]
            unreadable += [i for i, k in zip(page_ids, keep) if not k]
            if kept:
                p = trained.probabilities(x)
                scores.append(self.strategy.score(trained.acquisition_input(p), self.rng))
                guessed, sure = trained.predict(p)
                suggestions += guessed
                certainty.append(sure)
                ids += kept
            self.progress(0.45 + 0.4 * min(1.0, (len(ids) + len(unreadable)) / total))
        self._report(problems, "open items have an image that could not be read; they go to the end of the queue")
        self._unreadable(unreadable, problems)
        score = np.concatenate(scores) if scores else np.zeros(0)
        batch = min(max(2, self.settings.every_labels), MAX_DIVERSITY_BATCH)
        score = self.strategy.rank(score, lambda chosen: self._embed(trained, np.asarray(ids), chosen), batch, self.rng)
        if unreadable:
            low = (score.min() if len(score) else 0.0) - 1.0
            score = np.concatenate([score, np.full(len(unreadable), low)])
        priorities, random_share = acquisition.shuffled_priorities(score, self.shuffle_prop, self.rng)
        random_share |= self.strategy.random_order
        sure = np.concatenate(certainty) if certainty else np.zeros(0)
        return ids + unreadable, priorities, suggestions, sure, random_share

    def _embed(self, trained: models.TrainedModel, ids: np.ndarray, chosen: np.ndarray):
        """Features of some scored items for a diversity step (re-read: only the few candidates are kept)."""
        found = self.store.model_data.items_by_id(self.project.id, ids[chosen].tolist())
        x, keep, _ = trained.inputs(self._values(ids[chosen], [decode(found[int(i)]) for i in ids[chosen]]), self.loader)
        embedded = trained.embedding(x)
        return (trained.probabilities(x) if embedded is None else embedded), np.asarray(keep, dtype=bool)


def _label_counts(targets: Sequence[Label], project: Project) -> dict[str, int]:
    """Per class, the labelled items that have it (span projects: the spans of that class)."""
    tally = Counter(label for t in targets for label in label_classes(t))
    return {label: int(tally.get(label, 0)) for label in project.labels}


def _cold_start(targets: Sequence[Label], project: Project) -> str | None:
    """Why there can be no model yet, or None."""
    n = len(targets)
    if n == 0:
        return "no labelled items yet"
    if project.options.task is Task.SPANS:
        if not any(t.spans for t in targets):
            return "no labelled item has a span yet; the tagger needs some to learn from"
    elif project.multi_label:
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
