"""The command line's grammar: every command, its options and help, and the function that runs it."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labelling import people
from labelling.cli.commands import run_labeller_add, run_labeller_revoke, run_migrate, run_status, run_worker
from labelling.cli import manage
from labelling.cli.files import EXPORT_FORMATS, run_export, run_import, run_predictions
from labelling.cli.versions import run_version_diff, run_version_list, run_version_save
from labelling.learning.imported import ORDERS, SCORED_FORMATS
from labelling.io import formats
from labelling.setup.annotation_files import FORMATS as ANNOTATION_FORMATS
from labelling.settings import DEFAULT_PUBLIC_URL, SOURCES

__all__ = ["PROJECT_HELP", "build_parser"]

PROJECT_HELP = "the project's name (or its id, as `status` lists them)"


def build_parser() -> argparse.ArgumentParser:
    """`python -m labelling`'s parser; each command sets `run`, the function given the parsed arguments."""
    # --database-url is accepted before or after the command; a subcommand's copy defaults to SUPPRESS so
    # that it only overrides the top-level value when given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="python -m labelling",
        description="Host and script the labelling app: schema, trainer, CSV import, exports, invite links.",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL (default: database_url in .streamlit/secrets.toml, else $DATABASE_URL, "
        "else sqlite:///labelling.db)",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    command = functools.partial(_command, commands, common)
    command("migrate", run_migrate, help="create or upgrade the database schema")

    worker = command(
        "worker",
        run_worker,
        add_help=False,  # `worker --help` is the worker's own help
        help="run the trainer (labelling.learning.worker); options after it are the worker's",
    )
    worker.add_argument("worker_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    _import_parser(command)
    _export_parser(command)
    _predictions_parser(command)

    labeller = commands.add_parser("labeller", help="invite people or revoke their invite links")
    labeller_commands = labeller.add_subparsers(title="labeller commands", metavar="ACTION", required=True)
    add = _command(labeller_commands, common, "add", run_labeller_add, help="invite someone: prints their invite link")
    add.add_argument("name", metavar="NAME", help="the name their labels are recorded under")
    add.add_argument("--role", choices=people.ROLES, default="labeller", help="default: labeller")
    add.add_argument(
        "--public-url",
        metavar="URL",
        help="the address labellers open (default: public_url in .streamlit/secrets.toml, else "
        f"${SOURCES['public_url'].environment}, else {DEFAULT_PUBLIC_URL})",
    )
    revoke = _command(
        labeller_commands, common, "revoke", run_labeller_revoke, help="stop someone's invite link working"
    )
    revoke.add_argument("name", metavar="NAME")

    command("status", run_status, help="every project with its progress")
    _version_parser(commands, common)
    _project_parsers(commands, common)
    _label_parsers(commands, common)
    return parser


def _version_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    version = commands.add_parser("version", help="save, list and compare versions of a project's final labels")
    actions = version.add_subparsers(title="version commands", metavar="ACTION", required=True)
    save = _command(actions, common, "save", run_version_save, help="freeze the final labels now under a name")
    save.add_argument("name", metavar="NAME", help="the version's name, e.g. friday")
    listing = _command(actions, common, "list", run_version_list, help="the project's versions, oldest first")
    diff = _command(
        actions, common, "diff", run_version_diff, help="items whose final label changed between two versions"
    )
    diff.add_argument("old", metavar="OLD", help="a version's name or id")
    diff.add_argument("new", metavar="NEW", nargs="?", help="a version's name or id (default: the current labels)")
    for parser in (save, listing, diff):
        parser.add_argument("--project", metavar="NAME", required=True, help="the project's name")


def _command(
    commands: argparse._SubParsersAction,
    common: argparse.ArgumentParser,
    name: str,
    run: Callable[[argparse.Namespace], Any],
    **options: Any,
) -> argparse.ArgumentParser:
    """A command taking the common options (--database-url) whose parsed arguments go to `run`."""
    parser = commands.add_parser(name, parents=[common], **options)
    parser.set_defaults(run=run)
    return parser


def _import_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    imports = command(
        "import",
        run_import,
        help="add a CSV file's rows (or an annotation file's items) to a project (all rows or none)",
        description="Add a CSV file's rows to a project in one transaction, checked as the Setup page checks "
        "them. With --create, make the project first (items shown as text). --format coco, yolo (a zip or "
        "folder of images, labels/*.txt and classes.txt or data.yaml), spans-jsonl, spacy or conll reads an annotation file "
        "instead: its images or texts become items, its boxes or spans their labels (a box or span project, "
        "made with --create); with --onto-existing its boxes or spans label the project's items it names.",
    )
    imports.add_argument(
        "csv", metavar="FILE", type=Path, help="the CSV file (, ; tab or | separated, with a header), or the annotation file"
    )
    imports.add_argument(
        "--format", choices=["csv", *ANNOTATION_FORMATS], default="csv", help="default: csv"
    )
    imports.add_argument("--project", required=True, metavar="NAME", help=PROJECT_HELP)
    imports.add_argument("--create", action="store_true", help="make a new project named NAME from this file")
    imports.add_argument(
        "--onto-existing",
        action="store_true",
        help="with an annotation --format: label the project's items the file names (by image path or file "
        "name, or text; an item id the file gives settles ties) instead of adding items; all or none",
    )
    imports.add_argument("--labels", metavar="A,B,C", help="with --create: the label set, comma separated")
    imports.add_argument(
        "--text-column", metavar="C", help="with --create: the column shown to labellers (default: the longest text)"
    )
    imports.add_argument(
        "--label-column",
        metavar="C",
        help="a column of existing labels: filled cells are imported as labelled (with --create and no --labels, "
        "its values make the label set)",
    )
    imports.add_argument(
        "--multi-label", action="store_true", help="with --create: items may have several labels (a|b)"
    )
    imports.add_argument("--overlap", type=int, metavar="N", help="with --create: labellers per item (default 1)")


def _predictions_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    found = command(
        "predictions",
        run_predictions,
        help="import a model's predictions (CSV or JSONL keyed by item_id, or an annotation file of the "
        "project's items) and order the queue by them",
        description="Predictions of a model trained elsewhere become the items' suggestions (an editable "
        "starting point on the Label page) and order the queue: least confident first, or by a score column, "
        "with the project's random share. Columns: item_id, label and confidence; or a probability column per "
        "class; box and span labels as JSON, their boxes or spans may carry a score each. Or --format coco, "
        "yolo or spans-jsonl: a detector's or tagger's file about the project's items (found "
        "by image path or file name, or text), every box or span with its score (COCO `score`, YOLO's sixth "
        "number), their mean the item's confidence.",
    )
    found.add_argument("file", metavar="FILE", type=Path, help="the predictions file")
    found.add_argument("--project", required=True, metavar="NAME", help="the project's name")
    found.add_argument(
        "--format", choices=["csv", "jsonl", *SCORED_FORMATS], help="default: from the file name (.jsonl, else csv)"
    )
    found.add_argument("--order", choices=ORDERS, help="confidence (default), score (with --score-column) or none")
    found.add_argument("--score-column", metavar="C", help="order the queue by this column, higher first")
    found.add_argument("--seed", type=int, help="makes the random share's draw repeatable")


def _export_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    export = command(
        "export",
        run_export,
        help="write a project's labels (or every project's, with --all) to files",
        description="One row per item (its columns, the final label — reviewer's, gold or majority — and each "
        "labeller's label), or with --long one row per annotation. --all writes both, for every project, into "
        "--output-dir.",
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--project", metavar="NAME", help=PROJECT_HELP)
    which.add_argument("--all", action="store_true", help="every project (a backup of all labels)")
    export.add_argument(
        "--format",
        choices=[*sorted(EXPORT_FORMATS), *formats.EXPORTS],
        default="csv",
        help="default: csv; box projects also coco, yolo (a zip); span projects spans-jsonl, spacy, conll",
    )
    export.add_argument("--long", action="store_true", help="one row per annotation instead of per item")
    export.add_argument(
        "--version", metavar="NAME", help="a saved version's final labels (see `version list`) instead of the current"
    )
    export.add_argument("--output", type=Path, metavar="FILE", help="the file to write (default: standard output)")
    export.add_argument("--output-dir", type=Path, metavar="DIR", help="with --all: the folder to write into")


def _project_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    project = commands.add_parser("project", help="rename, archive, restore or delete a project; who works on it")
    actions = project.add_subparsers(title="project commands", metavar="ACTION", required=True)

    def action(name: str, run: Callable[[argparse.Namespace], Any], help: str) -> argparse.ArgumentParser:
        parser = _command(actions, common, name, run, help=help)
        parser.add_argument("project", metavar="PROJECT", help=PROJECT_HELP)
        return parser

    action("rename", manage.run_project_rename, "give a project a new name").add_argument("name", metavar="NEW_NAME")
    action("archive", manage.run_project_archive, "hide a project from labellers and make it read-only")
    action("restore", manage.run_project_restore, "bring an archived project back")
    action("delete", manage.run_project_delete, "delete a project and all its items and labels").add_argument(
        "--yes", action="store_true", help="really delete (without it, says what would be deleted)"
    )
    action("members", manage.run_project_members, "who is assigned to a project")
    for name, run, help in (
        ("assign", manage.run_project_assign, "let only the assigned people (and admins) label a project"),
        ("unassign", manage.run_project_unassign, "take people off a project (nobody left: open to all)"),
    ):
        action(name, run, help).add_argument("names", nargs="+", metavar="NAME", help="people invited with `labeller add`")


def _label_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    label = commands.add_parser("label", help="rename or merge a project's labels (every label given is kept)")
    actions = label.add_subparsers(title="label commands", metavar="ACTION", required=True)
    for name, run, help, new in (
        ("rename", manage.run_label_rename, "call a label by a new name everywhere", "NEW"),
        ("merge", manage.run_label_merge, "fold the label OLD into the label INTO", "INTO"),
    ):
        parser = _command(actions, common, name, run, help=help)
        parser.add_argument("--project", required=True, metavar="NAME", help=PROJECT_HELP)
        parser.add_argument("old", metavar="OLD")
        parser.add_argument("new", metavar=new)
