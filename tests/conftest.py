"""Fixtures shared by every test layer: a fresh database per test on SQLite and on PostgreSQL.

PostgreSQL comes from $TEST_DATABASE_URL, else the local server. With $CI or $REQUIRE_POSTGRES set, a
missing server fails the run instead of skipping its half of the suite.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
POSTGRES_REQUIRED = bool(os.environ.get("CI") or os.environ.get("REQUIRE_POSTGRES"))

# Keep model fits on one BLAS thread: on 2 cores this is several times faster and deterministic.
os.environ.setdefault("OMP_NUM_THREADS", "1")

_MAIN = sys.modules["__main__"]


@pytest.fixture(autouse=True)
def _main_module_restored() -> Iterator[None]:
    """AppTest runs each script as `__main__` and leaves it there. A later test in the same process that starts
    processes by spawn then had each of them run that script first: streamlit_app.py, in eight queue workers,
    opened ./labelling.db and crashed one (only 7 of 8 reported back, after the app tests on that xdist worker)."""
    yield
    sys.modules["__main__"] = _MAIN


def _postgres_available() -> str | None:
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as error:
        return str(error).splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable: {problem}"
        if POSTGRES_REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgresql_url(postgres_server: str) -> Iterator[str]:
    """A URL whose connections live in a schema of their own, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'labelling.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Each test using it runs twice: on a fresh SQLite file and on a fresh PostgreSQL schema."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def open_store():
    """`Store.connect` for a test's fixtures: every store opened through it is closed at teardown."""
    from labelling import Store

    opened = []

    def connect(url: str):
        opened.append(Store.connect(url))
        return opened[-1]

    yield connect
    for store in opened:
        store.close()


@pytest.fixture
def store(db_url, open_store):
    return open_store(db_url)


@pytest.fixture
def csv_project(store):
    """A project made from a CSV file as the Setup page makes one: column `text` shown, column `sentiment`
    holding existing labels (one row, labelled pos), label set pos and neg."""
    import io

    from labelling.setup import csv_import

    settings = csv_import.build_settings(["text", "sentiment"], "text", text_column="text", label_column="sentiment")
    project, _ = csv_import.import_csv(
        store, io.BytesIO(b"text,sentiment\nfirst,pos\n"), name="p", labels=["pos", "neg"], settings=settings
    )
    return project
