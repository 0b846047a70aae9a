"""Labels of boxes and spans checked against their item, for every path that writes a label of an item
(submit, adjudicate, gold): a box must lie inside the item's image and a span inside its text, so the
item's data is read for them. Classification labels need no item and cost no query.

`ItemLabels` (`store.item_labels`) holds what the checks need from the deployment (the media folders) and
writes labels and predictions imported for items already in a project, checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from labelling.errors import InvalidInput, ItemNotFound
from labelling.io import labels as label_values
from labelling.io import matching, media, shapes
from labelling.io.formats import Parsed
from labelling.io.serialisation import decode, is_missing
from labelling.people import IMPORT_NAME
from labelling.records import IMPORTED_RUN, Label, Project, Task
from labelling.storage import projects as project_rows
from labelling.storage import queue
from labelling.storage import statements as queries
from labelling.storage.engine import bulk_insert, clock, read, write
from labelling.storage.items import batches, require_items
from labelling.storage.schema import annotations, items, predictions
from labelling.storage.wakeups import announce

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

    def match(self, project_id: int, parsed: Parsed) -> list[int]:
        """The item of each entry of an annotation file about items already in the project: by image or file
        name (boxes) or text (spans), as labelling.io.matching.match_items says; refused unless every
        entry is exactly one item."""
        with read(self.engine) as connection:
            project = project_rows.load(connection, project_id)
            rows = connection.execute(select(items.c.id, items.c.data).where(items.c.project_id == project.id))
            values = {int(item_id): _shown(project, decode(data)) for item_id, data in rows}
        return matching.match_items(parsed, values, by_file_name=project.options.task is Task.BOXES)

    def write_labels(self, project_id: int, item_ids: Sequence[int], labels: Sequence[Any]) -> int:
        """Record labels of items already in the project as imported labels (by the labeller "import", as
        `Store.add_items(labels=...)` records them), each taking an open place of its item in the queue.
        Labels imported onto an item before are superseded (kept in the history). Every label is checked
        against its item first; an item with no open place left (all the labels it needs, gold, out of the
        queue, or held by a labeller now) is refused. All in one transaction, or nothing. Returns how many."""
        ids = [int(i) for i in item_ids]
        if len(ids) != len(labels):
            raise InvalidInput(f"{len(labels)} labels for {len(ids)} items")
        with write(self.engine) as connection:
            project = project_rows.load_open(connection, project_id)
            require_items(connection, project, ids)
            checked = self._checked(connection, project, ids, labels, "the label")
            importer = queue.lock_labeller(connection, IMPORT_NAME)
            for item_id, label in zip(ids, checked):
                params = {"project": project.id, "me": importer.id, "item": item_id}
                task = connection.execute(queries.MY_TASK_FOR_ITEM, params).first()
                if task is not None and task.done:
                    connection.execute(queries.SUPERSEDE_MY_LABEL, params)
                else:
                    if task is None and queries.CLAIM_ITEM.first(connection, {**params, "lease": 0.0}) is None:
                        raise InvalidInput(
                            f"item {item_id} has no open place for a label: it has all the labels it needs, is a "
                            "gold item or out of the queue, or a labeller holds it now (nothing was written)"
                        )
                    queries.COMPLETE_MY_TASK.one(connection, params)
                    if project.overlap > 1:  # the item's other places come first now (as a submit does)
                        connection.execute(queries.MARK_STARTED, params)
                connection.execute(
                    annotations.insert().values(
                        project_id=project.id, item_id=item_id, labeller_id=importer.id, created_at=clock(),
                        label=label_values.to_json(label), is_current=True, source="import",
                    )
                )
            announce(connection, project.id)
        return len(ids)

    def _checked(
        self, connection: Connection, project: Project, ids: list[int], given: Sequence[Any], what: str
    ) -> list[Label]:
        """Each label checked against its item (`label_of_item`); InvalidInput names the item."""
        checked = []
        for item_id, value in zip(ids, given):
            try:
                label = label_of_item(connection, project, item_id, value, self.media_roots)
            except InvalidInput as error:
                raise InvalidInput(f"{what} for item {item_id}: {error}") from None
            if label is None:
                raise InvalidInput(f"{what} for item {item_id} is missing")
            checked.append(label)
        return checked

    def write_predictions(
        self, project_id: int, item_ids: Sequence[int], labels: Sequence[Any], confidences: Sequence[float]
    ) -> int:
        """Store a model's predictions for these items (replacing theirs) as run IMPORTED_RUN, so the Label
        page suggests them (`Item.suggestion`) until a training run replaces them. Every label is checked
        against its item first (`label_of_item`); then all are written in one transaction, or none.
        Returns how many."""
        ids = [int(i) for i in item_ids]
        if not len(ids) == len(labels) == len(confidences):
            raise InvalidInput(f"{len(labels)} labels and {len(confidences)} confidences for {len(ids)} items")
        with write(self.engine) as connection:
            project = project_rows.load_open(connection, project_id)
            require_items(connection, project, ids)
            checked = self._checked(connection, project, ids, labels, "the prediction")
            rows = [
                (item_id, project.id, label_values.to_json(label), float(confidence), IMPORTED_RUN, False)
                for item_id, label, confidence in zip(ids, checked, confidences)
            ]
            for batch in batches(ids):
                connection.execute(delete(predictions).where(predictions.c.item_id.in_(batch)))
            bulk_insert(
                connection, "predictions", ["item_id", "project_id", "label", "probability", "run_id", "random_pick"], rows
            )
        return len(rows)


def _shown(project: Project, data: Any) -> Any:
    """What an item shows of itself to a box or span project: its image cell, or its text."""
    if project.options.task is Task.SPANS:
        return shapes.item_text(project.options, data)
    column = project.options.image_column
    return data.get(column) if column and isinstance(data, Mapping) else data
