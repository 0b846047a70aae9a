"""`python -m labelling version save|list|diff`: label versions from the command line (`Store.versions`);
`export --version` writes one (labelling.cli.files)."""

from __future__ import annotations

import argparse
import datetime as dt

from labelling.cli.common import EXIT_OK, with_store
from labelling.people import ADMIN_NAME

__all__ = ["run_version_diff", "run_version_list", "run_version_save"]

LISTED_ITEMS = 20
"""Item ids printed per kind of change; the counts say how many there are."""


def run_version_save(args: argparse.Namespace) -> int:
    version = with_store(args, lambda store: store.versions.save(store.project(args.project).id, args.name, ADMIN_NAME))
    print(f"saved version {version.name!r} (id {version.id}) with {version.n_items:,} labelled items")
    return EXIT_OK


def run_version_list(args: argparse.Namespace) -> int:
    listed = with_store(args, lambda store: store.versions.all(store.project(args.project).id))
    for version in listed:
        when = dt.datetime.fromtimestamp(version.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        print(f"{version.id}\t{version.name}\t{when}\t{version.created_by}\t{version.n_items} items")
    return EXIT_OK


def run_version_diff(args: argparse.Namespace) -> int:
    def compare(store):
        project = store.project(args.project)
        old = store.versions.find(project.id, args.old).id
        new = None if args.new is None else store.versions.find(project.id, args.new).id
        return store.versions.diff(project.id, old, new)

    diff = with_store(args, compare)
    print(
        f"{diff.old} -> {diff.new}: {len(diff.changed)} changed, {len(diff.added)} added, {len(diff.removed)} removed"
    )
    for kind, ids in (("changed", diff.changed), ("added", diff.added), ("removed", diff.removed)):
        if ids:
            shown = ", ".join(str(i) for i in list(ids)[:LISTED_ITEMS])
            print(f"{kind}: {shown}" + (f" (and {len(ids) - LISTED_ITEMS} more)" if len(ids) > LISTED_ITEMS else ""))
    print(diff.counts.fillna({"label": "(tie)"}).to_string(index=False))
    return EXIT_OK
