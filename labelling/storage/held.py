"""`HeldConnections`: the labelling calls' connections, kept checked out of the pool from one call to the next."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from labelling.storage.engine import server_closed

__all__ = ["HELD_CONNECTIONS", "HeldConnections"]

HELD_CONNECTIONS = 4
"""Idle connections a store keeps for its labelling calls, beside the pool's own 5 idle ones (15 with overflow):
a busy app process may hold up to 9 server connections when quiet; count them against max_connections."""


class HeldConnections:
    """The queue's transactions (`Store.submit_and_next` and the other labelling calls), each on a connection
    the store keeps between calls instead of checking one out of the pool and wrapping it in a new SQLAlchemy
    `Connection` every time: that checkout, check-in and reset were about 40 µs of client CPU per click of
    about 700 (a tenth of what a click costs the app's process; with 32 labellers on 2 cores, CPU per label
    is what bounds labels per second).

    Each call takes an idle connection (or checks a new one out), runs one transaction, and gives it back;
    at most HELD_CONNECTIONS stay held. A held connection the server has closed meanwhile is replaced before
    use, as the pool's checkout does (`engine.server_closed`). After any error the connection goes back to
    the pool (which resets it, or replaces it once the engine invalidated it), so `retry_once_when_safe`'s
    second run checks out a fresh one, as before. Safe across threads: a connection is used by one call at
    a time, taken and given back with the list's atomic pop and append.
    """

    def __init__(self, engine: Engine):
        self._engine = engine
        self._idle: list[Connection] = []
        self._pid = os.getpid()
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, as `engine.write`: all of it commits or none of it does."""
        connection = self._take()
        try:
            with connection.begin():
                yield connection
        except BaseException:
            if connection.invalidated:
                # A dead connection: the others held as long may be dead unseen too (a NAT's idle drop closes
                # no socket). Given back, the pool replaces every connection older than the dead one, so
                # retry_once_when_safe's second run gets a fresh one, as it does without held connections.
                self.close()
            connection.close()
            raise
        if len(self._idle) < HELD_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()

    def _take(self) -> Connection:
        if self._pid != os.getpid():  # a forked child must not talk on its parent's sockets: let them go unclosed
            self._idle, self._pid = [], os.getpid()
        try:
            connection = self._idle.pop()
        except IndexError:
            return self._engine.connect()
        if self._postgres and server_closed(connection.connection.dbapi_connection):
            connection.invalidate()  # closes it; the pool connects its slot again when next checked out
            connection.close()
            return self._engine.connect()
        return connection

    def close(self) -> None:
        """Give every idle connection back to the pool (a later call checks one out again)."""
        while True:
            try:
                self._idle.pop().close()
            except IndexError:
                return
