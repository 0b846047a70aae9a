"""Items: added in bulk from the chunks labelling.io.ingest makes, and ids given by a caller checked.

Everything here runs inside the caller's write transaction: an add is all rows or none.
PostgreSQL gets `COPY`; SQLite an executemany.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text

from labelling.io import labels as label_values
from labelling.errors import InvalidInput, ItemNotFound
from labelling.io import ingest
from labelling.records import Project
from labelling.storage import queue
from labelling.storage.engine import bulk_insert, clock
from labelling.storage.overlap import top_priority
from labelling.storage.schema import items

__all__ = ["ID_BATCH", "add_items", "batches", "require_items", "write_chunk"]

ID_BATCH = 5_000
"""Item ids per statement when many are given (SQLite limits the parameters of one statement)."""


def add_items(connection: Connection, project: Project, data: Any, labels: Any, labeller: str) -> int:
    """Add items with their tasks and, for given labels, imported annotations recorded as `labeller`.

    New items are ranked with the best open items so a later retrain does not leave them starved.
    Returns how many items were added; refuses empty data."""
    importer = None
    priority = top_priority(connection, project.id)
    added = 0
    for chunk in ingest.chunks(project, data, labels):
        if chunk.labels is not None and importer is None and any(v is not None for v in chunk.labels):
            importer = queue.lock_labeller(connection, labeller).id
        added += write_chunk(connection, project, chunk, priority, importer)
    if added == 0:
        raise InvalidInput("no items to add: the data is empty")
    return added


def write_chunk(
    connection: Connection, project: Project, chunk: ingest.Chunk, priority: float, importer: int | None
) -> int:
    """Write one chunk: items, their `overlap` tasks and, for given labels, an imported annotation each."""
    n = len(chunk.rows)
    now = connection.execute(select(clock())).scalar_one()
    ids = _allocate_ids(connection, n)
    labelled = [] if chunk.labels is None else [i for i, v in enumerate(chunk.labels) if v is not None]
    done = set(labelled)
    bulk_insert(
        connection,
        "items",
        ["id", "project_id", "data", "created_at"],
        [(ids[i], project.id, chunk.rows[i], now) for i in range(n)],
    )
    task_rows = []
    for i in range(n):
        first_done = i in done
        for slot in range(project.overlap):
            is_done = first_done and slot == 0
            task_rows.append((project.id, ids[i], priority, first_done, is_done, importer if is_done else None))
    bulk_insert(connection, "tasks", ["project_id", "item_id", "priority", "started", "done", "labeller_id"], task_rows)
    if labelled:
        bulk_insert(
            connection,
            "annotations",
            ["project_id", "item_id", "labeller_id", "label", "created_at", "is_current", "source"],
            [(project.id, ids[i], importer, label_values.to_json(chunk.labels[i]), now, True, "import") for i in labelled],
        )
    return n


def _allocate_ids(connection: Connection, n: int) -> list[int]:
    if connection.dialect.name == "postgresql":
        # The sequence is looked up once, not per id: per row that lookup cost five times the nextval.
        rows = connection.execute(
            text(
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('items', 'id')::regclass AS seq) "
                "SELECT nextval(s.seq) FROM s, generate_series(1, :n)"
            ),
            {"n": n},
        )
        return [r[0] for r in rows]
    # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so max(id) cannot move under us.
    start = connection.execute(text("SELECT coalesce(max(id), 0) FROM items")).scalar_one() + 1
    return list(range(start, start + n))


def batches(ids: list[int]) -> list[list[int]]:
    """`ids` in runs of ID_BATCH, one statement each."""
    return [ids[start : start + ID_BATCH] for start in range(0, len(ids), ID_BATCH)]


def require_items(connection: Connection, project: Project, ids: list[int]) -> None:
    """ItemNotFound naming the first id that is not an item of the project."""
    for batch in batches(ids):
        known = set(
            connection.execute(
                select(items.c.id).where(items.c.project_id == project.id, items.c.id.in_(batch))
            ).scalars()
        )
        missing = [i for i in batch if i not in known]
        if missing:
            raise ItemNotFound(f"no item {missing[0]} in project {project.name!r} (nothing was changed)")
