"""`Prepared`: the labelling hot path's statements, compiled once and run on the driver's cursor."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Compiled
from sqlalchemy.exc import NoResultFound

__all__ = ["Prepared"]


class Prepared:
    """A hot statement compiled once, and on PostgreSQL parsed and planned once per connection, not on every call.

    psycopg2 sends every statement as text, and planning the claim costs as much server time as running
    it, on the path every label takes. The statement is PREPAREd the first time a pooled connection runs
    it (prepared statements outlive transactions and rollbacks, and go away with the connection), then
    EXECUTEd. SQLite's driver caches its statements itself. On both, the SQL text and the order of its
    parameters are fixed here, and the statement runs on the driver's cursor of the caller's connection
    and transaction: SQLAlchemy's per-statement work (execution context, result metadata, row processing)
    was most of the client's time per click (profiled over 2,000 clicks: about 40% of it; the floor's
    client spent a third of ours per label). A driver error still goes through the engine's error
    handling (`handle_error`: DatabaseUnavailable, a lost connection invalidated), as from `execute`.
    While anything listens to `before_cursor_execute` (a test counting statements), statements go
    through SQLAlchemy instead, so the listener sees them.
    Rows come back as named tuples of what the driver returns (SQLite's booleans as 0 and 1).
    """

    _dialect = postgresql.psycopg2.dialect(paramstyle="numeric_dollar")
    _sqlite_dialect = sqlite.pysqlite.dialect(paramstyle="qmark")

    def __init__(self, name: str, statement: Executable, sqlite_statement: Executable | None = None):
        self.name = name
        compiled = statement.compile(dialect=self._dialect)
        self._prepare = f"PREPARE {name} AS {compiled}"
        self._execute = f"EXECUTE {name}({', '.join(['%s'] * len(compiled.positiontup))})"
        self._order, self._defaults = tuple(compiled.positiontup), _fixed_values(compiled)
        lite = (statement if sqlite_statement is None else sqlite_statement).compile(dialect=self._sqlite_dialect)
        self._sqlite, self._sqlite_order, self._sqlite_defaults = str(lite), tuple(lite.positiontup), _fixed_values(lite)
        self._row_types: dict[str, type] = {}  # per dialect: the statement's columns never change

    def first(self, connection: Connection, params: dict[str, Any]) -> Any:
        """The first row (attributes named as the columns), or None."""
        rows = self.all(connection, params)
        return rows[0] if rows else None

    def one(self, connection: Connection, params: dict[str, Any]) -> Any:
        """The one row the statement must return."""
        rows = self.all(connection, params)
        if len(rows) != 1:
            raise NoResultFound(f"{self.name} returned {len(rows)} rows, not one")
        return rows[0]

    def scalar(self, connection: Connection, params: dict[str, Any]) -> Any:
        """The first column of the first row, or None."""
        rows = self.all(connection, params)
        return rows[0][0] if rows else None

    def _ready(self, connection: Connection) -> _Driver:
        """The driver connection's state for `Prepared` (in the pool's per-connection dict: gone with the
        connection), this statement PREPAREd on it (PostgreSQL)."""
        driver = connection.connection.info.get(_DRIVER)
        if driver is None:
            driver = connection.connection.info[_DRIVER] = _Driver()
        if connection.dialect.name == "postgresql" and self.name not in driver.prepared:
            connection.exec_driver_sql(self._prepare)
            driver.prepared.add(self.name)
        return driver

    def plan(self, connection: Connection, params: dict[str, Any]) -> dict[str, Any]:
        """The plan of this statement on `connection` (PostgreSQL's EXPLAIN, nothing executed). A prepared
        statement may settle on one generic plan after its fifth run; `plan_cache_mode =
        force_generic_plan` shows it at once. What to look at when clicks grow slower."""
        if connection.dialect.name != "postgresql":
            raise NotImplementedError("Prepared.plan reads PostgreSQL's plans only")
        self._ready(connection)
        explain = f"EXPLAIN (FORMAT JSON) {self._execute}"
        return connection.exec_driver_sql(explain, self._args(self._order, self._defaults, params)).scalar()[0]["Plan"]

    @staticmethod
    def _args(order: tuple[str, ...], defaults: dict[str, Any], params: dict[str, Any]) -> tuple[Any, ...]:
        """The statement's parameters in the order its SQL text takes them."""
        values = defaults | params
        return tuple([values[key] for key in order])

    def all(self, connection: Connection, params: dict[str, Any]) -> list[Any]:
        """Every row the statement returns (none for a statement that returns no rows)."""
        driver = self._ready(connection)
        if connection.dialect.name == "postgresql":
            sql, args = self._execute, self._args(self._order, self._defaults, params)
        else:
            sql, args = self._sqlite, self._args(self._sqlite_order, self._sqlite_defaults, params)
        if connection.engine.dispatch.before_cursor_execute:  # the engine's own list: cheaper than the connection's
            result = connection.exec_driver_sql(sql, args)
            return result.fetchall() if result.returns_rows else []
        cursor = driver.cursor
        try:
            if cursor is None:  # a dead driver connection fails here: mapped as any other
                cursor = driver.cursor = connection.connection.dbapi_connection.cursor()
            cursor.execute(sql, args)
            columns = cursor.description
            fetched = [] if columns is None else cursor.fetchall()
        except BaseException as error:  # as `execute` does: wraps driver errors, invalidates after an interrupt
            driver.cursor = None  # the handler closes the cursor
            connection._handle_dbapi_exception(error, sql, args, cursor, None)  # noqa: SLF001 - execute's own path
        if not fetched:
            return fetched
        row = self._row_types.get(connection.dialect.name)
        if row is None:
            row = self._row_types[connection.dialect.name] = namedtuple(self.name, [column[0] for column in columns])
        return list(map(row._make, fetched))


class _Driver:
    """What one driver connection keeps for `Prepared`: the names PREPAREd on it, and one cursor for every
    statement (a cursor opened through the pool's proxy and closed per statement was 5 of a click's ~280
    Python calls per statement)."""

    __slots__ = ("cursor", "prepared")

    def __init__(self) -> None:
        self.cursor: Any = None
        self.prepared: set[str] = set()


_DRIVER = "prepared"
"""The key of a driver connection's `_Driver` in its pool `info` dict."""


def _fixed_values(compiled: Compiled) -> dict[str, Any]:
    """The values a compiled statement carries itself (`LIMIT 1`, a literal); a call supplies the rest, or fails."""
    values = compiled.construct_params(_check=False)
    return {key: value for key, value in values.items() if not compiled.binds[key].required}
