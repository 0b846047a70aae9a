"""Alembic migrations on SQLite and PostgreSQL: upgrade to head, idempotence, schema == metadata, downgrade."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from labelling import Store
from labelling.storage.engine import MIGRATIONS, make_engine, migrate, write
from labelling.storage.schema import metadata

TABLES = set(metadata.tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request):
    """A fresh, empty database: a new SQLite file or a new PostgreSQL schema."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgresql_url")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(_config()).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def current_revision(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def table_names(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def schema_diff(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def _command(engine, name: str, revision: str) -> None:
    config = _config()
    with write(engine) as connection:
        config.attributes["connection"] = connection
        getattr(command, name)(config, revision)


def test_connect_on_an_empty_database_upgrades_to_head(url):
    engine = make_engine(url)
    try:
        assert table_names(engine) == set()
        assert current_revision(engine) is None
    finally:
        engine.dispose()

    store = Store.connect(url)
    try:
        assert current_revision(store.engine) == head_revision()
        with store.engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head_revision()]
        assert TABLES <= table_names(store.engine)
        assert table_names(store.engine) - TABLES == {"alembic_version"}
    finally:
        store.close()


def test_connect_without_upgrade_leaves_an_empty_database_alone(url):
    store = Store.connect(url, upgrade=False)
    try:
        assert table_names(store.engine) == set()
    finally:
        store.close()


def test_migrating_twice_is_a_no_op(url):
    store = Store.connect(url)
    try:
        project = store.create_project("kept", ["a", "b"])
        store.add_items(project.id, ["x", "y"], labels=["a", None])
        tables_before = table_names(store.engine)

        migrate(store.engine)
        migrate(store.engine)
        again = Store.connect(url)
        again.close()

        assert current_revision(store.engine) == head_revision()
        assert table_names(store.engine) == tables_before
        assert store.project("kept") == project
        assert store.progress(project.id).total == 2
        assert store.progress(project.id).complete == 1
        assert schema_diff(store.engine) == []
    finally:
        store.close()


def test_the_migrated_schema_equals_the_declared_metadata(url):
    store = Store.connect(url)
    try:
        diff = schema_diff(store.engine)
        assert diff == [], "migrations and labelling.storage.schema.metadata differ:\n" + "\n".join(map(repr, diff))
    finally:
        store.close()


def test_postgresql_vacuums_the_queue_after_a_fixed_number_of_dead_rows(postgresql_url):
    """Revision 0009's storage parameters on `tasks` (autovacuum's own settings are not in the metadata)."""
    store = Store.connect(postgresql_url)
    try:
        with store.engine.connect() as connection:
            options = connection.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE oid = 'tasks'::regclass"
            ).scalar()
    finally:
        store.close()
    assert sorted(options) == [
        "autovacuum_vacuum_scale_factor=0",
        "autovacuum_vacuum_threshold=20000",
        "vacuum_index_cleanup=on",
    ]


def test_downgrade_to_base_then_upgrade_again(url):
    store = Store.connect(url)
    try:
        project = store.create_project("gone", ["a"])
        store.add_items(project.id, ["x"])

        _command(store.engine, "downgrade", "base")
        assert current_revision(store.engine) is None
        assert table_names(store.engine) - {"alembic_version"} == set()

        migrate(store.engine)
        assert current_revision(store.engine) == head_revision()
        assert schema_diff(store.engine) == []
        assert store.projects() == []
        # The re-created schema works.
        project = store.create_project("again", ["a", "b"])
        store.add_items(project.id, ["x"])
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", "b")
        assert store.progress(project.id).complete == 1
    finally:
        store.close()


def test_every_revision_step_goes_down_and_up(url):
    engine = make_engine(url)
    try:
        script = ScriptDirectory.from_config(_config())
        revisions = [r.revision for r in script.walk_revisions("base", "heads")][::-1]  # oldest first
        for revision in revisions:
            _command(engine, "upgrade", revision)
            assert current_revision(engine) == revision
        for revision in reversed(revisions):
            down = script.get_revision(revision).down_revision
            _command(engine, "downgrade", down or "base")
            assert current_revision(engine) == down
        _command(engine, "upgrade", "head")
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_concurrent_style_second_connect_on_a_migrated_database_keeps_data(url):
    first = Store.connect(url)
    second = Store.connect(url)
    try:
        project = first.create_project("shared", ["a"])
        assert second.project("shared") == project
    finally:
        first.close()
        second.close()
