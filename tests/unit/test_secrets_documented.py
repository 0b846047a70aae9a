"""Every `.streamlit/secrets.toml` key the code reads is in secrets.toml.example and in the configuration
table of docs/hosting.md."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
READ = re.compile(r"""\bsecret\(\s*["'](\w+)["']|\bsecrets\(\)\.get\(\s*["'](\w+)["']""")


def keys_read() -> set[str]:
    """Keys read through ui.secret(...) on the Streamlit side and labelling.settings's secrets() elsewhere."""
    sources = [REPO / "ui.py", REPO / "streamlit_app.py", *(REPO / "pages").glob("*.py"), *(REPO / "labelling").rglob("*.py")]
    return {key for path in sources for match in READ.finditer(path.read_text()) for key in match.groups() if key}


def test_every_secret_the_code_reads_is_in_the_example_and_the_hosting_table():
    keys = keys_read()
    assert {"database_url", "admin_password", "public_url", "lease_seconds"} <= keys  # the pattern finds them
    example = tomllib.loads((REPO / ".streamlit" / "secrets.toml.example").read_text())
    assert keys <= set(example)
    table = [line for line in (REPO / "docs" / "hosting.md").read_text().splitlines() if line.startswith("| ")]
    secrets_column = {line.split("|")[3].strip() for line in table}
    assert {f"`{key}`" for key in keys} <= secrets_column
