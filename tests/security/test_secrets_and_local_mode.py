"""The rest of finding 11 of issue 15: secrets are never printed, the local-mode banner is on every page
from a fresh process's very first request, and the served app refuses local mode on a public address
unless `allow_public_local_mode` says so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from _streamlit_server import REPO, browser, free_port, streamlit_server  # noqa: F401 (browser: a fixture)
from labelling.cli import main
from labelling.settings import Settings
from test_uploads_and_sessions import served_script

SECRET = "s3cret-pass"
STARTUP_SECONDS = 300
"""A deadline for a refused server to exit on a loaded machine, not a delay."""


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg2//alice:{SECRET}@db.example.org/labelling",  # no colon after the scheme
        f"postgresql+psycopg2://alice:{SECRET}@db.example.org:port/labelling",  # a port that is not a number
        f"postgresql+psycopg2://alice:{SECRET}@with@db.example.org:x/labelling",  # an @ in the password
    ],
)
def test_the_command_line_never_prints_a_database_password(url, capsys):
    assert main(["--database-url", url, "status"]) == 1
    out, err = capsys.readouterr()
    assert "alice:***@" in err and "not a usable database URL" in err
    assert SECRET not in out + err and "Traceback" not in err


def test_the_settings_never_show_their_secrets():
    settings = Settings(database_url=f"postgresql+psycopg2://alice:{SECRET}@db/labelling", admin_password=SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    assert "alice:***@db" in repr(settings)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.0.2.7", None])  # None: Streamlit listens on all
def test_local_mode_is_refused_on_a_public_address(address):
    refusal = Settings().local_mode_refusal(address)
    assert refusal is not None and "LABELLING_ADMIN_PASSWORD" in refusal and "LABELLING_ALLOW_PUBLIC_LOCAL_MODE" in refusal
    assert Settings(admin_password="x").local_mode_refusal(address) is None
    allowed = Settings.load(environ={"LABELLING_ALLOW_PUBLIC_LOCAL_MODE": "1"}, secrets={})
    assert allowed.local_mode_refusal(address) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "localhost"])
def test_local_mode_is_served_on_loopback(address):
    assert Settings().local_mode_refusal(address) is None


def test_the_opt_in_takes_only_an_explicit_yes():
    variable = "LABELLING_ALLOW_PUBLIC_LOCAL_MODE"
    assert not Settings.load(environ={variable: "false"}, secrets={}).allow_public_local_mode
    assert Settings.load(secrets={"allow_public_local_mode": True}, environ={}).allow_public_local_mode


def test_the_image_refuses_to_serve_local_mode_on_all_addresses(tmp_path):
    """The image's command (0.0.0.0) without an admin password: the server exits, saying what to set."""
    env = {
        key: value for key, value in os.environ.items()
        if key not in ("LABELLING_ADMIN_PASSWORD", "LABELLING_ALLOW_PUBLIC_LOCAL_MODE")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'labelling.db'}"
    finished = subprocess.run(
        [sys.executable, "-m", "streamlit", "run", served_script(), "--server.port", str(free_port()),
         "--server.address", "0.0.0.0", "--server.headless", "true"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=STARTUP_SECONDS,
    )
    assert finished.returncode != 0
    assert "LABELLING_ADMIN_PASSWORD" in finished.stdout + finished.stderr



def test_a_fresh_process_shows_the_local_mode_banner_on_its_very_first_request(browser, tmp_path):
    from playwright.sync_api import expect

    from _browser import FIRST_LOAD_MS, STEP_MS, ready

    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'labelling.db'}", "LABELLING_EMBEDDED_WORKER": "0"}
    with streamlit_server(served_script(), env, tmp_path / "streamlit.log") as (url, _):
        page = browser.new_page()
        page.goto(f"{url}/setup")  # the first request this process serves
        expect(page.get_by_role("heading", name="Setup")).to_be_visible(timeout=FIRST_LOAD_MS)
        ready(page)
        expect(page.get_by_text("Local mode", exact=False)).to_be_visible(timeout=STEP_MS)
        page.close()
