"""AppTest fixtures: a fresh SQLite file per test (through $DATABASE_URL) and fresh Streamlit caches."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from labelling import Store

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
TIMEOUT_SECONDS = 60


@pytest.fixture(autouse=True)
def fresh_app_state(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("LABELLING_ADMIN_PASSWORD", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def store(sqlite_url):
    store = Store.connect(sqlite_url)
    yield store
    store.close()


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

