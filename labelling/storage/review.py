"""Quality control that changes the queue or an item's final label: the overlap changed mid-project, gold
items and their hand-out, a reviewer's adjudication, and sending an item back for new labels.

Every function runs inside the caller's write transaction (the `Store` opens one per call), so each
change is all-or-nothing. None of them touches a live lease: a labeller holding an item keeps it.

Gold items leave the shared queue. A gold hand-out is a task row made for one labeller, inserted already
*done* and leased to them: done tasks are never claimed by anyone else (the claim index holds only open
tasks) and the queue treats a done task under a live lease as an item being relabelled, so submit, skip
and undo work on it unchanged, and the unique (item, labeller) index hands each labeller each gold item
at most once.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)

from labelling.quality import consensus
from labelling import labels as label_values
from labelling.storage.engine import clock
from labelling.errors import InvalidInput, ItemNotFound, LabellingError
from labelling.people import ADMIN_NAME, REVIEW_ROLES
from labelling.storage.queue import Labeller, find_labeller, lock_labeller
from labelling.records import Item, Label, Project
from labelling.storage.schema import annotations, gold_items, items, labellers, predictions, projects, reviews, tasks
from labelling.io.serialisation import decode, is_missing

__all__ = [
    "GOLD_RATE_SETTING",
    "MAX_OVERLAP",
    "NotAReviewer",
    "ReviewItem",
    "adjudicate",
    "change_overlap",
    "gold_rate",
    "gold_rows",
    "hand_out_gold",
    "mark_gold",
    "review_items",
    "send_back",
    "unmark_gold",
]

MAX_OVERLAP = 100
"""Labellers per item at most (a change of overlap inserts up to this many tasks per item)."""
GOLD_RATE_SETTING = "gold_rate"
"""Key in `Project.settings`: the share of hand-outs (0..1) that are gold items, 0 for none."""
GOLD_CANDIDATES = 50
"""A gold hand-out picks at random among this many gold items the labeller has not seen."""
ID_BATCH = 5_000
"""Item ids per statement when many are given (SQLite limits the parameters of one statement)."""


class NotAReviewer(LabellingError, PermissionError):
    """Only reviewers and admins may set final labels or send items back to the queue."""


@dataclass(frozen=True)
class ReviewItem:
    """An item as the Review page shows it. `agreement` is the share of its labellers who gave the most
    common label (1.0 = unanimous); `final` its final label now; `suggestion` the model's latest
    prediction for it, when there is one, with its probability."""

    item_id: int
    data: Any
    votes: dict[str, Label] = field(compare=False)
    agreement: float
    final: consensus.Final
    suggestion: Label | None = None
    suggestion_probability: float | None = None


# The overlap

_live = and_(tasks.c.lease_expires_at.is_not(None), tasks.c.lease_expires_at >= clock())
_gold = exists().where(gold_items.c.item_id == items.c.id)


def _top_up(project: Project, overlap: int, priority: float, only: Sequence[int] | None = None):
    """INSERT giving each non-gold item (of `only`, if given) open tasks until it has `overlap` tasks.

    New tasks take the item's best priority, and count as started when the item has a label already,
    so a completed item that reopens comes before untouched ones."""
    slots = select(literal(1).label("n")).cte("slots", recursive=True)
    slots = slots.union_all(select(slots.c.n + 1).where(slots.c.n < overlap))
    conditions = [items.c.project_id == project.id, ~_gold]
    if only is not None:
        conditions.append(items.c.id.in_(list(only)))
    counts = (
        select(
            items.c.id.label("item_id"),
            func.count(tasks.c.id).label("n"),
            func.coalesce(func.max(tasks.c.priority), priority).label("priority"),
            func.max(case((or_(tasks.c.done, tasks.c.started), 1), else_=0)).label("started"),
        )
        .select_from(items.outerjoin(tasks, tasks.c.item_id == items.c.id))
        .where(*conditions)
        .group_by(items.c.id)
        .having(func.count(tasks.c.id) < overlap)
        .cte("counts")
    )
    rows = select(
        literal(project.id), counts.c.item_id, counts.c.priority, counts.c.started == 1, false()
    ).select_from(counts.join(slots, slots.c.n <= overlap - counts.c.n))
    return tasks.insert().from_select(["project_id", "item_id", "priority", "started", "done"], rows)


def _surplus(project: Project, overlap: int, only: Sequence[int] | None = None):
    """DELETE open, unleased tasks of items that have more than `overlap` tasks, newest first, down to
    `overlap` (fewer when others are done or leased). The open/unleased test is repeated on the row
    deleted, so a task claimed meanwhile stays (PostgreSQL re-checks it on the row's newest version)."""
    free = and_(tasks.c.project_id == project.id, ~tasks.c.done, ~_live)
    if only is not None:
        free = and_(free, tasks.c.item_id.in_(list(only)))
    counts = (
        select(tasks.c.item_id, func.count().label("n"))
        .where(tasks.c.project_id == project.id)
        .group_by(tasks.c.item_id)
        .having(func.count() > overlap)
        .subquery()
    )
    ranked = (
        select(
            tasks.c.id,
            counts.c.n,
            func.row_number().over(partition_by=tasks.c.item_id, order_by=tasks.c.id.desc()).label("rank"),
        )
        .join(counts, counts.c.item_id == tasks.c.item_id)
        .where(free)
        .subquery()
    )
    doomed = select(ranked.c.id).where(ranked.c.rank <= ranked.c.n - overlap)
    return tasks.delete().where(tasks.c.id.in_(doomed), free)


TOP_OPEN_PRIORITY = select(func.max(tasks.c.priority)).where(tasks.c.project_id == bindparam("project"), ~tasks.c.done)

LOCK_PROJECT = select(projects.c.id).where(projects.c.id == bindparam("project")).with_for_update(key_share=True)
"""Changes that count an item's tasks and then add some run one at a time per project (two at once would
each add the missing tasks). FOR NO KEY UPDATE: labels, which only reference the row, never wait on it."""


def change_overlap(connection: Connection, project: Project, overlap: int) -> tuple[int, int]:
    """Set labellers per item to `overlap`; returns (tasks added, tasks removed).

    Raising it gives every item open tasks up to the new number: complete items reopen for labellers
    who have not labelled them. Lowering it removes only open tasks nobody holds, so an item whose
    labels now suffice is complete, and one leased right now may end with a label more than needed.
    """
    if not isinstance(overlap, (int, np.integer)) or isinstance(overlap, bool) or not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"labellers per item must be a whole number from 1 to {MAX_OVERLAP} (got {overlap!r})")
    overlap = int(overlap)
    connection.execute(LOCK_PROJECT, {"project": project.id})
    priority = connection.execute(TOP_OPEN_PRIORITY, {"project": project.id}).scalar() or 0.0
    added = connection.execute(_top_up(project, overlap, priority)).rowcount
    removed = connection.execute(_surplus(project, overlap)).rowcount
    connection.execute(projects.update().where(projects.c.id == project.id).values(overlap=overlap))
    return max(added, 0), max(removed, 0)


# Gold items


def gold_rate(project: Project) -> float:
    """The project's gold rate (0 when it has none); read from the cached project, no query."""
    return float(project.settings.get(GOLD_RATE_SETTING) or 0.0)


def check_gold_rate(rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not 0.0 <= float(rate) <= 1.0:
        raise InvalidInput(f"the gold rate is a share of hand-outs from 0 to 1, e.g. 0.05 for 5% (got {rate!r})")
    return float(rate)


def mark_gold(connection: Connection, project: Project, item_ids: Sequence[int], labels: Sequence[Any]) -> int:
    """Make items gold with their known labels (again: the label is replaced); returns how many.

    Their open tasks nobody holds leave the queue; a task someone holds now becomes that person's gold
    hand-out; labels already given stay and count as those labellers' gold answers. An adjudication of
    the item is superseded: the known label is final.
    """
    ids = _item_ids(item_ids)
    if len(labels) != len(ids):
        raise InvalidInput(f"{len(labels)} labels for {len(ids)} items: give one known label per item")
    values = []
    for item_id, given in zip(ids, labels):
        label = label_values.normalise(project, given)
        if label is None:
            raise InvalidInput(f"item {item_id} has no gold label: give its known label")
        values.append(label_values.to_json(label))
    _require_items(connection, project, ids)
    for batch in _batches(ids):
        connection.execute(gold_items.delete().where(gold_items.c.item_id.in_(batch)))
        mine = and_(tasks.c.item_id.in_(batch), ~tasks.c.done)
        connection.execute(tasks.delete().where(mine, ~_live))
        connection.execute(update(tasks).where(mine, _live).values(done=true()))
        connection.execute(
            update(reviews).where(reviews.c.item_id.in_(batch), reviews.c.is_current).values(is_current=false())
        )
    connection.execute(
        gold_items.insert().values(created_at=clock()),
        [{"item_id": i, "project_id": project.id, "label": v} for i, v in zip(ids, values)],
    )
    return len(ids)


def unmark_gold(connection: Connection, project: Project, item_ids: Sequence[int]) -> int:
    """Return gold items to the queue as ordinary items (open tasks up to the overlap); returns how many
    were gold. Labels given to them stay, as ordinary votes."""
    ids = _item_ids(item_ids)
    _require_items(connection, project, ids)
    connection.execute(LOCK_PROJECT, {"project": project.id})
    removed = 0
    for batch in _batches(ids):
        removed += connection.execute(
            gold_items.delete().where(gold_items.c.project_id == project.id, gold_items.c.item_id.in_(batch))
        ).rowcount
        priority = connection.execute(TOP_OPEN_PRIORITY, {"project": project.id}).scalar() or 0.0
        connection.execute(_top_up(project, project.overlap, priority, only=batch))
    return removed


def gold_rows(frames: Iterable[pd.DataFrame], id_column: str, label_column: str) -> tuple[list[int], list[Any]]:
    """(item ids, known labels) from table chunks (a CSV file: an Export file with a gold column added):
    the rows with a value in `label_column`; rows whose cell there is empty are left out."""
    ids: list[int] = []
    labels: list[Any] = []
    for frame in frames:
        for column in (id_column, label_column):
            if column not in frame.columns:
                raise InvalidInput(f"no column {column!r} in the file")
        for item_id, label in zip(frame[id_column], frame[label_column]):
            if is_missing(label) or not str(label).strip():
                continue
            try:
                number = float(item_id)
            except (TypeError, ValueError):
                number = math.nan
            if not number.is_integer():
                raise InvalidInput(f"{item_id!r} in column {id_column!r} is not an item id")
            ids.append(int(number))
            labels.append(label)
    if not ids:
        raise InvalidInput(f"no row has a label in column {label_column!r}")
    return ids, labels


_open = tasks.alias("open_task")

GOLD_FOR_ME = (
    select(gold_items.c.item_id)
    .where(
        gold_items.c.project_id == bindparam("project"),
        ~exists().where(tasks.c.item_id == gold_items.c.item_id, tasks.c.labeller_id == bindparam("me")),
        exists().where(
            _open.c.project_id == bindparam("project"),
            ~_open.c.done,
            or_(_open.c.lease_expires_at.is_(None), _open.c.lease_expires_at < clock()),
        ),
    )
    .order_by(gold_items.c.item_id)
    .limit(GOLD_CANDIDATES)
)
"""Gold items I was never handed (nor labelled before they became gold), while the shared queue still has
a free task: gold is mixed into work, never handed out on its own once the work is done."""

GIVE_GOLD = (
    tasks.insert()
    .values(
        project_id=bindparam("project"),
        item_id=bindparam("item"),
        done=true(),
        started=true(),
        labeller_id=bindparam("me"),
        leased_at=clock(),
        lease_expires_at=clock() + bindparam("lease"),
    )
    .returning(tasks.c.lease_expires_at)
)
"""My gold hand-out: a done task under my live lease (see the module docstring)."""

ITEM_DATA = select(items.c.data).where(items.c.id == bindparam("item"))


def hand_out_gold(
    connection: Connection, project: Project, me: Labeller, lease_seconds: float, rng: random.Random
) -> Item | None:
    """Lease me a gold item I have not had, at random; None when there is none or no other work is left.

    The caller drew the gold rate already: this runs only on a hit (three short statements)."""
    params = {"project": project.id, "me": me.id}
    candidates = connection.execute(GOLD_FOR_ME, params).scalars().all()
    if not candidates:
        return None
    item_id = rng.choice(candidates)
    expires = connection.execute(GIVE_GOLD, {**params, "item": item_id, "lease": float(lease_seconds)}).scalar_one()
    data = connection.execute(ITEM_DATA, {"item": item_id}).scalar_one()
    return Item(item_id, project.id, decode(data), expires, None)


# Review


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


def adjudicate(connection: Connection, project: Project, item_id: int, reviewer: str, label: Any) -> Label:
    """Set an item's final label; it wins over the labellers' majority (consensus.final_labels, export).

    Recorded as a review (who, when, what); an earlier adjudication of the item stays in the history."""
    me = check_reviewer(connection, reviewer)
    value = label_values.normalise(project, label)
    if value is None:
        raise InvalidInput("no final label given")
    _require_items(connection, project, [int(item_id)])
    _refuse_gold(connection, int(item_id))
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
    me = check_reviewer(connection, reviewer)
    item_id = int(item_id)
    _require_items(connection, project, [item_id])
    _refuse_gold(connection, item_id)
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
    connection.execute(LOCK_PROJECT, {"project": project.id})
    priority = connection.execute(TOP_OPEN_PRIORITY, {"project": project.id}).scalar() or 0.0
    connection.execute(
        update(tasks)
        .where(tasks.c.item_id == item_id, or_(tasks.c.done, ~_live))
        .values(done=false(), started=false(), labeller_id=None, leased_at=None, lease_expires_at=None, priority=priority)
    )
    connection.execute(_top_up(project, project.overlap, priority, only=[item_id]))
    connection.execute(_surplus(project, project.overlap, only=[item_id]))
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
    agree. `reviewed=True` lists only items already adjudicated (to check or change them); otherwise
    they are left out. Gold items are never listed: their label is known."""
    votes = consensus.current_votes(connection, project.id)
    finals = consensus.final_labels(connection, project.id, votes)
    gold = consensus.gold_labels(connection, project.id)
    found = []
    for item_id, by_labeller in votes.items():
        if item_id in gold:
            continue
        final = finals[item_id]
        if (final.source == consensus.REVIEW) != reviewed:
            continue
        given = list(by_labeller.values())
        counts = Counter(given)
        if not reviewed and len(counts) < 2:
            continue
        share = max(counts.values()) / len(given)
        if share > max_agreement + 1e-9:
            continue
        if labeller is not None and labeller not in by_labeller:
            continue
        if label is not None and not any(label == v or (isinstance(v, tuple) and label in v) for v in given):
            continue
        found.append((share, item_id))
    found.sort()
    page = [item_id for _, item_id in found[: max(int(limit), 0)]]
    data = dict(connection.execute(select(items.c.id, items.c.data).where(items.c.id.in_(page))).all())
    suggested = {
        row.item_id: (label_values.from_json(row.label), float(row.probability))
        for row in connection.execute(
            select(predictions.c.item_id, predictions.c.label, predictions.c.probability).where(
                predictions.c.item_id.in_(page)
            )
        )
    }
    shares = {item_id: share for share, item_id in found}
    listed = [
        ReviewItem(
            item_id,
            decode(data[item_id]),
            votes[item_id],
            shares[item_id],
            finals[item_id],
            *suggested.get(item_id, (None, None)),
        )
        for item_id in page
    ]
    return listed, len(found)


# Helpers


def _item_ids(item_ids: Sequence[int]) -> list[int]:
    ids = np.asarray(item_ids)
    if ids.ndim != 1 or not len(ids):
        raise InvalidInput("give one or more item ids")
    if not np.issubdtype(ids.dtype, np.integer):
        raise InvalidInput("item ids must be whole numbers")
    if len(np.unique(ids)) != len(ids):
        raise InvalidInput("an item id is given more than once")
    return [int(i) for i in ids]


def _batches(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + ID_BATCH] for start in range(0, len(ids), ID_BATCH)]


def _require_items(connection: Connection, project: Project, ids: list[int]) -> None:
    for batch in _batches(ids):
        known = set(
            connection.execute(
                select(items.c.id).where(items.c.project_id == project.id, items.c.id.in_(batch))
            ).scalars()
        )
        missing = [i for i in batch if i not in known]
        if missing:
            raise ItemNotFound(f"no item {missing[0]} in project {project.name!r} (nothing was changed)")


def _refuse_gold(connection: Connection, item_id: int) -> None:
    if connection.execute(select(gold_items.c.item_id).where(gold_items.c.item_id == item_id)).first():
        raise InvalidInput(f"item {item_id} is a gold item: its known label is final (change it on Setup)")


def _supersede_review(connection: Connection, item_id: int) -> None:
    connection.execute(
        update(reviews).where(reviews.c.item_id == item_id, reviews.c.is_current).values(is_current=False)
    )
