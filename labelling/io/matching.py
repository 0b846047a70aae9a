"""Annotation files read for a project (`read_annotations`), and their entries found among its items
(`match_items`), for a file about items already there: a detector's COCO or YOLO output for images imported
from a CSV, a span model's JSONL for texts loaded before.

An image entry is the item whose image cell is its file name exactly, else the one item whose image path (of
a path, Windows' too, or of a URL) ends with the entry's: a bare file name is any folder's, but an entry's
folders must be the item's (`train/1.jpg` is not `/data/val/1.jpg`). A YOLO zip's entries go by their file
names alone (its folders are its own layout). A `data:` image goes by the name our YOLO export
gives it, `item-<id>.<type>`. A text entry is the item with exactly that text.
An item id the file gives (COCO image ids, span JSONL's `item_id`, CoNLL's `# item_id = N` lines, as our
exports write them) settles which of several items with exactly that image or text it is, and is otherwise
not read: a detector numbers its images 1, 2, 3 whatever the items' ids are, so an id never picks among
items that only share a file name.

What does not come back from our own exports: IOB/CoNLL gives a text as its words joined by single spaces,
so a text with line breaks or runs of spaces matches no item (span JSONL and spaCy keep texts exactly); a
YOLO zip holds only the images kept as data, so for images named by a path or URL add the image files.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labelling.errors import InvalidInput
from labelling.io import formats, media, yolo
from labelling.io.formats import Parsed
from labelling.records import Project, Task

__all__ = ["NAMED", "file_name", "image_key", "match_items", "read_annotations"]

NAMED = 3
"""A refusal names this many entries at most."""


def read_annotations(
    source: bytes | str | Path, format: str, project: Project | None = None, media_roots: Sequence[Path] | None = None
) -> Parsed:
    """An annotation file in `format` (one of labelling.io.formats.IMPORTS); a YOLO dataset may be a folder
    (its Path), whose images must lie under `media_roots`. For an existing `project` its items are read
    under the project's image or text column, and a file of another task is refused."""
    if format not in formats.IMPORTS:
        raise InvalidInput(f"unknown annotation format {format!r}: one of {', '.join(formats.IMPORTS)}")
    read = formats.IMPORTS[format]
    if format == "yolo":  # the one format whose items may be files of the server
        read = functools.partial(read, media_roots=media_roots)
    if project is None:
        return read(source)
    task = project.options.task
    parsed = read(source, project.options.image_column if task is Task.BOXES else project.options.text_column)
    if parsed.settings["task"] != task:
        raise InvalidInput(f"{project.name!r} is a {task} project; a {format} file holds {parsed.settings['task']}")
    return parsed


def image_key(item_id: int, image: Any) -> Any:
    """What an item's image cell is matched by: the cell, or for a `data:` image (whose file name is lost) the
    name our YOLO export gives it, so an exported zip's predictions come back onto their items. Taken as each
    item is read, so that no more than one image's data is held."""
    return yolo.image_name(image, item_id) if isinstance(image, str) and media.is_data_uri(image) else image


def file_name(value: Any) -> str | None:
    """The file name an image cell ends with (of a path, Windows' too, or of a URL's path); None for a
    `data:` image or a value that is no text."""
    return parts[-1] if (parts := _path_parts(value)) else None


def _path_parts(value: Any) -> tuple[str, ...]:
    """The folders and file name of an image cell, `/` and `\\` alike (of a URL: its path); none for a
    `data:` image or a value that is no text."""
    if not isinstance(value, str) or media.is_data_uri(value):
        return ()
    path = urlsplit(value).path if media.is_url(value) else value
    return tuple(part for part in path.replace("\\", "/").split("/") if part not in ("", "."))


def match_items(parsed: Parsed, values: Mapping[int, Any], *, by_file_name: bool) -> list[int]:
    """The item id of each entry of `parsed`, in order, from `values` (item id: its image cell, with
    `by_file_name`, or its text). Refuses (InvalidInput, naming the first few) entries that match no
    item, entries several items could be, and two entries of one item: nothing is half matched."""
    if not parsed.keys:
        raise InvalidInput("the file holds no images or texts")
    exact: dict[Any, list[int]] = defaultdict(list)
    named: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)  # file name: (item id, path parts)
    for item_id, value in values.items():
        if isinstance(value, str):
            exact[value].append(item_id)
            if by_file_name and (parts := _path_parts(value)):
                named[parts[-1]].append((item_id, parts))
    ids = parsed.ids or [None] * len(parsed.keys)
    found, unmatched, ambiguous, twice, taken = [], [], [], [], {}
    for n, (key, given) in enumerate(zip(parsed.keys, ids), start=1):
        candidates = exact.get(key, [])
        if not candidates and by_file_name and (parts := _path_parts(key)):
            # the item's path ends with the entry's: the entry's folders, if it names any, must be the item's
            candidates = [item_id for item_id, path in named.get(parts[-1], []) if path[-len(parts) :] == parts]
            given = None  # a file's own id cannot pick by name
        entry = f"{media.quoted(key)} (entry {n})"
        if given in candidates or len(candidates) == 1:
            item_id = given if given in candidates else candidates[0]
            if item_id in taken:
                twice.append(f"{entry} is item {item_id}, as entry {taken[item_id]} is")
            taken.setdefault(item_id, n)
            found.append(item_id)
        elif candidates:
            ambiguous.append(f"{entry} could be items {', '.join(map(str, candidates[:NAMED]))}")
        else:
            unmatched.append(entry)
    where = "that image, or in the entry's folders that file name" if by_file_name else "that text"
    _refuse(unmatched, f"no item of the project has {where}")
    _refuse(
        ambiguous,
        "several items have it: give the full path as the item has it"
        if by_file_name
        else "several items have that text: give each line its item_id (as the export writes it)",
    )
    _refuse(twice, "two entries of one item")
    return found


def _refuse(problems: list[str], why: str) -> None:
    if problems:
        more = f" and {len(problems) - NAMED:,} more" if len(problems) > NAMED else ""
        entries = "1 entry" if len(problems) == 1 else f"{len(problems):,} entries"
        raise InvalidInput(
            f"{entries} of the file cannot be matched ({why}): {'; '.join(problems[:NAMED])}{more}; nothing was written"
        )
