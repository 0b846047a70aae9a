"""The commands that look after projects and their labels: `project rename|archive|restore|delete|members|
assign|unassign` and `label rename|merge`. Projects are named by name or id, as in every command."""

from __future__ import annotations

import argparse

from labelling.cli.common import EXIT_OK, Refused, with_store
from labelling.people import ADMIN_NAME
from labelling.storage.store import Store

__all__ = [
    "run_label_merge",
    "run_label_rename",
    "run_project_archive",
    "run_project_assign",
    "run_project_delete",
    "run_project_members",
    "run_project_rename",
    "run_project_restore",
    "run_project_unassign",
]


def run_project_rename(args: argparse.Namespace) -> int:
    project = with_store(args, lambda store: store.manage.rename(args.project, args.name))
    print(f"project {project.id} is now named {project.name!r}")
    return EXIT_OK


def run_project_archive(args: argparse.Namespace) -> int:
    project = with_store(args, lambda store: store.manage.archive(args.project))
    print(f"archived {project.name!r}: hidden from labellers and read-only until `project restore`")
    return EXIT_OK


def run_project_restore(args: argparse.Namespace) -> int:
    project = with_store(args, lambda store: store.manage.restore(args.project))
    print(f"restored {project.name!r}")
    return EXIT_OK


def run_project_delete(args: argparse.Namespace) -> int:
    def delete(store: Store) -> str:
        project = store.project(args.project)
        if not args.yes:
            counts = store.progress(project.id)
            raise Refused(
                f"this deletes {project.name!r} with its {counts.total:,} items and {counts.annotations:,} labels "
                "for good: add --yes to go ahead (or `project archive` to keep them)"
            )
        from labelling.learning import model_files  # scikit-learn and joblib: loaded only to delete

        model_files.delete_project(store, project.id)
        return project.name

    print(f"deleted {with_store(args, delete)!r} and everything of it")
    return EXIT_OK


def run_project_members(args: argparse.Namespace) -> int:
    _print_members(with_store(args, lambda store: store.access.members(args.project)))
    return EXIT_OK


def run_project_assign(args: argparse.Namespace) -> int:
    _print_members(with_store(args, lambda store: store.access.assign(args.project, args.names)))
    return EXIT_OK


def run_project_unassign(args: argparse.Namespace) -> int:
    _print_members(with_store(args, lambda store: store.access.unassign(args.project, args.names)))
    return EXIT_OK


def _print_members(names: list[str]) -> None:
    print("\n".join(names) if names else "nobody assigned: every labeller may label this project")


def run_label_rename(args: argparse.Namespace) -> int:
    change = with_store(args, lambda store: store.manage.rename_label(args.project, args.old, args.new, ADMIN_NAME))
    print(f"renamed {change.old_label!r} to {change.new_label!r} ({change.annotations:,} labels rewritten, kept in the history)")
    return EXIT_OK


def run_label_merge(args: argparse.Namespace) -> int:
    change = with_store(args, lambda store: store.manage.merge_labels(args.project, args.old, args.new, ADMIN_NAME))
    print(f"merged {change.old_label!r} into {change.new_label!r} ({change.annotations:,} labels rewritten, kept in the history)")
    return EXIT_OK
