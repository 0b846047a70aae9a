"""What a training run reads and writes: the labelled items with their final labels, the open queue a page
at a time, and the predictions (the Label page's suggestions). `Store.model_data` is a `ModelData`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, and_, bindparam, exists, or_, select

from labelling.io import labels as label_values
from labelling.storage import projects as project_rows
from labelling.storage import votes
from labelling.records import Label, Prediction
from labelling.storage.engine import bulk_insert, read, write
from labelling.storage.schema import annotations, gold_items, items, predictions, reviews, tasks
from labelling.storage.statements import OPEN_ITEMS

__all__ = ["PREDICTION_BATCH_ROWS", "DatabaseLocation", "Labelled", "ModelData", "Prediction"]

PREDICTION_BATCH_ROWS = 20_000
"""Predictions are replaced this many items per transaction (SQLite's writer is held that long)."""
READ_BATCH_ROWS = 5_000


@dataclass(frozen=True)
class Labelled:
    """The items a model learns from: ids, encoded data (`labelling.io.serialisation`) and final labels."""

    ids: list[int]
    data: list[str]
    labels: list[Label]


@dataclass(frozen=True)
class DatabaseLocation:
    """Which database this is, for naming the folder its models are kept in."""

    file: Path | None
    """The embedded database's file (resolved), None for a server."""
    name: str
    """A short readable name: the file's stem, or backend and database name."""
    identity: str
    """Tells two databases apart: the file's path, or the URL without its password."""


LABELLED_DATA = (
    select(items.c.id, items.c.data)
    .where(
        items.c.project_id == bindparam("project"),
        or_(
            exists().where(annotations.c.item_id == items.c.id, annotations.c.is_current),
            exists().where(gold_items.c.item_id == items.c.id),
            exists().where(reviews.c.item_id == items.c.id, reviews.c.is_current, reviews.c.label.is_not(None)),
        ),
    )
    .order_by(items.c.id)
)
"""Items that may have a final label: a current label, a known (gold) label, or a reviewer's. A gold item
nobody has labelled yet is still known truth for the model."""

OPEN_ITEMS_AFTER = (
    select(items.c.id, items.c.data)
    .where(
        items.c.project_id == bindparam("project"),
        items.c.id > bindparam("after"),
        exists().where(tasks.c.item_id == items.c.id, ~tasks.c.done),
    )
    .order_by(items.c.id)
    .limit(bindparam("rows"))
)
"""One page of the items still in the queue (keyset pagination: memory stays bounded)."""


OPEN_ITEM_IDS = (
    select(tasks.c.item_id)
    .distinct()
    .where(tasks.c.project_id == bindparam("project"), ~tasks.c.done)
    .order_by(tasks.c.item_id)
)

PREDICTION = select(predictions.c.label, predictions.c.probability, predictions.c.run_id).where(
    predictions.c.item_id == bindparam("item"), predictions.c.project_id == bindparam("project")
)
"""The Label page's one cheap read per item: a primary-key lookup."""

DELETE_PREDICTIONS_BETWEEN = predictions.delete().where(
    predictions.c.project_id == bindparam("project"),
    and_(predictions.c.item_id >= bindparam("lo"), predictions.c.item_id <= bindparam("hi")),
)


class ModelData:
    """The data side of training for one database; `Store.model_data` hands it out."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def labelled(self, project_id: int) -> Labelled:
        """Every item with a final label (a reviewer's, else gold truth, else the majority, as export takes
        it), read in one transaction."""
        ids, data, labels = [], [], []
        with read(self._engine) as connection:
            finals = votes.final_labels(connection, project_rows.load(connection, project_id))
            rows = connection.execution_options(yield_per=READ_BATCH_ROWS).execute(LABELLED_DATA, {"project": project_id})
            for item_id, value in rows:
                final = finals.get(item_id)
                if final is not None and final.label is not None:
                    ids.append(item_id)
                    data.append(value)
                    labels.append(final.label)
        return Labelled(ids, data, labels)

    def open_items(self, project_id: int, rows: int = READ_BATCH_ROWS) -> Iterator[tuple[list[int], list[str]]]:
        """(ids, encoded data) of the queue's open items, a page at a time, each page its own short read."""
        after = -1
        while True:
            with read(self._engine) as connection:
                page = connection.execute(OPEN_ITEMS_AFTER, {"project": project_id, "after": after, "rows": rows}).all()
            if not page:
                return
            yield [row.id for row in page], [row.data for row in page]
            after = page[-1].id

    def open_item_ids(self, project_id: int) -> list[int]:
        with read(self._engine) as connection:
            return [int(i) for i in connection.execute(OPEN_ITEM_IDS, {"project": project_id}).scalars()]

    def open_item_count(self, project_id: int) -> int:
        with read(self._engine) as connection:
            return int(connection.execute(OPEN_ITEMS, {"project": project_id}).scalar_one())

    def items_by_id(self, project_id: int, item_ids: Sequence[int]) -> dict[int, str]:
        """Encoded data of some items (the diversity step re-reads its few candidates)."""
        found: dict[int, str] = {}
        ids = [int(i) for i in item_ids]
        with read(self._engine) as connection:
            for start in range(0, len(ids), READ_BATCH_ROWS):
                chunk = ids[start : start + READ_BATCH_ROWS]
                result = connection.execute(
                    select(items.c.id, items.c.data).where(items.c.project_id == project_id, items.c.id.in_(chunk))
                )
                found.update((row.id, row.data) for row in result)
        return found

    def prediction(self, project_id: int, item_id: int) -> Prediction | None:
        with read(self._engine) as connection:
            row = connection.execute(PREDICTION, {"item": int(item_id), "project": int(project_id)}).first()
        if row is None:
            return None
        return Prediction(int(item_id), label_values.from_json(row.label), float(row.probability), int(row.run_id))

    def write_predictions(
        self,
        project_id: int,
        run_id: int,
        item_ids: Sequence[int],
        labels: Sequence[Label],
        probabilities: Sequence[float],
        between_batches: Callable[[], None] = lambda: None,
        *,
        random_picks: Sequence[bool] | None = None,
    ) -> None:
        """Replace the project's predictions with these, in id-range batches of PREDICTION_BATCH_ROWS;
        `random_picks` flags the items whose queue place the run's random share gave (the honest score's).

        Each batch deletes the old predictions of its id range and inserts the new ones in one short
        transaction (COPY on PostgreSQL), so an item always has the old or the new suggestion; the first and
        last batches reach past the ends, so items no longer scored (labelled since) lose theirs.
        """
        picks = [False] * len(item_ids) if random_picks is None else [bool(r) for r in random_picks]
        rows = sorted(zip((int(i) for i in item_ids), labels, probabilities, picks), key=lambda row: row[0])
        bounds = range(0, max(len(rows), 1), PREDICTION_BATCH_ROWS)
        for number, start in enumerate(bounds):
            batch = rows[start : start + PREDICTION_BATCH_ROWS]
            lo = -(2**62) if number == 0 else batch[0][0]
            hi = 2**62 if number == len(bounds) - 1 else rows[start + PREDICTION_BATCH_ROWS][0] - 1
            with write(self._engine) as connection:
                connection.execute(DELETE_PREDICTIONS_BETWEEN, {"project": project_id, "lo": lo, "hi": hi})
                if batch:
                    bulk_insert(
                        connection,
                        "predictions",
                        ["item_id", "project_id", "label", "probability", "run_id", "random_pick"],
                        [(i, project_id, label_values.to_json(label), float(p), run_id, r) for i, label, p, r in batch],
                    )
            between_batches()

    def location(self) -> DatabaseLocation:
        """Which database this is (models are kept per database, never shared between two)."""
        url = self._engine.url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            file = Path(url.database).resolve()
            return DatabaseLocation(file, file.stem, str(file))
        return DatabaseLocation(None, f"{url.get_backend_name()}-{url.database}", url.render_as_string(hide_password=True))
