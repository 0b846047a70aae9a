"""Engines, transactions and the database clock, for PostgreSQL (production) and SQLite (embedded default).

One engine per process: `Store.connect` makes it, the app keeps it in `st.cache_resource`.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import re
import select
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import psycopg2
from psycopg2.extensions import encodings as psycopg2_codecs
from sqlalchemy import (
    Connection,
    Double,
    Engine,
    ExceptionContext,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from labelling.errors import DatabaseUnavailable, InvalidInput, SchemaNotUpgradable

DEFAULT_URL = "sqlite:///labelling.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 30
MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed 64-bit number: app servers and workers starting together take turns to migrate.
MIGRATION_LOCK_KEY = 0x1ABE11
_COPY_ESCAPED = ("\\", "\t", "\n", "\r")  # characters COPY's text format needs written as escapes
SQLITE_UNAVAILABLE = {5: "SQLITE_BUSY", 10: "SQLITE_IOERR", 14: "SQLITE_CANTOPEN"}
"""SQLite's primary result codes for a file that cannot be read or written now (held by another writer
past the busy timeout, gone, unreadable): the embedded database's way of being down."""
P = ParamSpec("P")
T = TypeVar("T")


def resolve_url(url: str | None = None) -> str:
    """The URL argument, else $DATABASE_URL, else the embedded SQLite file in the working directory."""
    url = url or os.environ.get("DATABASE_URL") or DEFAULT_URL
    # Hosting providers hand out postgres://, and SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3;
    # the driver this project installs is psycopg2.
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url.removeprefix(bare)
    return url


def make_engine(url: str | None = None) -> Engine:
    """An engine with the settings the queue relies on: pooled connections checked without a round trip, SQLite in WAL with one writer."""
    url = resolve_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_size=5, max_overflow=10)
        event.listen(engine, "connect", _plan_once)
        event.listen(engine, "checkout", _closed_by_server)
    event.listen(engine, "handle_error", _unavailable)
    return engine


def _plan_once(dbapi_connection, _record) -> None:
    """The click's prepared statements (`storage.prepared`) are planned once per connection, never per run.
    PostgreSQL would plan a prepared statement afresh on each run for as long as its generic plan looks
    dearer than a plan for the values given, and it did so for the click's one statement (SUBMIT_AND_CLAIM:
    planning it costs more than running it): with 32 labellers, 528 labels/s against 1,355 with its generic
    plan. The generic plans are the ones tests/integration/storage/test_query_plans.py reads. Only prepared
    statements have cached plans, and psycopg2 prepares none of its own."""
    if dbapi_connection.server_version < 120000:  # plan_cache_mode is PostgreSQL 12's
        return
    autocommit, dbapi_connection.autocommit = dbapi_connection.autocommit, True  # a SET in no transaction stays
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
    finally:
        dbapi_connection.autocommit = autocommit


def _closed_by_server(dbapi_connection, _record, _proxy) -> None:
    """Replace a pooled connection the server has closed before it is used (`server_closed`)."""
    if server_closed(dbapi_connection):
        raise DisconnectionError("the server closed this pooled connection")


def server_closed(dbapi_connection: Any) -> bool:
    """Has the server closed this idle psycopg2 connection (a restart, pg_terminate_backend, an idle timeout)?
    Told without a round trip: an idle connection's socket has something to read only when the server said
    goodbye. A pre-ping (`SELECT 1` on every checkout) cost a round trip per transaction; a connection that
    dies unseen is left to `retry_once_when_safe`."""
    if dbapi_connection.closed:
        return True
    readable = select.poll()  # not select.select, which refuses descriptors past 1024
    readable.register(dbapi_connection, select.POLLIN)
    return bool(readable.poll(0))


ROLLED_BACK_WHOLE = {"40P01", "40001"}
"""PostgreSQL's deadlock_detected and serialization_failure: the server rolled the transaction back whole."""


def retry_once_when_safe(call: Callable[P, T]) -> Callable[P, T]:
    """Run a one-transaction call again, once, when nothing of it took effect (DatabaseUnavailable.retry_safe):
    its connection turned out dead before the transaction began on the server (the pool replaces every
    connection older than the dead one, so the second run gets a fresh one), or PostgreSQL rolled it back
    whole as a deadlock's or a serialization failure's victim, which its manual says to retry. Running it
    again cannot apply anything twice. A connection lost later (mid-transaction, or at the commit, whose
    outcome is then unknown) is not retried: that DatabaseUnavailable reaches the caller."""

    @functools.wraps(call)
    def once_more(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return call(*args, **kwargs)
        except DatabaseUnavailable as error:
            if not error.retry_safe:
                raise
        return call(*args, **kwargs)

    return once_more


def _unavailable(context: ExceptionContext) -> None:
    """The one place that decides "is the database down?": a connection refused or failing to open, lost
    mid-use (the dialect's own disconnect test), or a PostgreSQL operational error (deadlock, timeout,
    shutdown) raises DatabaseUnavailable from the driver's error.
    Every other error (a constraint, a bad statement) is left as SQLAlchemy raises it. A pool pre-ping is
    left alone too: there a dead connection is only replaced, and the fresh connect decides.
    A transaction of which nothing took effect is marked so (`retry_once_when_safe`)."""
    if context.is_pre_ping or context.sqlalchemy_exception is None:
        return
    connecting = context.connection is None  # the DBAPI connect itself failed
    code = getattr(context.original_exception, "sqlite_errorcode", None)
    sqlite_down = code is not None and code & 0xFF in SQLITE_UNAVAILABLE
    # PostgreSQL's operational errors (a deadlock, a lock or statement timeout, an admin shutdown) are the
    # server's, not the statement's: trying again is the answer, as for a lost connection.
    postgres_transient = isinstance(context.original_exception, psycopg2.OperationalError)
    if context.is_disconnect or connecting or sqlite_down or postgres_transient:
        url = context.engine.url.render_as_string(hide_password=True) if context.engine is not None else "the database"
        reason = (str(context.original_exception).strip().splitlines() or ["no answer"])[0]
        # psycopg2 sends BEGIN before a transaction's first statement; its status stays READY when that failed.
        driver = None if connecting or context.connection.invalidated else context.connection.connection.dbapi_connection
        before_begin = bool(
            context.is_disconnect
            and isinstance(driver, psycopg2.extensions.connection)
            and not driver.autocommit
            and driver.status == psycopg2.extensions.STATUS_READY
        )
        rolled_back = getattr(context.original_exception, "pgcode", None) in ROLLED_BACK_WHOLE
        what = "the database gave up this transaction" if rolled_back else f"cannot reach the database at {url}"
        raise DatabaseUnavailable(
            f"{what}: {reason}", retry_safe=before_begin or rolled_back
        ) from context.original_exception


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's BEGIN (below) own transactions instead of the sqlite3 module's implicit ones.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A write transaction takes the write lock at BEGIN: read-then-write (the claim) cannot interleave.
    mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """One write transaction: all of it commits or none of it does."""
    with engine.begin() as connection:
        yield connection


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: on SQLite it does not take the write lock."""
    with engine.connect() as connection:
        connection.execution_options(sqlite_begin="DEFERRED")
        with connection.begin():
            yield connection


class clock(FunctionElement):
    """The database server's time in seconds since the epoch, so every process leases by one clock."""

    type = Double()
    inherit_cache = True


@compiles(clock, "postgresql")
def _clock_postgresql(_element, _compiler, **_kw) -> str:
    return "CAST(extract(epoch from clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(clock, "sqlite")
def _clock_sqlite(_element, _compiler, **_kw) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


def is_postgres(engine_or_connection: Engine | Connection) -> bool:
    return engine_or_connection.dialect.name == "postgresql"


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision`; safe when several processes start at once.

    A database at head already (every start but the first) is told by one query, without loading Alembic:
    its import and script scan were most of a fresh process's start-up (the app's first page, each CLI run)."""
    if revision == "head" and _schema_revisions(engine) == head_revisions():
        return
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with write(engine) as connection:
        if is_postgres(connection):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        except CommandError as error:  # e.g. a revision this version does not know: a newer app migrated it
            raise SchemaNotUpgradable(str(error).strip().splitlines()[0]) from error


def _schema_revisions(engine: Engine) -> set[str] | None:
    """The revisions the database is at; None before any migration."""
    with read(engine) as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


@functools.cache
def head_revisions() -> set[str]:
    """The revisions no migration builds on (Alembic's heads), read from the migration files' `revision` and
    `down_revision` assignments."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.expr):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                if "revision" in names:
                    revisions.add(ast.literal_eval(node.value))
                elif "down_revision" in names:
                    down = ast.literal_eval(node.value)
                    parents.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    return revisions - parents


def bulk_insert(connection: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert many rows inside the caller's transaction: COPY on PostgreSQL, executemany on SQLite."""
    if rows:
        # Split column by column (itemgetter, not zip(*rows), whose iterator per row wakes the garbage collector).
        insert_columns(connection, table, columns, [list(map(itemgetter(i), rows)) for i in range(len(columns))])


def insert_columns(connection: Connection, table: str, columns: Sequence[str], values: Sequence[Sequence[Any]]) -> None:
    """`bulk_insert` for rows given column by column (`values[j]` holds column j of every row), as bulk
    writers build them: no tuple per row on PostgreSQL."""
    if not values or not len(values[0]):
        return
    if connection.dialect.name != "postgresql":
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})"
        connection.exec_driver_sql(statement, list(zip(*values)))
        return
    driver = connection.connection.driver_connection
    # Encoded once: from a StringIO psycopg2 re-encodes every 8 kB it reads.
    lines = "\n".join(map("\t".join, zip(*map(_copy_column, values)))) + "\n"
    buffer = io.BytesIO(lines.encode(psycopg2_codecs[driver.encoding]))
    cursor = driver.cursor()
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    finally:
        cursor.close()


def insert_arrays(connection: Connection, table: str, columns: Sequence[str], arrays: Sequence[np.ndarray]) -> None:
    """`insert_columns` for numpy columns, one array per column: int32 (an INTEGER column), int64 (BIGINT),
    float64 (DOUBLE PRECISION) or fixed-width ASCII bytes (`S`, TEXT; every value the array's full width, as
    `encode_array_rows` makes them). On PostgreSQL COPY's binary format, the rows laid out by numpy in one
    pass (a million rows as text cost seconds of Python formatting and parsing); executemany on SQLite."""
    if not len(arrays) or not len(arrays[0]):
        return
    if connection.dialect.name != "postgresql":
        values = [array.astype(str) if array.dtype.kind == "S" else array for array in arrays]
        insert_columns(connection, table, columns, [array.tolist() for array in values])
        return
    fields = [("count", ">i2")]
    for j, array in enumerate(arrays):
        kind = array.dtype.str if array.dtype.kind == "S" else _BINARY_NUMBERS.get(array.dtype.str[1:])
        if kind is None:
            raise TypeError(f"insert_arrays takes int32, int64, float64 or bytes columns, not {array.dtype}")
        fields += [(f"size{j}", ">i4"), (f"value{j}", kind)]
    rows = np.empty(len(arrays[0]), dtype=fields)
    rows["count"] = len(arrays)
    for j, array in enumerate(arrays):
        rows[f"size{j}"] = array.dtype.itemsize
        rows[f"value{j}"] = array
    buffer = io.BytesIO(b"".join([_BINARY_COPY_HEADER, rows.view(np.uint8), b"\xff\xff"]))  # one copy of the rows
    with connection.connection.driver_connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)", buffer)


_BINARY_NUMBERS = {"i4": ">i4", "i8": ">i8", "f8": ">f8"}  # numpy codes of INTEGER, BIGINT, DOUBLE PRECISION
_BINARY_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, no flags, no extension; -1 ends the rows


def _copy_column(values: Sequence[Any]) -> Sequence[str]:
    """One column in COPY's text format: a column of one plain type in one pass, not value by value."""
    kinds = set(map(type, values))
    if kinds == {str}:
        joined = "".join(values)
        if not any(special in joined for special in _COPY_ESCAPED[1:]):  # JSON text: at most backslashes
            return list(map(str.replace, values, repeat("\\"), repeat("\\\\"))) if "\\" in joined else values
    elif kinds == {int} or kinds == {float}:
        if len(set(map(id, values))) == 1:  # one object repeated (a bulk write's project id, its time): once
            return [repr(values[0])] * len(values)
        return list(map(repr, values))
    return list(map(_copy_field, values))


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return repr(value) if isinstance(value, float) else str(value)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:?//")


def shown_url(url: str) -> str:
    """The URL as a message or a log may show it: the password hidden; one that does not parse, quoted, with
    everything between the scheme and the last `@` but the user name hidden (a password may hold `@`)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        credentials, at, host = url.rpartition("@")
        if at:
            scheme = _SCHEME.match(credentials)
            head = scheme.group(0) if scheme else ""
            url = f"{head}{credentials[len(head):].partition(':')[0]}:***@{host}"
        return repr(url)


def check_url(url: str) -> None:
    """Refuse, before connecting, a URL that does not parse or names a database SQLAlchemy does not know."""
    try:
        make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidInput(f"not a usable database URL {shown_url(url)}: {reason}") from None
