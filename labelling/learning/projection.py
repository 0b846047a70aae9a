"""Sentence embeddings cut to as many principal axes as the labels can support.

A linear model on a 384-d embedding learns one weight per dimension from a few hundred labels; most of
those dimensions carry little of the corpus's variance and mostly add noise to the fit. The principal
axes of the project's own items (labelled or not: no label is needed to find them) order the dimensions
by how much the corpus varies along them, and the model keeps the first `labels / LABELS_PER_AXIS` of
them (at least `MIN_AXES`), so it grows into the full embedding as labels arrive. Ten labels per
parameter is the classical rule for logistic regression (Peduzzi et al. 1996, "A simulation study of the
number of events per variable in logistic regression analysis", J Clin Epidemiol 49:1373-1379).

On the movie reviews (all-MiniLM-L6-v2, logistic regression, the default strategy, 20 seeds of
benchmarks/active_learning.py's protocol in a simulation) this read .647 / .683 / .707 / .722 at 50 / 100 /
200 / 400 labels against .631 / .658 / .686 / .711 on the whole embedding, random sampling gained about as
much, and the full pool kept its accuracy (.742): the axes only change the model while labels are few.
Fixed cuts did worse: 16 axes lowered the full pool to .723, 128 kept most of the noise (.693 at 200).
The diversity step's k-means clusters the whole embedding (`unprojected`): on the first axes alone the same
simulation read 0.4-0.8 points lower at 100-200 labels, level with random sampling.

Pure numpy and scikit-learn; the training run (`labelling.learning.text_features`) fits the basis on a
sample of the project's stored vectors.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

__all__ = ["LABELS_PER_AXIS", "MIN_AXES", "Basis", "PoolProjection", "fit_basis", "unprojected"]

LABELS_PER_AXIS = 10
MIN_AXES = 24
"""Axes kept however few the labels (in the simulation, a fixed 16 read 1 point lower at 100 labels than 24)."""


@dataclass(frozen=True, eq=False)
class Basis:
    """The principal axes of a column's vectors: their `mean` `(d,)` and the `axes` `(k, d)`, rows of unit
    length, the axis of most variance first."""

    mean: np.ndarray
    axes: np.ndarray


def fit_basis(vectors: np.ndarray) -> Basis | None:
    """The principal axes of `vectors` `(n, d)` (rows as the model reads them); None with fewer than two
    rows, which have no spread to order."""
    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2 or not x.shape[1]:
        return None
    mean = x.mean(axis=0)
    _, _, axes = np.linalg.svd(x - mean, full_matrices=False)
    return Basis(mean, axes)


class PoolProjection(TransformerMixin, BaseEstimator):
    """Vectors -> their coordinates on the first axes of `basis`, as many as `fit`'s rows support
    (rows / `labels_per_axis`, at least `min_axes`, at most every axis). Without a basis, or on vectors of
    another width than the basis's (a model changed between runs), the vectors pass through unchanged."""

    def __init__(self, basis: Basis | None = None, labels_per_axis: int = LABELS_PER_AXIS, min_axes: int = MIN_AXES):
        self.basis = basis
        self.labels_per_axis = labels_per_axis
        self.min_axes = min_axes

    def fit(self, x, y=None):
        width = np.asarray(x).shape[1]
        usable = self.basis is not None and self.basis.axes.shape[1] == width
        wanted = max(self.min_axes, len(x) // self.labels_per_axis)
        self.axes_ = min(wanted, len(self.basis.axes)) if usable else None
        return self

    def transform(self, x):
        x = np.asarray(x, dtype=np.float64)
        if self.axes_ is None:
            return x
        return (x - self.basis.mean) @ self.basis.axes[: self.axes_].T


def unprojected(transformer: Any) -> Any:
    """The fitted transformer (a pipeline, a column transformer) with its PoolProjection steps passing the
    vectors through whole: shallow copies where a step changes, every other fitted step shared, not copied
    (a TF-IDF vocabulary can be large)."""
    if isinstance(transformer, PoolProjection):
        whole = copy.copy(transformer)
        whole.axes_ = None
        return whole
    steps, fitted = getattr(transformer, "steps", None), getattr(transformer, "transformers_", None)
    if steps is None and fitted is None:
        return transformer
    copied = copy.copy(transformer)
    if steps is not None:
        copied.steps = [(name, unprojected(step)) for name, step in steps]
    if fitted is not None:
        copied.transformers_ = [(name, unprojected(step), columns) for name, step, columns in fitted]
    return copied
