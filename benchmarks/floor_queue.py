"""The floor for queue_bench: a minimal correct task queue on the same PostgreSQL server, in the same run.

One table of task slots (the item's data in the slot) with a partial index on open tasks; claim = one
prepared `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`; submit = one prepared
UPDATE and one INSERT in a transaction; raw psycopg2, one connection per labeller. It has leases (a claimed
slot is not handed out again before its lease ends) and nothing else: no overlap, gold, skip, undo, roles
or suggestions. What it costs per label is what any correct queue on this server must pay.
"""

from __future__ import annotations

import io
import time

import numpy as np
import psycopg2
from sqlalchemy.engine import make_url

LEASE_SECONDS = 600.0
_NOW = "extract(epoch from clock_timestamp())"
SCHEMA = [
    "CREATE TABLE floor_tasks (id BIGSERIAL PRIMARY KEY, data TEXT NOT NULL, priority DOUBLE PRECISION NOT NULL "
    "DEFAULT 0, labeller TEXT, lease_expires_at DOUBLE PRECISION, done BOOLEAN NOT NULL DEFAULT false)",
    "CREATE TABLE floor_labels (id BIGSERIAL PRIMARY KEY, task_id BIGINT NOT NULL REFERENCES floor_tasks, "
    "labeller TEXT NOT NULL, label TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL)",
]
INDEX = "CREATE INDEX floor_open ON floor_tasks (priority DESC, id) WHERE NOT done"
PREPARE = [
    f"PREPARE floor_claim (text) AS UPDATE floor_tasks SET labeller = $1, lease_expires_at = {_NOW} + {LEASE_SECONDS} "
    "WHERE id = (SELECT id FROM floor_tasks WHERE NOT done AND (lease_expires_at IS NULL OR lease_expires_at < "
    f"{_NOW}) ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, data",
    "PREPARE floor_done (bigint, text) AS UPDATE floor_tasks SET done = true, lease_expires_at = NULL "
    "WHERE id = $1 AND labeller = $2 AND NOT done",
    f"PREPARE floor_label (bigint, text, text) AS INSERT INTO floor_labels (task_id, labeller, label, created_at) "
    f"VALUES ($1, $2, $3, {_NOW})",
]


def connect(url: str):
    """A psycopg2 connection from the SQLAlchemy URL queue_bench uses (its schema in `options`)."""
    parsed = make_url(url)
    return psycopg2.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password,
        dbname=parsed.database, options=parsed.query.get("options"),
    )


def build(url: str, texts) -> int:
    """Create the floor's tables in the schema of `url` and load the rows of `texts` (chunks of strings)."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            for statement in SCHEMA:
                cursor.execute(statement)
            loaded = 0
            for chunk in texts:
                lines = "".join(f"{text}\n" for text in chunk)
                cursor.copy_expert("COPY floor_tasks (data) FROM STDIN", io.BytesIO(lines.encode("utf-8")))
                loaded += len(chunk)
            cursor.execute(INDEX)
            cursor.execute("ANALYZE floor_tasks")
        connection.commit()
        return loaded
    finally:
        connection.close()


class Labeller:
    """One labeller's connection to the floor queue."""

    def __init__(self, url: str, name: str):
        self.name = name
        self.connection = connect(url)
        with self.connection.cursor() as cursor:
            for statement in PREPARE:
                cursor.execute(statement)
        self.connection.commit()
        self.cursor = self.connection.cursor()

    def claim(self) -> int | None:
        self.cursor.execute("EXECUTE floor_claim (%s)", (self.name,))
        row = self.cursor.fetchone()
        self.connection.commit()
        return None if row is None else row[0]

    def submit(self, task_id: int, label: str) -> None:
        self.cursor.execute("EXECUTE floor_done (%s, %s)", (task_id, self.name))
        if self.cursor.rowcount != 1:
            raise RuntimeError(f"task {task_id} is not {self.name}'s to label")
        self.cursor.execute("EXECUTE floor_label (%s, %s, %s)", (task_id, self.name, label))
        self.connection.commit()

    def close(self) -> None:
        self.connection.close()


def latency(url: str, ops: int, labels: list[str]) -> dict:
    """next + submit, one labeller, p50/p99 in ms (the same loop as queue_bench.measure_latency)."""
    me = Labeller(url, "floor-solo")
    try:
        task = me.claim()
        timings = []
        for _ in range(ops):
            started = time.perf_counter()
            me.submit(task, labels[task % len(labels)])
            task = me.claim()
            timings.append(time.perf_counter() - started)
    finally:
        me.close()
    ms = np.array(timings) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def labelled(url: str) -> tuple[int, int]:
    """(labels recorded, tasks labelled twice): the floor's own lost/duplicate check."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(*) - count(DISTINCT task_id) FROM floor_labels")
            return cursor.fetchone()
    finally:
        connection.close()

