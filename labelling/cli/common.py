"""What every command shares: exit codes, the `Refused` problem, opening the store, writing a file whole."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from labelling.storage.engine import check_url
from labelling.storage.store import Store

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "Refused",
    "connect",
    "first_line",
    "with_store",
    "write_file",
]

T = TypeVar("T")

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class Refused(Exception):
    """A problem with what was asked, reported as one line and exit code 1."""


def connect(args: argparse.Namespace) -> Store:
    """A store on the configured database (`args.settings`), its schema upgraded to the newest version, box
    labels' images read under the configured media_roots (as the app does)."""
    url = args.settings.database_url
    check_url(url)
    try:
        store = Store.connect(url)
    except ModuleNotFoundError as error:  # SQLAlchemy imports the URL's driver on first use
        scheme = url.split(":", 1)[0]
        raise Refused(
            f"no database driver for {scheme}:// URLs here ({error}); "
            "for PostgreSQL write postgresql+psycopg2://user:password@host:5432/database"
        ) from None
    store.item_labels.media_roots = tuple(args.settings.media_roots)
    return store


def with_store(args: argparse.Namespace, action: Callable[[Store], T]) -> T:
    """`action` on a store from `connect`, closed afterwards whatever happens."""
    store = connect(args)
    try:
        return action(store)
    finally:
        store.close()


def write_file(path: Path, data: bytes) -> None:
    """Write whole or not at all: a half-written backup is worse than none."""
    if path.is_dir():
        raise Refused(f"{path} is a folder: give the name of a file to write")
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise Refused(f"cannot write {path}: {error.strerror or error}") from None


def first_line(error: BaseException) -> str:
    """An error's first line, for a one-line message (a driver's message may run over many)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
