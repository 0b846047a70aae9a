"""Embedded text cut to the principal axes of the project's items, as many as the labels support."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelling.learning.features import EMBEDDING, VECTOR, Column, preprocessor, to_frame
from labelling.learning import embeddings
from labelling.learning.projection import LABELS_PER_AXIS, MIN_AXES, PoolProjection, fit_basis, unprojected


def stretched(n: int, scales: np.ndarray, seed: int) -> np.ndarray:
    """n rows of independent normal coordinates with these standard deviations, rotated at random."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(len(scales), len(scales))))
    return (rng.normal(size=(n, len(scales))) * scales) @ rotation.T + 3.0, rotation


def test_the_basis_orders_the_axes_by_variance():
    scales = np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    x, rotation = stretched(20_000, scales, seed=1)
    basis = fit_basis(x)
    np.testing.assert_allclose(basis.mean, 3.0, atol=0.1)
    np.testing.assert_allclose(basis.axes @ basis.axes.T, np.eye(5), atol=1e-9)  # orthonormal rows
    # Each axis found is the generating axis of the same rank (up to sign).
    np.testing.assert_allclose(np.abs(np.sum(basis.axes * rotation.T, axis=1)), 1.0, atol=0.01)
    assert fit_basis(x[:1]) is None  # one row has no spread


@pytest.mark.parametrize("rows, axes", [(10, MIN_AXES), (LABELS_PER_AXIS * 30, 30), (LABELS_PER_AXIS * 39, 39), (10_000, 40)])
def test_as_many_axes_as_the_labels_support(rows, axes):
    basis = fit_basis(np.random.default_rng(0).normal(size=(500, 40)))
    projection = PoolProjection(basis).fit(np.zeros((rows, 40)))
    assert projection.axes_ == axes
    out = projection.transform(np.random.default_rng(1).normal(size=(7, 40)))
    assert out.shape == (7, axes)


def test_no_basis_or_another_width_passes_vectors_through():
    x = np.random.default_rng(0).normal(size=(50, 8))
    np.testing.assert_array_equal(PoolProjection(None).fit(x).transform(x), x)
    wider = fit_basis(np.random.default_rng(1).normal(size=(100, 12)))
    np.testing.assert_array_equal(PoolProjection(wider).fit(x).transform(x), x)


def test_few_labels_learn_more_on_the_axes_of_the_pool():
    """The class is told apart along the pool's widest axis; 200 other dimensions are noise. With 40
    labels the model on the pool's first axes beats the one on every dimension."""
    rng = np.random.default_rng(7)
    d, n = 201, 6_000
    y = rng.integers(0, 2, n)
    x = rng.normal(scale=0.3, size=(n, d))
    x[:, 0] += np.where(y == 1, 0.4, -0.4)  # the widest axis: 0.4 apart on either side of noise of 0.3
    train = rng.choice(n, 40, replace=False)
    test = np.setdiff1d(np.arange(n), train)
    basis = fit_basis(x)  # no labels used
    whole = LogisticRegression(C=4.0).fit(x[train], y[train]).score(x[test], y[test])
    projected = PoolProjection(basis).fit(x[train])
    cut = LogisticRegression(C=4.0).fit(projected.transform(x[train]), y[train]).score(projected.transform(x[test]), y[test])
    assert projected.axes_ == MIN_AXES
    assert cut > whole + 0.05


def test_only_embedded_text_is_projected():
    """A basis applies to EMBEDDING columns (the worker's stored vectors); vectors users bring keep their
    dimensions."""
    rng = np.random.default_rng(3)
    rows = [{"t": v} for v in rng.normal(size=(60, 30))]
    basis = fit_basis(rng.normal(size=(300, 30)))
    embedded = preprocessor([Column("t", EMBEDDING)], {"t": basis})
    assert embedded.fit_transform(to_frame(rows, [Column("t", EMBEDDING)]).data).shape == (60, MIN_AXES)
    brought = preprocessor([Column("t", VECTOR)], {"t": basis})
    assert brought.fit_transform(to_frame(rows, [Column("t", VECTOR)]).data).shape == (60, 30)


def test_the_diversity_step_sees_the_whole_embedding():
    """The model reads the first axes; `unprojected` (what the k-means of diverse batches clusters) reads
    the unit vectors whole, and leaves the model as it was."""
    rng = np.random.default_rng(4)
    rows = [{"t": v} for v in rng.normal(size=(60, 30))]
    columns = [Column("t", EMBEDDING)]
    fitted = preprocessor(columns, {"t": fit_basis(rng.normal(size=(300, 30)))}).fit(to_frame(rows, columns).data)
    frame = to_frame(rows[:5], columns).data
    whole = unprojected(fitted).transform(frame)
    np.testing.assert_allclose(whole, embeddings.l2_normalise([r["t"] for r in rows[:5]]), atol=1e-6)
    assert fitted.transform(frame).shape == (5, MIN_AXES)
