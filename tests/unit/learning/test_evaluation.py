"""The honest score by progressive validation (labelling.learning.evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from labelling.learning.evaluation import Estimate, progressive_accuracy, wilson_interval

pytestmark = pytest.mark.filterwarnings("error")


def test_wilson_interval_known_answers():
    # Published values for 8 of 10 at 95% (e.g. Newcombe 1998, Statistics in Medicine 17:857, method 3).
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(1, 2, confidence=0.5)[0] < 0.5 < wilson_interval(1, 2, confidence=0.5)[1]


def test_wilson_interval_covers_the_truth_as_stated():
    rng = np.random.default_rng(0)
    true_accuracy, items, trials = 0.9, 100, 4_000
    covered = 0
    for successes in rng.binomial(items, true_accuracy, size=trials):
        low, high = wilson_interval(int(successes), items)
        covered += low <= true_accuracy <= high
    assert 0.93 <= covered / trials <= 0.97


@pytest.mark.parametrize("successes, trials, confidence", [(1, 0, 0.95), (3, 2, 0.95), (-1, 2, 0.95), (1, 2, 1.0)])
def test_wilson_interval_refuses_nonsense(successes, trials, confidence):
    with pytest.raises(ValueError):
        wilson_interval(successes, trials, confidence)


def test_progressive_accuracy_counts_suggestions_against_labels():
    estimate = progressive_accuracy(["a", "b", "a", "a", "b"], ["a", "b", "b", "a", "b"])
    assert estimate.value == pytest.approx(0.8) and estimate.items == 5
    assert (estimate.low, estimate.high) == wilson_interval(4, 5)
    assert estimate.low < estimate.value < estimate.high


def test_items_handed_out_before_any_model_are_left_out():
    estimate = progressive_accuracy([None, None, "a", "b"], ["a", "b", "a", "a"])
    assert estimate.items == 2 and estimate.value == pytest.approx(0.5)


def test_window_keeps_the_most_recent_pairs():
    # The early model was wrong, the recent one right.
    suggested = ["x"] * 6 + ["a"] * 4
    estimate = progressive_accuracy(suggested, ["a"] * 10, window=4)
    assert estimate.value == 1.0 and estimate.items == 4
    assert progressive_accuracy(suggested, ["a"] * 10).value == pytest.approx(0.4)


def test_multi_label_answers_match_as_a_whole():
    estimate = progressive_accuracy([("cat", "dog"), ("cat",)], [("cat", "dog"), ("cat", "dog")])
    assert estimate.value == 0.5


def test_no_pairs_gives_no_figure():
    assert progressive_accuracy([], []) == Estimate(None, None, None, 0)
    assert progressive_accuracy([None], ["a"]).value is None


def test_lengths_must_match():
    with pytest.raises(ValueError):
        progressive_accuracy(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        progressive_accuracy(["a"], ["a"], window=0)
