"""The honest score by progressive validation (labelling.learning.evaluation)."""

from __future__ import annotations

import numpy as np
import pytest

from labelling.learning.evaluation import Estimate, over_all_items, progressive_accuracy, wilson_interval

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


def test_over_all_items_weighs_the_chosen_items_by_their_share():
    sample = Estimate(0.9, 0.8, 0.95, 10)
    found = over_all_items(sample, chosen_accuracy=0.6, chosen=20, items=100)
    assert found.value == pytest.approx(0.2 * 0.6 + 0.8 * 0.9)
    assert (found.low, found.high) == (pytest.approx(0.12 + 0.8 * 0.8), pytest.approx(0.12 + 0.8 * 0.95))
    assert found.items == 10


@pytest.mark.parametrize(
    "sample, chosen_accuracy, chosen, items",
    [(Estimate(None, None, None, 0), 0.6, 20, 100), (Estimate(0.9, 0.8, 0.95, 10), None, 20, 100),
     (Estimate(0.9, 0.8, 0.95, 10), 0.6, 0, 100)],
)
def test_over_all_items_without_a_sample_or_a_cross_validated_figure_is_the_sample(sample, chosen_accuracy, chosen, items):
    assert over_all_items(sample, chosen_accuracy, chosen, items) == sample


def test_over_all_items_removes_the_bias_of_sampling_only_what_the_queue_left():
    """A pool whose items the model gets right with known chances; the queue takes the hardest 8% and the
    random sample comes from the rest. Over 2,000 draws, the sample alone reads the pool's accuracy too
    high; weighed with the chosen items' accuracy it reads it right (to sampling error)."""
    rng = np.random.default_rng(7)
    chance = np.sort(rng.beta(6, 1, 5_000))  # easy on the whole, with a hard tail
    truth = chance.mean()
    chosen = 400  # the hardest ones, first in sorted order
    left = chance[chosen:]
    alone, weighed = [], []
    for _ in range(2_000):
        draw = rng.choice(left, 20, replace=False)
        right = rng.random(20) < draw
        sample = Estimate(right.mean(), *wilson_interval(int(right.sum()), 20), 20)
        cross_validated = (rng.random(chosen) < chance[:chosen]).mean()
        alone.append(sample.value)
        weighed.append(over_all_items(sample, cross_validated, chosen, len(chance)).value)
    assert np.mean(alone) - truth > 0.02
    assert abs(np.mean(weighed) - truth) < 0.005
