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

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    false,
    null,
    or_,
    select,
    true,
    update,
)

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
from labelling.storage.engine import bulk_insert, clock, insert_columns, read, write
from labelling.storage.exports import READ_BATCH
from labelling.storage.items import batches, require_items
from labelling.storage.overlap import LIVE_LEASE, lock_project
from labelling.storage.schema import annotations, items, predictions, tasks
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
            rows = connection.execution_options(yield_per=READ_BATCH).execute(
                select(items.c.id, items.c.data).where(items.c.project_id == project.id)
            )
            values = {int(item_id): _matched(project, int(item_id), decode(data)) for item_id, data in rows}
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
        if len(set(ids)) != len(ids):
            raise InvalidInput("an item is given more than once: give one label per item")
        with write(self.engine) as connection:
            project = lock_project(connection, project_id)  # labels checked against the set a change waits for
            require_items(connection, project, ids)
            values = [label_values.to_json(v) for v in self._checked(connection, project, ids, labels, "the label")]
            importer = queue.lock_labeller(connection, IMPORT_NAME).id
            again, places = _places(connection, importer, ids)
            for batch in batches(again):
                connection.execute(
                    update(annotations)
                    .where(annotations.c.labeller_id == importer, annotations.c.item_id.in_(batch))
                    .where(annotations.c.is_current)
                    .values(is_current=false())
                )
            for batch in batches(places):
                connection.execute(
                    update(tasks)
                    .where(tasks.c.id.in_(batch))
                    .values(done=true(), started=true(), labeller_id=importer, lease_expires_at=null())
                )
            if project.overlap > 1:  # the items' other places come first now, as after a submit
                for batch in batches(ids):
                    connection.execute(_MARK_STARTED, {"items": batch})
            now = connection.execute(select(clock())).scalar_one()
            n = len(ids)
            insert_columns(
                connection,
                "annotations",
                ["project_id", "item_id", "labeller_id", "label", "created_at", "is_current", "source"],
                [[project.id] * n, ids, [importer] * n, values, [now] * n, [True] * n, ["import"] * n],
            )
            announce(connection, project.id)
        return len(ids)

    def _checked(
        self, connection: Connection, project: Project, ids: list[int], given: Sequence[Any], what: str
    ) -> list[Label]:
        """Each label checked against its item, as `label_of_item` checks it (the items read in batches);
        InvalidInput names the item."""
        data: dict[int, str] = {}
        if project.options.task is not Task.CLASSIFY:
            for batch in batches(ids):
                data.update(connection.execute(select(items.c.id, items.c.data).where(items.c.id.in_(batch))).all())
        checked = []
        for item_id, value in zip(ids, given):
            try:
                if item_id in data and not is_missing(value):
                    item = decode(data[item_id])
                    label = label_values.normalise(project, value, item=item, media_roots=self.media_roots)
                else:
                    label = label_values.normalise(project, value)
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
            project = lock_project(connection, project_id)  # a rename rewrites predictions too
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


_MARK_STARTED = (
    update(tasks)
    .where(
        tasks.c.id.in_(
            select(tasks.c.id)
            .where(tasks.c.item_id.in_(bindparam("items", expanding=True)), ~tasks.c.done, ~tasks.c.started)
            .with_for_update(skip_locked=True)
        )
    )
    .values(started=true())
)
"""statements.MARK_STARTED for many items (slots a labeller is taking right now are skipped, not waited for)."""


def _places(connection: Connection, importer: int, ids: list[int]) -> tuple[list[int], list[int]]:
    """(items the importer labelled before, whose label is superseded; the task each other item's label
    takes: the importer's open one, else its best open task nobody holds, as a claim would pick it), the
    tasks locked. InvalidInput names the first items with no such task."""
    again, places, full = [], [], []
    for batch in batches(ids):
        rows = connection.execute(
            select(tasks.c.id, tasks.c.item_id, tasks.c.labeller_id, tasks.c.done)
            .where(tasks.c.item_id.in_(batch), or_(tasks.c.labeller_id == importer, and_(~tasks.c.done, ~LIVE_LEASE)))
            .order_by(tasks.c.item_id, tasks.c.started.desc(), tasks.c.priority.desc(), tasks.c.id)
            .with_for_update(of=tasks)
        ).all()
        free: dict[int, list[Any]] = {}
        for row in rows:
            free.setdefault(row.item_id, []).append(row)
        for item_id in batch:
            found = free.get(item_id, [])
            mine = next((row for row in found if row.labeller_id == importer), None)
            if mine is not None and mine.done:
                again.append(item_id)
            elif mine is not None or found:
                places.append((mine or found[0]).id)
            else:
                full.append(item_id)
    if full:
        more = f" and {len(full) - matching.NAMED:,} more" if len(full) > matching.NAMED else ""
        named = ", ".join(map(str, full[: matching.NAMED])) + more
        raise InvalidInput(
            f"{f'item {named} has' if len(full) == 1 else f'items {named} have'} no open place for a label: all the "
            "labels needed, a gold item or out of the queue, or a labeller holds it now (nothing was written)"
        )
    return again, places


def _matched(project: Project, item_id: int, data: Any) -> Any:
    """What an item is matched by (labelling.io.matching): its text, or its image cell as a key (a `data:`
    image's export name, so that only the name is kept)."""
    if project.options.task is Task.SPANS:
        return shapes.item_text(project.options, data)
    column = project.options.image_column
    return matching.image_key(item_id, data.get(column) if column and isinstance(data, Mapping) else data)
