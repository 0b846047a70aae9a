"""The labellers table as the People page and the command line see it: invite, revoke, roles, sign-in.

`Store.people` hands out one `People`; each method is one short transaction. Names, roles, tokens and
the `Person` record are defined in labelling.people, which holds no SQL.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select

from labelling.errors import DuplicateLabeller, InvalidInput, LabellerNotFound
from labelling.people import (
    ADMIN_NAME,
    IMPORT_NAME,
    RESERVED_NAMES,
    Person,
    check_name,
    check_role,
    make_token,
    token_hash,
)
from labelling.storage.engine import clock, read, write
from labelling.storage.schema import annotations, labellers

__all__ = ["People"]


class People:
    """Labellers, their roles and invite tokens, on one engine."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def add(self, name: str, role: str = "labeller") -> tuple[Person, str]:
        """A new person with an invite token; returns the person and the token (shown once, stored hashed)."""
        name, role = check_name(name), check_role(role)
        if name in RESERVED_NAMES:
            raise InvalidInput(f"the name {name!r} is reserved: choose another")
        token, hashed = make_token()
        with write(self._engine) as connection:
            if connection.execute(select(labellers.c.id).where(labellers.c.name == name)).first():
                raise DuplicateLabeller(f"a labeller named {name!r} exists already: choose another name")
            connection.execute(labellers.insert().values(name=name, role=role, token_hash=hashed, created_at=clock()))
            return _named(connection, name), token

    def new_token(self, name: str) -> str:
        """A fresh invite token for `name` (re-admits a revoked person); the old link stops working."""
        name = check_name(name)
        token, hashed = make_token()
        with write(self._engine) as connection:
            person = _named(connection, name)
            if person.name in RESERVED_NAMES:
                raise InvalidInput(f"{name!r} cannot sign in with an invite link")
            connection.execute(
                labellers.update().where(labellers.c.id == person.id).values(token_hash=hashed, revoked_at=None)
            )
        return token

    def revoke(self, name: str) -> Person:
        """Stop `name`'s invite link from working; their labels are kept."""
        name = check_name(name)
        with write(self._engine) as connection:
            person = _named(connection, name)
            if not person.invited:
                raise InvalidInput(f"{name!r} has no invite link to revoke")
            if person.revoked_at is None:
                connection.execute(labellers.update().where(labellers.c.id == person.id).values(revoked_at=clock()))
            return _named(connection, name)

    def set_role(self, name: str, role: str) -> Person:
        """Change someone's role (e.g. make a labeller a reviewer); the admin account stays admin."""
        name, role = check_name(name), check_role(role)
        with write(self._engine) as connection:
            person = _named(connection, name)
            if person.name in RESERVED_NAMES:
                raise InvalidInput(f"the role of {name!r} cannot be changed")
            connection.execute(labellers.update().where(labellers.c.id == person.id).values(role=role))
            return _named(connection, name)

    def for_token(self, token: str | None) -> Person | None:
        """The person an invite token signs in, or None for a wrong, revoked or missing token."""
        if not isinstance(token, str) or not token.strip():
            return None
        with read(self._engine) as connection:
            row = connection.execute(select(labellers).where(labellers.c.token_hash == token_hash(token.strip()))).first()
        if row is None or row.revoked_at is not None:
            return None
        return _person(row)

    def all(self) -> list[Person]:
        """Everyone who can or could sign in or has labelled, by name; the import pseudo-labeller is left out."""
        with read(self._engine) as connection:
            rows = connection.execute(
                select(labellers).where(labellers.c.name != IMPORT_NAME).order_by(labellers.c.name)
            ).all()
        return [_person(row) for row in rows]

    def label_counts(self) -> dict[str, int]:
        """Current labels per person, across all projects."""
        with read(self._engine) as connection:
            rows = connection.execute(
                select(labellers.c.name, func.count())
                .join(annotations, annotations.c.labeller_id == labellers.c.id)
                .where(annotations.c.is_current, annotations.c.source == "label")
                .group_by(labellers.c.name)
            ).all()
        return {name: int(count) for name, count in rows}


def _named(connection: Connection, name: str) -> Person:
    row = connection.execute(select(labellers).where(labellers.c.name == name)).first()
    if row is None:
        raise LabellerNotFound(f"no labeller named {name!r}")
    return _person(row)


def _person(row) -> Person:
    return Person(
        id=row.id,
        name=row.name,
        role=ADMIN_NAME if row.name == ADMIN_NAME else row.role,
        invited=row.token_hash is not None,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
