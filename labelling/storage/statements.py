"""Every statement on the labelling hot path, named, in SQLAlchemy Core (compiled once, cached by SQLAlchemy).

Bind parameters: `project`, `me` (labeller id), `item`, `task`, `lease` (seconds), `labels` (the label set a
label was checked against, as the project's row keeps it). The same Core
statement compiles for both dialects: on PostgreSQL the claim locks with `FOR UPDATE SKIP LOCKED`, on
SQLite (no row locks) the caller's `BEGIN IMMEDIATE` transaction makes the read-then-write atomic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, ColumnElement, Double, Exists, Select, bindparam, exists, false, func, literal, literal_column
from sqlalchemy import Join, Update, null, or_, select, text, true, update

from labelling.storage.engine import clock
from labelling.storage.prepared import Prepared
from labelling.storage.schema import annotations, items, labellers, predictions, projects, skips, tasks

_other = tasks.alias("other")


def _probe(*conditions: ColumnElement[bool]) -> Exists:
    """EXISTS that PostgreSQL runs as an index probe per candidate task, whatever its statistics say.

    A plain EXISTS becomes an anti-join, and with statistics from before a labeller's first labels (an
    ANALYZE after the import) the planner chose to read all of that labeller's tasks, and skips, for
    every claim and to match the candidates against them: 100,000 items, one labeller, after 6,000
    labels one claim read 2,198 buffers (2.4 ms) where a probe reads 52 (0.05 ms), and it grew with each
    label. OFFSET 0 keeps the sub-select from being pulled up into a join (PostgreSQL's
    simplify_EXISTS_query gives up on an OFFSET), so it stays a subplan probing the candidate's item.
    """
    return exists(select(literal_column("1")).where(*conditions).offset(literal_column("0")))


def _claimable(*, skip_mine: bool, one_item: bool, oldest_skip_first: bool = False) -> Select:
    """The best task I may take: open, not leased by anyone live, on an item I have no other task of.
    `oldest_skip_first`: the items I skipped come round in turn, the one I skipped longest ago first."""
    conditions = [
        tasks.c.project_id == bindparam("project"),
        ~tasks.c.done,
        or_(tasks.c.lease_expires_at.is_(None), tasks.c.lease_expires_at < clock()),
        ~_probe(_other.c.item_id == tasks.c.item_id, _other.c.labeller_id == bindparam("me"), _other.c.id != tasks.c.id),
    ]
    if skip_mine:
        conditions.append(~_probe(skips.c.item_id == tasks.c.item_id, skips.c.labeller_id == bindparam("me")))
    if one_item:
        conditions.append(tasks.c.item_id == bindparam("item"))
    order = [tasks.c.started.desc(), tasks.c.priority.desc(), tasks.c.id]
    if oldest_skip_first:
        my_last_skip = select(func.max(skips.c.id)).where(
            skips.c.item_id == tasks.c.item_id, skips.c.labeller_id == bindparam("me")
        )
        order.insert(0, my_last_skip.scalar_subquery().asc().nulls_first())
    return (
        select(tasks.c.id)
        .where(*conditions)
        .order_by(*order)
        .limit(literal_column("1"))  # in the SQL text: a generic plan must know it, not guess 10% of the queue
        .with_for_update(skip_locked=True, of=tasks)
    )


_SUGGESTION = (predictions.c.label.label("suggested"), predictions.c.probability, predictions.c.run_id)
"""The latest model's suggestion, NULLs before any model: read with the item, not in a query of its own."""


def _claim_update(candidate: Select, *conditions: ColumnElement[bool]) -> Update:
    """Lease the candidate task to me."""
    return (
        update(tasks)
        .where(tasks.c.id == candidate.scalar_subquery(), *conditions)
        .values(labeller_id=bindparam("me"), leased_at=clock(), lease_expires_at=clock() + bindparam("lease"))
        .returning(tasks.c.id, tasks.c.item_id, tasks.c.lease_expires_at)
    )


def _with_item(claimed: CTE) -> tuple[ColumnElement[Any], ...]:
    """The claimed item's columns, and its data and suggestion: read with the claim, saving two round trips."""
    return claimed.c.item_id, claimed.c.lease_expires_at, items.c.data, *_SUGGESTION


def _item_of(claimed: CTE) -> Join:
    return items.join(claimed, items.c.id == claimed.c.item_id).outerjoin(
        predictions, predictions.c.item_id == claimed.c.item_id
    )


def _claim(name: str, candidate: Select) -> Prepared:
    """PostgreSQL also returns the item's data and the model's suggestion (the claim is a CTE the
    select joins); SQLite's DML cannot sit in a CTE, so there both are read after (ITEM_VIEW)."""
    claim = _claim_update(candidate)
    claimed = claim.cte("claimed")
    return Prepared(name, select(*_with_item(claimed)).select_from(_item_of(claimed)), sqlite_statement=claim)


CLAIM_NEXT = _claim("claim_next", _claimable(skip_mine=True, one_item=False))
"""Lease the best task for me, leaving out items I skipped."""

CLAIM_SKIPPED = _claim("claim_skipped", _claimable(skip_mine=False, one_item=False, oldest_skip_first=True))
"""Lease a task once only items I skipped are left: the one I skipped longest ago, so that skipping goes
round them all rather than bringing the same item back. It sorts what is left for me, at the queue's end."""

CLAIM_ITEM = _claim("claim_item", _claimable(skip_mine=False, one_item=True))
"""Lease a free task of one given item (a label sent without a live lease)."""

REFRESH_MY_LEASE = Prepared(
    "refresh_my_lease",
    update(tasks)
    .where(
        tasks.c.project_id == bindparam("project"),
        tasks.c.labeller_id == bindparam("me"),
        tasks.c.lease_expires_at > clock(),
    )
    .values(lease_expires_at=clock() + bindparam("lease"))
    .returning(tasks.c.id, tasks.c.item_id, tasks.c.done, tasks.c.lease_expires_at),
)
"""Extend and return my live lease: a refresh or a second tab gets the same item."""

MY_TASK_FOR_ITEM = (
    select(tasks.c.id, tasks.c.done, tasks.c.leased_at, tasks.c.lease_expires_at)
    .where(
        tasks.c.project_id == bindparam("project"),
        tasks.c.item_id == bindparam("item"),
        tasks.c.labeller_id == bindparam("me"),
    )
    .with_for_update(of=tasks)
)
"""My one task on an item (uq_tasks_labeller_item), if I hold it or did it."""

_labels_as_checked = exists(
    select(literal_column("1")).where(projects.c.id == bindparam("project"), projects.c.labels == bindparam("labels"))
)
"""The project's label set is still the one the label was checked against: another process may have renamed,
merged or removed a label since the checking process read the project (it keeps it for a few seconds)."""


def _complete_my_task(me: ColumnElement[int]) -> Update:
    return (
        update(tasks)
        .where(
            tasks.c.project_id == bindparam("project"),
            tasks.c.item_id == bindparam("item"),
            tasks.c.labeller_id == me,
            ~tasks.c.done,
        )
        .values(done=true(), lease_expires_at=null())
        .returning(tasks.c.id, tasks.c.leased_at)
    )


COMPLETE_MY_TASK = Prepared("complete_my_task", _complete_my_task(bindparam("me")))
"""The common submit in one statement: my open task on the item becomes done. It keeps my labeller id,
which is how the claim knows I labelled this item, and its hand-out time, from which seconds spent are
counted. A lease that expired unclaimed still counts."""

COMPLETE_IF_LABELS_AS_CHECKED = Prepared(
    "complete_if_labels_as_checked", _complete_my_task(bindparam("me")).where(_labels_as_checked)
)
"""SQLite's common submit: COMPLETE_MY_TASK if the label set is the one the label was checked against. No row
otherwise, and the caller takes the slow path, which reads the label set under the write lock."""

MY_LIVE_LEASE = (
    select(tasks.c.id, tasks.c.item_id, tasks.c.done)
    .where(
        tasks.c.project_id == bindparam("project"),
        tasks.c.labeller_id == bindparam("me"),
        tasks.c.lease_expires_at > clock(),
    )
    .with_for_update(of=tasks)
)
"""The task I hold now, if any."""

END_LEASE = (
    update(tasks).where(tasks.c.id == bindparam("task")).values(leased_at=null(), lease_expires_at=null())
)
"""Drop a lease but keep who did the task (a reopened label I leave as it was)."""

RELEASE_TASK = (
    update(tasks)
    .where(tasks.c.id == bindparam("task"))
    .values(labeller_id=null(), leased_at=null(), lease_expires_at=null())
)
"""Give an unlabelled task back to the pool."""

REOPEN_TASK = (
    update(tasks)
    .where(tasks.c.project_id == bindparam("project"), tasks.c.item_id == bindparam("item"))
    .where(tasks.c.labeller_id == bindparam("me"), tasks.c.done)
    .values(leased_at=clock(), lease_expires_at=clock() + bindparam("lease"))
    .returning(tasks.c.lease_expires_at)
)
"""Lease my done task again so I can change its label (undo)."""

MARK_STARTED = update(tasks).where(
    tasks.c.id.in_(
        select(tasks.c.id)
        .where(tasks.c.item_id == bindparam("item"), ~tasks.c.done, ~tasks.c.started)
        .with_for_update(skip_locked=True)
    )
).values(started=true())
"""With overlap > 1, a partly labelled item moves ahead of untouched ones. Slots another labeller is
completing or claiming right now are skipped, not waited for: two labellers finishing one item at once
would otherwise each wait for the other's row (a deadlock)."""

def _my_label(leased_at) -> dict:
    """The columns of my new label; seconds spent run from the hand-out to now, by the database clock."""
    return {
        "project_id": bindparam("project"),
        "item_id": bindparam("item"),
        "labeller_id": bindparam("me"),
        "label": bindparam("label_json"),
        "created_at": clock(),
        "seconds": clock() - leased_at,
        "is_current": true(),
        "source": literal("label"),
    }


_ANNOTATION_ROW = (annotations.c.id, annotations.c.created_at, annotations.c.seconds)

ADD_ANNOTATION = Prepared(
    "add_annotation",
    annotations.insert().values(_my_label(bindparam("leased_at", type_=Double()))).returning(*_ANNOTATION_ROW),
)
"""Append my label."""

_locked_me = (
    select(labellers.c.id)
    .where(labellers.c.id == bindparam("me"))
    .with_for_update(key_share=True, skip_locked=True)
    .cte("locked_me")
)
"""My labeller lock, not waited for: a statement's snapshot is taken before it takes its locks, so one that
waited for a call of mine to finish would then read what that call changed as it was before (its claim
might take a second slot of an item I labelled meanwhile, or an item I had just skipped). When another call
of mine holds the lock, the statement finds no task and does nothing, and the caller's slow path waits for
the lock (LOCK_LABELLER) and reads afresh."""
_before = tasks.alias("before")
_was_live = select(_before.c.lease_expires_at > clock()).where(_before.c.id == tasks.c.id).scalar_subquery()
"""Whether the task's lease was live before this statement: its sub-select reads the row as the statement
found it, not as the statement leaves it."""
_completed = (
    _complete_my_task(select(_locked_me.c.id).scalar_subquery())
    .where(_labels_as_checked)
    .returning(_was_live.label("was_live"))
    .cte("completed")
)
_new_label = _my_label(_completed.c.leased_at)
_added = (
    annotations.insert()
    .from_select(list(_new_label), select(*_new_label.values()).select_from(_completed))
    .returning(*_ANNOTATION_ROW)
    .cte("added")
)
SUBMIT_MY_TASK = Prepared(
    "submit_my_task", select(_added, _completed.c.was_live).select_from(_added.join(_completed, true()))
)
"""PostgreSQL's common submit in one statement: my labeller lock (`_locked_me`), COMPLETE_MY_TASK if the label
set is the one the label was checked against (`_labels_as_checked`), then ADD_ANNOTATION from the task it
completed, and whether its lease was live (then I hold no other: the refresh of the hand-out after it can be
left out); no row when I hold no open task on the item, another call of mine holds my lock or the label set
changed (the caller then takes the slow path). My row is locked before my task's: the
task is found by my id, which the update reads from the lock (an InitPlan, run before the scan that locks
the task), the order every other call takes them in."""

_claimed_next = _claim_update(
    _claimable(skip_mine=True, one_item=False), exists(select(literal_column("1")).where(_completed.c.was_live))
).cte("claimed")
SUBMIT_AND_CLAIM = Prepared(
    "submit_and_claim",
    select(_added, _completed.c.was_live, *_with_item(_claimed_next)).select_from(
        _added.join(_completed, true()).outerjoin(_item_of(_claimed_next), true())
    ),
)
"""A click on PostgreSQL in one statement: SUBMIT_MY_TASK, then, if the lease it ended was live (so I hold
none), CLAIM_NEXT, with the claimed item's data and suggestion (NULLs when nothing was claimed: the caller
then goes on as `next_item` does). No row, and nothing done, when SUBMIT_MY_TASK would find none: the gate
on the claim reads the submit's result, so the claim runs only after my labeller lock and my task row are
taken, in the order every other call takes them. The claim sees the statement's snapshot, taken before
my task was completed: there my task still holds its item with a live lease, so the claim passes it by
as it passes by every item I hold or did."""

SUPERSEDE_MY_LABEL = (
    update(annotations)
    .where(
        annotations.c.item_id == bindparam("item"),
        annotations.c.labeller_id == bindparam("me"),
        annotations.c.is_current,
    )
    .values(is_current=false())
)
"""History is kept: my old label stays, marked as no longer current."""

MY_CURRENT_LABEL = select(
    annotations.c.id, annotations.c.label, annotations.c.created_at, annotations.c.seconds
).where(
    annotations.c.item_id == bindparam("item"),
    annotations.c.labeller_id == bindparam("me"),
    annotations.c.is_current,
)

MY_LAST_LABEL_BEFORE = (
    select(annotations.c.item_id, annotations.c.label)
    .where(
        annotations.c.project_id == bindparam("project"),
        annotations.c.labeller_id == bindparam("me"),
        annotations.c.is_current,
        annotations.c.source == "label",
        annotations.c.id < bindparam("before"),
    )
    .order_by(annotations.c.id.desc())
    .limit(1)
)
"""The label undo goes back to: my newest current one older than the label I am looking at."""

ADD_SKIP = skips.insert().values(
    project_id=bindparam("project"),
    item_id=bindparam("item"),
    labeller_id=bindparam("me"),
    created_at=clock(),
    seconds=clock() - bindparam("leased_at", type_=Double()),
)

ITEM_DATA = select(items.c.data).where(items.c.id == bindparam("item"), items.c.project_id == bindparam("project"))

ITEM_VIEW = Prepared(
    "item_view",
    select(items.c.data, *_SUGGESTION)
    .select_from(items.outerjoin(predictions, predictions.c.item_id == items.c.id))
    .where(items.c.id == bindparam("item"), items.c.project_id == bindparam("project")),
)
"""An item's data with the model's suggestion (NULLs before any model): what the Label page shows."""

LABEL_SET = select(projects.c.labels).where(projects.c.id == bindparam("project"))
"""The label set as the project's row keeps it, read on the submit's slow path (the common submit compares it in
its statement: SUBMIT_MY_TASK, COMPLETE_IF_LABELS_AS_CHECKED)."""

LABELLER_ID = select(labellers.c.id).where(labellers.c.name == bindparam("name"))

LOCK_LABELLER = Prepared("lock_labeller", LABELLER_ID.with_for_update(key_share=True))
"""One labeller's calls run one at a time (double clicks, two tabs); different labellers never wait.
FOR NO KEY UPDATE, so that inserting an annotation (a foreign key to this row) in another tab's
submit does not wait on it."""

OPEN_ITEMS = select(func.count(func.distinct(tasks.c.item_id))).where(
    tasks.c.project_id == bindparam("project"), ~tasks.c.done
)
"""Items still waiting for a label (read from the claim index alone); complete = all items - these."""

IN_PROGRESS = select(func.count(func.distinct(tasks.c.item_id))).where(
    tasks.c.project_id == bindparam("project"), tasks.c.lease_expires_at > clock()
)
"""Items someone holds a live lease on (walks the small lease index, not the queue)."""

TOP_OPEN_PRIORITY = select(func.max(tasks.c.priority)).where(tasks.c.project_id == bindparam("project"), ~tasks.c.done)
"""The best priority in the queue: new items join at the top of the current order (they have never been
scored, so nothing is known of them), and so do items sent back or reopened by a change of overlap."""

UNKNOWN_PRIORITY_ITEMS = text(
    "SELECT n.item_id FROM new_priorities n WHERE NOT EXISTS "
    "(SELECT 1 FROM items i WHERE i.id = n.item_id AND i.project_id = :project) LIMIT 5"
)
"""Ids given to set_priorities that are not items of the project."""

APPLY_PRIORITIES = text(
    "UPDATE tasks SET priority = n.score FROM new_priorities n "
    "WHERE tasks.item_id = n.item_id AND n.item_id BETWEEN :lo AND :hi AND tasks.item_id BETWEEN :lo AND :hi "
    "AND NOT tasks.done"
)
"""Copy one id range of the staged priorities onto the open tasks (PostgreSQL and SQLite >= 3.33). The ids
were checked to be the project's items (UNKNOWN_PRIORITY_ITEMS), and a task is its item's project's, so no
project condition: with one, the planner (no statistics yet on a freshly imported queue) walked the whole
project's claim index, where item_id is the last column, for every batch, instead of an item_id range of
uq_tasks_labeller_item (EXPLAIN ANALYZE at 1M items: 265 ms of index scan per 20,000-item batch)."""
