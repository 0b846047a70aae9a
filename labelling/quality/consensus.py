"""The final label of an item: a reviewer's adjudication, else a gold item's known label, else the majority
vote of its labellers, ties flagged rather than guessed (boxes and spans: the boxes and spans most of the
labellers agree on, labelling.quality.shapes.merge). The one place that decides it, for export and training;
labelling.storage.votes reads what it decides from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from labelling.quality import shapes
from labelling.records import Boxes, Label, Spans

__all__ = ["SOURCES", "Final", "decide", "final_labels", "majority"]


def majority(votes: Sequence[Label], *, iou_threshold: float = 0.5) -> tuple[Label | None, bool]:
    """(final label, tie). Single-label: the most common label. Multi-label: each label kept by more than
    half of the labellers. A tie gives (None, True) so that nobody mistakes a coin toss for agreement.
    Boxes and spans: those more than half of the labellers drew (boxes matched at `iou_threshold`), never a tie."""
    if not votes:
        return None, False
    if isinstance(votes[0], (Boxes, Spans)):
        return shapes.merge(votes, iou_threshold=iou_threshold), False
    if isinstance(votes[0], tuple):
        counts = Counter(label for vote in votes for label in set(vote))
        half = len(votes) / 2
        ordered = list(dict.fromkeys(label for vote in votes for label in vote))
        if any(count == half for count in counts.values()):
            return None, True
        return tuple(label for label in ordered if counts[label] > half), False
    ranked = Counter(votes).most_common(2)
    if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None, True
    return ranked[0][0], False


# The final label of every item, as export and training use it

REVIEW = "review"
GOLD = "gold"
MAJORITY = "majority"
TIE = "tie"
SOURCES = (REVIEW, GOLD, MAJORITY, TIE)
"""Where an item's final label comes from, strongest first: a reviewer's adjudication, the gold truth of a
gold item, the labellers' majority; `tie` when the majority is a tie (no final label)."""


@dataclass(frozen=True)
class Final:
    """An item's final label; `label` is None on a tie or with no labels. `votes` counts current labels."""

    label: Label | None
    source: str | None
    tie: bool
    votes: int
    reviewer: str | None = None


def decide(
    votes: Sequence[Label],
    *,
    gold: Label | None = None,
    review: Label | None = None,
    reviewer: str | None = None,
    iou_threshold: float = 0.5,
) -> Final:
    """The final label: a reviewer's adjudication wins, then a gold item's known label (the labellers'
    answers on a gold item test them, they never outvote the truth), then the majority of `votes`."""
    if review is not None:
        return Final(review, REVIEW, False, len(votes), reviewer)
    if gold is not None:
        return Final(gold, GOLD, False, len(votes))
    label, tie = majority(votes, iou_threshold=iou_threshold)
    if tie:
        return Final(None, TIE, True, len(votes))
    return Final(label, MAJORITY if label is not None else None, False, len(votes))


def final_labels(
    votes: dict[int, dict[str, Label]],
    reviewed: dict[int, tuple[Label, str]],
    gold: dict[int, Label],
    *,
    iou_threshold: float = 0.5,
) -> dict[int, Final]:
    """{item id: Final} for every item with a label (`votes`: {item: {labeller: label}}), an adjudication
    (`reviewed`: {item: (label, reviewer)}) or a gold label; items with none of these are left out.
    `iou_threshold`: a box project's (ProjectSettings.iou_threshold)."""
    finals = {}
    for item_id in sorted(set(votes) | set(reviewed) | set(gold)):
        given = list(votes.get(item_id, {}).values())
        review, reviewer = reviewed.get(item_id, (None, None))
        finals[item_id] = decide(
            given, gold=gold.get(item_id), review=review, reviewer=reviewer, iou_threshold=iou_threshold
        )
    return finals
