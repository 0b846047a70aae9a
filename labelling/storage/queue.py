"""The labelling queue: claim, submit, skip and undo for one labeller, each inside the caller's transaction.

Callers (the `Store`) open one write transaction per call; everything here assumes it runs inside one
and that `lock_labeller` was called first, so one labeller's requests are serialised while different
labellers only meet at the `SKIP LOCKED` claim.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from labelling.io import labels
from labelling.storage import projects as project_rows
from labelling.storage import statements as queries
from labelling.storage.engine import clock, insert_arrays
from labelling.errors import InvalidInput, ItemNotFound, LeaseLost
from labelling.people import check_name
from labelling.records import Annotation, Item, Label, Prediction, Project
from labelling.storage.schema import labellers
from labelling.io.serialisation import decode

__all__ = [
    "LabelSetChanged",
    "Labeller",
    "check_lease",
    "find_labeller",
    "item_view",
    "lock_labeller",
    "next_item",
    "priority_arrays",
    "reopen",
    "set_priorities",
    "skip",
    "submit",
    "submit_and_next",
    "undo",
]

_NO_LIMIT = 2**62


class Labeller(NamedTuple):
    id: int
    name: str


class LabelSetChanged(InvalidInput):
    """The project's label set is no longer the one a label was checked against: another process changed it
    since this one read the project. Nothing was written: the caller checks the label again against the
    project read now (`Store`), and the labeller is told to send it again if it changed once more meanwhile."""


class _Submitted(NamedTuple):
    """A submit's label, and whether it ended a live lease of mine: a labeller holds at most one live lease
    per project (every lease is given under their lock once REFRESH_MY_LEASE found none, or after letting
    the held one go), so then they hold none and the next hand-out need not look for one."""

    annotation: Annotation
    ended_my_lease: bool = False


def find_labeller(connection: Connection, name: str) -> Labeller | None:
    """An existing labeller, or None (their id never changes, so callers may cache it)."""
    found = connection.execute(queries.LABELLER_ID, {"name": check_name(name)}).scalar()
    return None if found is None else Labeller(found, check_name(name))


def lock_labeller(connection: Connection, name: str) -> Labeller:
    """The labeller, created on first use, with their row locked until the transaction ends."""
    name = check_name(name)
    found = queries.LOCK_LABELLER.scalar(connection, {"name": name})
    if found is None:
        dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        connection.execute(
            dialect_insert(labellers)
            .values(name=name, created_at=clock())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        found = queries.LOCK_LABELLER.one(connection, {"name": name})[0]
    return Labeller(found, name)


def next_item(
    connection: Connection,
    project: Project,
    me: Labeller,
    lease_seconds: float,
    gold: Callable[[], Item | None] | None = None,
    *,
    holding: bool = True,
) -> Item | None:
    """My live lease (extended) if I hold one, else a newly claimed task; None when nothing is left for me.

    `gold`, given when the gold-rate draw hit, offers a gold item instead of a claim (labelling.storage.gold).
    `holding=False`: the caller knows I hold no live lease (a submit just ended the one I held: `_Submitted`),
    so none is looked for."""
    params = {"project": project.id, "me": me.id, "lease": float(lease_seconds)}
    held = queries.REFRESH_MY_LEASE.first(connection, params) if holding else None
    if held is not None:
        mine = _my_current(connection, held.item_id, me) if held.done else None
        return item_view(connection, project, held.item_id, held.lease_expires_at, mine and mine.label)
    if gold is not None and (offered := gold()) is not None:
        return offered
    claimed = queries.CLAIM_NEXT.first(connection, params)
    if claimed is None:  # only items I skipped are left: offer them again rather than nothing
        claimed = queries.CLAIM_SKIPPED.first(connection, params)
    if claimed is None:
        return None
    if connection.dialect.name == "postgresql":
        return _shown(project, claimed.item_id, claimed.lease_expires_at, None, claimed)
    return item_view(connection, project, claimed.item_id, claimed.lease_expires_at, None)


def submit(connection: Connection, project: Project, me: Labeller, item_id: int, label: Label) -> Annotation:
    """Record my label; a second submit of the same item returns the first label instead of adding one.

    The common case (I hold the item) is one statement, which on PostgreSQL takes my labeller lock first
    if it is free (SUBMIT_MY_TASK); on SQLite the transaction holds the database's write lock. Everything
    else, a concurrent double submit included, waits for `lock_labeller` and then reads afresh (a double
    submit finds the task done and returns the first label).
    """
    return _submit(connection, project, me, item_id, label).annotation


def submit_and_next(
    connection: Connection,
    project: Project,
    me: Labeller,
    item_id: int,
    label: Label,
    lease_seconds: float,
    gold: Callable[[], Item | None] | None = None,
) -> tuple[Annotation, Item | None]:
    """`submit`, then `next_item`. On PostgreSQL, unless a gold item is offered, the common case (I hold the
    item) is one statement that records the label and claims my next item (SUBMIT_AND_CLAIM)."""
    one_statement = connection.dialect.name == "postgresql" and gold is None
    if one_statement:
        params = {"project": project.id, "me": me.id, "item": item_id, "lease": float(lease_seconds), "labels": _checked(project)}
        row = queries.SUBMIT_AND_CLAIM.first(connection, {**params, "label_json": labels.to_json(label)})
        if row is not None:
            _started(connection, project, params)
            annotation = Annotation(row.id, item_id, me.name, label, row.created_at, row.seconds)
            if row.item_id is not None:
                return annotation, _shown(project, row.item_id, row.lease_expires_at, None, row)
            return annotation, next_item(connection, project, me, lease_seconds, holding=not row.was_live)
    submitted = _submit(connection, project, me, item_id, label, tried=one_statement)
    return submitted.annotation, next_item(connection, project, me, lease_seconds, gold, holding=not submitted.ended_my_lease)


def _submit(connection: Connection, project: Project, me: Labeller, item_id: int, label: Label, *, tried: bool = False) -> _Submitted:
    """`submit`, saying whether it ended my live lease. `tried`: SUBMIT_MY_TASK's case is known not to hold.
    LabelSetChanged when the project's label set is not the one the label was checked against."""
    params = {"project": project.id, "me": me.id, "item": item_id}
    if connection.dialect.name == "postgresql":
        if not tried:
            fast = {**params, "label_json": labels.to_json(label), "labels": _checked(project)}
            added = queries.SUBMIT_MY_TASK.first(connection, fast)
            if added is not None:
                _started(connection, project, params)
                return _Submitted(Annotation(added.id, item_id, me.name, label, added.created_at, added.seconds), added.was_live)
        completed = None  # the slow path: it waits for my lock, then reads afresh
    else:
        completed = queries.COMPLETE_IF_LABELS_AS_CHECKED.first(connection, {**params, "labels": _checked(project)})
    if completed is None:
        lock_labeller(connection, me.name)
        _check_label_set(connection, project)
        task = connection.execute(queries.MY_TASK_FOR_ITEM, params).first()
        if task is not None and task.done:
            mine = _my_current(connection, item_id, me) if task.lease_expires_at is None else None
            if mine is not None:  # labelled and not reopened: a double submit
                return _Submitted(mine)
            # Reopened by undo, or a gold hand-out (done from the start) I skipped or let expire: label it.
            connection.execute(queries.SUPERSEDE_MY_LABEL, params)
            connection.execute(queries.END_LEASE, {"task": task.id})
            return _Submitted(_add_annotation(connection, project, me, item_id, label, task.leased_at))
        # No task of mine: my lease expired and someone else took it, or I never asked. Take a free slot.
        if task is None and queries.CLAIM_ITEM.first(connection, {**params, "lease": 0.0}) is None:
            _require_item(connection, project, item_id)
            raise LeaseLost(
                f"item {item_id} was handed to another labeller after your lease expired, "
                "or already has all the labels it needs; your label was not recorded"
            )
        # That slot, or my open task, read now that I hold my lock (a call of mine may have changed it since).
        completed = queries.COMPLETE_MY_TASK.one(connection, params)
    _started(connection, project, params)
    return _Submitted(_add_annotation(connection, project, me, item_id, label, completed.leased_at))


def _checked(project: Project) -> str:
    """The label set a label was checked against (the caller's copy of the project), as the row keeps it."""
    return project_rows.stored_labels(project.labels)


def _check_label_set(connection: Connection, project: Project) -> None:
    """The labels themselves, not their text: a row written in another JSON layout costs the fast statement
    (which compares text) but never refuses a label of an unchanged set. A project deleted meanwhile is left
    to the item's check (ItemNotFound), as before there was this one."""
    stored = connection.execute(queries.LABEL_SET, {"project": project.id}).scalar()
    if stored is not None and tuple(json.loads(stored)) != project.labels:
        raise LabelSetChanged(f"the labels of project {project.name!r} were just changed: send the label again")


def _started(connection: Connection, project: Project, params: dict[str, Any]) -> None:
    """With overlap > 1, the item's other tasks go ahead of untouched items (MARK_STARTED)."""
    if project.overlap > 1:
        connection.execute(queries.MARK_STARTED, params)


def skip(connection: Connection, project: Project, me: Labeller, item_id: int) -> None:
    """Hand the item to others: it is not offered to me again while anything else is left."""
    params = {"project": project.id, "me": me.id, "item": item_id}
    task = connection.execute(queries.MY_TASK_FOR_ITEM, params).first()
    if task is not None and task.done:  # a reopened label: keep it as it was and move on
        connection.execute(queries.END_LEASE, {"task": task.id})
        return
    if task is None:
        _require_item(connection, project, item_id)
    else:
        connection.execute(queries.RELEASE_TASK, {"task": task.id})
    connection.execute(queries.ADD_SKIP, {**params, "leased_at": task.leased_at if task else None})


def undo(connection: Connection, project: Project, me: Labeller, lease_seconds: float) -> Item | None:
    """Reopen my most recent label (older ones on repeated undo); None when there is nothing to undo.

    The label stays current until I submit a new one, so an undo I walk away from loses nothing.
    """
    params = {"project": project.id, "me": me.id, "lease": float(lease_seconds)}
    held = connection.execute(queries.MY_LIVE_LEASE, params).first()
    looking_at = _my_current(connection, held.item_id, me) if held is not None and held.done else None
    previous = connection.execute(
        queries.MY_LAST_LABEL_BEFORE, {**params, "before": looking_at.id if looking_at else _NO_LIMIT}
    ).first()
    if previous is None:
        return None
    return _reopen(connection, project, me, held, previous.item_id, labels.from_json(previous.label), lease_seconds)


def reopen(connection: Connection, project: Project, me: Labeller, item_id: int, lease_seconds: float) -> Item:
    """Reopen one of my labelled items (my history on the Label page), as `undo` reopens the newest: the item I
    hold now is let go, and my label stays current until I submit a new one. ItemNotFound if I have no label
    on it in this project that I could change (a gold or excluded item keeps no task to reopen)."""
    params = {"project": project.id, "me": me.id, "lease": float(lease_seconds)}
    _require_item(connection, project, item_id)
    mine = _my_current(connection, item_id, me)
    if mine is None:
        raise ItemNotFound(f"you have no current label on item {item_id} in project {project.name!r}")
    held = connection.execute(queries.MY_LIVE_LEASE, params).first()
    reopened = _reopen(connection, project, me, held, item_id, mine.label, lease_seconds)
    if reopened.lease_expires_at is None:  # the caller's transaction rolls back: my held item stays mine
        raise ItemNotFound(f"item {item_id} in project {project.name!r} cannot be reopened: it left the queue")
    return reopened


def _reopen(
    connection: Connection, project: Project, me: Labeller, held: Any, item_id: int, mine: Label, lease: float
) -> Item:
    """Let go of the task I hold (`held`, MY_LIVE_LEASE's row) and lease my done task on `item_id` again."""
    if held is not None:
        connection.execute(queries.END_LEASE if held.done else queries.RELEASE_TASK, {"task": held.id})
    params = {"project": project.id, "me": me.id, "lease": float(lease), "item": item_id}
    expires = connection.execute(queries.REOPEN_TASK, params).scalar()
    return item_view(connection, project, item_id, expires, mine)


def _add_annotation(
    connection: Connection, project: Project, me: Labeller, item_id: int, label: Label, leased_at: float | None
) -> Annotation:
    row = queries.ADD_ANNOTATION.one(
        connection,
        {"project": project.id, "item": item_id, "me": me.id, "label_json": labels.to_json(label), "leased_at": leased_at},
    )
    return Annotation(row.id, item_id, me.name, label, row.created_at, row.seconds)


def _my_current(connection: Connection, item_id: int, me: Labeller) -> Annotation | None:
    row = connection.execute(queries.MY_CURRENT_LABEL, {"item": item_id, "me": me.id}).first()
    if row is None:
        return None
    return Annotation(row.id, item_id, me.name, labels.from_json(row.label), row.created_at, row.seconds)


def item_view(
    connection: Connection, project: Project, item_id: int, expires: float | None, my_label: Label | None
) -> Item:
    """The item as its labeller sees it: data, lease, my label if reopened, the model's suggestion."""
    row = queries.ITEM_VIEW.one(connection, {"item": item_id, "project": project.id})
    return _shown(project, item_id, expires, my_label, row)


def _shown(project: Project, item_id: int, expires: float | None, my_label: Label | None, row: Any) -> Item:
    """An Item from a row with `data` and the suggestion's columns (ITEM_VIEW's, or a claim's)."""
    suggestion = None
    if row.suggested is not None:
        suggestion = Prediction(item_id, labels.from_json(row.suggested), float(row.probability), int(row.run_id))
    return Item(item_id, project.id, decode(row.data), expires, my_label, suggestion)


def _require_item(connection: Connection, project: Project, item_id: int) -> None:
    if connection.execute(queries.ITEM_DATA, {"item": item_id, "project": project.id}).first() is None:
        raise ItemNotFound(f"no item {item_id} in project {project.name!r}")


def priority_arrays(item_ids: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Item ids (int64) and scores (float) checked for `set_priorities`: one finite score per id (that the ids
    are distinct, `set_priorities` checks once they are sorted)."""
    ids = np.asarray(item_ids)
    values = np.asarray(scores, dtype=float)
    if ids.ndim != 1 or values.ndim != 1 or len(ids) != len(values):
        raise InvalidInput(f"{len(values)} scores for {len(ids)} item ids: give one score per item")
    if len(ids) and not np.issubdtype(ids.dtype, np.integer):
        raise InvalidInput("item ids must be whole numbers")
    if not np.isfinite(values).all():
        raise InvalidInput("scores must be finite numbers (no NaN or infinity)")
    return ids.astype(np.int64), values


PRIORITY_BATCH_ROWS = 20_000
"""Priorities are rewritten this many items per transaction, so claims never wait on a long rewrite."""


_NO_COMMIT_WAIT = "SET LOCAL synchronous_commit = off"
"""A priority batch's commit does not wait for its WAL to reach the disk: a crash right after may lose the last
batches' new order (each batch is still all or nothing), which is a failure between batches, as the docstring of
`set_priorities` allows. The WAL writer flushes while the next batch runs: at 1M items the 50 commits waited
0.77 s in all, and 0.20 s with this."""


def set_priorities(connection: Connection, project: Project, item_ids: np.ndarray, scores: np.ndarray) -> int:
    """Rewrite the priorities of open tasks; all ids are checked first, then written in short batches.

    Priorities only order the queue, so a failure between batches leaves a mixed but valid order; one
    long transaction instead would row-lock the whole queue and labellers would be told nothing is left.
    `connection` must not be in a transaction: this commits each batch itself.
    """
    order = np.argsort(item_ids, kind="stable")
    ids, values = item_ids[order], scores[order]
    if (ids[1:] == ids[:-1]).any():
        raise InvalidInput("an item id is given more than once")
    connection.exec_driver_sql(
        "CREATE TEMP TABLE new_priorities (item_id BIGINT PRIMARY KEY, score DOUBLE PRECISION NOT NULL)"
    )
    try:
        insert_arrays(connection, "new_priorities", ["item_id", "score"], [ids, values])
        connection.exec_driver_sql("ANALYZE new_priorities")  # temp tables have no statistics until asked
        unknown = connection.execute(queries.UNKNOWN_PRIORITY_ITEMS, {"project": project.id}).scalars().all()
        if unknown:
            raise ItemNotFound(f"no item {unknown[0]} in project {project.name!r} (nothing was changed)")
        connection.commit()
        for start in range(0, len(ids), PRIORITY_BATCH_ROWS):
            bounds = {"lo": int(ids[start]), "hi": int(ids[min(start + PRIORITY_BATCH_ROWS, len(ids)) - 1])}
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(_NO_COMMIT_WAIT)
            connection.execute(queries.APPLY_PRIORITIES, bounds)
            connection.commit()
    finally:
        if not connection.invalidated:  # a lost connection took the temp table with its session
            connection.rollback()  # on an error this also undoes the CREATE: hence IF EXISTS
            connection.exec_driver_sql("DROP TABLE IF EXISTS new_priorities")
            connection.commit()
    if connection.dialect.name == "postgresql":
        _vacuum_queue(connection)
    return len(ids)


def _vacuum_queue(connection: Connection) -> None:
    """Every rewritten priority leaves a dead row version in the queue's indexes, which claims then skip.
    Retrains in a row outpace autovacuum (it naps a minute): in retrain_bench the idle next-item p50 went
    from 2.0 to 7.5 ms over four retrains of 100k items, and stayed at 2.0-2.2 ms with this. VACUUM runs
    outside a transaction; it takes no lock that claims or labels wait for."""
    connection.execution_options(isolation_level="AUTOCOMMIT")  # reset when the connection returns to the pool
    connection.exec_driver_sql("VACUUM (ANALYZE) tasks")
    connection.commit()


def check_lease(lease_seconds: float) -> None:
    """A lease is a positive, finite number of seconds."""
    if not isinstance(lease_seconds, (int, float)) or not math.isfinite(lease_seconds) or lease_seconds <= 0:
        raise InvalidInput(f"lease_seconds must be a positive number of seconds (got {lease_seconds!r})")
