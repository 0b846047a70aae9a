"""AppTest fixtures: a fresh database per test (through $DATABASE_URL; SQLite, and PostgreSQL as well for the
tests that use the store) and fresh Streamlit caches."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.auth
from labelling.throttle import Throttle

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
TIMEOUT_SECONDS = 60


def pytest_generate_tests(metafunc):
    """A test that touches the store runs on SQLite and on PostgreSQL; the others (sign-in, helpers) once."""
    if "store" in metafunc.fixturenames:
        metafunc.parametrize("app_db_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def app_db_url(request) -> str:
    """The database the app and the test's store use: a fresh SQLite file unless parametrised."""
    return request.getfixturevalue(f"{getattr(request, 'param', 'sqlite')}_url")


@pytest.fixture(autouse=True)
def fresh_app_state(app_db_url, monkeypatch):
    """The app's settings (loaded once per process) and its store (closed on clearing) start afresh."""
    monkeypatch.setenv("DATABASE_URL", app_db_url)
    monkeypatch.delenv("LABELLING_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(ui.auth, "THROTTLE", Throttle())  # one test's failed sign-ins do not hold back the next
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def store(app_db_url, open_store):
    """The library on the app's database (the root conftest's `store` is on `db_url`)."""
    return open_store(app_db_url)


@pytest.fixture
def app():
    """An AppTest of the whole app; pass token= to open an invite link, password= to set the admin password."""

    def make(token: str | None = None, password: str | None = None, url: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_SECONDS)
        if token is not None:
            at.query_params["token"] = token
        if password is not None:
            at.secrets["admin_password"] = password
        if url is not None:
            at.context["url"] = url
        return at

    return make


@pytest.fixture
def labeller(store):
    """An invited labeller: (name, token)."""
    person, token = store.people.add("alice")
    return person.name, token

