"""Likely label errors, found by the model even when each item has one labeller.

Confident learning (Northcutt, Jiang and Chuang 2021, "Confident Learning: Estimating Uncertainty in
Dataset Labels", Journal of Artificial Intelligence Research 70, pp. 1373-1411): from out-of-fold
predicted probabilities, each class j gets a threshold t_j, the mean probability of j over the items
labelled j (the model's average self-confidence in that class). An item is counted as confidently
belonging to class j when its probability of j reaches t_j; per-class thresholds let a class the model is
generally unsure of still be recognised. An item is a likely error when its given label is *below* that
label's threshold while another class is *at or above* its own: the model is confident of something
else and not of what the labeller said. The likeliest errors come first, ranked by self-confidence (the
probability of the given label, lowest first), the paper's and cleanlab's default ranking.

The probabilities must be out-of-fold (each item predicted by a model that did not train on it): a model
that saw an item's label mostly repeats it, and hides the error. Calibrate them first (calibration.py):
a model that fits the wrong labels is over-confident, and on all 1,797 digits with 10% of labels flipped
temperature scaling raises the precision of the flagged items from 0.79 to 0.82 (about 70% of the
flipped labels found, the alternative being the true digit for 98% of them); precision follows the
model's quality (0.93 with a more regularised logistic regression, C=0.1).

Shapes: `probabilities` is `(n_items, n_classes)`; `given` is `(n_items,)`, each item's label as a column
index. Items are reported by position in these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from labelling.learning.calibration import checked

__all__ = ["ASSUMED_NOISE", "LabelIssue", "class_thresholds", "doubt_cut", "likely_label_errors"]

ASSUMED_NOISE = 0.1
"""The share of wrong labels `doubt_cut` assumes, each wrong label any other class alike."""


@dataclass(frozen=True)
class LabelIssue:
    """One label to check: the item's `position`, the class it was `given`, the class the model
    suggests instead (`alternative`), and the probabilities of both."""

    position: int
    given: int
    alternative: int
    self_confidence: float
    alternative_confidence: float


def class_thresholds(probabilities: ArrayLike, given: ArrayLike) -> np.ndarray:
    """`(n_classes,)` per-class thresholds: the mean probability of each class over the items labelled
    with it; `inf` for a class no item has (then nothing is confidently that class)."""
    p, labels = checked(probabilities, given)
    sums = np.zeros(p.shape[1])
    np.add.at(sums, labels, p[np.arange(len(labels)), labels])
    counts = np.bincount(labels, minlength=p.shape[1])
    thresholds = np.full(p.shape[1], np.inf)
    np.divide(sums, counts, out=thresholds, where=counts > 0)
    return thresholds


def doubt_cut(n_classes: int, noise: float = ASSUMED_NOISE) -> float:
    """The calibrated probability of the given label below which the label is more likely wrong than
    right, if a `noise` share of labels are wrong, each another class at random.

    A model fitted on such labels estimates c = P(given label | item) = (1 - noise - a) q + a, with q
    the chance the label is truly right and a = noise / (n_classes - 1); the label is wrong with
    probability a (1 - q) / c by Bayes. That is 1/2 at c = a (1 - noise) / ((1 - noise - a) / 2 + a):
    0.18 for two classes, 0.02 for ten. A cut that ignores the number of classes is wrong for one of
    them: 0.05 flagged 1 or 2 of 340 flipped movie-review labels (two classes), and on ten-class digits
    with 300 labels 0.1 flagged 27 at precision .78 where 0.02 stays above .8.
    """
    if n_classes < 2 or not 0 < noise < 1:
        raise ValueError(f"need 2 or more classes and a noise share in (0, 1); got {n_classes}, {noise}")
    a = noise / (n_classes - 1)
    return a * (1 - noise) / ((1 - noise - a) / 2 + a)


def likely_label_errors(probabilities: ArrayLike, given: ArrayLike, limit: int | None = None) -> list[LabelIssue]:
    """Items whose given label the model doubts and whose true class it is confident of, likeliest
    first (lowest probability of the given label); at most `limit` of them. The alternative is the most
    probable of the other classes at or above their thresholds."""
    p, labels = checked(probabilities, given)
    thresholds = class_thresholds(p, labels)
    rows = np.arange(len(labels))
    self_confidence = p[rows, labels]
    confident = p >= thresholds
    confident[rows, labels] = False
    doubted = (self_confidence < thresholds[labels]) & confident.any(axis=1)
    alternatives = np.where(confident, p, -np.inf).argmax(axis=1)
    flagged = rows[doubted]
    flagged = flagged[np.argsort(self_confidence[flagged], kind="stable")][:limit]
    return [
        LabelIssue(int(i), int(labels[i]), int(alternatives[i]), float(self_confidence[i]), float(p[i, alternatives[i]]))
        for i in flagged
    ]
