"""A real `streamlit run` on a free port with a fresh SQLite file, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from _browser import REPO, STEP_MS, running_app
from _streamlit_server import browser  # noqa: F401 (the shared headless Chromium fixture)
from labelling import Store

SCREENSHOTS = REPO / "artifacts" / "screenshots"
ADMIN_PASSWORD = "e2e-admin-password"

# Every expectation waits as long as a step may take: Playwright's 5 s default was too short for a page's
# first import on a loaded 2-core machine (a page's heading appeared after it, in one of three parallel runs).
expect.set_options(timeout=STEP_MS)


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str
    admin_password: str = ADMIN_PASSWORD


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'labelling.db'}"
    log = tmp_path_factory.mktemp("e2e-log") / "streamlit.log"
    env = {"DATABASE_URL": database_url, "LABELLING_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with running_app(env, log) as app:
        yield Server(app.url, database_url)


@pytest.fixture(scope="module")
def store(server):
    """The library on the module's app database, to set up stories and check what the app wrote."""
    store = Store.connect(server.database_url)
    yield store
    store.close()


@pytest.fixture(scope="module")
def admin(browser, server):
    """The admin's browser tab (downloads allowed, for the Export page)."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()



@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
