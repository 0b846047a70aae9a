"""Labels of boxes and spans checked against their item, for every path that writes a label of an item
(submit, adjudicate, gold): a box must lie inside the item's image and a span inside its text, so the
item's data is read for them. Classification labels need no item and cost no query.

`ItemLabels` (`store.item_labels`) holds what the checks need from the deployment (the media folders).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from labelling.errors import ItemNotFound
from labelling.io import labels as label_values
from labelling.io import media
from labelling.io.serialisation import decode, is_missing
from labelling.records import Label, Project, Task
from labelling.storage import statements as queries

__all__ = ["ItemLabels", "label_of_item"]


def label_of_item(
    connection: Connection, project: Project, item_id: int, value: Any, media_roots: Sequence[Path] | None = None
) -> Label | None:
    """`value` normalised as a label of item `item_id` (labelling.io.labels.normalise), None if missing. Box and span labels are checked against the item's image (under `media_roots`) and text."""
    if project.options.task is Task.CLASSIFY or is_missing(value):
        return label_values.normalise(project, value)
    data = connection.execute(queries.ITEM_DATA, {"item": int(item_id), "project": project.id}).scalar()
    if data is None:
        raise ItemNotFound(f"no item {item_id} in project {project.name!r}")
    return label_values.normalise(project, value, item=decode(data), media_roots=media_roots)


class ItemLabels:
    """Box and span labels: the media folders their images are read from when they are checked."""

    def __init__(self, engine: Engine, media_roots: Sequence[Path] | None = None):
        self.engine = engine
        self.media_roots: tuple[Path, ...] = tuple(media_roots) if media_roots is not None else media.default_media_roots()
        """Where images may be read from to check a box label (the app sets the deployer's media_roots)."""
