"""The commands that move labels in and out as files: `import` (a CSV file, checked as the Setup page checks
it) and `export` (one project, or every project into a folder)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

import pandas as pd

from labelling.cli.common import EXIT_OK, Refused, connect, write_file
from labelling.errors import ProjectNotFound
from labelling.io import formats
from labelling.learning import imported
from labelling.setup import annotation_files, csv_import, guesses
from labelling.io.export import file_slug, to_csv, to_jsonl, to_parquet
from labelling.io.predictions import format_of
from labelling.records import Project
from labelling.storage.store import Store

__all__ = ["BAR_WIDTH", "EXPORT_FORMATS", "ProgressBar", "run_export", "run_import"]

BAR_WIDTH = 30
"""Characters in the import progress bar."""
LOG_EVERY_PERCENT = 10
"""Without a terminal, the import writes one progress line per this many percent of the file."""
EXPORT_FORMATS: dict[str, Callable[[pd.DataFrame], bytes]] = {"csv": to_csv, "jsonl": to_jsonl, "parquet": to_parquet}


def run_import(args: argparse.Namespace) -> int:
    if args.format != "csv":
        return _import_annotations(args)
    if args.onto_existing:
        raise Refused("--onto-existing labels items with an annotation file's labels: give its --format")
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
            with _progress_bar(handle) as (bar, on_rows):
                project, added = (_import_new if args.create else _import_more)(store, handle, args, on_rows)
        finally:
            store.close()
    print(f"imported {added:,} items{csv_import.left_out(bar.rows, added)} into {project.name!r} (project {project.id})")
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    if args.all:
        if args.output_dir is None:
            raise Refused("--all writes one file per project and table: give the folder with --output-dir")
        if args.output is not None or args.long or args.version is not None:
            raise Refused(
                "--all writes items and annotations for every project: leave out --output, --long and --version"
            )
        if args.format in formats.EXPORTS:
            raise Refused(f"--all writes csv or jsonl tables; --format {args.format} is for one project's --project")
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
    if args.format in formats.EXPORTS and args.long:
        raise Refused(f"--format {args.format} writes each item's final label: leave out --long")
    if args.output is not None and args.output.is_dir():
        raise Refused(f"{args.output} is a folder: give the name of a file to write")
    if args.long and args.version is not None:
        raise Refused("a version keeps final labels, not each annotation: leave out --long or --version")
    store = connect(args)
    try:
        project = store.project(args.project)
        if args.version is not None:
            frame = store.versions.export(project.id, store.versions.find(project.id, args.version).id)
        else:
            frame = store.annotations(project.id) if args.long else store.export(project.id)
    finally:
        store.close()
    if args.format in formats.EXPORTS:
        data = formats.EXPORTS[args.format][1](project, frame)
    else:
        data = EXPORT_FORMATS[args.format](frame)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_file(args.output, data)
        print(f"wrote {len(frame):,} rows to {args.output}", file=sys.stderr)
    return EXIT_OK


# Import: the Setup page's checks (labelling.setup.csv_import), for a file on disk


def _import_new(
    store: Store, handle: IO[bytes], args: argparse.Namespace, on_rows: Callable[[int], None]
) -> tuple[Project, int]:
    preview = csv_import.preview_csv(handle)
    columns = [str(c) for c in preview.columns]
    label_column = args.label_column
    text_column = args.text_column or guesses.guess_column(
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
    if warning := csv_import.label_set_warning(labels, args.multi_label):
        print(f"warning: {warning}", file=sys.stderr)
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


def _import_annotations(args: argparse.Namespace) -> int:
    """An annotation file (COCO, a YOLO zip or folder, span JSONL, spaCy, CoNLL) as items with their labels, all or none."""
    given = [f"--{n}" for n in ("text-column", "label-column", "multi-label") if getattr(args, n.replace("-", "_"))]
    if given:
        raise Refused(f"{', '.join(given)} describe a CSV file; --format {args.format} says where everything is")
    if not args.create and (args.labels or args.overlap):
        raise Refused("--labels and --overlap describe a new project: add --create")
    if args.create and args.onto_existing:
        raise Refused("--create makes a new project; --onto-existing labels the items of one: choose one")
    store = connect(args)
    try:
        project, added = annotation_files.import_annotations(
            store,
            _annotation_source(args.csv, args.format),
            args.format,
            project=args.project,
            create=args.create,
            onto_existing=args.onto_existing,
            labels=csv_import.parse_label_set(args.labels, ",") if args.labels else None,
            overlap=args.overlap or 1,
            media_roots=args.settings.media_roots,
        )
    finally:
        store.close()
    if args.onto_existing:
        print(f"imported labels of {added:,} items of {project.name!r} (project {project.id})")
    else:
        print(f"imported {added:,} items with their labels into {project.name!r} (project {project.id})")
    return EXIT_OK


def _annotation_source(path: Path, format_: str) -> bytes | Path:
    """An annotation file's bytes; a YOLO dataset may be a folder, read where it is."""
    return path if format_ == "yolo" and path.is_dir() else path.read_bytes()


def run_predictions(args: argparse.Namespace) -> int:
    """A model's predictions as suggestions, ordering the queue (labelling.learning.imported)."""
    order = args.order or ("score" if args.score_column else "confidence")
    format_ = args.format or format_of(args.file.name)
    store = connect(args)
    try:
        done = imported.import_predictions(
            store, args.project, _annotation_source(args.file, format_), format=format_, order=order,
            score_column=args.score_column, seed=args.seed, media_roots=args.settings.media_roots,
        )
    finally:
        store.close()
    print(f"imported {done.predictions:,} predictions into {args.project!r}; {done.ordered:,} open items ordered by them")
    return EXIT_OK


def _import_more(
    store: Store, handle: IO[bytes], args: argparse.Namespace, on_rows: Callable[[int], None]
) -> tuple[Project, int]:
    try:
        project = store.project(args.project)
    except ProjectNotFound:
        raise Refused(f"no project {args.project!r} (add --create to make it from this file)") from None
    added = csv_import.append_csv(
        store, project, handle, label_column=args.label_column, on_rows=on_rows, media_roots=args.settings.media_roots
    )
    return project, added


@contextmanager
def _progress_bar(handle: IO[bytes]) -> Iterator[tuple[ProgressBar, Callable[[int], None]]]:
    """A bar on stderr, and the import's `on_rows` that draws how far through the file it is."""
    size = max(os.fstat(handle.fileno()).st_size, 1)
    bar = ProgressBar(sys.stderr)
    try:
        yield bar, lambda done: bar.update(min(handle.tell() / size, 1.0), done)
    finally:
        bar.close()


class ProgressBar:
    """`[#####.....]  50%  12,000 rows` redrawn in place on a terminal; a line per 10% otherwise. `rows`: the
    last count drawn."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = stream.isatty()
        self.logged = -1
        self.drawn = False
        self.rows = 0

    def update(self, fraction: float, rows: int) -> None:
        self.rows = rows
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
        stem = f"{project.id}-{file_slug(project.name)}"
        for table, frame_of in (("items", store.export), ("annotations", store.annotations)):
            path = folder / f"{stem}-{table}.{format_}"
            write_file(path, convert(frame_of(project.id)))
            written.append(path)
    return written
