"""Waking the training worker: NOTIFY when labels arrive or a retrain is requested, LISTEN in the worker.

On PostgreSQL the store sends `NOTIFY labelling_training, '<project id>'` inside the transaction that adds
labels or files a "Retrain now" request, so the notification leaves only if that transaction commits.
The worker holds one extra connection, outside the pool, that LISTENs, and waits on its socket between
passes (procrastinate's worker does the same); it polls only as a fallback. SQLite has no notifications:
there `Listener.wait` simply sleeps and the worker polls.

The channel is the whole server's, not a schema's: a notification is only a hint to look now, so a
wakeup for another schema's project costs one needless pass, never a missed run.
"""

from __future__ import annotations

import logging
import math
import select
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from labelling.errors import DatabaseUnavailable

__all__ = ["AWAY_ERRORS", "CHANNEL", "NOTIFY_EVERY_SECONDS", "Listener", "Notifier", "announce"]

log = logging.getLogger(__name__)

CHANNEL = "labelling_training"
NOTIFY_EVERY_SECONDS = 1.0
"""A store announces one project's new labels at most this often. Each NOTIFY takes a server-wide lock
at commit, so submit (the hot path) sends few; the worker looks again this long after a wakeup
(`Listener.RECHECK_SECONDS`), so labels that arrived unannounced meanwhile are seen at once anyway."""
WAIT_SLICE_SECONDS = 0.5
"""A wait checks `alive()` at least this often, so a stopped worker exits promptly."""
AWAY_ERRORS: tuple[type[BaseException], ...] = (DatabaseUnavailable, DBAPIError)
"""What the worker waits out and retries: an unreachable database, and any other driver error in its loop
(a daemon retries a failing statement rather than ending; runs record a model's own errors themselves)."""

NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', :project)")
"""Wake listening workers for one project when the transaction commits."""
LISTEN = f"LISTEN {CHANNEL}"


def announce(connection: Connection, project_id: int) -> None:
    """Wake the workers about this project once the caller's transaction commits (nothing on SQLite)."""
    if connection.dialect.name == "postgresql":
        connection.execute(NOTIFY, {"project": str(int(project_id))})


class Notifier:
    """Announces a project's new labels at most every NOTIFY_EVERY_SECONDS (one per Store)."""

    def __init__(self) -> None:
        self._last: dict[int, float] = {}

    def labels_arrived(self, connection: Connection, project_id: int) -> None:
        """Called inside the transaction that added labels; notifies unless it did so a moment ago."""
        now = time.monotonic()
        if now - self._last.get(project_id, -math.inf) >= NOTIFY_EVERY_SECONDS:
            announce(connection, project_id)
            self._last[project_id] = now


class Listener:
    """The worker's line to the database: waits for notifications, tells whether the database is there,
    and drops its connections after the database went away."""

    RECHECK_SECONDS = 2 * NOTIFY_EVERY_SECONDS
    """After a wakeup, the next pass comes this soon, whatever the poll interval (see NOTIFY_EVERY_SECONDS)."""

    def __init__(self, engine: Engine):
        self._engine = engine
        self._connection = None  # psycopg2's connection, detached from the pool, in autocommit, listening

    @property
    def listening(self) -> bool:
        """Notifications can wake the worker (PostgreSQL); otherwise it only polls."""
        return self._engine.dialect.name == "postgresql"

    def listen(self) -> None:
        """LISTEN now (if not already), before looking at the projects: a notification sent while the
        worker looks is then kept for its next wait instead of lost."""
        if self.listening:
            self._listening()

    def wait(self, seconds: float, alive: Callable[[], bool] = lambda: True) -> bool:
        """Wait up to `seconds`, or until a notification arrives (True) or `alive()` turns False."""
        deadline = time.monotonic() + seconds
        while alive() and (left := deadline - time.monotonic()) > 0:
            if self._woken(min(WAIT_SLICE_SECONDS, left)):
                return True
        return False

    def _woken(self, seconds: float) -> bool:
        if not self.listening:
            time.sleep(seconds)
            return False
        try:
            connection = self._listening()
            if not connection.notifies:
                select.select([connection], [], [], seconds)
                connection.poll()
        except (*AWAY_ERRORS, psycopg2.Error, OSError):
            self.close()  # the server went away: wait out the slice, connect again on the next one
            time.sleep(seconds)
            return False
        woken = bool(connection.notifies)
        connection.notifies.clear()
        return woken

    def _listening(self):
        if self._connection is None:
            try:  # raw_connection() bypasses the engine's handle_error hook: a refused connect is ours to wrap
                pooled = self._engine.raw_connection()
            except (DBAPIError, psycopg2.Error) as error:
                raise DatabaseUnavailable(f"could not connect to listen for notifications: {error}") from error
            connection = pooled.driver_connection
            pooled.detach()  # its own connection for as long as the worker lives, never handed out
            try:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(LISTEN)
            except psycopg2.Error as error:
                connection.close()
                raise DatabaseUnavailable(f"could not listen for notifications: {error}") from error
            self._connection = connection
            log.info("listening for notifications on channel %s", CHANNEL)
        return self._connection

    def check_reachable(self) -> None:
        """Raise DatabaseUnavailable when the embedded database's file is missing (connecting would
        quietly make an empty one)."""
        url = self._engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            if not Path(url.database).is_file():
                raise DatabaseUnavailable(f"the database file {url.database} is missing")

    def reset(self) -> None:
        """Drop every pooled connection and the listening one: they lead to a server or file that went away."""
        self.close()
        self._engine.dispose()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except psycopg2.Error:
                pass
            self._connection = None
