"""How far a run's model can be trusted: an honest score, calibrated certainty, when to stop, label errors.

One training run (`labelling.learning.training`) calls, in order:

1. `keep_random_picks` before it replaces the predictions: the items labelled since the last run whose
   queue place was random (the run's random share, `acquisition.shuffled_priorities`, or the cold-start
   random order) are kept with the suggestion they were handed out with (`Store.assessment`).
2. `evaluation_rows`: the random picks that form the evaluation sample. The run trains without them.
3. `assess` on the labelled items, the model fitted: its accuracy on the evaluation sample is the honest
   score (`evaluation.wilson_interval`), and its probabilities there fit the temperature
   (`calibration.fit_temperature`) and give the calibration error; out-of-fold probabilities of every
   labelled item (`FOLDS` folds), once calibrated, rank likely label errors (`label_errors`, confident
   learning). Progressive validation (`evaluation.progressive_accuracy`) compares the random picks' stored
   suggestions with the labels they got: unbiased too, but it scores the earlier models that made them.
4. `stability` after the queue is written: the run's predictions on the stop set against the previous
   run's (`stopping`, Bloodgood and Vijay-Shanker 2009), kept for the next run.

Why a sample held out of training, and not the cross-validation of `models.evaluate`: active learning asks
about the items the model finds hard, so scoring on them reads low (digits, 200 labels: .67-.77 against
.94-.96 on a hold-out). Nor out-of-fold predictions of random picks that the model also trains on, as
this module first did: the queue chooses its next items around every label the model has, so a pick
left out of one fold leaves a gap nothing else covers, and that read 8-14 points low at 200 labels (17-19
picks, benchmarks/active_learning.py). An item that is never trained on is a true hold-out of the model
the Label page uses; the price is the labels it holds (about the random share, 10%).
The temperature is fitted on the same items, for the same reason: every labelled item out of fold leans
to the hard ones, and fitted there the temperature ran to its bound on text.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelling.io.serialisation import decode
from labelling.learning import calibration, evaluation, label_errors, models, stopping
from labelling.records import Label
from labelling.storage.assessment import RandomPick
from labelling.storage.runs import RunStatus, TrainingRun
from labelling.storage.store import Store

__all__ = ["EVALUATION_SHARE", "FOLDS", "MAX_EVALUATION_ITEMS", "MAX_LABEL_ISSUES", "Assessed", "assess",
           "evaluation_coin", "evaluation_rows", "keep_random_picks", "stability"]

FOLDS = 5
"""Folds of the out-of-fold pass that ranks label errors: every labelled item is predicted by a model
trained on 80% of them."""
EVALUATION_SHARE = 0.1
"""Share of the items labelled in a wholly random order held out of training as the evaluation sample:
about what the queue's random share (`acquisition.DEFAULT_SHUFFLE_PROP`) hands out otherwise."""
MAX_EVALUATION_ITEMS = 200
"""The evaluation sample stops growing here (a 95% interval of about +-4 points at 90% accuracy); later
random picks train the model."""
MAX_LABEL_ISSUES = 50
"""Likely label errors kept per run (the likeliest first; the top of the ranking is the most precise)."""


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


def evaluation_rows(picks: Sequence[RandomPick], ids: Sequence[int], random_order_runs: Collection[int]) -> np.ndarray:
    """Rows of the labelled items `ids` that form the evaluation sample, which the run trains without.

    A pick placed by a run's random share is in it; one placed by a wholly random order (the cold-start
    order, `random_order_runs`: runs of a strategy such as "random") is in it by a fixed coin per item,
    `EVALUATION_SHARE` of them, or random labelling would train on nothing. Each item's membership is
    decided once and never changes, so the model never trains on an item that later tests it (the queue
    would have chosen around it). The sample stops growing at `MAX_EVALUATION_ITEMS` (`picks` in the order
    `Store.assessment.random_picks` gives, which only appends)."""
    position = {int(i): row for row, i in enumerate(ids)}
    chosen = [
        p.item_id
        for p in picks
        if (p.run_id is not None and p.run_id not in random_order_runs) or evaluation_coin(p.item_id) < EVALUATION_SHARE
    ][:MAX_EVALUATION_ITEMS]
    return np.asarray([position[i] for i in chosen if i in position], dtype=int)


def evaluation_coin(item_id: int) -> float:
    """A fixed number in [0, 1) per item, spread evenly (Fibonacci hashing)."""
    return (int(item_id) * 0x9E3779B1 % 2**32) / 2**32


def assess(
    model: models.TrainedModel,
    x: Any,
    targets: Sequence[Label],
    held: np.ndarray,
    picks: Sequence[RandomPick],
    ids: Sequence[int],
    seed: int,
) -> Assessed:
    """The honest score, progressive score, temperature, calibration error and label errors of `model`,
    fitted on every labelled item (`x`/`targets`, item `ids`) but the evaluation sample's rows `held`;
    `picks`: the project's random picks (`Store.assessment.random_picks`)."""
    rng = np.random.default_rng(seed)
    found = Assessed()
    labelled = {int(i): row for row, i in enumerate(ids)}
    suggested = [p for p in picks if p.suggestion is not None and p.item_id in labelled]
    progressive = evaluation.progressive_accuracy(
        [p.suggestion for p in suggested], [targets[labelled[p.item_id]] for p in suggested]
    )
    found.figures.update(_named("progressive", progressive))
    p_held = _by_label(model, model.probabilities(models.take(x, held))) if len(held) else np.zeros((0, len(model.labels)))
    guessed, _ = models.label_probabilities(p_held, model.labels, model.labels, model.multi_label)
    # The same count as progressive validation's, of the current model on items it did not train on.
    found.figures.update(_named("honest", evaluation.progressive_accuracy(guessed, [targets[r] for r in held])))
    if model.multi_label:
        return found  # calibration and label errors are for single-label models
    truth = np.asarray([model.labels.index(t) for t in targets])
    if len(held):
        found.temperature = calibration.fit_temperature(p_held, truth[held])
        found.figures["temperature"] = found.temperature
        found.figures["ece_uncalibrated"] = calibration.expected_calibration_error(p_held, truth[held])
        scaled = calibration.apply_temperature(p_held, found.temperature)
        found.figures["ece"] = calibration.expected_calibration_error(scaled, truth[held])
    p_all, everywhere = out_of_fold(model, x, targets, _fold_numbers(len(targets), rng))
    checked = np.flatnonzero(everywhere)
    if len(checked):
        # Calibrated on themselves: the held-out sample's temperature is for the final model, and may be
        # missing (imported labels); out-of-fold models on noisy labels have a temperature of their own.
        own = calibration.fit_temperature(p_all[checked], truth[checked])
        scaled_all = calibration.apply_temperature(p_all[checked], own)
        flagged = label_errors.likely_label_errors(scaled_all, truth[checked])
        cut = label_errors.doubt_cut(len(model.labels))
        for issue in [i for i in flagged if i.self_confidence < cut][:MAX_LABEL_ISSUES]:
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


def _by_label(model: models.TrainedModel, p: np.ndarray) -> np.ndarray:
    """A fitted single-label model's probabilities `(n, classes)` as `(n, labels)`, in `model.labels`
    order (a label it never saw gets 0); multi-label ones are already so."""
    if model.multi_label:
        return p
    found = np.zeros((len(p), len(model.labels)))
    found[:, [model.labels.index(c) for c in model.classes]] = p
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
        p[test] = _by_label(fitted, fitted.probabilities(models.take(x, test)))
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
