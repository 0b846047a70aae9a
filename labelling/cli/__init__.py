"""`python -m labelling`: host and script the labelling store from a shell (migrate, worker, import, export,
labeller add/revoke, status).

Exit codes: 0 done, 1 refused (one line on stderr naming the problem: bad input, missing file, unreachable
database), 2 wrong usage (argparse's message), 130 interrupted. Expected errors never print a traceback.

The database is the one the app uses: --database-url, else `database_url` in ./.streamlit/secrets.toml,
else $DATABASE_URL, else the SQLite file labelling.db in the working directory (`labelling.settings`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

import pandas as pd
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from labelling import people
from labelling.io import csv_import
from labelling.settings import database_url, secrets
from labelling.errors import LabellingError, ProjectNotFound
from labelling.io.export import to_csv, to_jsonl
from labelling.records import Project
from labelling.storage.store import Store

__all__ = ["DEFAULT_PUBLIC_URL", "PUBLIC_URL_ENV", "main"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
PUBLIC_URL_ENV = "LABELLING_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://localhost:8501"
BAR_WIDTH = 30
"""Characters in the import progress bar."""
LOG_EVERY_PERCENT = 10
"""Without a terminal, the import writes one progress line per this many percent of the file."""
EXPORT_FORMATS: dict[str, Callable[[pd.DataFrame], bytes]] = {"csv": to_csv, "jsonl": to_jsonl}


class Refused(Exception):
    """A problem with what was asked, reported as one line and exit code 1."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.run is run_worker:
        args.worker_args = [*extra, *args.worker_args]  # the worker parses its own options
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    url = None
    try:
        url = database_url(args.database_url)
        args.url = url
        return args.run(args)
    except (LabellingError, Refused) as error:
        return _refuse(str(error))
    except FileNotFoundError as error:
        return _refuse(f"no such file or folder: {error.filename}")
    except OSError as error:
        if isinstance(error, BrokenPipeError):  # `... | head`: the reader left; say nothing more
            _silence_stdout()
            return EXIT_REFUSED
        where = f" {error.filename}" if error.filename else ""
        return _refuse(f"cannot use{where}: {error.strerror or error}")
    except (OperationalError, InterfaceError) as error:
        return _refuse(f"cannot reach the database at {_shown(url)}: {_first_line(error.orig or error)}")
    except (ArgumentError, NoSuchModuleError) as error:
        return _refuse(f"not a usable database URL {_shown(url)}: {_first_line(error)}")
    except CommandError as error:  # Alembic: e.g. the database was migrated by a newer version of the app
        return _refuse(f"cannot bring the schema of {_shown(url)} up to date: {_first_line(error)}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
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

    migrate = commands.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
    migrate.set_defaults(run=run_migrate)

    worker = commands.add_parser(
        "worker",
        parents=[common],
        add_help=False,  # `worker --help` is the worker's own help
        help="run the trainer (labelling.learning.worker); options after it are the worker's",
    )
    worker.add_argument("worker_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    worker.set_defaults(run=run_worker)

    imports = commands.add_parser(
        "import",
        parents=[common],
        help="add a CSV file's rows to a project (all rows or none)",
        description="Add a CSV file's rows to a project in one transaction, checked as the Setup page checks "
        "them. With --create, make the project first (items shown as text).",
    )
    imports.add_argument("csv", metavar="CSV", type=Path, help="the CSV file (, ; tab or | separated, with a header)")
    imports.add_argument("--project", required=True, metavar="NAME", help="the project's name")
    imports.add_argument("--create", action="store_true", help="make a new project named NAME from this file")
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
    imports.set_defaults(run=run_import)

    export = commands.add_parser(
        "export",
        parents=[common],
        help="write a project's labels (or every project's, with --all) to files",
        description="One row per item (its columns, the final label — reviewer's, gold or majority — and each labeller's label), or with --long "
        "one row per annotation. --all writes both, for every project, into --output-dir.",
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--project", metavar="NAME", help="the project's name")
    which.add_argument("--all", action="store_true", help="every project (a backup of all labels)")
    export.add_argument("--format", choices=sorted(EXPORT_FORMATS), default="csv", help="default: csv")
    export.add_argument("--long", action="store_true", help="one row per annotation instead of per item")
    export.add_argument("--output", type=Path, metavar="FILE", help="the file to write (default: standard output)")
    export.add_argument("--output-dir", type=Path, metavar="DIR", help="with --all: the folder to write into")
    export.set_defaults(run=run_export)

    labeller = commands.add_parser("labeller", help="invite people or revoke their invite links")
    labeller_commands = labeller.add_subparsers(title="labeller commands", metavar="ACTION", required=True)
    add = labeller_commands.add_parser("add", parents=[common], help="invite someone: prints their invite link")
    add.add_argument("name", metavar="NAME", help="the name their labels are recorded under")
    add.add_argument("--role", choices=people.ROLES, default="labeller", help="default: labeller")
    add.add_argument(
        "--public-url",
        metavar="URL",
        help=f"the address labellers open (default: public_url in .streamlit/secrets.toml, else ${PUBLIC_URL_ENV}, "
        f"else {DEFAULT_PUBLIC_URL})",
    )
    add.set_defaults(run=run_labeller_add)
    revoke = labeller_commands.add_parser("revoke", parents=[common], help="stop someone's invite link working")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(run=run_labeller_revoke)

    status = commands.add_parser("status", parents=[common], help="every project with its progress")
    status.set_defaults(run=run_status)
    return parser


# Configuration


def public_url(given: str | None) -> str:
    """The invite links' address: the flag, else secrets.toml, else $LABELLING_PUBLIC_URL (the app's order)."""
    return given or secrets().get("public_url") or os.environ.get(PUBLIC_URL_ENV) or DEFAULT_PUBLIC_URL


def invite_link(base: str, token: str) -> str:
    """The link the People page shows: `<base>/?token=...`."""
    return f"{base.rstrip('/')}/?token={token}"


def connect(args: argparse.Namespace) -> Store:
    """A store on the chosen database, its schema upgraded to the newest version."""
    try:
        return Store.connect(args.url)
    except ModuleNotFoundError as error:  # SQLAlchemy imports the URL's driver on first use
        scheme = args.url.split(":", 1)[0]
        raise Refused(
            f"no database driver for {scheme}:// URLs here ({error}); "
            "for PostgreSQL write postgresql+psycopg2://user:password@host:5432/database"
        ) from None


# Commands


def run_migrate(args: argparse.Namespace) -> int:
    connect(args).close()
    print(f"the database schema is up to date ({_shown(args.url)})")
    return EXIT_OK


def run_worker(args: argparse.Namespace) -> int:
    try:
        worker = importlib.import_module("labelling.learning.worker")
    except ModuleNotFoundError as error:
        if error.name != "labelling.learning.worker":
            raise
        raise Refused("this installation has no trainer (the module labelling.learning.worker is missing)") from None
    return worker.main(["--database-url", args.url, *args.worker_args])


def run_import(args: argparse.Namespace) -> int:
    if not args.create:
        options = ("labels", "text-column", "multi-label", "overlap")
        given = [f"--{name}" for name in options if getattr(args, name.replace("-", "_")) not in (None, False)]
        if given:
            raise Refused(f"{', '.join(given)} describe a new project: add --create, or leave them out to add rows")
    if args.overlap is not None and args.overlap < 1:
        raise Refused("--overlap is the number of labellers per item: at least 1")
    with open(args.csv, "rb") as handle:
        store = connect(args)
        try:
            if args.create:
                project, added = _import_new(store, handle, args)
            else:
                project, added = _import_more(store, handle, args)
        finally:
            store.close()
    print(f"imported {added:,} items into {project.name!r} (project {project.id})")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    if args.all:
        if args.output_dir is None:
            raise Refused("--all writes one file per project and table: give the folder with --output-dir")
        if args.output is not None or args.long:
            raise Refused("--all writes items and annotations for every project: leave out --output and --long")
        store = connect(args)
        try:
            written = _export_all(store, args.output_dir, args.format)
        finally:
            store.close()
        for path in written:
            print(path)
        print(f"wrote {len(written)} files to {args.output_dir}", file=sys.stderr)
        return EXIT_OK
    if args.output_dir is not None:
        raise Refused("--output-dir goes with --all; for one project use --output FILE")
    if args.output is not None and args.output.is_dir():
        raise Refused(f"{args.output} is a folder: give the name of a file to write")
    store = connect(args)
    try:
        project = store.project(args.project)
        frame = store.annotations(project.id) if args.long else store.export(project.id)
    finally:
        store.close()
    data = EXPORT_FORMATS[args.format](frame)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        _write_file(args.output, data)
        print(f"wrote {len(frame):,} rows to {args.output}", file=sys.stderr)
    return EXIT_OK


def run_labeller_add(args: argparse.Namespace) -> int:
    base = public_url(args.public_url)
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
    print(invite_link(base, token))
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
            project.name,
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


# Import: the Setup page's checks (labelling.io.csv_import), for a file on disk


def _import_new(store: Store, handle: IO[bytes], args: argparse.Namespace) -> tuple[Project, int]:
    preview = csv_import.preview_csv(handle)
    columns = [str(c) for c in preview.columns]
    label_column = args.label_column
    text_column = args.text_column or csv_import.guess_column(
        preview[csv_import.columns_to_show(columns, label_column)], "text"
    )
    settings = csv_import.build_settings(
        columns, "text", text_column=text_column, feature_columns=[text_column], label_column=label_column
    )
    if args.labels is not None:
        labels = csv_import.parse_label_set(args.labels, ",")
    elif label_column is not None:
        labels = csv_import.labels_in_file(handle, label_column, args.multi_label)
        if not labels:
            raise Refused(f"the column {label_column!r} has no labels in it: give the label set with --labels a,b,c")
        print(f"label set from {label_column!r}: {', '.join(labels)}", file=sys.stderr)
    else:
        raise Refused("a new project needs its labels: --labels a,b,c (or --label-column to take them from a column)")
    with _progress_bar(handle) as on_rows:
        project, added = csv_import.import_csv(
            store,
            handle,
            name=args.project,
            labels=labels,
            settings={**settings, "source": args.csv.name},
            multi_label=args.multi_label,
            overlap=args.overlap or 1,
            on_rows=on_rows,
        )
    if not args.text_column:
        print(f"showing column {text_column!r} to labellers (choose another with --text-column)", file=sys.stderr)
    return project, added


def _import_more(store: Store, handle: IO[bytes], args: argparse.Namespace) -> tuple[Project, int]:
    try:
        project = store.project(args.project)
    except ProjectNotFound:
        raise Refused(f"no project {args.project!r} (add --create to make it from this file)") from None
    with _progress_bar(handle) as on_rows:
        return project, csv_import.append_csv(store, project, handle, label_column=args.label_column, on_rows=on_rows)


@contextmanager
def _progress_bar(handle: IO[bytes]) -> Iterator[Callable[[int], None]]:
    """An `on_rows` for the import that draws how far through the file it is, on stderr."""
    size = max(os.fstat(handle.fileno()).st_size, 1)
    bar = ProgressBar(sys.stderr)
    try:
        yield lambda done: bar.update(min(handle.tell() / size, 1.0), done)
    finally:
        bar.close()


class ProgressBar:
    """`[#####.....]  50%  12,000 rows` redrawn in place on a terminal; a line per 10% otherwise."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = stream.isatty()
        self.logged = -1
        self.drawn = False

    def update(self, fraction: float, rows: int) -> None:
        filled = round(fraction * BAR_WIDTH)
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}  {rows:,} rows"
        if self.live:
            self.stream.write("\r" + line)
            self.drawn = True
        elif int(fraction * 100) // LOG_EVERY_PERCENT > self.logged:
            self.logged = int(fraction * 100) // LOG_EVERY_PERCENT
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


# Export


def _export_all(store: Store, folder: Path, format_: str) -> list[Path]:
    """Items and annotations of every project, as `<id>-<name>-items.<format>` and `...-annotations...`."""
    folder.mkdir(parents=True, exist_ok=True)
    convert = EXPORT_FORMATS[format_]
    written = []
    for project in store.projects():
        stem = f"{project.id}-{_slug(project.name)}"
        for table, frame_of in (("items", store.export), ("annotations", store.annotations)):
            path = folder / f"{stem}-{table}.{format_}"
            _write_file(path, convert(frame_of(project.id)))
            written.append(path)
    return written


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:60] or "project"


def _write_file(path: Path, data: bytes) -> None:
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


# Messages


def _refuse(message: str) -> int:
    print(f"labelling: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _shown(url: str | None) -> str:
    if url is None:
        return "(none)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
