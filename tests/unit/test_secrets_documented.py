"""Configuration is read in one place (`labelling.settings`), and every setting it reads is documented: its
secrets.toml key in secrets.toml.example and both names in the configuration table of docs/hosting.md."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from labelling.settings import SOURCES

REPO = Path(__file__).resolve().parents[2]
READS = re.compile(r"\bst\.secrets\b|\bos\.environ\.get\(|\bos\.getenv\(|\bos\.environ\[|\btomllib\.load")
READERS = {
    "labelling/settings.py": "the one configuration: flag, secrets.toml, environment, default",
    "ui/resources.py": "hands Streamlit's secrets (the same file, as Streamlit finds it) to Settings.load",
    "labelling/storage/engine.py": "Store.connect()'s default for library users, $DATABASE_URL as documented",
}
"""Every module that reads secrets or the environment, and why."""


def sources() -> list[Path]:
    entry = [REPO / "streamlit_app.py", *(REPO / "ui").glob("*.py"), *(REPO / "pages").glob("*.py")]
    return [*entry, *(REPO / "labelling").rglob("*.py")]


def hosting_table() -> list[list[str]]:
    lines = (REPO / "docs" / "hosting.md").read_text().splitlines()
    return [[cell.strip() for cell in line.split("|")] for line in lines if line.startswith("| ")]


def test_only_the_settings_read_secrets_and_the_environment():
    readers = {str(path.relative_to(REPO)) for path in sources() if READS.search(path.read_text())}
    assert "labelling/settings.py" in readers and "ui/resources.py" in readers  # the pattern finds them
    assert readers <= set(READERS), f"read outside labelling.settings: {sorted(readers - set(READERS))}"


def test_every_secret_is_in_the_example_and_the_hosting_table():
    keys = {source.secret for source in SOURCES.values() if source.secret}
    assert {"database_url", "admin_password", "public_url", "lease_seconds"} <= keys
    example = tomllib.loads((REPO / ".streamlit" / "secrets.toml.example").read_text())
    assert keys <= set(example)
    secrets_column = {row[3] for row in hosting_table()}
    assert {f"`{key}`" for key in keys} <= secrets_column


def test_every_environment_variable_is_in_the_hosting_table():
    environment_column = " ".join(row[2] for row in hosting_table())
    for source in SOURCES.values():
        assert f"`{source.environment}`" in environment_column, source.environment
