"""The one configuration of the app, the command line and the worker: a frozen `Settings`, loaded once per
process from, in this order, a command-line flag, `.streamlit/secrets.toml`, the environment, the default.

The app passes Streamlit's own secrets (the same file, as Streamlit finds it); the command line and the
worker read `.streamlit/secrets.toml` in the working directory, so all three use the same database
wherever they are started. `SOURCES` names every key and variable read; nothing else reads them.
"""

from __future__ import annotations

import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labelling.errors import InvalidInput
from labelling.io.media import default_media_roots
from labelling.storage.engine import DEFAULT_URL, resolve_url, shown_url
from labelling.storage.store import DEFAULT_LEASE_SECONDS

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "WORKER_DUTY_CYCLE",
    "WORKER_NICENESS",
    "INVITE_PARAMETER",
    "SECRETS_FILE",
    "SOURCES",
    "Settings",
    "Source",
    "parse_media_roots",
    "read_secrets_file",
]

SECRETS_FILE = Path(".streamlit") / "secrets.toml"
DEFAULT_PUBLIC_URL = "http://localhost:8501"
"""The invite links' address when none is configured and no browser told us the one it used (the CLI)."""
WORKER_NICENESS = 10
"""The worker runs at a low CPU priority, so labellers' clicks come first (not the lowest: on a busy
machine a niceness of 19 starved a 100k-item retrain past a minute). 0 keeps the parent's priority."""
WORKER_DUTY_CYCLE = 0.5
"""A run pauses between pages and batches as long as it worked: the database serves labellers meanwhile.
1 is full speed (the tests)."""
INVITE_PARAMETER = "token"
"""The query parameter of an invite link that carries the labeller's token."""


@dataclass(frozen=True)
class Source:
    """Where one setting may be given: its secrets.toml key (None: environment only) and variable."""

    secret: str | None
    environment: str
    separator: str = ","
    """Joins a TOML list given in secrets.toml into the one string the setting's parser reads."""


SOURCES: dict[str, Source] = {
    "database_url": Source("database_url", "DATABASE_URL"),
    "admin_password": Source("admin_password", "LABELLING_ADMIN_PASSWORD"),
    "public_url": Source("public_url", "LABELLING_PUBLIC_URL"),
    "lease_seconds": Source("lease_seconds", "LABELLING_LEASE_SECONDS"),
    "embedded_worker": Source(None, "LABELLING_EMBEDDED_WORKER"),
    "media_roots": Source("media_roots", "LABELLING_MEDIA_ROOTS", os.pathsep),
    "allow_private_urls": Source("allow_private_urls", "LABELLING_ALLOW_PRIVATE_URLS"),
    "model_dir": Source(None, "LABELLING_MODEL_DIR"),
    "worker_niceness": Source(None, "LABELLING_WORKER_NICENESS"),
    "worker_duty_cycle": Source(None, "LABELLING_WORKER_DUTY_CYCLE"),
    "models": Source("models", "LABELLING_MODELS"),
    "allow_public_local_mode": Source("allow_public_local_mode", "LABELLING_ALLOW_PUBLIC_LOCAL_MODE"),
}


@dataclass(frozen=True, repr=False)
class Settings:
    """What the processes are configured with; `Settings.load` fills it, nothing changes it afterwards."""

    database_url: str = DEFAULT_URL
    """A SQLAlchemy URL; postgres:// and postgresql:// are written for the installed driver (psycopg2)."""
    admin_password: str | None = None
    """None: local mode, whoever reaches the app is admin."""
    public_url: str | None = None
    """The address labellers open, for invite links; None: the address the admin's browser used."""
    lease_seconds: float = float(DEFAULT_LEASE_SECONDS)
    """How long an item handed to a labeller stays theirs before the queue may hand it to someone else."""
    embedded_worker: bool = True
    """With the SQLite database, the app starts the retraining worker itself (0 in the environment: off)."""
    model_dir: str | None = None
    """Where models and fetched images are kept; None: `models/` beside the SQLite file, else in the working
    directory (labelling.learning.model_files)."""
    worker_niceness: int = WORKER_NICENESS
    worker_duty_cycle: float = WORKER_DUTY_CYCLE
    models: tuple[tuple[str, str], ...] = ()
    """Models of your own offered on the Train page: (name, `package.module:factory`) pairs, from
    `name=package.module:factory, ...` (labelling.learning.registry; installed packages register too)."""
    allow_public_local_mode: bool = False
    """Serve local mode (no admin password: everyone is admin) on a public address all the same."""
    media_roots: tuple[Path, ...] = field(default_factory=default_media_roots)
    """The folders image paths may point into (labelling.io.media); default: the working directory. A CSV
    naming a file elsewhere is refused at import, and the page and the worker never read one."""
    allow_private_urls: bool = False
    """Let the worker fetch image URLs at loopback, private, link-local (cloud metadata) and other
    non-public addresses (labelling.learning.fetch); for images on an internal server."""

    @classmethod
    def load(
        cls,
        flags: Mapping[str, Any] | None = None,
        *,
        secrets: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Each setting from the first of: `flags` (command-line values, None where not given), `secrets`
        (default: `.streamlit/secrets.toml` in the working directory), `environ` (default: os.environ),
        the default. A value that cannot be right (a negative lease) is refused here, at start-up."""
        flags = flags or {}
        secrets = read_secrets_file() if secrets is None else secrets
        environ = os.environ if environ is None else environ

        def given(name: str) -> str | None:
            source = SOURCES[name]
            for value in (flags.get(name), secrets.get(source.secret) if source.secret else None):
                if isinstance(value, (list, tuple)):  # a TOML list
                    value = source.separator.join(map(str, value))
                if value not in (None, ""):
                    return str(value)
            return environ.get(source.environment) or None

        raw = {name: given(name) for name in SOURCES}
        parsed = {name: _PARSERS.get(name, str)(value) for name, value in raw.items() if value is not None}
        return cls(**{**parsed, "database_url": resolve_url(raw["database_url"] or DEFAULT_URL)})

    def invite_link(self, token: str, seen_at: str | None = None) -> str:
        """`<base>/?token=...`, the one link the People page and `labeller add` hand out: the base is
        `public_url`, else `seen_at` (the address the admin's browser used), else DEFAULT_PUBLIC_URL."""
        base = self.public_url or seen_at or DEFAULT_PUBLIC_URL
        return f"{base.rstrip('/')}/?{INVITE_PARAMETER}={token}"

    def local_mode_refusal(self, address: str | None) -> str | None:
        """Why the app must not serve on `address` (Streamlit's `server.address`), or None. Without an admin
        password whoever reaches the app is admin, so an address other than loopback needs the admin
        password or `allow_public_local_mode`. None (nobody set it) counts as public: Streamlit then listens
        on every interface."""
        if self.admin_password is not None or self.allow_public_local_mode:
            return None
        address = address or "every address of this machine"
        try:
            if ipaddress.ip_address(address).is_loopback:
                return None
        except ValueError:
            if address == "localhost":
                return None
        admin, allow = SOURCES["admin_password"], SOURCES["allow_public_local_mode"]
        return (
            f"no admin password is set, so whoever reaches {address} would be admin (local mode). Set "
            f"{admin.environment} (or {admin.secret} in {SECRETS_FILE}), or {allow.environment}=1 to serve "
            "local mode on this address all the same."
        )

    def __repr__(self) -> str:
        """Without the secrets: the admin password left out, the database password hidden."""
        shown = {name: getattr(self, name) for name in SOURCES if name != "admin_password"}
        shown["database_url"] = shown_url(self.database_url)
        return f"Settings({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


def parse_media_roots(value: str) -> tuple[Path, ...]:
    """Folders separated by os.pathsep (':' on Linux, as in $PATH), each made absolute with links resolved."""
    return tuple(Path(part.strip()).expanduser().resolve() for part in value.split(os.pathsep) if part.strip())


def read_secrets_file(path: Path = SECRETS_FILE) -> dict[str, Any]:
    """The app's .streamlit/secrets.toml in the working directory, or {} when there is none."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"{path} is not valid TOML: {error}") from None


def _number_in(above: float, at_most: float, meaning: str) -> Callable[[str], float]:
    """A parser of a finite number greater than `above` and at most `at_most`; `meaning` says what it must be."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (above < number <= at_most and math.isfinite(number)):
            raise InvalidInput(f"{meaning}, not {value!r}")
        return number

    return parse


_seconds = _number_in(0.0, math.inf, "lease_seconds must be a positive number of seconds")


def _switch(value: str) -> bool:
    return value.strip() != "0"


def _yes(value: str) -> bool:
    """An opt-in: only an explicit yes turns it on ("false" must not)."""
    word = value.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"expected 1/true/yes or 0/false/no, not {value!r}")


def _niceness(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"the worker's niceness must be a whole number, not {value!r}") from None


_duty_cycle = _number_in(0.0, 1.0, "the worker's duty cycle is a share of the time, above 0 and at most 1")


def _models(value: str) -> tuple[tuple[str, str], ...]:
    """`name=package.module:factory, ...` (a bare `package.module:factory` is named by itself)."""
    found = []
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, _, spec = entry.rpartition("=")
        name, spec = name.strip() or spec.strip(), spec.strip()
        if spec.count(":") != 1 or not all(spec.split(":")):
            raise InvalidInput(f"models: each entry is name=package.module:factory, not {entry!r}")
        found.append((name, spec))
    return tuple(found)


_PARSERS: dict[str, Callable[[str], Any]] = {
    "lease_seconds": _seconds,
    "embedded_worker": _switch,
    "worker_niceness": _niceness,
    "worker_duty_cycle": _duty_cycle,
    "models": _models,
    "allow_public_local_mode": _yes,
    "media_roots": parse_media_roots,
    "allow_private_urls": _yes,
}
