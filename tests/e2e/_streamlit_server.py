"""Starting the app for a browser: a real `streamlit run` on a free port, and the Chromium that drives it.

Shared by the end-to-end tests (through `_browser` and `conftest`) and by benchmarks/ui_bench.py and
benchmarks/load.py, so it imports neither pytest nor Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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


def _raise(message: str) -> NoReturn:
    raise RuntimeError(message)


@contextmanager
def streamlit_server(
    script: str | Path,
    env: dict[str, str],
    log: Path,
    *options: str,
    did_not_start: Callable[[str], NoReturn] = _raise,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run script` from the repository (its .streamlit/config.toml applies) on a free port, with
    OMP_NUM_THREADS=1 unless `env` says otherwise; yields its URL and process once healthy, and stops it
    afterwards. When it exits or is not healthy within STARTUP_SECONDS, `did_not_start` gets a message
    with its log (RuntimeError by default)."""
    port = free_port()
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
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
                did_not_start(f"streamlit did not start:\n{log.read_text()}")
            time.sleep(0.2)  # polling the health endpoint, not waiting on a page
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright, one per test module (imported by the modules and
    conftests that drive a browser); skipped where Playwright or Chromium is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
