"""Fixtures of the unit tests: a working directory with nothing configured, and a secrets file to write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labelling.settings import SECRETS_FILE, SOURCES


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A working directory with no secrets file and no configuration in the environment."""
    monkeypatch.chdir(tmp_path)
    for source in SOURCES.values():
        monkeypatch.delenv(source.environment, raising=False)
    return tmp_path


@pytest.fixture
def write_secrets(here) -> Callable[[str], None]:
    """Write this text as .streamlit/secrets.toml in the working directory."""

    def write(text: str) -> None:
        (here / SECRETS_FILE).parent.mkdir(exist_ok=True)
        (here / SECRETS_FILE).write_text(text)

    return write
