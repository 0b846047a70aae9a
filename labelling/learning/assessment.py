"""How far a run's model can be trusted: an honest score, calibrated certainty, when to stop, label errors.

One training run (`labelling.learning.training`) calls, in order:

1. `keep_random_picks` before it replaces the predictions: the items labelled since the last run whose
   queue place was random (the run's random share, `acquisition.shuffled_priorities`, or the cold-start
   random order) are kept with the suggestion they were handed out with (`Store.assessment`).
2. `assess` on the labelled items: out-of-fold probabilities (a) of the random picks, each fold trained
   on every other label, which give the honest accuracy (`evaluation.wilson_interval`) and the
   temperature (`calibration.fit_temperature`) with the calibration error; (b) of every labelled item,
   `FOLDS` folds, which rank likely label errors (`label_errors`, confident learning) once calibrated.
   Progressive validation (`evaluation.progressive_accuracy`) compares the random picks' stored
   suggestions with the labels they got: unbiased too, but it scores the earlier models that made them.
3. `stability` after the queue is written: the run's predictions on the stop set against the previous
   run's (`stopping`, Bloodgood and Vijay-Shanker 2009), kept for the next run.

Why random picks and not the cross-validation of `models.evaluate`: active learning asks about the items
the model finds hard, so scoring on them reads low (digits, 200 labels: .72-.80 against .95 on a hold-out).
Measured through `train` on digits (64 pixel columns, the default model, margin order with diverse
batches, 0.1 random share, 3 seeds), the honest score against a 30% hold-out: .89/.95/1.00 against
.96/.96/.95 at 200 labels (35-41 picks), but .77/.80/.89 against .94/.94/.91 at 100 (25-30 picks): each
held-out pick leaves a gap the queue would otherwise have filled around it, and early on the cold-start
picks, which every later choice was made around, are most of the sample; so it reads low early on.
The temperature is fitted on both passes. In a simulation with raw 0..1 pixels (an under-confident
model, hold-out calibration error .18-.28) it brought the error to .02-.10; with the default model on
pixel columns, already calibrated (.04-.11), the hold-out error after scaling was .02-.18 (.02-.07 at 200
labels): one parameter fitted on a few dozen out-of-fold predictions is noisy early on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelling.io.serialisation import decode
from labelling.learning import calibration, evaluation, label_errors, models, stopping
from labelling.records import Label
from labelling.storage.runs import RunStatus, TrainingRun
from labelling.storage.store import Store

__all__ = ["FOLDS", "MAX_LABEL_ISSUES", "MIN_CALIBRATION_ITEMS", "Assessed", "assess", "keep_random_picks", "stability"]

FOLDS = 5
"""Folds of each out-of-fold pass: a held-out random pick is predicted by a model trained on nearly all
labels, and every labelled item by one trained on 80% of them."""
MIN_CALIBRATION_ITEMS = 20
"""Random picks needed to measure the calibration error on them; with fewer it is measured on every
out-of-fold prediction."""
MAX_LABEL_ISSUES = 50
"""Likely label errors kept per run (the likeliest first; the top of the ranking is the most precise)."""
MAX_GIVEN_PROBABILITY = 0.05
"""A flagged label is kept only when the calibrated model gives it less than this chance. Confident
learning alone flags too many with the default model (digits, 300-600 labels, 10% flipped, 3 seeds:
precision .55-.69); below 0.05 it is .88-.94, finding about 60-80% of the flipped labels."""


@dataclass
class Assessed:
    """What `assess` found: the run's evaluation figures (`TrainingRun` field names), the temperature for
    the model, and the likely label errors as (item id, given, alternative, their probabilities)."""

    figures: dict[str, float | int | None] = field(default_factory=dict)
    temperature: float = 1.0
    issues: list[tuple[int, Label, Label, float, float]] = field(default_factory=list)


def keep_random_picks(store: Store, project_id: int, runs: Sequence[TrainingRun]) -> None:
    """Keep the random picks labelled since the last run (before its predictions are replaced). Before
    the first model, the items labelled since a cold-start run put the queue in random order count too."""
    store.assessment.keep_random_picks(project_id)
    if not any(r.status == RunStatus.FINISHED and r.model for r in runs):
        shuffled = [r.finished_at for r in runs if r.status == RunStatus.FINISHED and r.finished_at is not None]
        if shuffled:
            store.assessment.keep_cold_start_picks(project_id, min(shuffled))


def assess(
    model: models.TrainedModel, x: Any, targets: Sequence[Label], ids: Sequence[int], store: Store, project_id: int, seed: int
) -> Assessed:
    """The honest score, progressive score, temperature, calibration error and label errors of `model`
    (unfitted) on the labelled items `x`/`targets` (item `ids`)."""
    rng = np.random.default_rng(seed)
    position = {int(i): row for row, i in enumerate(ids)}
    picks = [p for p in store.assessment.random_picks(project_id) if p.item_id in position]
    found = Assessed()
    suggested = [p for p in picks if p.suggestion is not None]
    progressive = evaluation.progressive_accuracy(
        [p.suggestion for p in suggested], [targets[position[p.item_id]] for p in suggested]
    )
    found.figures.update(_named("progressive", progressive))
    random_rows = np.asarray([position[p.item_id] for p in picks], dtype=int)
    folds = np.full(len(targets), -1)
    folds[random_rows] = _fold_numbers(len(random_rows), rng)
    p_random, covered = out_of_fold(model, x, targets, folds)
    rows = random_rows[covered[random_rows]]
    guessed, _ = models.label_probabilities(p_random[rows], model.labels, model.labels, model.multi_label)
    # The same count as progressive validation's, of other predictions: the held-out ones.
    found.figures.update(_named("honest", evaluation.progressive_accuracy(guessed, [targets[r] for r in rows])))
    if model.multi_label:
        return found  # calibration and label errors are for single-label models
    truth = np.asarray([model.labels.index(t) for t in targets])
    p_all, everywhere = out_of_fold(model, x, targets, _fold_numbers(len(targets), rng))
    # Fitted on both passes: the random picks alone are few, and when the model gets them all right the
    # fit sharpens without bound; every labelled item alone leans to the hard ones.
    fit_rows = np.concatenate([rows, np.flatnonzero(everywhere)])
    fit_p = np.concatenate([p_random[rows], p_all[everywhere]])
    if len(fit_rows):
        found.temperature = calibration.fit_temperature(fit_p, truth[fit_rows])
        found.figures["temperature"] = found.temperature
        # Measured on the random picks, an unbiased sample of the pool, once there are enough of them.
        measured = (p_random[rows], truth[rows]) if len(rows) >= MIN_CALIBRATION_ITEMS else (fit_p, truth[fit_rows])
        found.figures["ece_uncalibrated"] = calibration.expected_calibration_error(*measured)
        scaled = calibration.apply_temperature(measured[0], found.temperature)
        found.figures["ece"] = calibration.expected_calibration_error(scaled, measured[1])
    checked = np.flatnonzero(everywhere)
    if len(checked):
        scaled_all = calibration.apply_temperature(p_all[checked], found.temperature)
        flagged = label_errors.likely_label_errors(scaled_all, truth[checked])
        for issue in [i for i in flagged if i.self_confidence < MAX_GIVEN_PROBABILITY][:MAX_LABEL_ISSUES]:
            row = int(checked[issue.position])
            found.issues.append(
                (
                    int(ids[row]),
                    model.labels[issue.given],
                    model.labels[issue.alternative],
                    issue.self_confidence,
                    issue.alternative_confidence,
                )
            )
    return found


def out_of_fold(model: models.TrainedModel, x: Any, targets: Sequence[Label], folds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of each row from a copy of `model` fitted without its fold: `(n, n_labels)` in
    `model.labels` order, and which rows got them. `folds[i]` is row i's fold, -1 to always train on it;
    a fold whose training part has a single class is skipped (its rows are not covered)."""
    n = len(targets)
    p = np.zeros((n, len(model.labels)))
    covered = np.zeros(n, dtype=bool)
    for fold in np.unique(folds[folds >= 0]):
        test = np.flatnonzero(folds == fold)
        train = np.flatnonzero(folds != fold)
        train_targets = [targets[i] for i in train]
        if not model.multi_label and len(set(train_targets)) < 2:
            continue
        fitted = models.fresh_copy(model).fit(models.take(x, train), train_targets)
        found = fitted.probabilities(models.take(x, test))
        if model.multi_label:
            p[test] = found
        else:
            columns = [model.labels.index(c) for c in fitted.classes]
            p[np.ix_(test, columns)] = found
        covered[test] = True
    return p, covered


def stability(
    store: Store,
    project_id: int,
    run_id: int,
    model: models.TrainedModel,
    loader: Any,
    seed: int,
    scored: tuple[Sequence[int], Sequence[Label]],
    prepare: Callable[[Sequence[int], list[Any]], list[Any]],
) -> float | None:
    """Kappa between this run's predictions on the project's stop set and the previous run's (None for the
    first run); keeps this run's for the next. The stop set is drawn once from the open items. `scored`:
    this run's (item ids, suggestions) of the open items, reused; only stop-set items labelled since are
    predicted here, their values read as the run reads them (`prepare`: e.g. text as stored embeddings)."""
    before_run, before = store.assessment.stop_set(project_id)
    scored_ids = np.asarray(scored[0][: len(scored[1])], dtype=np.int64)
    ids = np.asarray(sorted(before), dtype=np.int64)
    if not len(ids):
        ids = stopping.choose_stop_set(scored_ids, np.random.default_rng(seed))
    order = np.argsort(scored_ids, kind="stable")
    at = np.minimum(np.searchsorted(scored_ids[order], ids), max(len(order) - 1, 0))
    known = {int(i): scored[1][int(order[a])] for i, a in zip(ids, at) if len(order) and scored_ids[order[a]] == i}
    found = store.model_data.items_by_id(project_id, [int(i) for i in ids if int(i) not in known])
    missing = list(found)
    if missing:
        x, keep, _ = model.inputs(prepare(missing, [decode(found[i]) for i in missing]), loader)
        labels, _ = model.predict(model.probabilities(x))
        known.update(zip((i for i, k in zip(missing, keep) if k), labels))
    ids = sorted(known)
    if not ids:
        return None
    labels = [known[i] for i in ids]
    store.assessment.set_stop_predictions(project_id, run_id, ids, labels)
    common = [row for row, i in enumerate(ids) if i in before]
    if before_run is None or not common:
        return None
    encode = _multi_hot(model.labels) if model.multi_label else str
    previous = [encode(before[ids[row]]) for row in common]
    current = [encode(labels[row]) for row in common]
    return stopping.successive_kappas([previous, current])[0]


def _multi_hot(labels: Sequence[str]):
    return lambda chosen: tuple(int(label in chosen) for label in labels)


def _fold_numbers(n: int, rng: np.random.Generator) -> np.ndarray:
    """Fold numbers 0..FOLDS-1 for n rows (fewer folds for fewer rows), in random order."""
    return rng.permutation(np.arange(n) % min(FOLDS, max(n, 1)))


def _named(prefix: str, estimate: evaluation.Estimate) -> dict[str, float | int | None]:
    return {
        f"{prefix}_accuracy": estimate.value,
        f"{prefix}_low": estimate.low,
        f"{prefix}_high": estimate.high,
        f"{prefix}_n": estimate.items,
    }
