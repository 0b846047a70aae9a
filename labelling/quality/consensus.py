"""The final label of an item: a reviewer's adjudication, else a gold item's known label, else the majority
vote of its labellers, ties flagged rather than guessed. The one place that decides it, for export and training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select

from labelling import labels as label_values
from labelling.records import Label
from labelling.storage.schema import annotations, gold_items, labellers, reviews

__all__ = ["SOURCES", "Final", "adjudicated", "current_votes", "decide", "final_labels", "gold_labels", "majority"]


def majority(votes: Sequence[Label]) -> tuple[Label | None, bool]:
    """(final label, tie). Single-label: the most common label. Multi-label: each label kept by more than
    half of the labellers. A tie gives (None, True) so that nobody mistakes a coin toss for agreement."""
    if not votes:
        return None, False
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
    votes: Sequence[Label], *, gold: Label | None = None, review: Label | None = None, reviewer: str | None = None
) -> Final:
    """The final label: a reviewer's adjudication wins, then a gold item's known label (the labellers'
    answers on a gold item test them, they never outvote the truth), then the majority of `votes`."""
    if review is not None:
        return Final(review, REVIEW, False, len(votes), reviewer)
    if gold is not None:
        return Final(gold, GOLD, False, len(votes))
    label, tie = majority(votes)
    if tie:
        return Final(None, TIE, True, len(votes))
    return Final(label, MAJORITY if label is not None else None, False, len(votes))


CURRENT_VOTES = (
    select(annotations.c.item_id, labellers.c.name, annotations.c.label)
    .join(labellers, labellers.c.id == annotations.c.labeller_id)
    .where(annotations.c.project_id == bindparam("project"), annotations.c.is_current)
    .order_by(annotations.c.id)
)
"""Every current label of a project with its labeller's name (labels and imported labels)."""

CURRENT_REVIEWS = (
    select(reviews.c.item_id, reviews.c.label, labellers.c.name)
    .join(labellers, labellers.c.id == reviews.c.reviewer_id)
    .where(reviews.c.project_id == bindparam("project"), reviews.c.is_current)
)
"""The adjudicated final labels and who set them."""

GOLD_LABELS = select(gold_items.c.item_id, gold_items.c.label).where(gold_items.c.project_id == bindparam("project"))


def current_votes(connection: Connection, project_id: int) -> dict[int, dict[str, Label]]:
    """{item id: {labeller name: current label}} for items with at least one current label."""
    votes: dict[int, dict[str, Label]] = {}
    for item_id, name, label in connection.execute(CURRENT_VOTES, {"project": project_id}):
        votes.setdefault(item_id, {})[name] = label_values.from_json(label)
    return votes


def adjudicated(connection: Connection, project_id: int) -> dict[int, tuple[Label, str]]:
    """{item id: (final label, reviewer name)} for adjudicated items."""
    rows = connection.execute(CURRENT_REVIEWS, {"project": project_id})
    return {i: (label_values.from_json(v), name) for i, v, name in rows}


def gold_labels(connection: Connection, project_id: int) -> dict[int, Label]:
    return {i: label_values.from_json(v) for i, v in connection.execute(GOLD_LABELS, {"project": project_id})}


def final_labels(
    connection: Connection, project_id: int, votes: dict[int, dict[str, Label]] | None = None
) -> dict[int, Final]:
    """{item id: Final} for every item with a label, a gold label or an adjudication; items with none
    of these are left out. Pass `votes` (from `current_votes`) when the caller has read them already."""
    votes = current_votes(connection, project_id) if votes is None else votes
    reviewed = adjudicated(connection, project_id)
    gold = gold_labels(connection, project_id)
    finals = {}
    for item_id in sorted(set(votes) | set(reviewed) | set(gold)):
        given = list(votes.get(item_id, {}).values())
        review, reviewer = reviewed.get(item_id, (None, None))
        finals[item_id] = decide(given, gold=gold.get(item_id), review=review, reviewer=reviewer)
    return finals
