"""People who label: names, roles and secret invite tokens (stored hashed). No database here: the store's
`store.people` (labelling.storage.people) keeps them.

An invite token is shown once, when it is made; the database keeps only its SHA-256 hash, so a copy
of the database does not let anyone sign in. Revoking keeps the row (their labels stay attributed)
and stops the token from working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from labelling import text
from labelling.errors import InvalidInput

__all__ = [
    "ADMIN_NAME",
    "ADMIN_SESSION_SECONDS",
    "IMPORT_NAME",
    "MAX_NAME_LENGTH",
    "RESERVED_NAMES",
    "REVIEW_ROLES",
    "ROLES",
    "Person",
    "admin_session",
    "admin_session_valid",
    "check_name",
    "check_role",
    "make_token",
    "token_hash",
]

ADMIN_NAME = "admin"
"""The name the password (or local-mode) admin labels under."""
ROLES = ("admin", "reviewer", "labeller")
"""Admins see every page; reviewers label and review (set final labels); labellers only label."""
REVIEW_ROLES = ("admin", "reviewer")
TOKEN_BYTES = 32
"""Entropy of an invite token (256 bits, 43 URL-safe characters)."""
IMPORT_NAME = "import"
"""Who imported labels are recorded as (`Store.add_items(labels=...)`, `store.item_labels.write_labels`)."""
RESERVED_NAMES = frozenset({ADMIN_NAME, IMPORT_NAME})
MAX_NAME_LENGTH = 200
"""Characters in a labeller's name at most (the column's width)."""
ADMIN_SESSION_SECONDS = 12 * 3600
"""How long an admin sign-in lasts across reloads and tabs (the signed session the browser keeps)."""


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


def check_name(name: str) -> str:
    """A labeller's name, stripped; blank, over-long, not valid Unicode or with control characters refused."""
    return text.check_name(name, "labeller", MAX_NAME_LENGTH)


def check_role(role: str) -> str:
    """One of ROLES, else InvalidInput naming them."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    return role


def make_token() -> tuple[str, str]:
    """(a new invite token, its hash): the token is shown once, only the hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256, so a copy of the database signs nobody in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def admin_session(password: str, now: float, seconds: float = ADMIN_SESSION_SECONDS) -> str:
    """A signed admin session that expires `seconds` after `now` (Unix time): `expiry.nonce.signature`.

    Keyed with the admin password, so nothing else needs keeping secret and changing the password ends every
    session; the browser holds only this, never the password."""
    body = f"{int(now + seconds)}.{secrets.token_urlsafe(16)}"
    return f"{body}.{_session_signature(password, body)}"


def admin_session_valid(session: str, password: str, now: float) -> bool:
    """The session was signed with this password and has not expired (compared in constant time)."""
    if not session.isascii():
        return False
    body, _, signature = session.rpartition(".")
    expiry = body.split(".", 1)[0]
    if not expiry.isdigit() or int(expiry) <= now:
        return False
    return hmac.compare_digest(signature, _session_signature(password, body))


def _session_signature(password: str, body: str) -> str:
    key = hashlib.sha256(b"labelling admin session\0" + password.encode("utf-8")).digest()
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()
