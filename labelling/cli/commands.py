"""The commands that host the app: `migrate`, `worker`, `labeller add|revoke` and `status`."""

from __future__ import annotations

import argparse
import importlib
import sys

from labelling.cli.common import EXIT_OK, Refused, connect
from labelling.storage.engine import shown_url

__all__ = ["run_labeller_add", "run_labeller_revoke", "run_migrate", "run_status", "run_worker"]


def run_migrate(args: argparse.Namespace) -> int:
    connect(args).close()
    print(f"the database schema is up to date ({shown_url(args.settings.database_url)})")
    return EXIT_OK


def run_worker(args: argparse.Namespace) -> int:
    try:
        worker = importlib.import_module("labelling.learning.worker")
    except ModuleNotFoundError as error:
        if error.name != "labelling.learning.worker":
            raise
        raise Refused("this installation has no trainer (the module labelling.learning.worker is missing)") from None
    return worker.main(["--database-url", args.settings.database_url, *args.worker_args], prog="python -m labelling worker")


def run_labeller_add(args: argparse.Namespace) -> int:
    store = connect(args)
    try:
        person, token = store.people.add(args.name, args.role)
    finally:
        store.close()
    print(
        f"Invite link for {person.name} ({person.role}). Send it privately; it is shown only now and anyone "
        "with it signs in as them:",
        file=sys.stderr,
    )
    print(args.settings.invite_link(token))
    return EXIT_OK


def run_labeller_revoke(args: argparse.Namespace) -> int:
    store = connect(args)
    try:
        person = store.people.revoke(args.name)
    finally:
        store.close()
    print(f"revoked the invite link of {person.name}; their labels are kept")
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    store = connect(args)
    try:
        rows = [(project, store.progress(project.id)) for project in store.projects()]
    finally:
        store.close()
    if not rows:
        print("no projects yet (create one on the Setup page, or with: import CSV --project NAME --create)")
        return EXIT_OK
    header = ("id", "project", "items", "done", "being labelled", "labels", "labellers", "progress")
    table = [header] + [
        (
            str(project.id),
            project.name + (" (archived)" if project.archived else ""),
            f"{counts.total:,}",
            f"{counts.complete:,}",
            f"{counts.in_progress:,}",
            f"{counts.annotations:,}",
            f"{len(counts.per_labeller):,}",
            f"{counts.fraction:.0%}",
        )
        for project, counts in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = [cell.ljust(width) if i == 1 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())
    return EXIT_OK
