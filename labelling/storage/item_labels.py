"""Labels of boxes and spans checked against their item, for every path that writes a label of an item
(submit, adjudicate, gold): a box must lie inside the item's image and a span inside its text, so the
item's data is read for them. Classification labels need no item and cost no query.

`ItemLabels` (`store.item_labels`) holds what the checks need from the deployment (the media folders) and
writes predictions imported from a model of your own, checked the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete

from labelling.errors import InvalidInput, ItemNotFound
from labelling.io import labels as label_values
from labelling.io import media
from labelling.io.serialisation import decode, is_missing
from labelling.records import IMPORTED_RUN, Label, Project, Task
from labelling.storage import projects as project_rows
from labelling.storage import statements as queries
from labelling.storage.engine import bulk_insert, write
from labelling.storage.items import batches, require_items
from labelling.storage.schema import predictions

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
            rows = []
            for item_id, given, confidence in zip(ids, labels, confidences):
                try:
                    label = label_of_item(connection, project, item_id, given, self.media_roots)
                except InvalidInput as error:
                    raise InvalidInput(f"the prediction for item {item_id}: {error}") from None
                if label is None:
                    raise InvalidInput(f"the prediction for item {item_id} has no label")
                rows.append((item_id, project.id, label_values.to_json(label), float(confidence), IMPORTED_RUN, False))
            for batch in batches(ids):
                connection.execute(delete(predictions).where(predictions.c.item_id.in_(batch)))
            bulk_insert(
                connection, "predictions", ["item_id", "project_id", "label", "probability", "run_id", "random_pick"], rows
            )
        return len(rows)
