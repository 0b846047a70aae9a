"""The stabilising-predictions stopping rule and the learning curve's slope (labelling.learning.stopping)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labelling.learning.stopping import (
    MIN_STOP_LABELS,
    STOP_KAPPA,
    STOP_WINDOW,
    choose_stop_set,
    labels_per_point,
    stabilised,
    stabilising_predictions,
    successive_kappas,
)

pytestmark = pytest.mark.filterwarnings("error")


def test_kappa_known_answer():
    # Agreement 3/4; chance agreement 1/2 * 1/4 + 1/2 * 3/4 = 1/2; kappa = (3/4 - 1/2) / (1 - 1/2).
    assert successive_kappas([[0, 0, 1, 1], [0, 1, 1, 1]]) == [pytest.approx(0.5)]


def test_identical_runs_agree_fully():
    assert successive_kappas([["a", "b"], ["a", "b"], ["a", "b"]]) == [1.0, 1.0]


def test_one_label_everywhere_has_no_kappa_and_never_stops():
    """A model that predicts one label for every stop-set item has not learnt anything to stop on."""
    runs = [np.zeros(1_000, dtype=int)] * 5
    assert successive_kappas(runs) == [None] * 4
    signal = stabilising_predictions(runs, n_labels=500)
    assert not signal.stop and signal.recent is None


def test_multi_label_decisions_count_one_by_one():
    before = np.array([[1, 0], [0, 1]])
    after = np.array([[1, 1], [0, 1]])
    assert successive_kappas([before, after]) == successive_kappas([before.ravel(), after.ravel()])


def test_runs_must_predict_the_same_stop_set():
    with pytest.raises(ValueError):
        successive_kappas([[0, 1], [0, 1, 1]])


def _runs(changes: list[int], items: int = 1_000) -> list[np.ndarray]:
    """Predictions of successive runs on a balanced two-class stop set, each run flipping `changes[i]`
    more items than the last."""
    current = np.arange(items) % 2
    runs = [current.copy()]
    for i, flips in enumerate(changes):
        current = current.copy()
        current[i * 100 : i * 100 + flips] ^= 1
        runs.append(current)
    return runs


def test_stops_once_the_last_three_comparisons_are_stable():
    # 100 of 1,000 items change, then 2, 1 and 0: kappas about 0.8, 0.996, 0.998, 1.0.
    signal = stabilising_predictions(_runs([100, 2, 1, 0]), n_labels=MIN_STOP_LABELS)
    assert len(signal.kappas) == 4
    assert signal.kappas[0] == pytest.approx(0.8)
    assert signal.recent == pytest.approx(min(signal.kappas[-STOP_WINDOW:]))
    assert signal.recent >= STOP_KAPPA and signal.stop


def test_does_not_stop_while_the_model_still_changes():
    signal = stabilising_predictions(_runs([2, 1, 100]), n_labels=1_000)
    assert signal.recent < STOP_KAPPA and not signal.stop


def test_every_comparison_of_the_window_must_be_stable():
    """Kappas 1.0, 1.0 and 0.98 average 0.993, above the threshold: one unstable pair still holds it back."""
    signal = stabilising_predictions(_runs([0, 0, 10]), n_labels=1_000)
    assert np.mean(signal.kappas) >= STOP_KAPPA
    assert signal.recent == pytest.approx(0.98) and not signal.stop


def test_waits_for_enough_labels():
    """Stable predictions early on (few labels, a model still learning fast) do not stop the labelling."""
    runs = _runs([100, 0, 0, 0])
    assert not stabilising_predictions(runs, n_labels=MIN_STOP_LABELS - 1).stop
    assert stabilising_predictions(runs, n_labels=MIN_STOP_LABELS).stop


def test_waits_for_a_full_window():
    signal = stabilising_predictions(_runs([0, 0]), n_labels=1_000)
    assert signal.kappas == (1.0, 1.0)
    assert signal.recent is None and not signal.stop
    assert stabilising_predictions(_runs([]), n_labels=1_000).kappas == ()


def test_an_undefined_kappa_restarts_the_window():
    assert not stabilised([1.0, None, 1.0, 1.0], n_labels=1_000).stop
    assert stabilised([None, 1.0, 1.0, 1.0], n_labels=1_000).stop


def test_threshold_window_and_labels_are_adjustable():
    runs = _runs([100, 30])  # kappas 0.8 and 0.94
    assert not stabilising_predictions(runs, n_labels=1_000).stop
    assert stabilising_predictions(runs, n_labels=1_000, threshold=0.9, window=1).stop
    assert not stabilising_predictions(runs, n_labels=1_000, threshold=0.9, window=2).stop
    assert stabilising_predictions(runs, n_labels=10, threshold=0.9, window=1, min_labels=10).stop


def test_labels_per_point_known_answers():
    # 5 points of accuracy per 100 labels: 20 labels per point.
    assert labels_per_point([100, 200, 300], [0.80, 0.85, 0.90]) == pytest.approx(20.0)
    # Only the last SLOPE_RUNS points count: the early jump is forgotten.
    assert labels_per_point([10, 100, 200, 300, 400], [0.2, 0.80, 0.81, 0.82, 0.83]) == pytest.approx(100.0)
    assert labels_per_point([100, 200], [0.9, 0.9]) == math.inf
    assert labels_per_point([100, 200], [0.9, 0.8]) == math.inf
    assert labels_per_point([100], [0.9]) is None
    assert labels_per_point([100, 100], [0.8, 0.9]) is None


def test_labels_per_point_needs_one_value_per_run():
    with pytest.raises(ValueError):
        labels_per_point([100, 200], [0.9])


def test_stop_set_is_a_reproducible_sample():
    ids = np.arange(10, 5_010)
    first = choose_stop_set(ids, np.random.default_rng(7))
    assert len(first) == 1_000 and len(set(first)) == 1_000 and set(first) <= set(ids)
    assert np.array_equal(first, np.sort(first))
    assert np.array_equal(first, choose_stop_set(ids, np.random.default_rng(7)))
    assert np.array_equal(choose_stop_set(ids[:5], np.random.default_rng(7)), ids[:5])
    assert len(choose_stop_set([], np.random.default_rng(7))) == 0


def test_kappas_kept_run_by_run_give_the_same_signal():
    """Training keeps one kappa per run (the stop set's previous predictions only): the signal from those
    equals the one from every run's predictions."""
    runs = _runs([100, 2, 1, 0])
    kept = [successive_kappas(pair)[0] for pair in zip(runs, runs[1:])]
    assert stabilised(kept, 500) == stabilising_predictions(runs, 500)
    assert not stabilised(kept[:2], 500).stop and stabilised(kept[:2], 500).recent is None
    with pytest.raises(ValueError, match="window"):
        stabilised(kept, 500, window=0)
