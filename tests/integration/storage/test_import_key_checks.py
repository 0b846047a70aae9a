"""Imports on PostgreSQL write their rows without the per-row foreign-key triggers when the role may
(labelling.storage.items._rows_checked_by_construction): the keys must hold all the same, the project must
stay undeletable until the import commits, the triggers must be back once the rows are in, and a role that
may not skip them must import through the checked path with the same result, on PostgreSQL before 15 too
(which has no has_parameter_privilege for parameters)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from labelling.errors import DatabaseUnavailable
from labelling.storage import items, projects
from labelling.storage.engine import write

ROWS = [f"review {i}" for i in range(120)]


def _counts(store, project_id: int) -> tuple[int, int, int]:
    with store.engine.connect() as connection:
        return tuple(
            connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE project_id = :p"), {"p": project_id}).scalar()
            for table in ("items", "tasks", "annotations")
        )


def _orphans(store) -> int:
    """Rows whose keys point at nothing (what the skipped triggers would have refused)."""
    with store.engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM items i LEFT JOIN projects p ON p.id = i.project_id WHERE p.id IS NULL)"
                " + (SELECT count(*) FROM tasks t LEFT JOIN items i ON i.id = t.item_id AND i.project_id = t.project_id"
                " WHERE i.id IS NULL)"
                " + (SELECT count(*) FROM annotations a LEFT JOIN items i ON i.id = a.item_id WHERE i.id IS NULL)"
            )
        ).scalar()


def test_keys_hold_and_the_triggers_are_back_once_the_rows_are_in(postgresql_url, open_store):
    store = open_store(postgresql_url)
    labels = ["pos" if i % 3 == 0 else None for i in range(len(ROWS))]
    with write(store.engine) as connection:
        project = projects.load(connection, projects.insert(connection, "p", ["pos", "neg"], False, 2, "", None))
        assert items.add_items(connection, project, ROWS, labels, "import", ()) == len(ROWS)
        assert connection.exec_driver_sql("SHOW session_replication_role").scalar() == "origin"
        with pytest.raises(sa.exc.IntegrityError):  # the foreign keys check rows again
            with connection.begin_nested():
                connection.exec_driver_sql("INSERT INTO tasks (project_id, item_id) VALUES (%s, -1)" % project.id)
    assert _counts(store, project.id) == (len(ROWS), 2 * len(ROWS), len(ROWS) // 3)
    assert _orphans(store) == 0


def test_the_project_cannot_be_deleted_under_an_import(postgresql_url, open_store):
    store = open_store(postgresql_url)
    project = store.create_project("p", ["a", "b"])
    with write(store.engine) as connection:
        items.add_items(connection, projects.load(connection, project.id), ROWS, None, "import", ())
        with store.engine.connect() as other:
            other.exec_driver_sql("SET lock_timeout = '200ms'")
            with pytest.raises(DatabaseUnavailable, match="lock timeout"):  # the engine's word for any timeout
                other.execute(sa.text("DELETE FROM projects WHERE id = :p"), {"p": project.id})
    assert _counts(store, project.id) == (len(ROWS), len(ROWS), 0)


@pytest.fixture
def unprivileged_url(postgresql_url):
    """The test's schema through a role that is no superuser and may not set session_replication_role."""
    role = f"t_role_{uuid.uuid4().hex[:10]}"
    schema = postgresql_url.rsplit("search_path%3D", 1)[-1]
    admin = sa.create_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        connection.exec_driver_sql(f"GRANT ALL ON SCHEMA {schema} TO {role}")
    yield sa.engine.make_url(postgresql_url).set(username=role).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {role} CASCADE")
        connection.exec_driver_sql(f"DROP ROLE {role}")
    admin.dispose()


def test_a_role_that_may_not_skip_the_triggers_imports_through_them(unprivileged_url, open_store):
    store = open_store(unprivileged_url)
    with store.engine.connect() as connection:
        assert not items._may_skip_triggers(connection)
    project, added = store.import_project("p", ["pos", "neg"], ROWS, ["neg"] + [None] * (len(ROWS) - 1), overlap=2)
    assert added == len(ROWS)
    assert _counts(store, project.id) == (len(ROWS), 2 * len(ROWS), 1)
    assert _orphans(store) == 0


@pytest.mark.parametrize("superuser", [True, False])
def test_before_postgresql_15_the_check_never_names_has_parameter_privilege(
    superuser, postgresql_url, unprivileged_url, open_store, monkeypatch
):
    store = open_store(postgresql_url if superuser else unprivileged_url)
    monkeypatch.setattr(store.engine.dialect, "server_version_info", (14, 0))
    sent: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    with store.engine.connect() as connection:
        assert items._may_skip_triggers(connection) is superuser
    project, added = store.import_project("p", ["pos", "neg"], ROWS, ["neg"] + [None] * (len(ROWS) - 1), overlap=2)
    assert added == len(ROWS)
    assert _counts(store, project.id) == (len(ROWS), 2 * len(ROWS), 1)
    assert _orphans(store) == 0
    assert [statement for statement in sent if "is_superuser" in statement]  # the check ran, twice
    assert not [statement for statement in sent if "has_parameter_privilege" in statement]
