"""Gold items: items whose label is known, mixed unannounced into each labeller's stream at the gold rate
to measure them. Marking and unmarking run inside the caller's write transaction; a hand-out inside the
claim's.

Gold items leave the shared queue. A gold hand-out is a task row made for one labeller, inserted already
*done* and leased to them: done tasks are never claimed by anyone else (the claim index holds only open
tasks) and the queue treats a done task under a live lease as an item being relabelled, so submit, skip
and undo work on it unchanged, and the unique (item, labeller) index hands each labeller each gold item
at most once.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, bindparam, exists, false, or_, select, true, update

from labelling.io import labels as label_values
from labelling.errors import InvalidInput
from labelling.records import Item, Project
from labelling.storage.item_labels import label_of_item
from labelling.storage.engine import clock
from labelling.storage.items import batches, require_items
from labelling.storage.overlap import LIVE_LEASE, excluded, lock_project, top_priority, top_up
from labelling.storage.queue import Labeller, item_view
from labelling.storage.schema import gold_items, reviews, tasks

__all__ = [
    "GOLD_RATE_SETTING",
    "check_gold_rate",
    "gold_rate",
    "hand_out_gold",
    "mark_gold",
    "refuse_gold",
    "unmark_gold",
]

GOLD_RATE_SETTING = "gold_rate"
"""Key in `Project.settings`: the share of hand-outs (0..1) that are gold items, 0 for none."""
GOLD_CANDIDATES = 50
"""A gold hand-out picks at random among this many gold items the labeller has not seen."""


def gold_rate(project: Project) -> float:
    """The project's gold rate (0 when it has none); read from the cached project, no query."""
    return project.options.gold_rate


def check_gold_rate(rate: Any) -> float:
    """The rate as a float, refused unless it is a share from 0 to 1."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not 0.0 <= float(rate) <= 1.0:
        raise InvalidInput(f"the gold rate is a share of hand-outs from 0 to 1, e.g. 0.05 for 5% (got {rate!r})")
    return float(rate)


def mark_gold(
    connection: Connection, project: Project, item_ids: Sequence[int], labels: Sequence[Any], media_roots: Sequence[Path] | None = None
) -> int:
    """Make items gold with their known labels (again: the label is replaced); returns how many.

    Their open tasks nobody holds leave the queue; a task someone holds now becomes that person's gold
    hand-out; labels already given stay and count as those labellers' gold answers. An adjudication of
    the item is superseded: the known label is final.
    """
    ids = _item_ids(item_ids)
    if len(labels) != len(ids):
        raise InvalidInput(f"{len(labels)} labels for {len(ids)} items: give one known label per item")
    project = lock_project(connection, project.id)  # the project before its tasks, as every writer locks them
    require_items(connection, project, ids)
    values = []
    for item_id, given in zip(ids, labels):
        label = label_of_item(connection, project, item_id, given, media_roots)
        if label is None:
            raise InvalidInput(f"item {item_id} has no gold label: give its known label")
        values.append(label_values.to_json(label))
    for batch in batches(ids):
        connection.execute(gold_items.delete().where(gold_items.c.item_id.in_(batch)))
        mine = and_(tasks.c.item_id.in_(batch), ~tasks.c.done)
        connection.execute(tasks.delete().where(mine, ~LIVE_LEASE))
        connection.execute(update(tasks).where(mine, LIVE_LEASE).values(done=true()))
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
    project = lock_project(connection, project.id)  # the overlap topped up to is the one committed now
    require_items(connection, project, ids)
    removed = 0
    for batch in batches(ids):
        removed += connection.execute(
            gold_items.delete().where(gold_items.c.project_id == project.id, gold_items.c.item_id.in_(batch))
        ).rowcount
        priority = top_priority(connection, project.id)
        connection.execute(top_up(project, project.overlap, priority, only=batch))
    return removed


_open = tasks.alias("open_task")

GOLD_FOR_ME = (
    select(gold_items.c.item_id)
    .where(
        gold_items.c.project_id == bindparam("project"),
        ~exists().where(tasks.c.item_id == gold_items.c.item_id, tasks.c.labeller_id == bindparam("me")),
        ~excluded(gold_items.c.item_id),
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
    return item_view(connection, project, item_id, expires, None)


def refuse_gold(connection: Connection, item_id: int) -> None:
    """A gold item's label is its known label: reviews may not set or reopen it."""
    if connection.execute(select(gold_items.c.item_id).where(gold_items.c.item_id == item_id)).first():
        raise InvalidInput(f"item {item_id} is a gold item: its known label is final (change it on Setup)")


def _item_ids(item_ids: Sequence[int]) -> list[int]:
    ids = np.asarray(item_ids)
    if ids.ndim != 1 or not len(ids):
        raise InvalidInput("give one or more item ids")
    if not np.issubdtype(ids.dtype, np.integer):
        raise InvalidInput("item ids must be whole numbers")
    if len(np.unique(ids)) != len(ids):
        raise InvalidInput("an item id is given more than once")
    return [int(i) for i in ids]
