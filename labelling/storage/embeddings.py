"""Stored sentence embeddings: one float32 vector per item, text column and model. `Store.embeddings` is an
`Embeddings`; `labelling.learning.embedding_jobs` fills it and training reads it.

Several workers (processes or machines) split the computation through the database: `claim` hands each a
batch of items that have no vector and no live claim, writing a claim row (vector NULL, holder, expiry)
per item; `write` fills in the vectors. On PostgreSQL the candidate items are locked `FOR NO KEY UPDATE
SKIP LOCKED` while they are claimed, so two claimers take different items instead of queueing on the same
ones (labels, whose foreign keys take `KEY SHARE` locks on the items, never wait for it). The claim is an
upsert that takes a row only while it has no vector and its claim has expired, decided on the row's
latest version, so a claimer that read an older snapshot gets nothing twice. On SQLite the write
transaction's `BEGIN IMMEDIATE` serialises claimers. A worker that dies leaves claims that expire, and
the items are claimed again.

A column is named by `feature`: the item's field, or "" for an item that is itself the text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine, bindparam, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from labelling.storage.engine import clock, read, write
from labelling.storage.schema import embeddings, items

__all__ = ["CLAIM_SECONDS", "Embeddings"]

CLAIM_SECONDS = 300.0
"""A claimed batch is another worker's to take after this long (its worker died or stalled)."""
READ_BATCH_ROWS = 5_000
_FLOAT32 = np.dtype("<f4")


CANDIDATES = (
    select(items.c.id, items.c.data)
    .where(
        items.c.project_id == bindparam("project"),
        items.c.id > bindparam("after"),
        ~exists().where(
            embeddings.c.item_id == items.c.id,
            embeddings.c.feature == bindparam("feature"),
            embeddings.c.model == bindparam("model"),
            embeddings.c.vector.is_not(None) | (embeddings.c.expires_at >= clock()),
        ),
    )
    .order_by(items.c.id)
    .limit(bindparam("rows"))
    .with_for_update(skip_locked=True, key_share=True, of=items)
)
"""Items with neither the vector nor a live claim, oldest first; locked (PostgreSQL) while being claimed."""

DONE = select(func.count()).where(
    embeddings.c.project_id == bindparam("project"),
    embeddings.c.feature == bindparam("feature"),
    embeddings.c.model == bindparam("model"),
    embeddings.c.vector.is_not(None),
)
STORED_IDS = (
    select(embeddings.c.item_id)
    .where(
        embeddings.c.project_id == bindparam("project"),
        embeddings.c.feature == bindparam("feature"),
        embeddings.c.model == bindparam("model"),
        embeddings.c.vector.is_not(None),
    )
    .order_by(embeddings.c.item_id)
)
TOTAL = select(func.count()).where(items.c.project_id == bindparam("project"))
SAMPLE = select(items.c.data).where(items.c.project_id == bindparam("project")).order_by(items.c.id).limit(bindparam("rows"))


def _upsert(connection, rows: list[dict], *, holder_only: bool):
    """One statement for many rows, returning the item ids it wrote: a claim (`holder_only`) takes a row
    that has no vector and whose claim expired; a vector fills a row that has none. The condition is
    checked on the row's latest version, whatever snapshot the caller read its candidates in."""
    statement = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(embeddings).values(rows)
    changed = ("holder", "expires_at") if holder_only else ("dim", "vector", "holder", "expires_at")
    condition = embeddings.c.vector.is_(None)
    if holder_only:
        condition &= embeddings.c.expires_at < clock()
    return statement.on_conflict_do_update(
        index_elements=["item_id", "feature", "model"],
        set_={name: statement.excluded[name] for name in changed},
        where=condition,
    ).returning(embeddings.c.item_id)


class Embeddings:
    """The stored vectors and their claims in one database; `Store.embeddings` hands it out."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def claim(
        self,
        project_id: int,
        feature: str,
        model: str,
        holder: str,
        rows: int,
        seconds: float = CLAIM_SECONDS,
        after: int = -1,
    ) -> tuple[list[int], list[str]]:
        """Up to `rows` items of the project still lacking a vector for (feature, model), now claimed by
        `holder` for `seconds`: (ids, encoded data), ids ascending. Empty when none is left unclaimed.

        `after`: look past this item id first (the last one this worker claimed), so that a long run does
        not walk the done items again on every claim; the items before it are looked at when none is left
        after it (a dead worker's expired claims)."""
        params = {"project": project_id, "feature": feature, "model": model, "rows": int(rows), "after": int(after)}
        with write(self._engine) as connection:
            found = connection.execute(CANDIDATES, params).all()
            if not found and after >= 0:
                found = connection.execute(CANDIDATES, {**params, "after": -1}).all()
            if not found:
                return [], []
            claims = [
                {"item_id": row.id, "feature": feature, "model": model, "project_id": project_id, "holder": holder,
                 "expires_at": clock() + literal(float(seconds))}
                for row in found
            ]
            claimed = set(connection.execute(_upsert(connection, claims, holder_only=True)).scalars())
        kept = [row for row in found if row.id in claimed]
        return [int(row.id) for row in kept], [row.data for row in kept]

    def write(self, project_id: int, feature: str, model: str, item_ids: Sequence[int], vectors: np.ndarray) -> int:
        """Store the vectors (one row per item id) in one transaction, whoever holds the claims now. A
        vector another worker stored meanwhile is kept. Returns how many were stored."""
        array = np.ascontiguousarray(vectors, dtype=_FLOAT32)
        ids = [int(i) for i in item_ids]
        if array.ndim != 2 or len(array) != len(ids):
            raise ValueError(f"{len(ids)} item ids need an (n, dim) array of {len(ids)} rows, not shape {array.shape}")
        if not ids:
            return 0
        dim = int(array.shape[1])
        rows = [
            {"item_id": i, "feature": feature, "model": model, "project_id": project_id, "dim": dim,
             "vector": row.tobytes(), "holder": None, "expires_at": None}
            for i, row in zip(ids, array)
        ]
        with write(self._engine) as connection:
            return len(connection.execute(_upsert(connection, rows, holder_only=False)).all())

    def vectors(self, project_id: int, feature: str, model: str, item_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(float32 `(len(item_ids), dim)` vectors in the order given, which of them are stored). Rows not
        stored are NaN; with none stored at all the array has no columns."""
        ids = [int(i) for i in item_ids]
        found: dict[int, bytes] = {}
        with read(self._engine) as connection:
            for start in range(0, len(ids), READ_BATCH_ROWS):
                chunk = ids[start : start + READ_BATCH_ROWS]
                result = connection.execute(
                    select(embeddings.c.item_id, embeddings.c.vector).where(
                        embeddings.c.project_id == project_id,
                        embeddings.c.feature == feature,
                        embeddings.c.model == model,
                        embeddings.c.item_id.in_(chunk),
                        embeddings.c.vector.is_not(None),
                    )
                )
                found.update((int(row.item_id), bytes(row.vector)) for row in result)
        present = np.array([i in found for i in ids], dtype=bool)
        if not found:
            return np.zeros((len(ids), 0), dtype=np.float32), present
        blobs = [found[i] for i in ids if i in found]
        stacked = np.frombuffer(b"".join(blobs), dtype=_FLOAT32).reshape(len(blobs), -1)
        out = np.full((len(ids), stacked.shape[1]), np.nan, dtype=np.float32)
        out[present] = stacked
        return out, present

    def stored_item_ids(self, project_id: int, feature: str, model: str) -> np.ndarray:
        """Ids (int64, ascending) of the project's items with a stored vector."""
        with read(self._engine) as connection:
            ids = connection.execute(STORED_IDS, {"project": project_id, "feature": feature, "model": model}).scalars()
            return np.fromiter(ids, dtype=np.int64)

    def progress(self, project_id: int, feature: str, model: str) -> tuple[int, int]:
        """(items with the vector, items in the project)."""
        with read(self._engine) as connection:
            done = connection.execute(DONE, {"project": project_id, "feature": feature, "model": model}).scalar_one()
            total = connection.execute(TOTAL, {"project": project_id}).scalar_one()
        return int(done), int(total)

    def sample(self, project_id: int, rows: int) -> list[str]:
        """Encoded data of the project's first `rows` items: enough to tell which columns hold text."""
        with read(self._engine) as connection:
            return list(connection.execute(SAMPLE, {"project": project_id, "rows": int(rows)}).scalars())
