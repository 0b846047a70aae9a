"""Shared by the end-to-end tests: start the app, wait for a finished rerun, screenshot, open a page, and
follow what a labeller's screen shows click by click."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from _streamlit_server import REPO, free_port, streamlit_server  # noqa: F401 (REPO and free_port: for the tests)

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
"""Streamlit marks the app so once a script or fragment run has finished."""
STEP_MS = 30_000


def ready(page: Page) -> None:
    page.wait_for_selector(READY, timeout=STEP_MS)


def press(page: Page, key: str) -> None:
    """Press a button's shortcut key once a button with that key is drawn. The page marks a run finished a
    moment before the browser has drawn all that run sent: a key pressed before its button is there does
    nothing (a next item that never came, on the first key after a page load, now and then on a busy machine)."""
    # Attached, not visible: a button whose label is its own key (a digit label) hides the key's badge.
    page.locator(f"button kbd[aria-label='Shortcut {key}' i]").first.wait_for(state="attached", timeout=STEP_MS)
    page.keyboard.press(key)


def keys_handed_back(page: Page) -> None:
    """Wait until no input holds the keyboard: after a select box's choice the page's script (ui/projects.py,
    _KEYS_BACK) lets go of it a moment later, and a key pressed before that types into the box."""
    page.wait_for_function("() => document.activeElement?.tagName !== 'INPUT'", timeout=STEP_MS)


def shot(page: Page, screenshots, name: str) -> None:
    ready(page)
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def go(page: Page, title: str) -> None:
    """Open a page from the sidebar (the session, and so the sign-in, is kept)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1).first).to_be_visible(timeout=STEP_MS)
    ready(page)


FIRST_LOAD_MS = 180_000
"""A fresh app's first page runs every import first: on a loaded machine that took over 30 s."""


def sign_in_as_admin(page: Page, url: str, password: str) -> None:
    """Open the app and sign in with the admin password; returns once the first page is drawn."""
    page.goto(url)
    page.get_by_label("Admin password").fill(password, timeout=FIRST_LOAD_MS)
    page.get_by_role("button", name="Sign in as admin").click()
    expect(page.get_by_role("heading", level=1).first).to_be_visible(timeout=STEP_MS)
    ready(page)


def exported_rows(page: Page) -> list[dict]:
    """The Export page's CSV (its first "Download CSV"), as rows; the page's context must accept downloads."""
    go(page, "Export")
    with page.expect_download(timeout=STEP_MS) as download:
        page.get_by_role("button", name="Download CSV").first.click()
    return list(csv.DictReader(io.StringIO(download.value.path().read_text("utf-8"))))


@dataclass(frozen=True)
class App:
    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def running_app(env: dict[str, str], log: Path, *options: str) -> Iterator[App]:
    """`streamlit run server.py` (the app as the image serves it) from the repository on a free port, once healthy."""
    with streamlit_server("server.py", env, log, *options, did_not_start=pytest.fail) as (url, process):
        yield App(url, process, log)


# Following a labeller's screen

ITEM_TEXT = ".st-key-item [data-testid='stText']"
DOWN = "database is not reachable"
NOT_SAVED = "may not have been saved"


_ITEM_OR_NOTHING_LEFT = """(previous) => {
    const text = document.querySelector("%s");
    const done = [...document.querySelectorAll("[data-testid='stAlertContentSuccess']")]
        .some(e => e.innerText.includes("Nothing left"));
    return done || (text && text.innerText !== previous);
}""" % ITEM_TEXT


def item_text(page: Page) -> str | None:
    """The item on screen once the page settled, or None when nothing is left."""
    page.wait_for_function(_ITEM_OR_NOTHING_LEFT, arg=None, timeout=STEP_MS)
    ready(page)
    text = page.locator(ITEM_TEXT)
    return text.inner_text() if text.count() else None


def next_item(page: Page, previous: str) -> str | None:
    """Wait until the item on screen is no longer `previous`, then return it (None: nothing left)."""
    page.wait_for_function(_ITEM_OR_NOTHING_LEFT, arg=previous, timeout=STEP_MS)
    return item_text(page)


class RunCounter:
    """Counts the app's finished script and fragment runs from its WebSocket messages, so a wait after a
    click never reads the page the click left (the page's own run-state attribute can skip a fast run)."""

    def __init__(self, page: Page) -> None:
        self.finished = 0
        page.on("websocket", lambda socket: socket.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            message = ForwardMsg()
            message.ParseFromString(bytes(payload))
            if message.WhichOneof("type") == "script_finished":
                self.finished += 1


@dataclass
class Labeller:
    """One browser tab and what its screen showed: the items it moved past, in order."""

    name: str
    page: Page
    runs: RunCounter
    shown: str | None = None
    moved_past: list[str] = field(default_factory=list)
    saw_down: int = 0


def open_labeller(context, name: str, url: str) -> Labeller:
    """A labeller's tab on the Label page (an invite link), once its first item is on screen."""
    page = context.new_page()
    runs = RunCounter(page)
    page.goto(url)
    page.wait_for_selector(ITEM_TEXT, timeout=STEP_MS)
    ready(page)
    return Labeller(name, page, runs, shown=screen(page)["item"])


def screen(page: Page) -> dict:
    """The item on screen and which messages show."""
    return page.evaluate(
        """([sel, down, notSaved]) => {
            const alerts = [...document.querySelectorAll("[data-testid='stAlert']")].map(e => e.innerText);
            const item = document.querySelector(sel);
            return {
                item: item ? item.innerText : null,
                down: alerts.some(t => t.includes(down)),
                notSaved: alerts.some(t => t.includes(notSaved)),
                done: alerts.some(t => t.includes("Nothing left")),
                errors: document.querySelectorAll("[data-testid='stException']").length,
            };
        }""",
        [ITEM_TEXT, DOWN, NOT_SAVED],
    )


def settle(labeller: Labeller, before: int) -> dict:
    """Wait for the run a click started to finish and be drawn, then read the screen."""
    give_up = time.monotonic() + STEP_MS / 1000
    while labeller.runs.finished <= before:
        assert time.monotonic() < give_up, f"no run finished for {labeller.name} within {STEP_MS} ms"
        labeller.page.wait_for_timeout(20)  # lets Playwright deliver the WebSocket events
    ready(labeller.page)
    labeller.page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    seen = screen(labeller.page)
    assert seen["errors"] == 0, "an uncaught exception (traceback) is on the page"
    return seen


def click(labeller: Labeller, selector: str) -> int:
    """Click without waiting; returns the run count to `settle` on."""
    before = labeller.runs.finished
    labeller.page.locator(selector).click()
    return before


def click_label(labeller: Labeller, index: int) -> int:
    return click(labeller, f".st-key-label-{index} button")


def moved_on(labeller: Labeller, seen: dict) -> None:
    """Record the screen after a click: an item that left the screen was labelled (or skipped)."""
    now = None if seen["done"] else seen["item"]
    if now != labeller.shown and labeller.shown is not None:
        labeller.moved_past.append(labeller.shown)
    labeller.shown = now
