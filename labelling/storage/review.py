"""Review: the items whose labellers disagree, a reviewer's adjudication (the final label), and sending an
item back to the queue for new labels. Only reviewers and admins may act.

Every function runs inside the caller's transaction (the `Store` opens one per call), so each change is
all-or-nothing. A task someone holds right now is left with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, false, or_, select, update

from labelling.io import labels as label_values
from labelling.errors import InvalidInput, NotAReviewer
from labelling.io.serialisation import decode
from labelling.people import ADMIN_NAME, REVIEW_ROLES
from labelling.quality import consensus, shapes
from labelling.records import Label, Project, Task
from labelling.storage import votes as project_votes
from labelling.storage.item_labels import label_of_item
from labelling.storage.access import require_member
from labelling.storage.engine import clock
from labelling.storage.gold import refuse_gold
from labelling.storage.items import require_items
from labelling.storage.overlap import LIVE_LEASE, lock_project, refuse_excluded, surplus, top_priority, top_up
from labelling.storage.queue import Labeller, find_labeller, lock_labeller
from labelling.storage.schema import annotations, items, labellers, predictions, reviews, tasks

__all__ = [
    "ReviewItem", "adjudicate", "agreement_share", "check_reviewer", "review_cards", "review_items", "send_back"
]


@dataclass(frozen=True)
class ReviewItem:
    """An item as the Review page shows it. `agreement` is the share of its labellers who gave the most
    common label (1.0 = unanimous; boxes and spans: the mean F1 of each pair of labellers); `final` its
    final label now; `suggestion` the model's latest prediction for it, when there is one, with its
    probability."""

    item_id: int
    data: Any
    votes: dict[str, Label] = field(compare=False)
    agreement: float
    final: consensus.Final
    suggestion: Label | None = None
    suggestion_probability: float | None = None


def check_reviewer(connection: Connection, name: str) -> Labeller:
    """The reviewer, if they may review: role reviewer or admin (the admin account always)."""
    found = find_labeller(connection, name)
    if found is None and name.strip() != ADMIN_NAME:
        raise NotAReviewer(f"{name!r} is not a reviewer: an admin can make them one on the People page")
    if found is not None and found.name != ADMIN_NAME:
        role, revoked = connection.execute(
            select(labellers.c.role, labellers.c.revoked_at).where(labellers.c.id == found.id)
        ).one()
        if role not in REVIEW_ROLES or revoked is not None:
            raise NotAReviewer(f"{name!r} is not a reviewer: an admin can make them one on the People page")
    return lock_labeller(connection, name)


def adjudicate(
    connection: Connection, project: Project, item_id: int, reviewer: str, label: Any, media_roots: Sequence[Path] | None = None
) -> Label:
    """Set an item's final label; it wins over the labellers' majority (consensus.final_labels, export).

    Recorded as a review (who, when, what); an earlier adjudication of the item stays in the history."""
    me = require_member(connection, project, check_reviewer(connection, reviewer))
    project = lock_project(connection, project.id)  # reviews of a project one at a time (bulk accept), labels as now
    require_items(connection, project, [int(item_id)])
    value = label_of_item(connection, project, item_id, label, media_roots)
    if value is None:
        raise InvalidInput("no final label given")
    refuse_gold(connection, int(item_id))
    _supersede_review(connection, int(item_id))
    connection.execute(
        reviews.insert().values(
            project_id=project.id,
            item_id=int(item_id),
            reviewer_id=me.id,
            action="adjudicate",
            label=label_values.to_json(value),
            is_current=True,
            created_at=clock(),
        )
    )
    return value


def send_back(connection: Connection, project: Project, item_id: int, reviewer: str) -> int:
    """Send an item back to the queue for new labels; returns how many labels were superseded.

    Its current labels and adjudication stop counting (history is kept); its tasks reopen, at the top of
    the queue, for anyone; a task someone holds right now is left with them."""
    me = require_member(connection, project, check_reviewer(connection, reviewer))
    item_id = int(item_id)
    require_items(connection, project, [item_id])
    refuse_gold(connection, item_id)
    refuse_excluded(connection, item_id)
    # Locks in the order the queue takes them: project (overlap changes), then the item's tasks, then its
    # labels. A relabel after undo holds its task and then supersedes its label; taking the labels first
    # here deadlocked against it (the 16-process stress test, twice in one CI run).
    # Read again under the lock: an overlap change that committed since the caller read the project would
    # otherwise have its surplus tasks topped up again here (the stress test caught two open tasks at overlap 1).
    project = lock_project(connection, project.id)
    connection.execute(select(tasks.c.id).where(tasks.c.item_id == item_id).order_by(tasks.c.id).with_for_update())
    superseded = connection.execute(
        update(annotations)
        .where(annotations.c.item_id == item_id, annotations.c.is_current)
        .values(is_current=false())
    ).rowcount
    _supersede_review(connection, item_id)
    connection.execute(
        reviews.insert().values(
            project_id=project.id, item_id=item_id, reviewer_id=me.id, action="requeue", created_at=clock()
        )
    )
    priority = top_priority(connection, project.id)
    connection.execute(
        update(tasks)
        .where(tasks.c.item_id == item_id, or_(tasks.c.done, ~LIVE_LEASE))
        .values(done=false(), started=false(), labeller_id=None, leased_at=None, lease_expires_at=None, priority=priority)
    )
    connection.execute(top_up(project, project.overlap, priority, only=[item_id]))
    connection.execute(surplus(project, project.overlap, only=[item_id]))
    return superseded


def review_items(
    connection: Connection,
    project: Project,
    *,
    label: str | None = None,
    labeller: str | None = None,
    max_agreement: float = 1.0,
    reviewed: bool = False,
    limit: int = 50,
) -> tuple[list[ReviewItem], int]:
    """Items whose labellers disagree, least agreement first, and how many match in all.

    Filters: some labeller gave `label`; `labeller` labelled it; at most `max_agreement` of its labellers
    agree (boxes and spans: their mean F1 pair by pair, labelling.quality.shapes.item_agreement).
    `reviewed=True` lists only items already adjudicated (to check or change them); otherwise they are
    left out. Gold items are never listed: their label is known."""
    votes = project_votes.current_votes(connection, project.id)
    finals = project_votes.final_labels(connection, project, votes)
    gold = project_votes.gold_labels(connection, project.id)
    found = []
    for item_id, by_labeller in votes.items():
        if item_id in gold:
            continue
        final = finals[item_id]
        if (final.source == consensus.REVIEW) != reviewed:
            continue
        given = list(by_labeller.values())
        share = agreement_share(project, given)
        if not reviewed and (len(given) < 2 or share >= 1.0):
            continue
        if share > max_agreement + 1e-9:
            continue
        if labeller is not None and labeller not in by_labeller:
            continue
        if label is not None and not any(label in label_values.classes(v) for v in given):
            continue
        found.append((share, item_id))
    found.sort()
    page = [item_id for _, item_id in found[: max(int(limit), 0)]]
    return review_cards(connection, page, votes, finals, {item_id: share for share, item_id in found}), len(found)


def agreement_share(project: Project, given: list[Label]) -> float:
    """How far an item's labellers agree, 0 to 1 (1.0: unanimous; 0.0: no labels): the share who gave its most
    common label; for boxes and spans their mean pairwise F1 at the project's IoU threshold."""
    if not given:
        return 0.0
    if project.options.task is Task.CLASSIFY:
        return max(Counter(given).values()) / len(given)
    return shapes.item_agreement(given, iou_threshold=project.options.iou_threshold)


def review_cards(
    connection: Connection,
    page: list[int],
    votes: dict[int, dict[str, Label]],
    finals: dict[int, consensus.Final],
    shares: dict[int, float],
) -> list[ReviewItem]:
    """The items `page` names, in its order, as the Review page's cards: value, votes, agreement, final label
    and the model's suggestion. An item with no label yet has no votes and no final label."""
    data = dict(connection.execute(select(items.c.id, items.c.data).where(items.c.id.in_(page))).all())
    suggested = {
        row.item_id: (label_values.from_json(row.label), float(row.probability))
        for row in connection.execute(
            select(predictions.c.item_id, predictions.c.label, predictions.c.probability).where(
                predictions.c.item_id.in_(page)
            )
        )
    }
    return [
        ReviewItem(
            item_id,
            decode(data[item_id]),
            votes.get(item_id, {}),
            shares.get(item_id, 0.0),
            finals.get(item_id, consensus.NO_LABEL),
            *suggested.get(item_id, (None, None)),
        )
        for item_id in page
    ]



def _supersede_review(connection: Connection, item_id: int) -> None:
    connection.execute(
        update(reviews).where(reviews.c.item_id == item_id, reviews.c.is_current).values(is_current=False)
    )
