"""Playwright steps shared by the end-to-end tests: wait for a finished rerun, screenshot, open a page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
"""Streamlit marks the app so once a script or fragment run has finished."""
STEP_MS = 30_000


def ready(page: Page) -> None:
    page.wait_for_selector(READY, timeout=STEP_MS)


def shot(page: Page, screenshots, name: str) -> None:
    ready(page)
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def go(page: Page, title: str) -> None:
    """Open a page from the sidebar (the session, and so the sign-in, is kept)."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1).first).to_be_visible(timeout=STEP_MS)
    ready(page)
