"""What a training run keeps to say how far its model can be trusted: the items the queue chose at random
(the honest score's sample), the stop set's latest predictions (when to stop) and the likely label errors
(the Review page's "labels to check"). `Store.assessment` is an `Assessment`; `labelling.learning.assessment`
computes the figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Double, Engine, Integer, Text, bindparam, cast, exists, literal, null, select
from sqlalchemy.dialects import postgresql, sqlite

from labelling.io import labels as label_values
from labelling.io.serialisation import decode
from labelling.quality import consensus
from labelling.records import Label
from labelling.storage import projects as project_rows
from labelling.storage import votes
from labelling.storage.engine import bulk_insert, read, write
from labelling.storage.schema import annotations, gold_items, items, label_issues, predictions, random_picks, stop_predictions, tasks

__all__ = ["Assessment", "LabelCheck", "RandomPick"]


@dataclass(frozen=True)
class RandomPick:
    """A labelled item the queue chose at random: the run whose order placed it (None: the cold-start
    random order) and the suggestion it had when handed out (None before any model)."""

    item_id: int
    run_id: int | None
    suggestion: Label | None
    probability: float | None


@dataclass(frozen=True)
class LabelCheck:
    """A label the latest model doubts: the item, the label it has (`given`) and the model's `alternative`,
    with the (calibrated, out-of-fold) probability of each."""

    item_id: int
    data: Any
    given: Label
    alternative: Label
    given_probability: float
    alternative_probability: float
    run_id: int


NOT_OPEN = ~exists().where(tasks.c.item_id == predictions.c.item_id, ~tasks.c.done)

RANDOM_PICKS = (
    select(random_picks)
    .where(random_picks.c.project_id == bindparam("project"))
    .order_by(random_picks.c.run_id.is_not(None), random_picks.c.run_id, random_picks.c.item_id)
)
"""A project's random picks in hand-out order as far as it is known: the cold-start ones, then by run."""

STOP_PREDICTIONS = select(stop_predictions.c.item_id, stop_predictions.c.label, stop_predictions.c.run_id).where(
    stop_predictions.c.project_id == bindparam("project")
)

LABEL_ISSUES = (
    select(label_issues, items.c.data)
    .join(items, items.c.id == label_issues.c.item_id)
    .where(label_issues.c.project_id == bindparam("project"))
    .order_by(label_issues.c.rank)
)


def _insert(connection):
    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


class Assessment:
    """The honest score's sample, the stop set and the label issues of one database."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def keep_random_picks(self, project_id: int) -> int:
        """Keep the items labelled since the last run whose place came from its random share, with the
        suggestion they were handed out with (call before the run replaces the predictions); returns how
        many were new. An item already kept keeps its first record."""
        chosen = select(
            predictions.c.item_id, predictions.c.project_id, predictions.c.run_id, predictions.c.label, predictions.c.probability
        ).where(predictions.c.project_id == project_id, predictions.c.random_pick, NOT_OPEN)
        return self._keep(chosen)

    def keep_cold_start_picks(self, project_id: int, since: float) -> int:
        """Keep the items labelled in the queue (not imported, not gold) since `since`, when a cold-start
        run put the queue in random order and no model had ordered it yet; returns how many were new."""
        chosen = (
            select(
                annotations.c.item_id,
                annotations.c.project_id,
                cast(null(), Integer),
                cast(null(), Text),
                cast(null(), Double),
            )
            .where(
                annotations.c.project_id == project_id,
                annotations.c.source == "label",
                annotations.c.created_at >= literal(float(since)),
                ~exists().where(gold_items.c.item_id == annotations.c.item_id),
            )
            .distinct()
        )
        return self._keep(chosen)

    def _keep(self, chosen) -> int:
        columns = ["item_id", "project_id", "run_id", "label", "probability"]
        with write(self._engine) as connection:
            statement = _insert(connection)(random_picks).from_select(columns, chosen).on_conflict_do_nothing()
            return connection.execute(statement).rowcount

    def random_picks(self, project_id: int) -> list[RandomPick]:
        """Every kept random pick of a project, cold-start ones first, then by the run that placed them."""
        with read(self._engine) as connection:
            rows = connection.execute(RANDOM_PICKS, {"project": project_id}).all()
        return [
            RandomPick(
                int(row.item_id),
                row.run_id,
                None if row.label is None else label_values.from_json(row.label),
                row.probability,
            )
            for row in rows
        ]

    def stop_set(self, project_id: int) -> tuple[int | None, dict[int, Label]]:
        """(the run that predicted them, {item id: predicted label}) for the project's stop set; (None, {})
        before any."""
        with read(self._engine) as connection:
            rows = connection.execute(STOP_PREDICTIONS, {"project": project_id}).all()
        run = rows[0].run_id if rows else None
        return run, {int(row.item_id): label_values.from_json(row.label) for row in rows}

    def set_stop_predictions(self, project_id: int, run_id: int, item_ids: Sequence[int], labels: Sequence[Label]) -> None:
        """Replace the stop set's predictions with this run's, in one transaction."""
        with write(self._engine) as connection:
            connection.execute(stop_predictions.delete().where(stop_predictions.c.project_id == project_id))
            bulk_insert(
                connection,
                "stop_predictions",
                ["item_id", "project_id", "run_id", "label"],
                [(int(i), project_id, run_id, label_values.to_json(label)) for i, label in zip(item_ids, labels)],
            )

    def set_label_issues(
        self,
        project_id: int,
        run_id: int,
        issues: Sequence[tuple[int, Label, Label, float, float]],
    ) -> None:
        """Replace the project's label issues with this run's: (item id, given label, alternative, their
        probabilities), likeliest error first."""
        rows = [
            (int(item), project_id, run_id, rank, label_values.to_json(given), label_values.to_json(other), float(pg), float(po))
            for rank, (item, given, other, pg, po) in enumerate(issues)
        ]
        columns = ["item_id", "project_id", "run_id", "rank", "given", "alternative", "given_probability", "alternative_probability"]
        with write(self._engine) as connection:
            connection.execute(label_issues.delete().where(label_issues.c.project_id == project_id))
            bulk_insert(connection, "label_issues", columns, rows)

    def labels_to_check(self, project_id: int, limit: int = 20) -> list[LabelCheck]:
        """The latest run's label issues still open, likeliest first: the item still has the label the model
        doubted, and no reviewer has set its final label since (accepting or changing it closes the issue)."""
        with read(self._engine) as connection:
            finals = votes.final_labels(connection, project_rows.load(connection, project_id))
            rows = connection.execute(LABEL_ISSUES, {"project": project_id}).all()
        found: list[LabelCheck] = []
        for row in rows:
            given = label_values.from_json(row.given)
            final = finals.get(row.item_id)
            if final is None or final.label != given or final.source in (consensus.REVIEW, consensus.GOLD):
                continue
            found.append(
                LabelCheck(
                    int(row.item_id),
                    decode(row.data),
                    given,
                    label_values.from_json(row.alternative),
                    float(row.given_probability),
                    float(row.alternative_probability),
                    int(row.run_id),
                )
            )
            if len(found) >= limit:
                break
        return found
