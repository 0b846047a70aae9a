"""Temperature scaling and the expected calibration error (labelling.learning.calibration)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from labelling.learning.calibration import (
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)

pytestmark = pytest.mark.filterwarnings("error")

TARGET_ECE = 0.05
"""Issue 10's target for calibrated certainty."""
SYNTHETIC_ROWS = 5_000


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _miscalibrated(classes: int, sharpness: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose true class is drawn from softmax(z), reported as softmax(sharpness * z): a model
    over-confident by `sharpness` > 1 or under-confident by < 1, so the right temperature is `sharpness`."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, size=(SYNTHETIC_ROWS, classes))
    draws = rng.random((SYNTHETIC_ROWS, 1))
    truth = (draws > np.cumsum(_softmax(z), axis=1)).sum(axis=1)
    return _softmax(sharpness * z), truth


@pytest.mark.parametrize("classes", [2, 5])
@pytest.mark.parametrize("sharpness", [3.0, 0.3])
def test_temperature_undoes_known_miscalibration(classes, sharpness):
    fit_p, fit_y = _miscalibrated(classes, sharpness, seed=1)
    new_p, new_y = _miscalibrated(classes, sharpness, seed=2)
    t = fit_temperature(fit_p, fit_y)
    assert t == pytest.approx(sharpness, rel=0.1)
    assert expected_calibration_error(new_p, new_y) > 2 * TARGET_ECE
    assert expected_calibration_error(apply_temperature(new_p, t), new_y) <= TARGET_ECE


def test_calibrated_model_keeps_temperature_near_one():
    p, y = _miscalibrated(3, 1.0, seed=3)
    assert fit_temperature(p, y) == pytest.approx(1.0, abs=0.1)


def test_the_prior_holds_few_rows_near_one():
    """Twenty rows the model gets all right would sharpen it without bound, and twenty with many mistakes
    flatten it to the bound; the prior on log T keeps both near the model as it is."""
    p = np.tile([[0.7, 0.3]], (20, 1))
    right, half_wrong = np.zeros(20, dtype=int), np.arange(20) % 2
    assert fit_temperature(p, right, prior_sd=100.0) < 1.5 * MIN_TEMPERATURE
    assert fit_temperature(p, half_wrong, prior_sd=100.0) > MAX_TEMPERATURE / 1.5
    assert 0.15 < fit_temperature(p, right) < 1.0 < fit_temperature(p, half_wrong) < 3.0
    # With thousands of rows the data decide, as without a prior.
    many_p, many_y = _miscalibrated(2, 3.0, seed=4)
    assert fit_temperature(many_p, many_y) == pytest.approx(fit_temperature(many_p, many_y, prior_sd=100.0), rel=0.02)


def test_apply_temperature_keeps_rows_and_predictions():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.4, 0.35, 0.25]])
    np.testing.assert_allclose(apply_temperature(p, 1.0), p)
    for t in (0.2, 3.0):
        scaled = apply_temperature(p, t)
        np.testing.assert_allclose(scaled.sum(axis=1), 1.0)
        np.testing.assert_array_equal(scaled.argmax(axis=1), p.argmax(axis=1))
    assert apply_temperature(p, 3.0).max(axis=1).tolist() < p.max(axis=1).tolist()


def test_apply_temperature_is_exact_temperature_scaling_of_logits():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, 1.0]])
    np.testing.assert_allclose(apply_temperature(_softmax(logits), 2.5), _softmax(logits / 2.5))


def test_zero_probabilities_stay_finite():
    scaled = apply_temperature(np.array([[1.0, 0.0], [0.0, 1.0]]), 2.0)
    assert np.isfinite(scaled).all() and np.allclose(scaled.sum(axis=1), 1.0)


def test_expected_calibration_error_known_answers():
    p = np.array([[0.9, 0.1], [0.4, 0.6]])
    truth = np.array([0, 0])
    # Bin (13/15, 14/15] holds 0.9, right: gap 0.1; bin (8/15, 9/15] holds 0.6, wrong: gap 0.6.
    assert expected_calibration_error(p, truth) == pytest.approx((0.1 + 0.6) / 2)
    # One bin: accuracy 1/2 against mean confidence 0.75.
    assert expected_calibration_error(p, truth, bins=1) == pytest.approx(0.25)
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0])) == 0.0


def test_empty_input_is_neutral():
    empty = np.zeros((0, 3))
    assert fit_temperature(empty, np.zeros(0, dtype=int)) == 1.0
    assert expected_calibration_error(empty, np.zeros(0, dtype=int)) == 0.0


@pytest.mark.parametrize(
    "probabilities, targets",
    [
        (np.array([0.5, 0.5]), np.array([0])),
        (np.array([[1.0]]), np.array([0])),
        (np.array([[0.5, 0.5]]), np.array([2])),
        (np.array([[0.5, 0.5]]), np.array([0.0])),
        (np.array([[0.5, np.nan]]), np.array([0])),
        (np.array([[0.5, 0.5]]), np.array([0, 1])),
    ],
)
def test_bad_input_is_refused(probabilities, targets):
    with pytest.raises(ValueError):
        fit_temperature(probabilities, targets)


def test_bad_temperature_input_is_refused():
    with pytest.raises(ValueError):
        apply_temperature(np.array([[0.5, 0.5]]), 0.0)
    with pytest.raises(ValueError):
        apply_temperature(np.array([0.5, 0.5]), 1.0)


@pytest.mark.parametrize("seed", range(5))
def test_digits_at_200_labels_calibrated_from_out_of_fold_probabilities(seed):
    """The product's path: the temperature is fitted on the out-of-fold probabilities of 3-fold
    cross-validation over the 200 labelled items; the model trained on all 200 is then scaled by it and
    judged on the items nobody labelled."""
    x, y = load_digits(return_X_y=True)
    x_labelled, x_rest, y_labelled, y_rest = train_test_split(x, y, train_size=200, random_state=seed, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    out_of_fold = cross_val_predict(model, x_labelled, y_labelled, cv=folds, method="predict_proba")
    t = fit_temperature(out_of_fold, y_labelled)
    rest = model.fit(x_labelled, y_labelled).predict_proba(x_rest)
    assert expected_calibration_error(apply_temperature(rest, t), y_rest) <= TARGET_ECE
    assert expected_calibration_error(apply_temperature(rest, t), y_rest) < expected_calibration_error(rest, y_rest)
