"""Which random picks form the evaluation sample that a run trains without (labelling.learning.assessment)."""

from __future__ import annotations

import numpy as np

from labelling.learning import assessment
from labelling.storage.assessment import RandomPick


def picks(item_ids, run_id):
    return [RandomPick(int(i), run_id, None, None) for i in item_ids]


def test_every_pick_of_a_random_share_is_held_out():
    ids = list(range(100, 200))
    held = assessment.evaluation_rows(picks([105, 150, 199], run_id=7), ids, random_order_runs=set())
    assert held.tolist() == [5, 50, 99]


def test_a_fixed_tenth_of_a_wholly_random_order_is_held_out():
    """Cold-start picks (run None) and those of a random-order run: each item by its own fixed coin."""
    ids = np.arange(1, 1_501)
    cold, random_run = picks(ids[:700], None), picks(ids[700:], run_id=3)
    held = assessment.evaluation_rows(cold + random_run, ids, random_order_runs={3})
    assert 0.08 < len(held) / len(ids) < 0.12
    again = assessment.evaluation_rows(cold + random_run, ids, random_order_runs={3})
    assert np.array_equal(held, again)


def test_membership_never_changes_as_labels_arrive():
    """An item in the sample stays in it, and an item trained on never joins it: the sample only grows,
    up to MAX_EVALUATION_ITEMS, after which new picks train the model."""
    ids = list(range(1, 3_001))
    chosen: list[int] = []
    for n in range(100, 3_001, 100):
        held = [ids[r] for r in assessment.evaluation_rows(picks(ids[:n], run_id=1), ids[:n], set())]
        assert held[: len(chosen)] == chosen
        chosen = held
    assert len(chosen) == assessment.MAX_EVALUATION_ITEMS


def test_picks_no_longer_labelled_are_left_out():
    held = assessment.evaluation_rows(picks([1, 2, 3], run_id=1), [3, 1], set())
    assert held.tolist() == [1, 0]
