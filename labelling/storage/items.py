"""Items: added in bulk from the chunks labelling.io.ingest makes, and ids given by a caller checked.

Everything here runs inside the caller's write transaction: an add is all rows or none.
PostgreSQL gets `COPY`; SQLite an executemany. A chunk is written while the next one is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, select, text

from labelling.errors import InvalidInput, ItemNotFound
from labelling.io import ingest
from labelling.io import labels as label_values
from labelling.records import Project
from labelling.storage import queue, wakeups
from labelling.storage.engine import clock, insert_arrays, insert_columns
from labelling.storage.overlap import top_priority
from labelling.storage.schema import items

__all__ = ["ID_BATCH", "add_items", "batches", "require_items", "write_chunk"]

ID_BATCH = 5_000
"""Item ids per statement when many are given (SQLite limits the parameters of one statement)."""


def add_items(
    connection: Connection, project: Project, data: Any, labels: Any, labeller: str, media_roots: Sequence[Path]
) -> int:
    """Add items with their tasks and, for given labels, imported annotations recorded as `labeller` (box
    labels checked against their image, read under `media_roots`).

    New items are ranked with the best open items so a later retrain does not leave them starved.
    Returns how many items were added; refuses empty data."""
    importer = None
    priority = top_priority(connection, project.id)
    added = 0
    with _rows_checked_by_construction(connection, project), ThreadPoolExecutor(1, "add-items") as writer:
        # Each chunk is written by a thread while the next one is read and encoded: the server's work and ours
        # overlap. One chunk in flight keeps memory flat, and the connection is used by one thread at a time.
        written: Future[int] | None = None
        try:
            for chunk in ingest.chunks(project, data, labels, media_roots):
                if written is not None:
                    added, written = added + written.result(), None
                if chunk.labels is not None and importer is None and any(v is not None for v in chunk.labels):
                    importer = queue.lock_labeller(connection, labeller).id
                written = writer.submit(write_chunk, connection, project, chunk, priority, importer)
        finally:  # the last write is waited for before the transaction ends or rolls back; its error comes first
            if written is not None:
                added += written.result()
    if added == 0:
        raise InvalidInput("no items to add: the data is empty")
    if importer is not None:
        wakeups.announce(connection, project.id)  # imported labels may be enough to train on: wake the worker
    return added


@contextmanager
def _rows_checked_by_construction(connection: Connection, project: Project) -> Iterator[None]:
    """On PostgreSQL, when the role may, write the rows without the per-row foreign-key triggers.

    Those checks were more than half of an import's server time (EXPLAIN ANALYZE at 400,000 rows: 4.3 s for
    the items' check on the project, 9.3 s for the tasks' three, against 3 s and 4.7 s for the rows and
    their indexes). Every key written here holds by construction: the project row is locked against
    deletion below (the lock each trigger would have taken), the item ids are ours from the sequence, in
    this transaction, and an importer is locked by `queue.lock_labeller`. `session_replication_role =
    replica` skips triggers only, not unique indexes, and only until the transaction ends; it is set back
    once the rows are in (an error rolls the whole transaction back). It needs superuser, or on PostgreSQL
    15+ `GRANT SET ON PARAMETER session_replication_role`; without that the triggers check every row, as
    before. These tables have no triggers other than their foreign keys (a new one would be skipped here)."""
    if connection.dialect.name != "postgresql" or not _may_skip_triggers(connection):
        yield
        return
    connection.execute(_KEEP_PROJECT, {"project": project.id})
    previous = connection.exec_driver_sql("SHOW session_replication_role").scalar_one()
    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
    yield
    connection.execute(text("SELECT set_config('session_replication_role', :previous, true)"), {"previous": previous})


def _may_skip_triggers(connection: Connection) -> bool:
    """Whether this PostgreSQL role may set session_replication_role. The query is chosen here, not in SQL:
    PostgreSQL resolves function names when it parses, so a CASE naming has_parameter_privilege (new in
    15) fails on 13 and 14 even in the branch never taken."""
    if connection.dialect.server_version_info >= (15,):
        return bool(connection.execute(_MAY_SET_REPLICATION_ROLE).scalar())
    return bool(connection.execute(_IS_SUPERUSER).scalar())


_MAY_SET_REPLICATION_ROLE = text("SELECT has_parameter_privilege('session_replication_role', 'SET')")
_IS_SUPERUSER = text("SELECT current_setting('is_superuser') = 'on'")
_KEEP_PROJECT = text("SELECT 1 FROM projects WHERE id = :project FOR KEY SHARE")
"""The lock a foreign-key check takes: the project cannot be deleted under the import."""


def write_chunk(
    connection: Connection, project: Project, chunk: ingest.Chunk, priority: float, importer: int | None
) -> int:
    """Write one chunk: items, then for given labels an imported annotation each, then the items' `overlap`
    tasks."""
    n = len(chunk.rows)
    now = connection.execute(select(clock())).scalar_one()
    ids = _allocate_ids(connection, n)
    columns = ["id", "project_id", "data", "created_at"]
    if isinstance(chunk.rows, np.ndarray) and connection.dialect.name == "postgresql":
        constant = np.full(n, project.id, dtype=np.int32), np.full(n, now, dtype=np.float64)
        insert_arrays(connection, "items", columns, [np.asarray(ids, dtype=np.int64), constant[0], chunk.rows, constant[1]])
    else:
        rows = chunk.rows.astype(str).tolist() if isinstance(chunk.rows, np.ndarray) else chunk.rows
        insert_columns(connection, "items", columns, [ids, [project.id] * n, rows, [now] * n])
    labelled = [] if chunk.labels is None else [i for i, v in enumerate(chunk.labels) if v is not None]
    if not labelled:
        _open_tasks(connection, project, ids, priority)
        return n
    insert_columns(
        connection,
        "annotations",
        ["project_id", "item_id", "labeller_id", "label", "created_at", "is_current", "source"],
        [
            [project.id] * len(labelled),
            [ids[i] for i in labelled],
            [importer] * len(labelled),
            [label_values.to_json(chunk.labels[i]) for i in labelled],
            [now] * len(labelled),
            [True] * len(labelled),
            ["import"] * len(labelled),
        ],
    )
    _labelled_tasks(connection, project, ids, labelled, priority, importer)
    return n


def _open_tasks(connection: Connection, project: Project, ids: list[int], priority: float) -> None:
    """The `overlap` open tasks of each new item, in file order (the queue hands them out by id). PostgreSQL
    gets them by binary COPY: an INSERT ... SELECT from generate_series cost 40% more server time (one WAL
    record per row for the table where COPY writes one per page, and a sort of the series). On SQLite the
    database makes them from each run of new ids (every id in a run this transaction drew is a new item):
    twice as fast as an executemany of the rows."""
    if connection.dialect.name == "postgresql":
        item_ids = np.repeat(np.asarray(ids, dtype=np.int64), project.overlap)
        n = len(item_ids)
        columns = ["project_id", "item_id", "priority"]
        insert_arrays(connection, "tasks", columns, [np.full(n, project.id, np.int32), item_ids, np.full(n, priority)])
        return
    for first, last in _runs(ids):
        connection.execute(
            _NEW_TASKS,
            {"project": project.id, "first": first, "last": last, "overlap": project.overlap, "priority": priority},
        )


_NEW_TASKS = text(
    "WITH RECURSIVE slots(slot) AS (SELECT :first * :overlap UNION ALL SELECT slot + 1 FROM slots "
    "WHERE slot < (:last + 1) * :overlap - 1) INSERT INTO tasks (project_id, item_id, priority) "
    "SELECT :project, slot / :overlap, :priority FROM slots ORDER BY slot"
)
"""SQLite: the tasks of the new items with ids first..last; slot / overlap is the item."""


def _labelled_tasks(
    connection: Connection, project: Project, ids: list[int], labelled: list[int], priority: float, importer: int | None
) -> None:
    """Tasks for a chunk with imported labels, built as columns here: an item's label completes its first
    task. (Made in SQL, they would need a join to the new labels that the planner, with no statistics on
    freshly loaded rows, runs as a nested loop.)"""
    overlap = project.overlap
    has_label = np.zeros(len(ids), dtype=bool)
    has_label[labelled] = True
    started = np.repeat(has_label, overlap)
    done = started & np.tile(np.arange(overlap) == 0, len(ids))
    total = len(ids) * overlap
    insert_columns(
        connection,
        "tasks",
        ["project_id", "item_id", "priority", "started", "done", "labeller_id"],
        [
            [project.id] * total,
            np.repeat(ids, overlap).tolist(),
            [float(priority)] * total,
            started.tolist(),
            done.tolist(),
            np.where(done, importer, None).tolist(),
        ],
    )


def _allocate_ids(connection: Connection, n: int) -> list[int]:
    if connection.dialect.name == "postgresql":
        # The sequence is looked up once, not per id: per row that lookup cost five times the nextval. The ids
        # come back as a range when they are consecutive (no other import drew from the sequence meanwhile):
        # a row each through the driver cost more than writing the items.
        first, last, scattered = connection.execute(
            text(
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('items', 'id')::regclass AS seq), "
                "v AS MATERIALIZED (SELECT nextval(s.seq) AS id FROM s, generate_series(1, :n)) "
                "SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL "
                "ELSE array_agg(id ORDER BY id) END FROM v"
            ),
            {"n": n},
        ).one()
        return list(range(first, last + 1)) if scattered is None else list(scattered)
    # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so max(id) cannot move under us.
    start = connection.execute(text("SELECT coalesce(max(id), 0) FROM items")).scalar_one() + 1
    return list(range(start, start + n))


def _runs(ids: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs (first, last) of increasing ids: one run, unless another import drew ids from the
    sequence at the same time, whose ids then sit between ours."""
    if not ids:
        return []
    breaks = np.flatnonzero(np.diff(np.asarray(ids)) != 1).tolist()
    starts = [0, *(b + 1 for b in breaks)]
    ends = [*breaks, len(ids) - 1]
    return [(ids[s], ids[e]) for s, e in zip(starts, ends)]


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
