"""A database that refuses, loses or cannot open a connection surfaces from any Store call as
labelling.errors.DatabaseUnavailable, the driver's error chained; every other database error (a constraint,
a bad statement) reaches the caller as before. Decided in one place: the engine's handle_error hook."""

from __future__ import annotations

import socket
import threading

import psycopg2
import pytest
import sqlalchemy as sa

from _helpers import new_project, wait_for_blocked
from labelling import DatabaseUnavailable, DuplicateProject, Store
from labelling.storage.engine import read, write
from labelling.storage.schema import labellers, projects

WAIT_SECONDS = 30.0
"""How long a test waits for a condition before failing (it returns as soon as the condition holds)."""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_database_unavailable_with_the_driver_error_chained():
    url = f"postgresql+psycopg2://labelling:s3cret@127.0.0.1:{_closed_port()}/labelling"
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database at .*127.0.0.1") as raised:
        Store.connect(url)
    assert isinstance(raised.value.__cause__, psycopg2.OperationalError)
    assert "s3cret" not in str(raised.value)
    unconnected = Store.connect(url, upgrade=False)  # makes no connection until a call needs one
    assert unconnected.url == url.replace("s3cret", "***")


def test_a_database_file_that_cannot_be_opened_is_database_unavailable(tmp_path):
    with pytest.raises(DatabaseUnavailable, match="unable to open database file"):
        Store.connect(f"sqlite:///{tmp_path / 'no such folder' / 'labelling.db'}")


def test_a_connection_killed_mid_call_is_database_unavailable_and_the_next_call_reconnects(postgresql_url):
    """alice's claim waits on her labeller row, locked by another session; that backend is terminated
    (pg_terminate_backend, as a server restart or failover would) while the claim waits."""
    store = Store.connect(postgresql_url)
    project = new_project(store)
    store.add_items(project.id, ["a"])
    store.next_item(project.id, "alice")  # alice exists: her row is what the next claim locks first
    outcome: list[BaseException | None] = []

    def claim() -> None:
        try:
            store.next_item(project.id, "alice")
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - the thread hands every outcome to the test
            outcome.append(error)

    holder = sa.create_engine(postgresql_url)
    try:
        with holder.connect() as blocking:
            blocking.execute(sa.select(labellers.c.id).where(labellers.c.name == "alice").with_for_update())
            waiter = threading.Thread(target=claim)
            waiter.start()
            blocked = wait_for_blocked(blocking, WAIT_SECONDS)
            killed = blocking.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": blocked}).scalar()
            assert killed
            waiter.join(WAIT_SECONDS)
            blocking.rollback()
    finally:
        holder.dispose()
    assert outcome and isinstance(outcome[0], DatabaseUnavailable), outcome
    assert isinstance(outcome[0].__cause__, psycopg2.OperationalError)
    assert store.next_item(project.id, "alice").data == "a"  # a fresh connection; the lease is still hers
    store.close()




def test_a_constraint_or_a_bad_statement_is_left_as_the_database_error(store):
    project = new_project(store)
    with pytest.raises(DuplicateProject):
        store.create_project(project.name, ["a"])
    with pytest.raises(sa.exc.IntegrityError):
        with write(store.engine) as connection:
            connection.execute(projects.insert().values(name=project.name, labels="[]", created_at=0.0))
    with pytest.raises(sa.exc.DBAPIError) as raised:
        with read(store.engine) as connection:
            connection.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, DatabaseUnavailable)
    assert store.project(project.id) == project  # the store goes on as before


def test_a_statement_the_server_cancels_is_database_unavailable(postgresql_url):
    """A lock or statement timeout, a deadlock: the server's operational errors mean "try again"."""
    store = Store.connect(postgresql_url)
    try:
        with pytest.raises(DatabaseUnavailable, match="statement timeout") as raised:
            with store.engine.connect() as connection:
                connection.exec_driver_sql("SET statement_timeout = 50")
                connection.exec_driver_sql("SELECT pg_sleep(5)")
        assert isinstance(raised.value.__cause__, psycopg2.errors.QueryCanceled)
    finally:
        store.close()


def test_the_workers_listening_connection_refused_is_database_unavailable():
    """The worker's LISTEN connection is opened outside the pool's error hook: it wraps a refusal itself."""
    store = Store.connect(f"postgresql+psycopg2://nobody@127.0.0.1:{_closed_port()}/nothing", upgrade=False)
    try:
        with pytest.raises(DatabaseUnavailable, match="listen"):
            store.runs.listener().listen()
    finally:
        store.close()


def test_a_deadlock_victim_is_rolled_back_whole_and_marked_safe_to_run_again(postgresql_url):
    """PostgreSQL aborts one of two transactions that wait on each other; nothing of it took effect, so the
    click path (`retry_once_when_safe`) runs it again instead of showing an error."""
    store = Store.connect(postgresql_url)
    with write(store.engine) as connection:
        connection.exec_driver_sql("CREATE TABLE pair (id integer PRIMARY KEY, n integer NOT NULL)")
        connection.exec_driver_sql("INSERT INTO pair VALUES (1, 0), (2, 0)")
    both_hold_one = threading.Barrier(2, timeout=120)
    victims: list[DatabaseUnavailable] = []

    def cross(first: int, second: int) -> None:
        try:
            with write(store.engine) as connection:
                connection.exec_driver_sql(f"UPDATE pair SET n = n + 1 WHERE id = {first}")
                both_hold_one.wait()
                connection.exec_driver_sql(f"UPDATE pair SET n = n + 1 WHERE id = {second}")
        except DatabaseUnavailable as error:
            victims.append(error)

    threads = [threading.Thread(target=cross, args=pair) for pair in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(victims) == 1 and victims[0].retry_safe and "gave up this transaction" in str(victims[0])
    with read(store.engine) as connection:  # the survivor's two updates only
        assert connection.exec_driver_sql("SELECT sum(n) FROM pair").scalar() == 2
    store.close()
