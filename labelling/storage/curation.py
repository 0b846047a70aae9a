"""Review work over many items at once: search a project's items by text or by one column's value, and accept
the labellers' majority in bulk for items whose agreement passes a threshold. `Store.curation` hands out one
`Curation`; the Review page uses both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select

from labelling.errors import InvalidInput
from labelling.io import labels as label_values
from labelling.io.serialisation import decode
from labelling.quality import consensus
from labelling.records import Project
from labelling.storage import projects as project_rows
from labelling.storage import votes as project_votes
from labelling.storage.engine import clock, read, write
from labelling.storage.access import require_member
from labelling.storage.exports import READ_BATCH
from labelling.storage.overlap import LOCK_PROJECT
from labelling.storage.review import (
    ReviewItem,
    agreement_share,
    check_reviewer,
    review_cards,
)
from labelling.storage.schema import items, reviews
from labelling.text import check_unicode

__all__ = ["MAX_QUERY", "SEARCH_LIMIT", "Curation"]

SEARCH_LIMIT = 20
"""Hits a search returns by default."""
MAX_QUERY = 200
"""Characters a search may have."""


class Curation:
    """Search and bulk review over every project, on one engine; each method is one transaction."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def search(
        self, project_id: int, text: str, column: str | None = None, limit: int = SEARCH_LIMIT
    ) -> tuple[list[ReviewItem], bool]:
        """Items whose value contains `text` (any cell, or `column`'s only), case-insensitively, in id order, as
        Review cards (votes, final label) that open to set a final label; and whether more items match.

        The database narrows the rows by the stored text first (ASCII letters match in either case; other
        letters as typed), then each candidate's decoded value is checked, so a column name or an escape never
        counts as a hit."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("type something to search for")
        needle = check_unicode(text.strip(), "the search")
        if len(needle) > MAX_QUERY:
            raise InvalidInput(f"a search is at most {MAX_QUERY} characters")
        stored = label_values.to_json(needle)[1:-1]  # as the item text is stored: JSON-escaped
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            candidates = connection.execution_options(yield_per=READ_BATCH).execute(
                select(items.c.id, items.c.data)
                .where(items.c.project_id == project.id, items.c.data.icontains(stored, autoescape=True))
                .order_by(items.c.id)
            )
            hits: list[int] = []
            more = False
            for item_id, data in candidates:
                if _matches(decode(data), needle.casefold(), column):
                    if len(hits) == max(int(limit), 0):
                        more = True
                        break
                    hits.append(item_id)
            candidates.close()
            votes = project_votes.current_votes(connection, project.id)
            finals = project_votes.final_labels(connection, project, votes)
            shares = {i: agreement_share(project, list(votes.get(i, {}).values())) for i in hits}
            return review_cards(connection, hits, votes, finals, shares), more

    def columns(self, project_id: int) -> list[str]:
        """The names of the project's item columns (its first item's), for a search in one column; none for
        items that are plain values."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            first = connection.execute(
                select(items.c.data).where(items.c.project_id == project.id).order_by(items.c.id).limit(1)
            ).scalar()
        value = None if first is None else decode(first)
        return [str(k) for k in value] if isinstance(value, dict) else []

    def majority_to_accept(self, project_id: int, min_agreement: float, min_labels: int = 2) -> int:
        """How many items `accept_majority` would settle now with these thresholds (the page's preview)."""
        with read(self._engine) as connection:
            project = project_rows.load(connection, project_id)
            return len(_acceptable(connection, project, min_agreement, min_labels))

    def accept_majority(self, project_id: int, reviewer: str, min_agreement: float, min_labels: int = 2) -> int:
        """Make the majority the reviewed final label of every item not reviewed yet, not gold and not tied,
        with at least `min_labels` labels of which at least `min_agreement` (0..1) agree. One transaction,
        one review row per item (as `Store.adjudicate` records one), so each stays in the history and a
        reviewer can still change it. Returns how many items were accepted. The project's reviews wait for it
        (an adjudication or send-back in between would otherwise act on the labels it read)."""
        with write(self._engine) as connection:
            project = project_rows.load_open(connection, project_id)
            me = require_member(connection, project, check_reviewer(connection, reviewer))
            connection.execute(LOCK_PROJECT, {"project": project.id})
            accepted = _acceptable(connection, project, min_agreement, min_labels)
            rows = [
                {"project_id": project.id, "item_id": item_id, "reviewer_id": me.id, "action": "adjudicate",
                 "label": label_values.to_json(label), "is_current": True}
                for item_id, label in accepted.items()
            ]
            if rows:
                connection.execute(reviews.insert().values(created_at=clock()), rows)
            return len(rows)


def _acceptable(connection: Connection, project: Project, min_agreement: float, min_labels: int) -> dict[int, Any]:
    """{item id: majority label} of the items `accept_majority` settles (see there)."""
    if not 0 <= float(min_agreement) <= 1:
        raise InvalidInput(f"the agreement threshold is a share from 0 to 1 (got {min_agreement!r})")
    if int(min_labels) < 1:
        raise InvalidInput(f"at least one label is needed to accept a majority (got {min_labels!r})")
    votes = project_votes.current_votes(connection, project.id)
    finals = project_votes.final_labels(connection, project, votes)
    return {
        item_id: finals[item_id].label
        for item_id, by_labeller in votes.items()
        if finals[item_id].source == consensus.MAJORITY
        and len(by_labeller) >= int(min_labels)
        and agreement_share(project, list(by_labeller.values())) >= float(min_agreement) - 1e-9
    }


def _matches(value: Any, needle: str, column: str | None) -> bool:
    """Whether the item's text (a cell's, or `column`'s when given) contains `needle` (casefolded)."""
    if isinstance(value, dict):
        cells = [value.get(column)] if column is not None else list(value.values())
    else:
        cells = [value] if column is None else []
    return any(isinstance(c, (str, int, float)) and needle in str(c).casefold() for c in cells)
