"""Agreement and consensus of boxes and spans, against answers worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from labelling import Box, Boxes, Project, Span, Spans
from labelling.quality import agreement, consensus, shapes

A = Box(0, 0, 10, 10, "cat")
B = Box(20, 20, 10, 10, "cat")


def test_iou():
    assert shapes.iou(Box(0, 0, 2, 2, "a"), Box(1, 0, 2, 2, "a")) == pytest.approx(1 / 3)
    assert shapes.iou(A, A) == 1.0
    assert shapes.iou(A, Box(10, 0, 5, 5, "cat")) == 0.0  # touching edges share no area


def test_boxes_match_one_to_one_by_class_and_iou():
    second = [Box(21, 20, 10, 10, "cat"), Box(0, 1, 10, 10, "cat"), Box(50, 50, 5, 5, "dog")]
    assert sorted(shapes.match_boxes([A, B], second, 0.5)) == [(0, 1), (1, 0)]
    assert shapes.match_boxes([A], [Box(0, 1, 10, 10, "dog")], 0.5) == []  # another class
    assert shapes.match_boxes([A], [Box(5, 0, 10, 10, "cat")], 0.5) == []  # IoU 1/3 below the threshold
    assert shapes.match_boxes([A], [Box(5, 0, 10, 10, "cat")], 0.3) == [(0, 0)]
    # the better of two candidates wins, and each box is used once
    assert shapes.match_boxes([A], [Box(2, 0, 10, 10, "cat"), Box(1, 0, 10, 10, "cat")], 0.5) == [(0, 1)]
    first, other = Boxes(100, 100, (A, B)), Boxes(100, 100, tuple(second))
    assert shapes.compare(first, other, iou_threshold=0.5) == {"cat": (2, 2, 2), "dog": (0, 0, 1)}
    assert shapes.similarity(first, other) == pytest.approx(2 * 2 / 5)
    assert shapes.similarity(Boxes(9, 9), Boxes(9, 9)) == 1.0  # both saw nothing to box


def test_spans_match_exactly_or_by_overlap():
    first = Spans((Span(0, 3, "PER"), Span(5, 9, "ORG")))
    second = Spans((Span(0, 4, "PER"), Span(5, 9, "ORG")))
    assert shapes.similarity(first, second) == pytest.approx(0.5)
    assert shapes.similarity(first, second, overlap=True) == 1.0
    assert shapes.match_spans([Span(0, 3, "PER")], [Span(3, 6, "PER")], overlap=True) == []  # touching only
    assert shapes.match_spans([Span(0, 3, "PER")], [Span(0, 3, "ORG")], overlap=True) == []


def test_merged_boxes_keep_what_most_labellers_drew_at_their_mean():
    votes = [
        Boxes(100, 100, (Box(0, 0, 10, 10, "cat"),)),
        Boxes(100, 100, (Box(2, 0, 10, 10, "cat"),)),  # IoU 2/3 with the first
        Boxes(100, 100, (Box(50, 50, 5, 5, "dog"),)),
    ]
    assert shapes.merge(votes, iou_threshold=0.5) == Boxes(100, 100, (Box(1, 0, 10, 10, "cat"),))
    assert shapes.merge(votes, iou_threshold=0.7) == Boxes(100, 100, ())  # nothing has a majority
    assert shapes.merge(votes[:1]) == votes[0]  # one labeller: their version, unchanged
    assert shapes.merge([]) is None


def test_merged_spans_keep_the_exact_spans_most_labellers_marked():
    votes = [
        Spans((Span(0, 3, "PER"),)),
        Spans((Span(0, 3, "PER"), Span(5, 9, "ORG"))),
        Spans((Span(5, 9, "ORG"), Span(10, 12, "LOC"))),
    ]
    assert shapes.merge(votes) == Spans((Span(0, 3, "PER"), Span(5, 9, "ORG")))
    assert shapes.merge(votes[:2]) == Spans((Span(0, 3, "PER"),))  # two labellers: what both marked


def test_consensus_order_review_then_gold_then_merged():
    votes = [Spans((Span(0, 3, "PER"),)), Spans((Span(0, 3, "PER"),))]
    reviewed = Spans((Span(0, 4, "PER"),))
    assert consensus.decide(votes, review=reviewed, reviewer="rita").label == reviewed
    assert consensus.decide(votes, gold=Spans(()), review=None).source == consensus.GOLD
    final = consensus.decide(votes)
    assert (final.label, final.source, final.tie) == (votes[0], consensus.MAJORITY, False)
    box_votes = [Boxes(9, 9, (Box(0, 0, 4, 4, "cat"),)), Boxes(9, 9, (Box(2, 0, 4, 4, "cat"),))]  # IoU 1/3
    assert consensus.decide(box_votes, iou_threshold=0.3).label.boxes == (Box(1, 0, 4, 4, "cat"),)
    assert consensus.decide(box_votes, iou_threshold=0.5).label.boxes == ()


def test_item_agreement_is_the_mean_pairwise_f1():
    votes = [Spans((Span(0, 3, "PER"),)), Spans((Span(0, 3, "PER"),)), Spans(())]
    assert shapes.item_agreement(votes) == pytest.approx((1 + 0 + 0) / 3)
    assert shapes.item_agreement(votes[:1]) == 1.0


def test_the_report_per_pair_and_per_class():
    by_item = {
        1: {"ann": Spans((Span(0, 3, "PER"), Span(5, 9, "ORG"))), "bob": Spans((Span(0, 4, "PER"), Span(5, 9, "ORG")))},
        2: {"ann": Spans((Span(0, 2, "LOC"),)), "bob": Spans((Span(0, 2, "LOC"),)), "cy": Spans(())},
        3: {"ann": Spans((Span(0, 2, "LOC"),))},  # one labeller: not compared
    }
    found = shapes.report(["PER", "ORG", "LOC"], by_item)
    # pairs: ann-bob item 1 (1 of 2+2) and item 2 (1 of 1+1); ann-cy and bob-cy item 2 (0 of 1+0)
    assert found.f1 == pytest.approx(2 * 2 / (4 + 2 + 1 + 1)) and found.items == 2
    pairs = found.pairs.set_index(["labeller_a", "labeller_b"])
    assert pairs.loc[("ann", "bob"), "f1"] == pytest.approx(2 * 2 / 6)
    assert pairs.loc[("ann", "bob"), "f1_overlap"] == 1.0
    assert pairs.loc[("ann", "bob"), "items"] == 2
    assert pairs.loc[("ann", "cy"), "f1"] == 0.0
    per_class = found.per_class.set_index("label")
    assert per_class.loc["PER", "f1"] == 0.0 and per_class.loc["ORG", "f1"] == 1.0
    assert per_class.loc["LOC", "f1"] == pytest.approx(2 * 1 / 4) and per_class.loc["LOC", "items"] == 1


def test_a_span_projects_agreement_report_and_labeller_figures():
    project = Project(1, "s", ("PER",), False, 2, "", {"task": "spans"})
    right, half = Spans((Span(0, 3, "PER"), Span(4, 6, "PER"))), Spans((Span(0, 3, "PER"),))
    rows = [(1, "ann", right, 1.0), (1, "bob", half, 2.0), (2, "ann", right, 1.0)]
    finals = consensus.final_labels({1: {"ann": right, "bob": half}}, {}, {2: right})
    found = agreement.report(project, rows, {}, finals, {2: right})
    assert found.alpha.value is None and found.shapes.f1 == pytest.approx(2 / 3)
    stats = found.labellers.set_index("labeller")
    # the final label of item 1 is what both marked, (0, 3): ann's F1 against it 2/3, bob's 1
    assert stats.loc["ann", "agreement"] == pytest.approx(2 / 3) and stats.loc["bob", "agreement"] == 1.0
    assert stats.loc["ann", "gold_accuracy"] == 1.0 and stats.loc["ann", "gold_items"] == 1
    assert isinstance(found.kappa, pd.DataFrame) and found.kappa.empty
