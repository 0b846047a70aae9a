"""Settings the app's processes share outside Streamlit: the command line (`python -m labelling`) and the
worker (`python -m labelling.learning.worker`) read `.streamlit/secrets.toml` in the working directory as the app
does, so that all three use the same database wherever they are started.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from labelling.storage.engine import resolve_url
from labelling.errors import InvalidInput

__all__ = ["SECRETS_FILE", "database_url", "secrets"]

SECRETS_FILE = Path(".streamlit") / "secrets.toml"


def secrets(path: Path = SECRETS_FILE) -> dict[str, Any]:
    """The app's .streamlit/secrets.toml in the working directory, or {} when there is none."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{path} is not valid TOML: {error}") from None


def database_url(given: str | None = None) -> str:
    """The database the app would use when started in this folder: `given` (a --database-url flag), else
    `database_url` in secrets.toml (the app, too, reads it first), else $DATABASE_URL, else the SQLite file
    labelling.db in the working directory."""
    return resolve_url(given or secrets().get("database_url") or None)
