"""Stored sentence embeddings: one float32 vector per item, text column and model. `Store.embeddings` is an
`Embeddings`; `labelling.learning.embedding_jobs` fills it and training reads it.

Several workers (processes or machines) split the computation through the database: `claim` hands each a
batch of items still lacking a vector that nobody else holds, with an expiry. On PostgreSQL the candidate
items are locked `FOR NO KEY UPDATE SKIP LOCKED` while the claim is written, so two claimers take
different items instead of queueing on the same ones (and labels, whose foreign keys take `KEY SHARE`
locks on the items, never wait for it); the claim rows are upserted only where no live claim exists, so
even a claimer that read an older snapshot gets nothing twice. On SQLite the write transaction's
`BEGIN IMMEDIATE` serialises claimers. A worker that dies leaves claims that expire, and the items are
claimed again. `write` stores a batch and drops its claims in one transaction.

A column is named by `feature`: the item's field, or "" for an item that is itself the text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Engine, bindparam, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from labelling.storage.engine import clock, read, write
from labelling.storage.schema import embedding_claims, embeddings, items

__all__ = ["CLAIM_SECONDS", "Embeddings"]

CLAIM_SECONDS = 300.0
"""A claimed batch is another worker's to take after this long (its worker died or stalled)."""
READ_BATCH_ROWS = 5_000
_FLOAT32 = np.dtype("<f4")


def _same_vector(table, item_column=items.c.id):
    return (
        (table.c.item_id == item_column)
        & (table.c.feature == bindparam("feature"))
        & (table.c.model == bindparam("model"))
    )


CANDIDATES = (
    select(items.c.id, items.c.data)
    .where(
        items.c.project_id == bindparam("project"),
        ~exists().where(_same_vector(embeddings)),
        ~exists().where(_same_vector(embedding_claims), embedding_claims.c.expires_at >= clock()),
    )
    .order_by(items.c.id)
    .limit(bindparam("rows"))
    .with_for_update(skip_locked=True, key_share=True, of=items)
)
"""Items lacking the vector that no live claim holds, oldest first; locked (PostgreSQL) while being claimed."""

DONE = select(func.count()).where(
    embeddings.c.project_id == bindparam("project"),
    embeddings.c.feature == bindparam("feature"),
    embeddings.c.model == bindparam("model"),
)
TOTAL = select(func.count()).where(items.c.project_id == bindparam("project"))
SAMPLE = select(items.c.data).where(items.c.project_id == bindparam("project")).order_by(items.c.id).limit(bindparam("rows"))


class Embeddings:
    """The stored vectors and their claims in one database; `Store.embeddings` hands it out."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def claim(
        self, project_id: int, feature: str, model: str, holder: str, rows: int, seconds: float = CLAIM_SECONDS
    ) -> tuple[list[int], list[str]]:
        """Up to `rows` items of the project still lacking a vector for (feature, model), now claimed by
        `holder` for `seconds`: (ids, encoded data), ids ascending. Empty when none is left unclaimed."""
        params = {"project": project_id, "feature": feature, "model": model, "rows": int(rows)}
        with write(self._engine) as connection:
            found = connection.execute(CANDIDATES, params).all()
            if not found:
                return [], []
            insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(embedding_claims)
            expires = clock() + literal(float(seconds))
            statement = insert.values(
                [
                    {"item_id": row.id, "feature": feature, "model": model, "project_id": project_id,
                     "holder": holder, "expires_at": expires}
                    for row in found
                ]
            )
            statement = statement.on_conflict_do_update(
                index_elements=["item_id", "feature", "model"],
                set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
                where=embedding_claims.c.expires_at < clock(),
            ).returning(embedding_claims.c.item_id)
            claimed = set(connection.execute(statement).scalars())
        kept = [row for row in found if row.id in claimed]
        return [int(row.id) for row in kept], [row.data for row in kept]

    def write(
        self, project_id: int, feature: str, model: str, holder: str, item_ids: Sequence[int], vectors: np.ndarray
    ) -> int:
        """Store the vectors (one row per item id) and drop `holder`'s claims on them, in one transaction.
        A vector another worker stored meanwhile is kept. Returns how many were stored."""
        array = np.ascontiguousarray(vectors, dtype=_FLOAT32)
        ids = [int(i) for i in item_ids]
        if array.ndim != 2 or len(array) != len(ids):
            raise ValueError(f"{len(ids)} item ids need an (n, dim) array of {len(ids)} rows, not shape {array.shape}")
        if not ids:
            return 0
        dim = int(array.shape[1])
        with write(self._engine) as connection:
            insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(embeddings)
            stored = connection.execute(
                insert.on_conflict_do_nothing(index_elements=["item_id", "feature", "model"]),
                [
                    {"item_id": i, "feature": feature, "model": model, "project_id": project_id, "dim": dim,
                     "vector": row.tobytes()}
                    for i, row in zip(ids, array)
                ],
            ).rowcount
            for start in range(0, len(ids), READ_BATCH_ROWS):
                connection.execute(
                    embedding_claims.delete().where(
                        embedding_claims.c.item_id.in_(ids[start : start + READ_BATCH_ROWS]),
                        embedding_claims.c.feature == feature,
                        embedding_claims.c.model == model,
                        embedding_claims.c.holder == holder,
                    )
                )
        return int(stored)

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
