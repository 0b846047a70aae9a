"""Models: the default estimator for a project, any estimator of your own, and their evaluation.

A `TrainedModel` is what a run fits and persists: the estimator plus how to read items for it. The default
is `features.preprocessor(columns)` + LogisticRegression (or a random forest); multi-label projects wrap
the classifier in one-vs-rest. Your own estimator needs `fit(x, y)` and `predict_proba(x)`; it sees the
items' data as a DataFrame (items that are dicts) or a list/array, after `preprocess(x, y) -> (x, y)` if
given (superintendent's `model_preprocess`). Multi-label estimators get `y` as an (n, n_labels) 0/1 matrix.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score, multilabel_confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from labelling.learning import calibration, features, projection
from labelling.records import Label

__all__ = ["CV_FOLDS", "LOGISTIC_C", "MODELS", "TrainedModel", "default_estimator", "evaluate", "label_probabilities", "own_score"]

CV_FOLDS = 3
"""superintendent's number: mean accuracy over 3-fold cross-validation on the labelled items."""
MODELS = {
    "logistic_regression": "Logistic regression",
    "random_forest": "Random forest",
}
"""Built-in model choices: name -> words. Models of your own are registered (labelling.learning.registry)."""
RANDOM_STATE = 0
LOGISTIC_C = 4.0
"""Inverse regularisation of the default logistic regression. At scikit-learn's C = 1 it was under-confident
on the features it reads (unit-norm rows, pixels in 0..1): the best temperature on a hold-out was about 0.4
on movie-review sentence embeddings and 0.4-0.5 on digits at 200 labels, too far for the ~20 items of the
evaluation sample to fit (calibration error .06-.07 on text). At C = 4 the raw model is near calibrated
(calibration error at 200 labels: text .028, digits .083, against .115 and .204 at C = 1), and the "% sure"
after the temperature (`calibration.PRIOR_SD`) .041 on text and .034 on digits. Accuracy: digits up at
every checkpoint (95% of the full pool by 80 labels, .924 at 80) and in the full pool (.970 against .965);
text up by 1 point at 50 labels, level at 100, down 1 point at 200 and 0.7 at 250 (full pool .744 against
.750). C = 3 read better on text (level at 200) but reached digits' 95% only at 80-90 labels. A simulation
of benchmarks/active_learning.py's protocol, 20 seeds. The benchmark itself (5 seeds, README): "% sure"
calibration error at 200 labels .029 on text and .027 on digits (.065 and .041 at C = 1); text accuracy
-0.3 / -1.4 / -0.7 points at 50 / 100 / 200 labels, digits +1.3 / +0.6 / -0.3, 95% still at 80 labels."""

Preprocess = Callable[[Any, Any], tuple[Any, Any]]


def default_estimator(
    model: str, columns: Sequence[features.Column], multi_label: bool, bases: Mapping[str | None, projection.Basis] | None = None
) -> Pipeline:
    """The project's features, then the chosen classifier (one-vs-rest for multi-label projects); `bases`
    as `features.preprocessor` takes them."""
    if model == "random_forest":
        classifier: Any = RandomForestClassifier(n_estimators=200, random_state=RANDOM_STATE, n_jobs=1)
    elif model == "logistic_regression":
        classifier = LogisticRegression(C=LOGISTIC_C, max_iter=1000)
    else:
        raise ValueError(f"no model {model!r}: choose one of {', '.join(MODELS)}")
    if multi_label:
        classifier = OneVsRestClassifier(classifier)
    return Pipeline([("features", features.preprocessor(columns, bases)), ("classifier", classifier)])


class TrainedModel:
    """A fitted estimator with what it needs to read items and name its outputs (joblib-picklable)."""

    def __init__(
        self,
        estimator: Any,
        labels: tuple[str, ...],
        multi_label: bool,
        columns: Sequence[features.Column] | None = None,
        preprocess: Preprocess | None = None,
        description: str = "",
    ):
        self.estimator = estimator
        self.labels = labels
        self.multi_label = multi_label
        self.columns = list(columns) if columns is not None else None
        self.preprocess = preprocess
        self.description = description or type(estimator).__name__
        self.classes: tuple[str, ...] = ()
        self.temperature = 1.0
        """Scales the suggestions' certainty (`labelling.learning.calibration`); fitted by the run."""

    # Reading items

    def inputs(
        self, values: Sequence[Any], loader: features.ImageLoader | None = None
    ) -> tuple[Any, np.ndarray, list[str]]:
        """(model input, which of `values` it covers, why the others were left out)."""
        if self.columns is not None:
            frame = features.to_frame(values, self.columns, loader)
            return frame.data, frame.keep, frame.problems
        return raw_input(values), np.ones(len(values), dtype=bool), []

    def _x(self, x: Any, y: Any = None) -> tuple[Any, Any]:
        return self.preprocess(x, y) if self.preprocess is not None else (x, y)

    # Fitting and predicting

    def fit(self, x: Any, targets: Sequence[Label]) -> TrainedModel:
        y = self.targets(targets)
        x, y = self._x(x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # one-vs-rest: "label not present in all examples"
            self.estimator.fit(x, y)
        if not self.multi_label:
            found = getattr(self.estimator, "classes_", None)
            self.classes = tuple(str(c) for c in (found if found is not None else np.unique(y)))
        return self

    def targets(self, targets: Sequence[Label]) -> np.ndarray:
        if not self.multi_label:
            return np.asarray([str(t) for t in targets], dtype=object)
        index = {label: i for i, label in enumerate(self.labels)}
        y = np.zeros((len(targets), len(self.labels)), dtype=int)
        for row, chosen in enumerate(targets):
            for label in chosen:
                y[row, index[label]] = 1
        return y

    def probabilities(self, x: Any) -> np.ndarray:
        """Single-label: `(n, n_classes)` in `self.classes` order. Multi-label: `(n, n_labels)`, each
        column the probability that the label applies."""
        x, _ = self._x(x, None)
        found = self.estimator.predict_proba(x)
        if self.multi_label and isinstance(found, list):  # multi-output estimators: one (n, 2) per label
            found = np.column_stack([np.asarray(p)[:, -1] for p in found])
        p = np.asarray(found, dtype=np.float64)
        width = len(self.labels) if self.multi_label else len(self.classes)
        if p.ndim != 2 or p.shape[1] != width:
            raise ValueError(f"predict_proba gave shape {p.shape}; expected ({len(p)}, {width})")
        if not np.isfinite(p).all():
            raise ValueError("predict_proba gave NaN or infinite probabilities")
        return p

    def acquisition_input(self, p: np.ndarray) -> np.ndarray | list[np.ndarray]:
        """What `labelling.learning.acquisition` measures: the array, or one (n, 2) array per label."""
        if self.multi_label:
            return [np.column_stack([1.0 - p[:, j], p[:, j]]) for j in range(p.shape[1])]
        return p

    def predict(self, p: np.ndarray) -> tuple[list[Label], np.ndarray]:
        """(suggested label per row, how sure: the top probability, or for multi-label the mean certainty),
        the probabilities scaled by the model's temperature first (single-label)."""
        temperature = getattr(self, "temperature", 1.0)  # models saved before calibration have none
        if not self.multi_label and temperature != 1.0 and len(p):
            p = calibration.apply_temperature(p, temperature)
        return label_probabilities(p, self.classes, self.labels, self.multi_label)

    def embedding(self, x: Any) -> Any | None:
        """The default pipeline's features for `x`, embedded text on all its dimensions rather than the few
        principal axes the labels support yet (`projection.unprojected`); the diversity step clusters on
        them. None for other models."""
        if isinstance(self.estimator, Pipeline) and self.preprocess is None and len(self.estimator) > 1:
            return projection.unprojected(self.estimator[:-1]).transform(x)
        return None


def label_probabilities(
    p: np.ndarray, classes: Sequence[str], labels: Sequence[str], multi_label: bool
) -> tuple[list[Label], np.ndarray]:
    if len(p) == 0:
        return [], np.zeros(0)
    if multi_label:
        chosen = p >= 0.5
        suggested = [tuple(label for label, on in zip(labels, row) if on) for row in chosen]
        return suggested, np.where(chosen, p, 1.0 - p).mean(axis=1)
    top = p.argmax(axis=1)
    return [classes[i] for i in top], p[np.arange(len(p)), top]


def raw_input(values: Sequence[Any]) -> Any:
    """Items as your own estimator sees them: a DataFrame of dict items, a stacked array, or a list."""
    if values and all(isinstance(v, dict) for v in values):
        return pd.DataFrame(list(values))
    if values and all(isinstance(v, np.ndarray) for v in values) and len({v.shape for v in values}) == 1:
        return np.stack(values)
    return list(values)


def take(x: Any, rows: np.ndarray) -> Any:
    """Rows of a model input: DataFrame, array, sparse matrix or list."""
    if isinstance(x, pd.DataFrame):
        return x.iloc[rows].reset_index(drop=True)
    if isinstance(x, list):
        return [x[i] for i in rows]
    return x[rows]


def own_score(model: TrainedModel, eval_method: Callable[[Any, Any, Any], Any], x: Any, targets: Sequence[Label]) -> float:
    """superintendent's `eval_method(model, x, y)`: called with the fitted estimator and the labelled items as
    it sees them (after `preprocess`); the mean of what it returns (a score, or one per fold)."""
    x, y = model._x(x, model.targets(targets))
    return float(np.mean(eval_method(model.estimator, x, y)))


def fresh_copy(model: TrainedModel) -> TrainedModel:
    """An unfitted copy for one cross-validation fold."""
    try:
        estimator = clone(model.estimator)
    except TypeError:  # not a scikit-learn estimator: no get_params
        estimator = copy.deepcopy(model.estimator)
    return TrainedModel(estimator, model.labels, model.multi_label, model.columns, model.preprocess, model.description)


def evaluate(model: TrainedModel, x: Any, targets: Sequence[Label], seed: int = RANDOM_STATE) -> dict[str, Any] | None:
    """Out-of-fold figures from CV_FOLDS-fold cross-validation; None when there are too few labels.

    `cv_accuracy` is the mean of the folds' accuracies (subset accuracy for multi-label); macro-F1,
    per-class precision/recall/support and the confusion matrix pool the out-of-fold predictions.
    Folds whose training part has a single class are left out (too few labels to fit there).
    """
    n = len(targets)
    if n < CV_FOLDS:
        return None
    y = model.targets(targets)
    if model.multi_label:
        splitter: Any = KFold(CV_FOLDS, shuffle=True, random_state=seed)
    else:
        counts = pd.Series(y).value_counts()
        splitter = (
            StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
            if counts.min() >= CV_FOLDS
            else KFold(CV_FOLDS, shuffle=True, random_state=seed)
        )
    accuracies: list[float] = []
    evaluated: list[np.ndarray] = []
    predicted: list[Any] = []
    for fit_rows, test_rows in splitter.split(np.zeros(n), y if not model.multi_label else None):
        if not model.multi_label and len(set(y[fit_rows])) < 2:
            continue
        fold = fresh_copy(model).fit(take(x, fit_rows), [targets[i] for i in fit_rows])
        guessed, _ = fold.predict(fold.probabilities(take(x, test_rows)))
        guessed_y = fold.targets(guessed)
        same = np.asarray(guessed_y == y[test_rows]).reshape(len(test_rows), -1).all(axis=1)
        accuracies.append(float(same.mean()))
        evaluated.append(test_rows)
        predicted.append(guessed_y)
    if not accuracies:
        return None
    rows = np.concatenate(evaluated)
    truth, guess = y[rows], np.concatenate(predicted)
    labels = list(model.labels)
    scores: dict[str, Any] = {"cv_accuracy": float(np.mean(accuracies)), "cv_folds": len(accuracies)}
    if model.multi_label:
        precision, recall, _, support = precision_recall_fscore_support(truth, guess, zero_division=0)
        scores["macro_f1"] = float(f1_score(truth, guess, average="macro", zero_division=0))
        matrices = multilabel_confusion_matrix(truth, guess)
        scores["confusion"] = {label: matrices[i].tolist() for i, label in enumerate(labels)}
    else:
        present = [label for label in labels if label in set(truth) | set(guess)]
        precision, recall, _, support = precision_recall_fscore_support(
            truth, guess, labels=labels, zero_division=0
        )
        scores["macro_f1"] = float(f1_score(truth, guess, labels=present, average="macro", zero_division=0))
        scores["confusion"] = {"labels": labels, "matrix": confusion_matrix(truth, guess, labels=labels).tolist()}
    scores["per_class"] = {
        label: {"precision": float(precision[i]), "recall": float(recall[i]), "support": int(support[i])}
        for i, label in enumerate(labels)
    }
    return scores
