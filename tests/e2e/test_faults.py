"""The database restarts while two labellers work in the browser.

A PRIVATE PostgreSQL is started for this test (`initdb` in a temporary folder, its own port), so the shared
server is never disturbed. The app runs against it with `client.showErrorDetails = full`, so any uncaught
exception would show as a traceback on the page. While the database is down, a click shows the clear
"not reachable" message (never a traceback); once it is back, the next click works; afterwards every item
has exactly one label, from the labeller whose screen moved past it (nothing lost, nothing recorded twice).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _browser import (DOWN, STEP_MS, Labeller, click_label, free_port, moved_on, open_labeller, ready,
                      running_app, screen, settle)
from labelling import Store

pytestmark = pytest.mark.e2e

ITEMS = 24
LABELS = ["keep", "drop"]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster: initdb in a temp folder owned by `postgres`, its own port, trust auth."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.as_postgres: list[str] = []
        owner = None
        if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.folder = Path(tempfile.mkdtemp(prefix="labelling-faults-pg-"))  # not under root's private tmp_path
        if owner is not None:
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run(
            [*self.as_postgres, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120
        )
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise AssertionError(f"{tool} {' '.join(args)} failed:\n{result.stdout}{result.stderr}\n{log}")

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "--auth=trust", "--username=postgres", "--encoding=UTF8",
                  "--no-sync")

    def _server(self, action: str) -> None:
        # -l: the server's output goes to a file, not to our pipes (which would then never close).
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-m", "fast", "-w", "-t", "60",
                  action)

    def start(self) -> None:
        self._server("start")

    def stop(self) -> None:
        self._server("stop")

    def restart(self) -> None:
        self._server("restart")

    def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def app(postgres, tmp_path_factory):
    Store.connect(postgres.url).close()  # the schema, made before the app starts
    log = tmp_path_factory.mktemp("faults-log") / "streamlit.log"
    env = {"DATABASE_URL": postgres.url, "LABELLING_ADMIN_PASSWORD": "faults-admin"}
    with running_app(env, log, "--client.showErrorDetails", "full") as running:
        yield running


def after_label(labeller: Labeller, before: int) -> dict:
    """Read the outcome of a label click; a screen that moved on to another item saved the label."""
    seen = settle(labeller, before)
    if seen["down"]:
        labeller.saw_down += 1
    else:
        moved_on(labeller, seen)
    return seen


def retry_until_back(labeller: Labeller, deadline_seconds: float = 90) -> dict:
    """Click "Try again" until the database answers; returns the screen once an item (or the end) shows."""
    give_up = time.monotonic() + deadline_seconds
    while True:
        before = labeller.runs.finished
        labeller.page.get_by_role("button", name="Try again").click()
        seen = settle(labeller, before)
        if not seen["down"]:
            moved_on(labeller, seen)  # another item: the click before the outage was saved after all
            return seen
        assert time.monotonic() < give_up, "the page never recovered after the database came back"
        time.sleep(0.5)  # the database is still starting: a person would wait a moment too


@pytest.fixture(scope="module")
def project(postgres, app):
    store = Store.connect(postgres.url)
    made = store.create_project("Restarts", LABELS)
    store.add_items(made.id, [f"item {i:02d}" for i in range(ITEMS)])
    tokens = {name: store.people.add(name)[1] for name in ("alice", "bob")}
    store.close()
    return made, tokens


@pytest.fixture(scope="module")
def labellers(browser, app, project) -> Iterator[list[Labeller]]:
    _, tokens = project
    out = []
    for name, token in tokens.items():
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        out.append(open_labeller(context, name, f"{app.url}/?token={token}"))
    yield out
    for labeller in out:
        labeller.page.context.close()


def label_round(labellers: list[Labeller]) -> list[tuple[Labeller, dict]]:
    """Everyone with an item clicks the first label at the same time, then each reads their screen."""
    started = [(l, click_label(l, 0)) for l in labellers if l.shown is not None]
    return [(l, after_label(l, before)) for l, before in started]


def test_labels_survive_a_database_restart(postgres, app, project, labellers, screenshots):
    made, _ = project
    alice, bob = labellers
    assert alice.shown and bob.shown and alice.shown != bob.shown

    for _ in range(2):  # normal work first
        for _, seen in label_round(labellers):
            assert not seen["down"]

    # The database goes away: both click; both see the message, not a traceback, and keep their item.
    postgres.stop()
    held = {l.name: l.shown for l in labellers}
    for _, seen in label_round(labellers):
        assert seen["down"] and seen["notSaved"], seen
    assert {l.name: l.shown for l in labellers} == held
    alice.page.screenshot(path=str(screenshots / "labeller-database-down.png"), full_page=True)

    # A full page load while it is down gets the message too (signing in needs the database).
    bob.page.reload()
    bob.page.get_by_text(DOWN).wait_for(timeout=STEP_MS)
    ready(bob.page)
    assert screen(bob.page)["errors"] == 0

    # Back: the next click works and brings back the very item each was labelling (its label was not saved).
    postgres.start()
    for labeller in labellers:
        seen = retry_until_back(labeller)
        assert seen["item"] == held[labeller.name], seen
    for _, seen in label_round(labellers):
        assert not seen["down"] and not seen["notSaved"], seen

    # A restart while both keep clicking: whatever each click's fate, nothing is lost or recorded twice.
    failed: list[BaseException] = []
    restarting = threading.Thread(target=lambda: _record_failure(postgres.restart, failed))
    restarting.start()
    while any(l.shown is not None for l in labellers):
        for labeller, seen in label_round(labellers):
            if seen["down"]:
                retry_until_back(labeller)
    restarting.join(timeout=120)
    assert not restarting.is_alive() and not failed, failed

    store = Store.connect(postgres.url)
    try:
        history = store.annotations(made.id)
        progress = store.progress(made.id)
        items = store.export(made.id)
    finally:
        store.close()
    assert progress.complete == ITEMS  # every item labelled
    assert len(history) == ITEMS and history["current"].all()  # once each: no second or superseded record
    ids = {str(text): int(item_id) for text, item_id in zip(items["data"], items["item_id"])}
    by_item = {int(item_id): name for item_id, name in zip(history["item_id"], history["labeller"])}
    for labeller in labellers:  # what a screen moved past was saved, under that labeller's name
        assert all(by_item[ids[text]] == labeller.name for text in labeller.moved_past), labeller.name
    assert sorted(ids[text] for l in labellers for text in l.moved_past) == sorted(by_item)
    assert alice.saw_down and bob.saw_down
    assert "Traceback" not in app.log.read_text()


def _record_failure(action, failures: list) -> None:
    try:
        action()
    except BaseException as error:  # reported by the test, not lost in the thread
        failures.append(error)
