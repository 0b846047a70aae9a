"""A project from a CSV file, and more rows for it later: the checks the Setup page and
`python -m labelling import` share, so that a file one refuses the other refuses in the same words.

Columns are chosen on a preview (the first PREVIEW_ROWS rows; `read_csv` checks every line of the file on
the way); then the rows stream into the store in chunks, all of them or none, in one transaction.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

from labelling.errors import InvalidInput
from labelling.io import media
from labelling.io.ingest import CHUNK_ROWS, read_csv
from labelling.io.labels import MULTI_LABEL_SEPARATOR
from labelling.io.serialisation import decode, encode_records
from labelling.records import Project, ProjectSettings, Task
from labelling.storage.store import Store
from labelling.text import counted

__all__ = [
    "DISPLAYS",
    "PREVIEW_ROWS",
    "append_csv",
    "build_settings",
    "check_columns",
    "columns_to_show",
    "distinct_labels",
    "import_csv",
    "label_set_warning",
    "labels_in_file",
    "left_out",
    "one_column_hint",
    "parse_label_set",
    "preview_csv",
    "preview_item",
    "required_columns",
]

PREVIEW_ROWS = 2_000
"""Rows read to choose and check the columns before anything is written."""
DISPLAYS = {"text": "Text", "image": "Image (URL, path or array)", "table": "Several columns as a table"}
"""How items can be shown to labellers (the `display` setting), with the words the Setup page uses."""
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


# Choosing columns


def preview_csv(source: IO[bytes], rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows, to choose columns from: a bad line anywhere in the file is refused here already, before
    any choice is made. The file is rewound for the import."""
    try:
        with _chunks(source, rows) as (first, _):
            return first
    finally:
        source.seek(0)


def one_column_hint(columns: list[str]) -> str | None:
    """A file read as one column often has an unusual delimiter: say so rather than guess."""
    if len(columns) != 1:
        return None
    return (
        f"This file has a single column, {columns[0]!r}. If it should have several, check that its "
        "columns are separated by commas, semicolons, tabs or |."
    )


def columns_to_show(columns: list[str], label_column: str | None) -> list[str]:
    """Labellers must not see the existing labels; when that leaves nothing, every column is offered, so that
    `build_settings` refuses the choice by name instead of there being nothing to choose."""
    return [c for c in columns if c != label_column] or list(columns)


def preview_item(frame: pd.DataFrame, label_column: str | None) -> Any:
    """The first row as a labeller will get it: the stored item (label column split off, through the same
    encoding as the import), so the Setup page can show exactly what the Label page will."""
    row = frame.head(1).drop(columns=[label_column] if label_column in frame.columns else [])
    return decode(encode_records(row)[0])


# The label set


def distinct_labels(frames: pd.DataFrame | Iterable[pd.DataFrame], column: str, multi_label: bool) -> list[str]:
    """A starting label set from a column of existing labels, in the order the file first uses them (numbers
    in numeric order, so digit buttons read 0-9); multi-label cells are split on |. Takes one frame (a
    preview) or chunks (a file)."""
    found: dict[str, None] = {}
    for frame in [frames] if isinstance(frames, pd.DataFrame) else frames:
        for value in frame[column].dropna().tolist():
            text = _label_text(value)
            parts = text.split(MULTI_LABEL_SEPARATOR) if multi_label else [text]
            for part in (p.strip() for p in parts):
                if part:
                    found.setdefault(part, None)
    labels = list(found)
    if labels and all(_is_number(label) for label in labels):
        labels.sort(key=float)
    return labels


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def labels_in_file(source: IO[bytes], column: str, multi_label: bool) -> list[str]:
    """`distinct_labels` over the whole file rather than a preview, for a label set nobody reviews before the
    import: it must hold every label the rows use. The file is rewound."""
    source.seek(0)
    try:
        with closing(read_csv(source, usecols=[column])) as frames:
            return distinct_labels(frames, column, multi_label)
    finally:
        source.seek(0)


def _label_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1.0 written, or 1 in a column that also holds fractions
    return str(value).strip()


def parse_label_set(text: str, separator: str = "\n") -> list[str]:
    """Labels as typed (one per line on the page, comma separated on the command line); empty entries, such as
    a trailing separator, are ignored rather than refused as empty labels."""
    return [part.strip() for part in text.split(separator) if part.strip()]


def label_set_warning(labels: Sequence[str], multi_label: bool) -> str | None:
    """Why a classification label set, though valid, cannot work well (one label of a single-label project:
    every item gets the same answer); None when it can. The Setup page and the command line say it alike."""
    if len(labels) == 1 and not multi_label:
        return (
            f"one label ({labels[0]!r}): every item gets the same answer and no model can learn to tell items "
            "apart; add the other labels, or make it multi-label, where a label is given or not"
        )
    return None


# The project's settings


def build_settings(
    columns: list[str],
    display: str,
    *,
    text_column: str | None = None,
    image_column: str | None = None,
    table_columns: list[str] | None = None,
    feature_columns: list[str] | None = None,
    label_column: str | None = None,
    task: str = Task.CLASSIFY,
    overlapping_spans: bool = False,
    iou_threshold: float = 0.5,
) -> dict[str, Any]:
    """The project's `settings`: what labellers see and what the model learns from, and the task (boxes are
    drawn on an image, spans marked in a text; both with their own setting). Every column is checked here,
    against the file's `columns`, so a wrong choice is refused before a project exists."""
    if display not in DISPLAYS:
        raise InvalidInput(f"choose how to show items: one of {', '.join(DISPLAYS)}")
    needs = {Task.BOXES: ("image", "an image"), Task.SPANS: ("text", "text")}.get(task)
    if needs and display != needs[0]:
        raise InvalidInput(f"a {task} project shows each item as {needs[1]}: boxes are drawn on images, spans marked in text")
    shown = {"text": [text_column], "image": [image_column], "table": list(table_columns or [])}[display]
    shown = [c for c in shown if c]
    if not shown:
        raise InvalidInput(f"choose the column{'s' if display == 'table' else ''} to show")
    if label_column and label_column in shown:
        raise InvalidInput(f"{label_column!r} holds the existing labels: it cannot also be shown to labellers")
    features = list(feature_columns or [])
    if label_column and label_column in features:
        raise InvalidInput(f"{label_column!r} holds the existing labels: the model cannot also learn from it")
    unknown = [c for c in [*shown, *features, label_column] if c and c not in columns]
    if unknown:
        raise InvalidInput(_no_column(unknown[0], columns))
    return {
        "display": display,
        "text_column": text_column if display == "text" else None,
        "image_column": image_column if display == "image" else None,
        "table_columns": shown if display == "table" else [],
        "feature_columns": features,
        "label_column": label_column or None,
        **({"task": str(task)} if task != Task.CLASSIFY else {}),
        **({"overlapping_spans": True} if task == Task.SPANS and overlapping_spans else {}),
        **({"iou_threshold": iou_threshold} if task == Task.BOXES else {}),
    }


def required_columns(settings: dict[str, Any]) -> list[str]:
    """Columns every later file for the project must have, because labellers see them or the model learns
    from them (the label column is optional: a file may bring no labels)."""
    options = ProjectSettings.of(settings)
    return list(dict.fromkeys([*options.shown_columns, *options.feature_columns]))


def check_columns(columns: list[str], settings: dict[str, Any]) -> None:
    """Refuse a file that lacks a column the project uses, naming the columns it does have."""
    missing = [c for c in required_columns(settings) if c not in columns]
    if missing:
        raise InvalidInput(
            f"this file has no column {', '.join(map(repr, missing))}, which the project uses; "
            f"its columns are: {', '.join(columns)}"
        )


# Writing the rows


def import_csv(
    store: Store,
    source: IO[bytes],
    *,
    name: str,
    labels: list[str],
    settings: dict[str, Any],
    multi_label: bool = False,
    overlap: int = 1,
    instructions: str = "",
    chunk_rows: int = CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
    media_roots: Sequence[Path] | None = None,
) -> tuple[Project, int]:
    """A new project with every row of the file, made in one transaction: nobody sees it before its last
    row is in, and a refused row, an error or a killed process leaves no project (an empty one left behind
    would block the name). `on_rows(rows so far)` runs after each chunk. An image path outside
    `media_roots` (default: the working directory; the app passes the deployer's media_roots) is refused
    with its row number."""
    with _chunks(source, chunk_rows) as (first, frames):
        check_columns([str(c) for c in first.columns], settings)
        return store.import_project(
            name,
            labels,
            _item_chunks(frames, settings.get("label_column"), on_rows, _media_check(settings, media_roots)),
            multi_label=multi_label,
            overlap=int(overlap),
            instructions=instructions,
            settings=settings,
        )


def append_csv(
    store: Store,
    project: Project,
    source: IO[bytes],
    *,
    label_column: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
    media_roots: Sequence[Path] | None = None,
) -> int:
    """More rows for a project, all or none (one transaction). Existing labels come from the project's label
    column, or from `label_column` when this file keeps them in another. Image paths as in `import_csv`."""
    with _chunks(source, chunk_rows) as (first, frames):
        columns = [str(c) for c in first.columns]
        check_columns(columns, project.settings)
        if label_column is not None:
            if label_column not in columns:
                raise InvalidInput(_no_column(label_column, columns))
            if label_column in required_columns(project.settings):
                raise InvalidInput(
                    f"{label_column!r} is shown to labellers or learnt from: it cannot also hold the existing labels"
                )
        label_column = label_column or project.options.label_column
        return store.add_items(
            project.id, _item_chunks(frames, label_column, on_rows, _media_check(project.settings, media_roots))
        )


@contextmanager
def _chunks(source: IO[bytes], chunk_rows: int) -> Iterator[tuple[pd.DataFrame, Iterator[pd.DataFrame]]]:
    """(first chunk, every chunk): the first is read at once, so its columns are checked before anything is
    written. Closed while the file is still open: read_csv's clean-up fails on a closed file."""
    source.seek(0)
    with closing(read_csv(source, chunk_rows=chunk_rows)) as frames:
        first = next(frames, None)
        if first is None or first.empty:
            raise InvalidInput("the file has a header but no rows")
        yield first, itertools.chain([first], frames)


def _media_check(settings: dict[str, Any], roots: Sequence[Path] | None) -> Callable[[pd.DataFrame, int], None]:
    """A check of one chunk (and the row number of its first row): its image paths under `roots`."""
    column = ProjectSettings.of(settings).image_column
    roots = tuple(roots) if roots is not None else media.default_media_roots()

    def check(frame: pd.DataFrame, first_row: int) -> None:
        if column and column in frame.columns:
            media.check_media_column(frame[column].tolist(), roots, first_row)

    return check


def _item_chunks(
    frames: Iterable[pd.DataFrame],
    label_column: str | None,
    on_rows: Callable[[int], None] | None,
    check: Callable[[pd.DataFrame, int], None],
) -> Iterator[tuple[pd.DataFrame, list[Any] | None]]:
    """(item data, existing labels) per chunk for `Store.add_items`, which checks the labels against the label
    set: the label column is split off the item data. `check` refuses a chunk before it is written. Rows
    with nothing but empty cells (a label aside) are left out: they would be blank items to label;
    `on_rows` counts them with the rows read, see `left_out`. A file of nothing else is refused."""
    done = kept = 0
    for frame in frames:
        check(frame, done + 1)
        read = len(frame)
        labels = None
        if label_column and label_column in frame.columns:
            labels = frame[label_column].tolist()
            frame = frame.drop(columns=[label_column])
        filled = frame.notna().any(axis=1).to_numpy()
        if not filled.all():
            frame = frame[filled]
            labels = None if labels is None else list(itertools.compress(labels, filled))
        kept += len(frame)
        yield frame, labels
        done += read  # checked and being written: add_items asks for the next chunk once this one's write is under way
        if on_rows is not None:
            on_rows(done)
    if not kept:
        raise InvalidInput("every row of the file is empty: there is nothing to label")


def left_out(read: int, added: int) -> str:
    """What to add to "N items" when empty rows were left out (`read`: the last count `on_rows` was given)."""
    skipped = read - added
    return f" ({counted(skipped, 'empty row')} left out)" if skipped > 0 else ""


def _no_column(column: str, columns: list[str]) -> str:
    return f"no column {column!r} in the file; its columns are: {', '.join(columns)}"
