"""Training runs, trainer leases and predictions: every statement of the active-learning loop, named, here.

`training` and `worker` hold no SQL; they call these functions, which take an engine or the caller's
connection and hand back frozen rows. Times come from the database clock (`labelling.storage.engine.clock`).

A lease row per project (`trainer_leases`) lets one process train a project at a time however many
workers and app replicas run; a worker that dies stops renewing it and the next claim after
`expires_at` takes it over (and marks the dead worker's run failed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from labelling import labels as label_values
from labelling.storage.engine import bulk_insert, clock, read, write
from labelling.storage.statements import OPEN_ITEMS
from labelling.records import Label
from labelling.storage.schema import (annotations, gold_items, items, predictions, reviews, tasks, trainer_leases,
                              training_runs)

__all__ = [
    "PREDICTION_BATCH_ROWS",
    "Prediction",
    "TrainingRun",
    "TrainingState",
    "abandon_running",
    "claim_lease",
    "fail_run",
    "finish_run",
    "items_by_id",
    "labelled_items",
    "latest_run",
    "open_item_count",
    "open_item_ids",
    "open_items",
    "prediction",
    "release_lease",
    "renew_lease",
    "request_run",
    "runs",
    "set_progress",
    "start_run",
    "training_state",
    "write_predictions",
]

PREDICTION_BATCH_ROWS = 20_000
"""Predictions are replaced this many items per transaction (SQLite's writer is held that long)."""
READ_BATCH_ROWS = 5_000

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"


@dataclass(frozen=True)
class TrainingRun:
    """One training of a project's model: filed (queued), running, finished or failed."""

    id: int
    project_id: int
    status: str
    trigger: str
    requested_at: float
    started_at: float | None
    finished_at: float | None
    progress: float
    n_labels: int | None
    strategy: str | None
    model: str | None
    scores: dict[str, Any] | None
    label_counts: dict[str, int] | None
    duration: float | None
    note: str | None
    error: str | None


@dataclass(frozen=True)
class Prediction:
    """The latest model's suggestion for one item, and how sure it was (0..1)."""

    item_id: int
    label: Label
    probability: float
    run_id: int


@dataclass(frozen=True)
class TrainingState:
    """What a worker needs to decide whether a project is due for training."""

    queued: TrainingRun | None
    last: TrainingRun | None
    """The latest run that started (finished, failed or still running)."""
    new_labels: int
    """Current labels given since the last run started (all of them when there was none)."""
    now: float
    lease_taken: bool = False
    """Someone else holds a live trainer lease on the project (a run of theirs may be going on)."""


def _run(row) -> TrainingRun:
    return TrainingRun(
        id=row.id,
        project_id=row.project_id,
        status=row.status,
        trigger=row.trigger,
        requested_at=row.requested_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress=float(row.progress or 0.0),
        n_labels=row.n_labels,
        strategy=row.strategy,
        model=row.model,
        scores=json.loads(row.scores) if row.scores else None,
        label_counts=json.loads(row.label_counts) if row.label_counts else None,
        duration=row.duration,
        note=row.note,
        error=row.error,
    )


def _insert(connection: Connection):
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


# Runs

RUNS = select(training_runs).where(training_runs.c.project_id == bindparam("project")).order_by(training_runs.c.id)
"""Every run of a project, oldest first (the learning curve)."""

RUN = select(training_runs).where(training_runs.c.id == bindparam("run"))

QUEUED_RUN = select(training_runs).where(
    training_runs.c.project_id == bindparam("project"), training_runs.c.status == QUEUED
)
"""The project's one waiting request (uq_training_runs_queued), if any."""

LAST_STARTED_RUN = (
    select(training_runs)
    .where(training_runs.c.project_id == bindparam("project"), training_runs.c.started_at.is_not(None))
    .order_by(training_runs.c.id.desc())
    .limit(1)
)

NEW_LABELS = select(func.count()).where(
    annotations.c.project_id == bindparam("project"),
    annotations.c.is_current,
    annotations.c.created_at >= bindparam("since"),
)
"""Current labels given since a moment (walks ix_annotations_project_id_created_at)."""

NOW = select(clock())

TAKE_QUEUED_RUN = (
    update(training_runs)
    .where(training_runs.c.project_id == bindparam("project"), training_runs.c.status == QUEUED)
    .values(status=RUNNING, started_at=clock(), progress=0.0)
    .returning(*training_runs.c)
)
"""The waiting request becomes the running run (called only by the lease holder)."""

ABANDON_RUNNING = (
    update(training_runs)
    .where(training_runs.c.project_id == bindparam("project"), training_runs.c.status == RUNNING)
    .values(status=FAILED, finished_at=clock(), error=bindparam("error"))
)
"""Runs left `running` by a worker whose lease expired: only the lease holder runs, so they are dead."""

SET_PROGRESS = (
    update(training_runs).where(training_runs.c.id == bindparam("run")).values(progress=bindparam("progress"))
)


def runs(engine: Engine, project_id: int) -> list[TrainingRun]:
    with read(engine) as connection:
        return [_run(row) for row in connection.execute(RUNS, {"project": project_id})]


def latest_run(engine: Engine, project_id: int) -> TrainingRun | None:
    with read(engine) as connection:
        newest = RUNS.order_by(None).order_by(training_runs.c.id.desc()).limit(1)
        row = connection.execute(newest, {"project": project_id}).first()
    return None if row is None else _run(row)


def request_run(engine: Engine, project_id: int) -> TrainingRun:
    """File a "Retrain now" request; a request already waiting is returned instead of adding another."""
    with write(engine) as connection:
        connection.execute(
            _insert(connection)(training_runs)
            .values(project_id=project_id, status=QUEUED, trigger="request", requested_at=clock())
            .on_conflict_do_nothing(index_elements=["project_id"], index_where=training_runs.c.status == QUEUED)
        )
        return _run(connection.execute(QUEUED_RUN, {"project": project_id}).one())


LEASE_TAKEN = select(func.count()).where(
    trainer_leases.c.project_id == bindparam("project"),
    trainer_leases.c.expires_at >= clock(),
    trainer_leases.c.holder != bindparam("holder"),
)


def training_state(engine: Engine, project_id: int, holder: str = "") -> TrainingState:
    """The project's waiting request, last run, labels since then and lease, as `holder` sees them."""
    with read(engine) as connection:
        params = {"project": project_id}
        queued = connection.execute(QUEUED_RUN, params).first()
        last = connection.execute(LAST_STARTED_RUN, params).first()
        since = last.started_at if last is not None else float("-inf")
        new_labels = connection.execute(NEW_LABELS, {**params, "since": since}).scalar_one()
        now = connection.execute(NOW).scalar_one()
        taken = connection.execute(LEASE_TAKEN, {**params, "holder": holder}).scalar_one()
    return TrainingState(
        queued=None if queued is None else _run(queued),
        last=None if last is None else _run(last),
        new_labels=int(new_labels),
        now=float(now),
        lease_taken=bool(taken),
    )


def start_run(engine: Engine, project_id: int, trigger: str) -> TrainingRun:
    """The waiting request, now running; or a new running run when nothing was requested."""
    with write(engine) as connection:
        row = connection.execute(TAKE_QUEUED_RUN, {"project": project_id}).first()
        if row is None:
            row = connection.execute(
                training_runs.insert()
                .values(
                    project_id=project_id,
                    status=RUNNING,
                    trigger=trigger,
                    requested_at=clock(),
                    started_at=clock(),
                    progress=0.0,
                )
                .returning(*training_runs.c)
            ).one()
        return _run(row)


def set_progress(engine: Engine, run_id: int, progress: float) -> None:
    with write(engine) as connection:
        connection.execute(SET_PROGRESS, {"run": run_id, "progress": float(min(max(progress, 0.0), 1.0))})


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    n_labels: int,
    strategy: str | None,
    model: str | None,
    scores: dict[str, Any] | None,
    label_counts: dict[str, int],
    note: str | None,
) -> TrainingRun:
    return _end_run(
        engine,
        run_id,
        status=FINISHED,
        progress=1.0,
        n_labels=n_labels,
        strategy=strategy,
        model=model,
        scores=None if scores is None else json.dumps(scores),
        label_counts=json.dumps(label_counts),
        note=note,
    )


def fail_run(
    engine: Engine, run_id: int, error: str, *, n_labels: int | None = None, model: str | None = None
) -> TrainingRun:
    return _end_run(engine, run_id, status=FAILED, error=error, n_labels=n_labels, model=model)


def _end_run(engine: Engine, run_id: int, **values: Any) -> TrainingRun:
    """Close a run with its outcome; finish and duration come from the database clock."""
    with write(engine) as connection:
        row = connection.execute(
            update(training_runs)
            .where(training_runs.c.id == run_id)
            .values(finished_at=clock(), duration=clock() - training_runs.c.started_at, **values)
            .returning(*training_runs.c)
        ).one()
    return _run(row)


def abandon_running(engine: Engine, project_id: int, error: str) -> int:
    with write(engine) as connection:
        return connection.execute(ABANDON_RUNNING, {"project": project_id, "error": error}).rowcount


# Leases


def claim_lease(engine: Engine, project_id: int, holder: str, seconds: float) -> bool:
    """Take the project's trainer lease if it is free or expired (or already mine); True if I hold it."""
    with write(engine) as connection:
        insert = _insert(connection)(trainer_leases).values(
            project_id=project_id, holder=holder, expires_at=clock() + literal(float(seconds))
        )
        statement = insert.on_conflict_do_update(
            index_elements=["project_id"],
            set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
            where=(trainer_leases.c.expires_at < clock()) | (trainer_leases.c.holder == holder),
        ).returning(trainer_leases.c.holder)
        return connection.execute(statement).scalar() == holder


def renew_lease(engine: Engine, project_id: int, holder: str, seconds: float) -> bool:
    """Extend my lease; False when it is no longer mine (it expired and someone else took it)."""
    with write(engine) as connection:
        renewed = connection.execute(
            update(trainer_leases)
            .where(trainer_leases.c.project_id == project_id, trainer_leases.c.holder == holder)
            .values(expires_at=clock() + literal(float(seconds)))
        )
        return renewed.rowcount == 1


def release_lease(engine: Engine, project_id: int, holder: str) -> None:
    with write(engine) as connection:
        connection.execute(
            trainer_leases.delete().where(trainer_leases.c.project_id == project_id, trainer_leases.c.holder == holder)
        )


# What the model learns from and what it scores

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


def labelled_items(engine: Engine, project_id: int) -> tuple[list[int], list[str]]:
    """(item ids, encoded data) of every item that may have a final label (`consensus.final_labels` decides
    which label), read in batches."""
    ids: list[int] = []
    data: list[str] = []
    with read(engine) as connection:
        result = connection.execution_options(yield_per=READ_BATCH_ROWS).execute(LABELLED_DATA, {"project": project_id})
        for item_id, value in result:
            ids.append(item_id)
            data.append(value)
    return ids, data


def open_items(engine: Engine, project_id: int, rows: int = READ_BATCH_ROWS) -> Iterator[tuple[list[int], list[str]]]:
    """(ids, encoded data) of the queue's open items, a page at a time, each page its own short read."""
    after = -1
    while True:
        with read(engine) as connection:
            page = connection.execute(OPEN_ITEMS_AFTER, {"project": project_id, "after": after, "rows": rows}).all()
        if not page:
            return
        yield [row.id for row in page], [row.data for row in page]
        after = page[-1].id


OPEN_ITEM_IDS = (
    select(tasks.c.item_id)
    .distinct()
    .where(tasks.c.project_id == bindparam("project"), ~tasks.c.done)
    .order_by(tasks.c.item_id)
)


def open_item_ids(engine: Engine, project_id: int) -> list[int]:
    with read(engine) as connection:
        return [int(i) for i in connection.execute(OPEN_ITEM_IDS, {"project": project_id}).scalars()]


def open_item_count(engine: Engine, project_id: int) -> int:
    with read(engine) as connection:
        return int(connection.execute(OPEN_ITEMS, {"project": project_id}).scalar_one())


def items_by_id(engine: Engine, project_id: int, item_ids: Sequence[int]) -> dict[int, str]:
    """Encoded data of some items (the diversity step re-reads its few candidates)."""
    found: dict[int, str] = {}
    ids = [int(i) for i in item_ids]
    with read(engine) as connection:
        for start in range(0, len(ids), READ_BATCH_ROWS):
            chunk = ids[start : start + READ_BATCH_ROWS]
            result = connection.execute(
                select(items.c.id, items.c.data).where(items.c.project_id == project_id, items.c.id.in_(chunk))
            )
            found.update((row.id, row.data) for row in result)
    return found


# Predictions

PREDICTION = select(predictions.c.label, predictions.c.probability, predictions.c.run_id).where(
    predictions.c.item_id == bindparam("item"), predictions.c.project_id == bindparam("project")
)
"""The Label page's one cheap read per item: a primary-key lookup."""

DELETE_PREDICTIONS_BETWEEN = predictions.delete().where(
    predictions.c.project_id == bindparam("project"),
    and_(predictions.c.item_id >= bindparam("lo"), predictions.c.item_id <= bindparam("hi")),
)


def prediction(engine: Engine, project_id: int, item_id: int) -> Prediction | None:
    with read(engine) as connection:
        row = connection.execute(PREDICTION, {"item": int(item_id), "project": int(project_id)}).first()
    if row is None:
        return None
    return Prediction(int(item_id), label_values.from_json(row.label), float(row.probability), int(row.run_id))


def write_predictions(
    engine: Engine,
    project_id: int,
    run_id: int,
    item_ids: Sequence[int],
    labels: Sequence[Label],
    probabilities: Sequence[float],
    between_batches: Callable[[], None] = lambda: None,
) -> None:
    """Replace the project's predictions with these, in id-range batches of PREDICTION_BATCH_ROWS.

    Each batch deletes the old predictions of its id range and inserts the new ones in one short
    transaction (COPY on PostgreSQL), so an item always has the old or the new suggestion; the first and
    last batches reach past the ends, so items no longer scored (labelled since) lose theirs.
    """
    rows = sorted(zip((int(i) for i in item_ids), labels, probabilities))
    bounds = range(0, max(len(rows), 1), PREDICTION_BATCH_ROWS)
    for number, start in enumerate(bounds):
        batch = rows[start : start + PREDICTION_BATCH_ROWS]
        lo = -(2**62) if number == 0 else batch[0][0]
        hi = 2**62 if number == len(bounds) - 1 else rows[start + PREDICTION_BATCH_ROWS][0] - 1
        with write(engine) as connection:
            connection.execute(DELETE_PREDICTIONS_BETWEEN, {"project": project_id, "lo": lo, "hi": hi})
            if batch:
                bulk_insert(
                    connection,
                    "predictions",
                    ["item_id", "project_id", "label", "probability", "run_id"],
                    [(i, project_id, label_values.to_json(label), float(p), run_id) for i, label, p in batch],
                )
        between_batches()
