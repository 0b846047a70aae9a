"""People who label: invited labellers, their secret invite tokens (stored hashed) and revocation.

An invite token is shown once, when it is made; the database keeps only its SHA-256 hash, so a copy
of the database does not let anyone sign in. Revoking keeps the row (their labels stay attributed)
and stops the token from working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from labelling.storage.engine import clock, read, write
from labelling.errors import InvalidInput, LabellingError
from labelling.storage.queue import check_name
from labelling.storage.schema import annotations, labellers as labellers_table

if TYPE_CHECKING:  # people sits below the store: it only uses the store's engine
    from labelling.storage.store import Store

__all__ = [
    "ADMIN_NAME",
    "REVIEW_ROLES",
    "ROLES",
    "DuplicateLabeller",
    "LabellerNotFound",
    "Person",
    "add_labeller",
    "label_counts",
    "labeller_for_token",
    "labellers",
    "new_token",
    "revoke",
    "set_role",
]

ADMIN_NAME = "admin"
"""The name the password (or local-mode) admin labels under."""
ROLES = ("admin", "reviewer", "labeller")
"""Admins see every page; reviewers label and review (set final labels); labellers only label."""
REVIEW_ROLES = ("admin", "reviewer")
TOKEN_BYTES = 32
"""Entropy of an invite token (256 bits, 43 URL-safe characters)."""
IMPORT_NAME = "import"
"""Who `Store.add_items(labels=...)` records imported labels as (labelling.storage.store.IMPORT_LABELLER)."""
RESERVED_NAMES = frozenset({ADMIN_NAME, IMPORT_NAME})


class DuplicateLabeller(LabellingError):
    """Someone with this name exists already; names are unique because labels are recorded by name."""


class LabellerNotFound(LabellingError, LookupError):
    """Nobody with this name."""


@dataclass(frozen=True)
class Person:
    """One row of the labellers table; `invited` is False for names that only ever labelled from a script."""

    id: int
    name: str
    role: str
    invited: bool
    created_at: float
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.invited and self.revoked_at is None


def add_labeller(store: Store, name: str, role: str = "labeller") -> tuple[Person, str]:
    """A new person with an invite token; returns the person and the token (shown once, stored hashed)."""
    name = check_name(name)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    if name in RESERVED_NAMES:
        raise InvalidInput(f"the name {name!r} is reserved: choose another")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with write(store.engine) as connection:
        if connection.execute(select(labellers_table.c.id).where(labellers_table.c.name == name)).first():
            raise DuplicateLabeller(f"a labeller named {name!r} exists already: choose another name")
        connection.execute(
            labellers_table.insert().values(name=name, role=role, token_hash=_hash(token), created_at=clock())
        )
        person = _person_named(connection, name)
    return person, token


def new_token(store: Store, name: str) -> str:
    """A fresh invite token for `name` (re-admits a revoked person); the old link stops working."""
    name = check_name(name)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with write(store.engine) as connection:
        person = _person_named(connection, name)
        if person.name in RESERVED_NAMES:
            raise InvalidInput(f"{name!r} cannot sign in with an invite link")
        connection.execute(
            labellers_table.update()
            .where(labellers_table.c.id == person.id)
            .values(token_hash=_hash(token), revoked_at=None)
        )
    return token


def revoke(store: Store, name: str) -> Person:
    """Stop `name`'s invite link from working; their labels are kept."""
    name = check_name(name)
    with write(store.engine) as connection:
        person = _person_named(connection, name)
        if not person.invited:
            raise InvalidInput(f"{name!r} has no invite link to revoke")
        if person.revoked_at is None:
            connection.execute(
                labellers_table.update().where(labellers_table.c.id == person.id).values(revoked_at=clock())
            )
        return _person_named(connection, name)


def set_role(store: Store, name: str, role: str) -> Person:
    """Change someone's role (e.g. make a labeller a reviewer); the admin account stays admin."""
    name = check_name(name)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    with write(store.engine) as connection:
        person = _person_named(connection, name)
        if person.name in RESERVED_NAMES:
            raise InvalidInput(f"the role of {name!r} cannot be changed")
        connection.execute(labellers_table.update().where(labellers_table.c.id == person.id).values(role=role))
        return _person_named(connection, name)


def labeller_for_token(store: Store, token: str | None) -> Person | None:
    """The person an invite token signs in, or None for a wrong, revoked or missing token."""
    if not isinstance(token, str) or not token.strip():
        return None
    with read(store.engine) as connection:
        row = connection.execute(
            select(labellers_table).where(labellers_table.c.token_hash == _hash(token.strip()))
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    return _person(row)


def labellers(store: Store) -> list[Person]:
    """Everyone who can or could sign in or has labelled, by name; the import pseudo-labeller is left out."""
    with read(store.engine) as connection:
        rows = connection.execute(
            select(labellers_table)
            .where(labellers_table.c.name != IMPORT_NAME)
            .order_by(labellers_table.c.name)
        ).all()
    return [_person(row) for row in rows]


def label_counts(store: Store) -> dict[str, int]:
    """Current labels per person, across all projects."""
    with read(store.engine) as connection:
        rows = connection.execute(
            select(labellers_table.c.name, func.count())
            .join(annotations, annotations.c.labeller_id == labellers_table.c.id)
            .where(annotations.c.is_current, annotations.c.source == "label")
            .group_by(labellers_table.c.name)
        ).all()
    return {name: int(count) for name, count in rows}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _person_named(connection, name: str) -> Person:
    row = connection.execute(select(labellers_table).where(labellers_table.c.name == name)).first()
    if row is None:
        raise LabellerNotFound(f"no labeller named {name!r}")
    return _person(row)


def _person(row) -> Person:
    return Person(
        id=row.id,
        name=row.name,
        role="admin" if row.name == ADMIN_NAME else row.role,
        invited=row.token_hash is not None,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
