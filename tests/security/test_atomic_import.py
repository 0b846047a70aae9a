"""Finding 8 of issue 15: a killed import (the CLI, or a closed tab) left an empty project behind, visible to
labellers during a long import and blocking a re-import ("exists already"). A project made from a file
now appears only when all its rows are in, and an interrupted import leaves nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from labelling import ProjectNotFound
from labelling.setup import csv_import

REPO = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 120
"""How long the CLI may take to reach the blocked write on a loaded machine (a bound, not a pause)."""
ROWS = 2_000


def write_file(path: Path, rows: int = ROWS) -> Path:
    path.write_text("id,text\n" + "".join(f"{i},review number {i}\n" for i in range(rows)))
    return path


def start_import(csv: Path, url: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "labelling", "import", str(csv), "--project", "reviews", "--create", "--labels", "a,b"],
        cwd=csv.parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_blocked_on_tasks(engine: sa.Engine, process: subprocess.Popen) -> None:
    """Until the import's session waits for the lock on `tasks` this test holds: by then its project row and
    items are written (inside its transaction, if it has one)."""
    deadline = time.monotonic() + WAIT_SECONDS
    query = sa.text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'tasks' AND c.relnamespace = current_schema()::regnamespace AND NOT l.granted"
    )
    while True:
        with engine.connect() as connection:
            if connection.execute(query).scalar_one():
                return
        if process.poll() is not None:
            pytest.fail(f"the import ended before it wrote its tasks: {process.communicate()}")
        assert time.monotonic() < deadline, "the import never reached its tasks"
        time.sleep(0.05)  # polling interval: the wait itself is on the condition above


def test_a_killed_cli_import_leaves_no_project_and_the_file_imports_again(postgresql_url, open_store, tmp_path):
    labeller = open_store(postgresql_url)  # migrates the schema
    csv = write_file(tmp_path / "reviews.csv")
    blocker = sa.create_engine(postgresql_url)
    try:
        with blocker.connect() as lock:
            lock.execute(sa.text("LOCK TABLE tasks IN SHARE MODE"))  # the import's task rows wait for it
            process = start_import(csv, postgresql_url)
            try:
                wait_until_blocked_on_tasks(blocker, process)

                # Mid-import, labellers do not see the project.
                assert "reviews" not in [p.name for p in labeller.projects()]
                with pytest.raises(ProjectNotFound):
                    labeller.next_item("reviews", "ann")
            finally:
                process.kill()  # SIGKILL: no clean-up code runs
                process.communicate()
            lock.rollback()
    finally:
        blocker.dispose()

    assert "reviews" not in [p.name for p in labeller.projects()]
    again = start_import(csv, postgresql_url)
    out, err = again.communicate(timeout=WAIT_SECONDS)
    assert again.returncode == 0, err
    assert f"imported {ROWS:,} items" in out
    assert labeller.progress("reviews").total == ROWS


class ClosedTab(BaseException):
    """What Streamlit raises in a script whose session went away (its StopException is a BaseException)."""


@pytest.fixture
def settings():
    return csv_import.build_settings(["id", "text"], "text", text_column="text")


def test_labellers_never_see_a_half_imported_project(store, open_store, db_url, settings, tmp_path):
    """Checked from another connection after each chunk is written, while the import goes on."""
    labeller = open_store(db_url)
    seen: list[list[str]] = []

    def on_rows(_rows: int) -> None:
        seen.append([p.name for p in labeller.projects()])

    raw = write_file(tmp_path / "reviews.csv").read_bytes()
    project, added = csv_import.import_csv(
        store, io.BytesIO(raw), name="reviews", labels=["a"], settings=settings, chunk_rows=500, on_rows=on_rows
    )

    assert added == ROWS
    assert seen == [[], [], [], []]  # four chunks of 500, none of them visible before the end
    assert [p.name for p in labeller.projects()] == ["reviews"]
    assert labeller.progress(project.id).total == ROWS


def test_an_import_stopped_part_way_leaves_nothing_and_imports_again(store, settings, tmp_path):
    raw = write_file(tmp_path / "reviews.csv").read_bytes()

    def close_the_tab(rows: int) -> None:
        if rows >= 1_000:
            raise ClosedTab

    with pytest.raises(ClosedTab):
        csv_import.import_csv(
            store, io.BytesIO(raw), name="reviews", labels=["a"], settings=settings, chunk_rows=500, on_rows=close_the_tab
        )
    assert store.projects() == []

    project, added = csv_import.import_csv(store, io.BytesIO(raw), name="reviews", labels=["a"], settings=settings)
    assert added == ROWS
    assert store.progress(project.id).total == ROWS
