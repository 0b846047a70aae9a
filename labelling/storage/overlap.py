"""Labellers per item, changed mid-project without breaking anyone's stream; and the task top-up and
trimming that gold items and sending an item back reuse.

Every function runs inside the caller's write transaction (the `Store` opens one per call), so each
change is all-or-nothing. None of them touches a live lease: a labeller holding an item keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import ColumnElement, Connection, and_, bindparam, case, exists, false, func, literal, or_, select

from labelling.errors import InvalidInput
from labelling.records import Project
from labelling.storage import projects as project_rows
from labelling.storage.engine import clock
from labelling.storage.schema import gold_items, item_problems, items, projects, tasks
from labelling.storage.statements import TOP_OPEN_PRIORITY

__all__ = [
    "LIVE_LEASE", "LOCK_PROJECT", "MAX_OVERLAP", "change_overlap", "excluded", "lock_project", "refuse_excluded",
    "surplus", "top_priority", "top_up",
]

MAX_OVERLAP = 100
"""Labellers per item at most (a change of overlap inserts up to this many tasks per item)."""

LIVE_LEASE = and_(tasks.c.lease_expires_at.is_not(None), tasks.c.lease_expires_at >= clock())
"""A task someone holds right now: changes to the queue leave it alone."""
_gold = exists().where(gold_items.c.item_id == items.c.id)


def excluded(item_id: ColumnElement[int]) -> ColumnElement[bool]:
    """The item a reviewer took out of the queue (labelling.storage.problems): it never gets open tasks
    again, is never handed out as gold, and cannot be sent back."""
    return exists().where(item_problems.c.item_id == item_id, item_problems.c.resolution == "excluded")


def refuse_excluded(connection: Connection, item_id: int) -> None:
    if connection.execute(select(excluded(literal(item_id)))).scalar():
        raise InvalidInput(f"item {item_id} was excluded from the queue (a reported problem): it cannot be sent back")


_excluded = excluded(items.c.id)

LOCK_PROJECT = select(projects.c.id).where(projects.c.id == bindparam("project")).with_for_update(key_share=True)
"""Changes that count an item's tasks and then add some run one at a time per project (two at once would
each add the missing tasks). FOR NO KEY UPDATE: labels, which only reference the row, never wait on it."""


def lock_project(connection: Connection, project: int | str) -> Project:
    """The open project (by id or name), read again once its lock is held. Every change of its label set
    (`Store.update_project`, renames and merges) and every writer that checks labels against it takes this
    lock before any row of its tasks or labels (the other order deadlocked): a label checked against the
    set returned here is still in it at commit (one checked against a copy read before the wait could be a
    name a rename had just rewritten), and two label changes at once each see the other's set."""
    found = project_rows.load_open(connection, project)
    connection.execute(LOCK_PROJECT, {"project": found.id})
    return project_rows.load_open(connection, found.id)


def top_priority(connection: Connection, project_id: int) -> float:
    """The best priority among open tasks (0 with none): new and reopened tasks join at the top."""
    return connection.execute(TOP_OPEN_PRIORITY, {"project": project_id}).scalar() or 0.0


def top_up(project: Project, overlap: int, priority: float, only: Sequence[int] | None = None):
    """INSERT giving each non-gold, non-excluded item (of `only`, if given) open tasks until it has `overlap` tasks.

    New tasks take the item's best priority, and count as started when the item has a label already,
    so a completed item that reopens comes before untouched ones."""
    slots = select(literal(1).label("n")).cte("slots", recursive=True)
    slots = slots.union_all(select(slots.c.n + 1).where(slots.c.n < overlap))
    conditions = [items.c.project_id == project.id, ~_gold, ~_excluded]
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


def surplus(project: Project, overlap: int, only: Sequence[int] | None = None):
    """DELETE open, unleased tasks of items that have more than `overlap` tasks, newest first, down to
    `overlap` (fewer when others are done or leased). The open/unleased test is repeated on the row
    deleted, so a task claimed meanwhile stays (PostgreSQL re-checks it on the row's newest version)."""
    free = and_(tasks.c.project_id == project.id, ~tasks.c.done, ~LIVE_LEASE)
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
    priority = top_priority(connection, project.id)
    added = connection.execute(top_up(project, overlap, priority)).rowcount
    removed = connection.execute(surplus(project, overlap)).rowcount
    connection.execute(projects.update().where(projects.c.id == project.id).values(overlap=overlap))
    return max(added, 0), max(removed, 0)
