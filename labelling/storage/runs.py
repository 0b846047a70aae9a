"""Training runs and trainer leases: every statement of the learning loop's bookkeeping, named, here.

`Store.runs` is a `Runs` on the store's engine; `labelling.learning` (training and the worker) calls it and
holds no SQL. Rows come back as frozen dataclasses; a run's state is a `RunStatus`. Times come from the
database clock (`labelling.storage.engine.clock`). What a run reads and writes (labelled items, the open
queue, predictions) is `labelling.storage.model_data`.

A lease row per project (`trainer_leases`) lets one process train a project at a time however many
workers and app replicas run; a worker that dies stops renewing it and the next claim after
`expires_at` takes it over (and marks the dead worker's run failed).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from labelling.errors import NotTrainable
from labelling.records import Project, Task
from labelling.storage import wakeups
from labelling.storage.engine import clock, read, write
from labelling.storage.schema import annotations, trainer_leases, training_runs

__all__ = ["EVALUATION_FIELDS", "RunStatus", "Runs", "TrainingRun", "TrainingState", "check_trainable"]


def check_trainable(project: Project) -> None:
    """Refuse (NotTrainable) a project no model is trained for: boxes (classification and span projects are)."""
    if project.options.task is Task.BOXES:
        raise NotTrainable(
            f"models are trained for classification and span projects, not for boxes; {project.name!r} is a "
            "boxes project (import predictions from your own detector to suggest boxes and order its queue)"
        )


class RunStatus(enum.StrEnum):
    """Where a training run is; the values are what the database stores."""

    QUEUED = "queued"
    """Filed by "Retrain now", waiting for a worker."""
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"



@dataclass(frozen=True)
class TrainingRun:
    """One training of a project's model: filed (queued), running, finished or failed."""

    id: int
    project_id: int
    status: RunStatus
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
    # How far to trust the model (labelling.learning.assessment); None when the run could not measure it.
    honest_accuracy: float | None = None
    """Accuracy on labelled items the queue chose at random, each predicted by a model trained without it."""
    honest_low: float | None = None
    honest_high: float | None = None
    """The Wilson interval of `honest_accuracy` (95%)."""
    honest_n: int | None = None
    """How many random items `honest_accuracy` rests on."""
    progressive_accuracy: float | None = None
    """The suggestions random items had when handed out, against the labels they got (earlier models)."""
    progressive_low: float | None = None
    progressive_high: float | None = None
    progressive_n: int | None = None
    ece: float | None = None
    """Expected calibration error of the suggestions' certainty after temperature scaling (0 = exact)."""
    ece_uncalibrated: float | None = None
    temperature: float | None = None
    """The temperature the suggestions' probabilities are scaled by."""
    stability_kappa: float | None = None
    """Cohen's kappa between this run's and the previous trained run's predictions on the stop set."""


EVALUATION_FIELDS = (
    "honest_accuracy",
    "honest_low",
    "honest_high",
    "honest_n",
    "progressive_accuracy",
    "progressive_low",
    "progressive_high",
    "progressive_n",
    "ece",
    "ece_uncalibrated",
    "temperature",
    "stability_kappa",
)
"""The run's columns that say how far to trust its model (`Runs.finish(evaluation=...)`)."""


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
        status=RunStatus(row.status),
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
        **{name: getattr(row, name) for name in EVALUATION_FIELDS},
    )


def _insert(connection: Connection):
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


# Runs

RUNS = select(training_runs).where(training_runs.c.project_id == bindparam("project")).order_by(training_runs.c.id)
"""Every run of a project, oldest first (the learning curve)."""

QUEUED_RUN = select(training_runs).where(
    training_runs.c.project_id == bindparam("project"), training_runs.c.status == RunStatus.QUEUED
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
    .where(training_runs.c.project_id == bindparam("project"), training_runs.c.status == RunStatus.QUEUED)
    .values(status=RunStatus.RUNNING, started_at=clock(), progress=0.0)
    .returning(*training_runs.c)
)
"""The waiting request becomes the running run (called only by the lease holder)."""

ABANDON_RUNNING = (
    update(training_runs)
    .where(training_runs.c.project_id == bindparam("project"), training_runs.c.status == RunStatus.RUNNING)
    .values(status=RunStatus.FAILED, finished_at=clock(), error=bindparam("error"))
)
"""Runs left `running` by a worker whose lease expired: only the lease holder runs, so they are dead."""

SET_PROGRESS = (
    update(training_runs).where(training_runs.c.id == bindparam("run")).values(progress=bindparam("progress"))
)

LEASE_TAKEN = select(func.count()).where(
    trainer_leases.c.project_id == bindparam("project"),
    trainer_leases.c.expires_at >= clock(),
    trainer_leases.c.holder != bindparam("holder"),
)
"""Someone other than `holder` holds a live lease on the project."""


class Runs:
    """The training runs and trainer leases of one database; `Store.runs` hands it out."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def all(self, project_id: int) -> list[TrainingRun]:
        """Every run of a project, oldest first (the learning curve)."""
        with read(self._engine) as connection:
            return [_run(row) for row in connection.execute(RUNS, {"project": project_id})]

    def request(self, project_id: int) -> TrainingRun:
        """File a "Retrain now" request and wake the workers; a request already waiting is returned instead."""
        with write(self._engine) as connection:
            connection.execute(
                _insert(connection)(training_runs)
                .values(project_id=project_id, status=RunStatus.QUEUED, trigger="request", requested_at=clock())
                .on_conflict_do_nothing(
                    index_elements=["project_id"], index_where=training_runs.c.status == RunStatus.QUEUED
                )
            )
            wakeups.announce(connection, project_id)
            return _run(connection.execute(QUEUED_RUN, {"project": project_id}).one())

    def state(self, project_id: int, holder: str = "") -> TrainingState:
        """The project's waiting request, last run, labels since then and lease, as `holder` sees them."""
        with read(self._engine) as connection:
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

    def start(self, project_id: int, trigger: str) -> TrainingRun:
        """The waiting request, now running; or a new running run when nothing was requested."""
        with write(self._engine) as connection:
            row = connection.execute(TAKE_QUEUED_RUN, {"project": project_id}).first()
            if row is None:
                row = connection.execute(
                    training_runs.insert()
                    .values(
                        project_id=project_id,
                        status=RunStatus.RUNNING,
                        trigger=trigger,
                        requested_at=clock(),
                        started_at=clock(),
                        progress=0.0,
                    )
                    .returning(*training_runs.c)
                ).one()
            return _run(row)

    def set_progress(self, run_id: int, progress: float) -> None:
        """The running run's progress, 0..1 (the Train page's bar)."""
        with write(self._engine) as connection:
            connection.execute(SET_PROGRESS, {"run": run_id, "progress": float(min(max(progress, 0.0), 1.0))})

    def finish(
        self,
        run_id: int,
        *,
        n_labels: int,
        strategy: str | None,
        model: str | None,
        scores: dict[str, Any] | None,
        label_counts: dict[str, int],
        note: str | None,
        evaluation: dict[str, float | int | None] | None = None,
    ) -> TrainingRun:
        """Close a run that trained (or explained why it could not yet) with its figures; `evaluation` holds
        some of EVALUATION_FIELDS."""
        unknown = set(evaluation or ()) - set(EVALUATION_FIELDS)
        if unknown:
            raise ValueError(f"not a run's evaluation figure: {', '.join(sorted(unknown))}")
        return self._end(
            run_id,
            status=RunStatus.FINISHED,
            progress=1.0,
            n_labels=n_labels,
            strategy=strategy,
            model=model,
            scores=None if scores is None else json.dumps(scores),
            label_counts=json.dumps(label_counts),
            note=note,
            **(evaluation or {}),
        )

    def fail(self, run_id: int, error: str, *, n_labels: int | None = None, model: str | None = None) -> TrainingRun:
        """Close a run that raised, with the message."""
        return self._end(run_id, status=RunStatus.FAILED, error=error, n_labels=n_labels, model=model)

    def _end(self, run_id: int, **values: Any) -> TrainingRun:
        """Close a run with its outcome; finish and duration come from the database clock."""
        with write(self._engine) as connection:
            row = connection.execute(
                update(training_runs)
                .where(training_runs.c.id == run_id)
                .values(finished_at=clock(), duration=clock() - training_runs.c.started_at, **values)
                .returning(*training_runs.c)
            ).one()
        return _run(row)

    def abandon_running(self, project_id: int, error: str) -> int:
        """Fail the runs a dead worker left running (call only while holding the lease); returns how many."""
        with write(self._engine) as connection:
            return connection.execute(ABANDON_RUNNING, {"project": project_id, "error": error}).rowcount

    # Leases

    def claim_lease(self, project_id: int, holder: str, seconds: float) -> bool:
        """Take the project's trainer lease if it is free or expired (or already mine); True if I hold it."""
        with write(self._engine) as connection:
            insert = _insert(connection)(trainer_leases).values(
                project_id=project_id, holder=holder, expires_at=clock() + literal(float(seconds))
            )
            statement = insert.on_conflict_do_update(
                index_elements=["project_id"],
                set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
                where=(trainer_leases.c.expires_at < clock()) | (trainer_leases.c.holder == holder),
            ).returning(trainer_leases.c.holder)
            return connection.execute(statement).scalar() == holder

    def renew_lease(self, project_id: int, holder: str, seconds: float) -> bool:
        """Extend my lease; False when it is no longer mine (it expired and someone else took it)."""
        with write(self._engine) as connection:
            renewed = connection.execute(
                update(trainer_leases)
                .where(trainer_leases.c.project_id == project_id, trainer_leases.c.holder == holder)
                .values(expires_at=clock() + literal(float(seconds)))
            )
            return renewed.rowcount == 1

    def release_lease(self, project_id: int, holder: str) -> None:
        with write(self._engine) as connection:
            connection.execute(
                trainer_leases.delete().where(trainer_leases.c.project_id == project_id, trainer_leases.c.holder == holder)
            )

    def listener(self) -> wakeups.Listener:
        """The worker's line to the database: waits for "labels arrived" and "retrain" notifications."""
        return wakeups.Listener(self._engine)
