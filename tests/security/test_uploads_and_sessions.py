"""Finding 6 of issue 15, against a real server started with the command the image runs (its CMD):

- a signed-out visitor could upload to Streamlit's upload route, which keeps every file in memory until the
  session ends (four 150 MB uploads: 244 MB -> 847 MB); now only an admin's session may upload;
- a `clear_cache` message, which any client may send, stopped the embedded trainer (it was a Streamlit
  cached resource); now no client message reaches it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _streamlit_server import REPO, streamlit_server
from _visitor import visit

ADMIN_PASSWORD = "security-admin-password"
MB = 1 << 20
BIG_UPLOAD_MB = 100


def served_script() -> str:
    """The file the image serves: `streamlit run <file> ...` in the Dockerfile's CMD."""
    (command,) = re.findall(r"^CMD (\[.*\])$", (REPO / "Dockerfile").read_text(), re.MULTILINE)
    argv = json.loads(command)
    assert argv[:2] == ["streamlit", "run"]
    return argv[2]


def rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE).group(1)) * 1024


def worker_pids(parent: int) -> set[int]:
    """The embedded trainers this process started (its children running labelling.learning.worker)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # ended while we looked
        if ppid == parent and b"labelling.learning.worker" in command:
            found.add(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory):
    """The app with an admin password: whoever has not signed in is a visitor."""
    folder = tmp_path_factory.mktemp("password")
    env = {"DATABASE_URL": f"sqlite:///{folder / 'labelling.db'}", "LABELLING_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with streamlit_server(served_script(), env, folder / "streamlit.log") as running:
        yield running


@pytest.fixture(scope="module")
def local_app(tmp_path_factory):
    """Local mode on loopback (everyone is admin), SQLite, so the app starts its own trainer."""
    folder = tmp_path_factory.mktemp("local")
    env = {"DATABASE_URL": f"sqlite:///{folder / 'labelling.db'}", "LABELLING_EMBEDDED_WORKER": "1"}
    with streamlit_server(served_script(), env, folder / "streamlit.log") as running:
        yield running


def test_a_signed_out_visitor_cannot_upload(signed_in_app):
    url, _ = signed_in_app
    with visit(url) as visitor:
        status, body = visitor.upload(1024)
    assert status == 403, body
    assert b"signed-in admin" in body


def test_big_uploads_from_a_signed_out_visitor_do_not_stay_in_memory(signed_in_app):
    url, process = signed_in_app
    with visit(url) as visitor:
        before = rss_bytes(process.pid)
        statuses = [visitor.upload(BIG_UPLOAD_MB * MB)[0] for _ in range(2)]
        after = rss_bytes(process.pid)
    assert 204 not in statuses
    assert after - before < BIG_UPLOAD_MB * MB / 2, f"{before / MB:.0f} MB -> {after / MB:.0f} MB"


def test_an_admin_session_may_upload(local_app):
    url, _ = local_app
    with visit(url) as visitor:
        status, body = visitor.upload(1024)
    assert status == 204, body


def test_no_client_message_stops_the_trainer(local_app):
    url, process = local_app
    with visit(url) as visitor:  # a browser session's first run starts the trainer
        (trainer,) = worker_pids(process.pid)
        visitor.clear_cache()
        visitor.rerun()  # handled after the clear_cache: the old trainer was stopped before this run
        assert worker_pids(process.pid) == {trainer}
