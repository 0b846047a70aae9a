"""Shared by the end-to-end tests: start the app, wait for a finished rerun, screenshot, open a page."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
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


REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


@contextmanager
def running_app(env: dict[str, str], log: Path, *options: str) -> Iterator[str]:
    """`streamlit run streamlit_app.py` from the repository on a free port; yields its URL once healthy."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1", *options],
            cwd=REPO,
            env={**os.environ, "OMP_NUM_THREADS": "1", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start:\n{log.read_text()}")
            time.sleep(0.2)  # polling the health endpoint, not waiting on the page
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
