"""A labeller's history: the items they labelled most recently, each reopenable to change its label (the Label
page's "My recent items"). Reopening is the queue's undo (`queue.reopen`) aimed at a chosen item.
`Store.history` hands out one `History`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, select

from labelling.io import labels as label_values
from labelling.io.serialisation import decode
from labelling.records import Item, Label
from labelling.storage import projects as project_rows
from labelling.storage.access import require_member
from labelling.storage import queue
from labelling.storage.engine import read, retry_once_when_safe, write
from labelling.storage.schema import annotations, items, labellers

__all__ = ["RECENT", "History", "LabelledItem"]

RECENT = 10
"""Items a labeller's history lists by default."""


@dataclass(frozen=True)
class LabelledItem:
    """One of my labelled items: its id and value, my current label, and when I gave it (epoch seconds)."""

    item_id: int
    data: Any
    label: Label
    created_at: float


MY_RECENT_LABELS = (
    select(annotations.c.item_id, items.c.data, annotations.c.label, annotations.c.created_at)
    .join(items, items.c.id == annotations.c.item_id)
    .join(labellers, labellers.c.id == annotations.c.labeller_id)
    .where(
        annotations.c.project_id == bindparam("project"),
        labellers.c.name == bindparam("name"),
        annotations.c.is_current,
        annotations.c.source == "label",
    )
    .order_by(annotations.c.id.desc())
    .limit(bindparam("limit"))
)
"""My newest current labels (imported ones left out), walking the (project, labeller, id) index backwards."""


class History:
    """Labellers' recent items in every project, on one engine."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def recent(self, project_id: int, labeller: str, limit: int = RECENT) -> list[LabelledItem]:
        """The items `labeller` labelled last in the project, newest first (a label changed since counts once,
        at its newest time; an item sent back for new labels leaves the list)."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            rows = connection.execute(
                MY_RECENT_LABELS, {"project": project.id, "name": labeller, "limit": max(int(limit), 0)}
            )
            return [LabelledItem(i, decode(data), label_values.from_json(label), at) for i, data, label, at in rows]

    @retry_once_when_safe
    def reopen(self, project_id: int, labeller: str, item_id: int, lease_seconds: float) -> Item:
        """Hand one of my labelled items back to me with `my_label` set, as Undo does for the newest: my label
        stays until I choose another; the item I held is let go. `Store.next_item` returns it until then.
        Only while I may label the project (not archived, and I am on it), as for every queue call."""
        queue.check_lease(lease_seconds)
        with write(self._engine) as connection:
            project = project_rows.load_open(connection, project_id)
            me = require_member(connection, project, queue.lock_labeller(connection, labeller))
            return queue.reopen(connection, project, me, int(item_id), lease_seconds)
