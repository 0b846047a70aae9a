"""Shared helpers for the integration tests (public API only, plus the database clock and its locks)."""

from __future__ import annotations

import itertools
import time

import pandas as pd
from sqlalchemy import select, text, update

from labelling.storage.engine import clock, read, write
from labelling.storage.schema import tasks

_names = itertools.count()


def new_project(store, labels=("a", "b"), **options):
    """A fresh project with a unique name."""
    return store.create_project(f"project-{next(_names)}", list(labels), **options)


def item_ids(store, project_id) -> list[int]:
    """Item ids in insertion order."""
    return [int(i) for i in store.export(project_id)["item_id"]]


def ids_by_data(store, project_id) -> dict:
    """For projects whose items are plain strings: {string: item id}."""
    frame = store.export(project_id)
    return {value: int(item_id) for value, item_id in zip(frame["data"], frame["item_id"])}


def db_now(store) -> float:
    with read(store.engine) as connection:
        return float(connection.execute(select(clock())).scalar_one())


def wait_for_db_clock(store, moment: float, deadline_seconds: float = 15.0) -> None:
    """Poll the database clock until it is past `moment` (a condition, not a fixed sleep)."""
    give_up = time.monotonic() + deadline_seconds
    while db_now(store) <= moment:
        if time.monotonic() > give_up:
            raise AssertionError(f"database clock did not pass {moment} within {deadline_seconds}s")
        time.sleep(0.02)


def expire_leases(store, item_id: int) -> None:
    """End every live lease on an item now, by moving its expiry into the past in the database: the test
    needs no short lease that a loaded machine could outrun before the next call."""
    with write(store.engine) as connection:
        connection.execute(
            update(tasks)
            .where(tasks.c.item_id == item_id, tasks.c.lease_expires_at.is_not(None))
            .values(lease_expires_at=clock() - 1.0)
        )


def current_annotations(store, project_id) -> pd.DataFrame:
    frame = store.annotations(project_id)
    return frame[frame["current"]]


def label_of(store, project_id, item_id):
    frame = store.export(project_id).set_index("item_id")
    value = frame.loc[item_id, "label"]
    return None if value is None or (isinstance(value, float) and value != value) else value


def drain(store, project_id, labeller, label="a", lease_seconds=600):
    """Label everything `labeller` is offered, in order; returns the item ids in the order handed out."""
    order = []
    while True:
        item = store.next_item(project_id, labeller, lease_seconds=lease_seconds)
        if item is None:
            return order
        assert item.id not in order, f"{labeller} was handed item {item.id} twice"
        order.append(item.id)
        store.submit(project_id, item.id, labeller, label)


def wait_for_blocked(blocking, seconds: float = 30.0) -> int:
    """The server process waiting on a lock that the connection `blocking` holds, once there is one
    (PostgreSQL)."""
    give_up = time.monotonic() + seconds
    while time.monotonic() < give_up:
        # Activity is read from a snapshot kept for the rest of the transaction: take a new one each time, or a
        # first look before the other session reached the lock is all `blocking`'s transaction ever sees.
        blocking.execute(text("SELECT pg_stat_clear_snapshot()"))
        pid = blocking.execute(
            text("SELECT pid FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
        ).scalar()
        if pid is not None:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"no session waited on the lock within {seconds} s")
