"""Streamlit-side helpers shared by the pages: the store, sign-in, the project picker, item display and
the upload limit. The CSV setup steps themselves are `labelling.io.csv_import`, shared with the command line.

Nothing in `labelling/` imports this module; it only calls `labelling`'s public functions.
"""

from __future__ import annotations

import functools
import gc
import hmac
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from labelling import DuplicateProject, InvalidInput, Progress, Project, Store, people
from labelling.io import demo
from labelling.storage.engine import DEFAULT_URL as DEFAULT_DATABASE_URL
from labelling.storage.engine import resolve_url
from labelling.storage.store import DEFAULT_LEASE_SECONDS

ADMIN_PASSWORD_ENV = "LABELLING_ADMIN_PASSWORD"
PUBLIC_URL_ENV = "LABELLING_PUBLIC_URL"
LEASE_SECONDS_ENV = "LABELLING_LEASE_SECONDS"
PROGRESS_TTL_SECONDS = 5
"""The label page's progress bar may lag this much; it is never recomputed per click."""
STATS_TTL_SECONDS = 10
TOKEN_RECHECK_SECONDS = 30
"""A revoked invite stops working within this long, even in a tab that only reruns its fragment."""
IMAGE_PIXELS = 200
"""Small arrays (an 8x8 digit) are scaled up, nearest neighbour, to about this many pixels a side."""
DEFAULT_BASE_URL = "http://localhost:8501"
NO_COLUMN = "(none)"
"""The Setup page's choice for 'no column of existing labels'."""

_USER = "user"
_TOKEN = "token"
_TOKEN_CHECKED_AT = "token_checked_at"
_ADMIN_SIGNED_IN = "admin_signed_in"
_SIGN_IN_PROBLEM = "sign_in_problem"
_PROJECT = "project_id"
_PROJECT_PICKER = "project_picker"
_ROUTED = "routed"
_CLICK_FAILED = "database_click_failed"


# The store


def secret(key: str) -> str | None:
    """A value from .streamlit/secrets.toml, or None when there is no such file or key."""
    try:
        value = st.secrets.get(key)
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return None
    return str(value) if value not in (None, "") else None


def database_url() -> str:
    return resolve_url(secret("database_url"))


@st.cache_resource(show_spinner=False)
def _connect(url: str) -> Store:
    return Store.connect(url)


_FROZEN_AT_MODULES = 0


def _freeze_long_lived_objects() -> None:
    """Leave the objects alive now (modules, the engine) out of later garbage collections; again only when
    more modules were loaded since (a page importing altair), so a few times per process.

    Streamlit runs a full collection after every script and fragment run (`runner.postScriptGC`). With
    pandas, SQLAlchemy and Alembic loaded that walked ~200k objects, 150-300 ms on 2 cores with the GIL
    held, and the next item's text often waited behind it. Collected first, so no garbage is frozen.
    """
    global _FROZEN_AT_MODULES
    if len(sys.modules) > _FROZEN_AT_MODULES:
        _FROZEN_AT_MODULES = len(sys.modules)
        gc.collect()
        gc.freeze()


def store() -> Store:
    """The process's one store (one engine and pool per process, shared by every session).

    With the embedded SQLite database, the first browser session also starts the retraining worker.
    """
    url = database_url()
    with database_guard():
        found = _connect(url)
    _freeze_long_lived_objects()
    if url.startswith("sqlite") and st.context.headers and os.environ.get(EMBEDDED_WORKER_ENV, "1") != "0":
        _embedded_worker(url)
    return found


EMBEDDED_WORKER_ENV = "LABELLING_EMBEDDED_WORKER"
"""Set to 0 to run no worker from the app (e.g. you run `python -m labelling.learning.worker` yourself)."""
WORKER_STOP_SECONDS = 10


def _stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()


@st.cache_resource(show_spinner=False, validate=lambda process: process.poll() is None, on_release=_stop_worker)
def _embedded_worker(url: str) -> subprocess.Popen:
    """One `python -m labelling.learning.worker` process per app process (a dead one is replaced on the next run);
    it exits with the app. Only a real browser session starts it (AppTest has no request headers)."""
    from labelling.learning.worker import spawn_embedded  # the worker's scikit-learn stays out of the app's imports

    return spawn_embedded(url)


@st.cache_data(ttl=PROGRESS_TTL_SECONDS, show_spinner=False)
def _progress(_store: Store, database: str, project_id: int, per_labeller: bool) -> Progress:
    return _store.progress(project_id, per_labeller=per_labeller)


def progress(store: Store, project_id: int, *, per_labeller: bool = True, fresh: bool = False) -> Progress:
    """Project counts, cached a few seconds per project and shared by all sessions; the Label page's bar
    asks without the per-labeller figures, and `fresh` where a stale count would look wrong."""
    if fresh:
        _progress.clear()
    return _progress(store, str(store.engine.url), project_id, per_labeller)


@st.cache_data(ttl=STATS_TTL_SECONDS, show_spinner=False)
def _annotations(_store: Store, database: str, project_id: int) -> pd.DataFrame:
    return _store.annotations(project_id)


def annotations(store: Store, project_id: int) -> pd.DataFrame:
    """Every annotation of a project (the Progress page's charts), cached a few seconds."""
    return _annotations(store, str(store.engine.url), project_id)


def refresh_figures() -> None:
    _progress.clear()
    _annotations.clear()


def lease_seconds() -> float:
    """How long an item handed to a labeller stays theirs: the `lease_seconds` secret or
    $LABELLING_LEASE_SECONDS, else the library's default (DEFAULT_LEASE_SECONDS)."""
    configured = secret("lease_seconds") or os.environ.get(LEASE_SECONDS_ENV)
    if configured is None:
        return float(DEFAULT_LEASE_SECONDS)
    try:
        value = float(configured)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value) or value <= 0:
        raise InvalidInput(f"lease_seconds must be a positive number of seconds, not {configured!r}")
    return value


# When the database is away (a restart, a failover): a clear message and a retry, never a traceback

DATABASE_DOWN = (
    "The database is not reachable right now (it may be restarting). Nothing saved is lost: "
    "try again in a moment."
)
CLICK_NOT_SAVED = (
    "The database did not answer, so your last click may not have been saved. "
    "If the same item comes back, choose again."
)


def database_unreachable(error: BaseException) -> bool:
    """A refused or lost database connection, as opposed to a refused query (a bug, shown as usual)."""
    return isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def database_down() -> None:
    """The message shown instead of a traceback, with a button that runs the page (or fragment) again."""
    st.error(DATABASE_DOWN, icon=":material/cloud_off:")
    st.button("Try again", key="database-retry", type="primary", icon=":material/refresh:")


@contextmanager
def database_guard() -> Iterator[None]:
    """Around store calls in a page or fragment: an unreachable database ends this run with the message.

    The router runs every page inside one, and the pages still guard their own store calls: on a fresh
    process's first runs Streamlit runs a page file without the router (see `page_user`), and a fragment's
    own reruns run only the fragment.
    """
    try:
        yield
    except DBAPIError as error:
        if not database_unreachable(error):
            raise
        database_down()
        st.stop()


def guarded(callback: Callable[..., Any]) -> Callable[..., Any]:
    """For `on_click`/`on_change` callbacks: an unreachable database leaves a notice for the run that
    follows (`page_user` shows it; a callback cannot draw on the page) instead of a traceback."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except DBAPIError as error:
            if not database_unreachable(error):
                raise
            st.session_state[_CLICK_FAILED] = True
            return None

    return run


# Who is signed in


@dataclass(frozen=True)
class User:
    name: str
    """The name labels are recorded under."""
    role: str
    via: str
    """"token" (invite link), "password" (admin password) or "local" (no admin password configured)."""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def admin_password() -> str | None:
    return secret("admin_password") or os.environ.get(ADMIN_PASSWORD_ENV) or None


def password_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def current_user(store: Store) -> User | None:
    """Who this session is, from the invite token in the URL, the admin sign-in, or local mode.

    The token stays in the URL so a refresh keeps the labeller signed in; it is put back after a page
    change (Streamlit drops query parameters when the page changes).
    """
    state = st.session_state
    state.pop(_SIGN_IN_PROBLEM, None)
    token = st.query_params.get(_TOKEN) or state.get(_TOKEN)
    if token:
        with database_guard():
            person = store.people.for_token(token)
        if person is None:
            for key in (_USER, _TOKEN):
                state.pop(key, None)
            state[_SIGN_IN_PROBLEM] = "invalid-token"
            return None
        if st.query_params.get(_TOKEN) != token:
            st.query_params[_TOKEN] = token
        state[_TOKEN] = token
        state[_TOKEN_CHECKED_AT] = time.monotonic()
        user = User(person.name, person.role, "token")
    elif admin_password() is None:
        user = User(people.ADMIN_NAME, "admin", "local")
    elif state.get(_ADMIN_SIGNED_IN):
        user = User(people.ADMIN_NAME, "admin", "password")
    else:
        state.pop(_USER, None)
        return None
    state[_USER] = user
    return user


def mark_routed() -> None:
    """The router signed this run's user in; the page it runs need not check again."""
    st.session_state[_ROUTED] = True


def page_user(store: Store, *, admin: bool = False) -> User:
    """The signed-in user, checked at the top of every page; anyone else sees the sign-in and nothing more.

    Not only the router checks: with a `pages/` folder, Streamlit 1.67 runs a page file directly, without
    streamlit_app.py, on the runs before any session of a fresh process has run the router (its v1
    multipage fallback), so a page must not assume the router ran.
    """
    state = st.session_state
    routed = state.pop(_ROUTED, False)
    found = state.get(_USER) if routed else current_user(store)
    if found is None:
        sign_in_page()
        st.stop()
    if admin and not found.is_admin:
        st.error("This page is for admins.", icon=":material/block:")
        st.stop()
    if state.pop(_CLICK_FAILED, False):
        st.warning(CLICK_NOT_SAVED, icon=":material/cloud_off:")
    return found


def still_signed_in(store: Store) -> bool:
    """Re-check an invite token now and then, for tabs that only rerun a fragment."""
    state = st.session_state
    if state.get(_USER) is None:
        return False
    token = state.get(_TOKEN)
    if not token or time.monotonic() - state.get(_TOKEN_CHECKED_AT, 0.0) < TOKEN_RECHECK_SECONDS:
        return True
    if store.people.for_token(token) is None:
        state.pop(_USER, None)
        return False
    state[_TOKEN_CHECKED_AT] = time.monotonic()
    return True


def sign_in_page() -> None:
    """What someone who is not signed in sees: a bad invite link's message, or the admin sign-in."""
    if st.session_state.get(_SIGN_IN_PROBLEM) == "invalid-token":
        st.title("Invite link not valid")
        st.error(
            "This invite link is wrong or has been revoked. Ask the project's admin for a new link.",
            icon=":material/link_off:",
        )
        return
    st.title("Sign in")
    st.info("Labellers: open the invite link your admin sent you.", icon=":material/link:")
    with st.form("admin-sign-in"):
        given = st.text_input("Admin password", type="password")
        submitted = st.form_submit_button("Sign in as admin", type="primary")
    if submitted:
        expected = admin_password()
        if expected is not None and password_matches(given, expected):
            st.session_state[_ADMIN_SIGNED_IN] = True
            st.rerun()
        st.error("Wrong password.")


def sign_out() -> None:
    state = st.session_state
    for key in (_USER, _TOKEN, _ADMIN_SIGNED_IN, _TOKEN_CHECKED_AT):
        state.pop(key, None)
    st.query_params.pop(_TOKEN, None)


def sidebar(user: User, pages: list[Any]) -> None:
    """Links to the pages this user may use, who is signed in, and a way out."""
    with st.sidebar:
        for page in pages:
            st.page_link(page)
        st.divider()
        st.caption(f"Signed in as **{literal(user.name)}** ({user.role})")
        if user.via != "local":
            st.button("Sign out", key="sign-out", on_click=sign_out, icon=":material/logout:")


def demo_on_first_start(store: Store) -> None:
    """Nothing configured (no database URL anywhere, so the embedded SQLite file) and no project yet: make
    the product-reviews demo, so that a first `streamlit run` has something to label at once."""
    if database_url() != DEFAULT_DATABASE_URL or store.projects():
        return
    try:
        demo.create_reviews_demo(store)
    except DuplicateProject:  # another session of this first start made it a moment ago
        pass


def local_mode_banner() -> None:
    st.warning(
        "**Local mode**: no admin password is set, so anyone who can reach this address is admin. "
        f"Set `admin_password` in `.streamlit/secrets.toml` or the `{ADMIN_PASSWORD_ENV}` environment "
        "variable before sharing it.",
        icon=":material/lock_open:",
    )


def invite_link(token: str, page_url_path: str) -> str:
    """`<base>/?token=...`: the base is the `public_url` secret or $LABELLING_PUBLIC_URL, else the address
    this page was opened at (`python -m labelling labeller add` builds the same link)."""
    base = secret("public_url") or os.environ.get(PUBLIC_URL_ENV) or _page_base_url(page_url_path) or DEFAULT_BASE_URL
    return f"{base.rstrip('/')}/?{_TOKEN}={token}"


def _page_base_url(page_url_path: str) -> str | None:
    url = st.context.url
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path.rstrip("/").removesuffix("/" + page_url_path)
    return f"{parts.scheme}://{parts.netloc}{path}"


# Projects


def project_picker(store: Store) -> Project | None:
    """The project this session works on, chosen in the sidebar when there are several."""
    with database_guard():
        projects = store.projects()
    if not projects:
        return None
    by_id = {p.id: p for p in projects}
    chosen = st.session_state.get(_PROJECT)
    if chosen not in by_id:
        chosen = projects[-1].id
        st.session_state[_PROJECT] = chosen
        st.session_state.pop(_PROJECT_PICKER, None)
    if len(projects) > 1:
        ids = list(by_id)
        st.sidebar.selectbox(
            "Project",
            ids,
            index=ids.index(chosen),
            format_func=lambda i: by_id[i].name,
            key=_PROJECT_PICKER,
            on_change=_picked,
        )
        chosen = st.session_state.get(_PROJECT_PICKER, chosen)
    return by_id[chosen]


def _picked() -> None:
    st.session_state[_PROJECT] = st.session_state[_PROJECT_PICKER]


def select_project(project_id: int) -> None:
    st.session_state[_PROJECT] = project_id
    st.session_state.pop(_PROJECT_PICKER, None)


# Showing an item


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def literal(text: Any) -> str:
    """Text that st.markdown shows as typed: every markdown, HTML and directive character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def show_item(data: Any, settings: dict[str, Any]) -> None:
    """One item as the project's settings say: text as plain text (never HTML), an image, or a table."""
    display = settings.get("display") or _guess_display(data)
    if display == "image":
        value = data.get(settings.get("image_column")) if isinstance(data, dict) else data
        show_image(value)
    elif display == "table":
        row = data if isinstance(data, dict) else {"value": data}
        columns = settings.get("table_columns") or list(row)
        table = pd.DataFrame({"field": columns, "value": [_cell(row.get(c)) for c in columns]})
        st.dataframe(table, hide_index=True, width="stretch")
    else:
        value = data.get(settings.get("text_column")) if isinstance(data, dict) else data
        st.text("" if value is None else str(value))


def _guess_display(data: Any) -> str:
    if isinstance(data, np.ndarray):
        return "image"
    if isinstance(data, dict):
        return "table"
    return "text"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def show_image(value: Any) -> None:
    if isinstance(value, str):
        if value.startswith(("http://", "https://")) or Path(value).is_file():
            st.image(value, width=IMAGE_PIXELS * 2)
        else:
            st.warning(f"Image not found: {value}")
        return
    try:
        st.image(image_array(value))
    except InvalidInput as error:
        st.warning(str(error))


def image_array(value: Any, pixels: int = IMAGE_PIXELS) -> np.ndarray:
    """A 2-d (grey) or 3-d (RGB/RGBA) array as floats in 0..1, scaled up nearest-neighbour to ~`pixels`."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput(f"cannot show a {type(value).__name__} as an image") from None
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)) or array.size == 0:
        raise InvalidInput(f"cannot show an array of shape {array.shape} as an image")
    array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = array.min(), array.max()
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    scale = max(1, pixels // max(array.shape[:2]))
    return array.repeat(scale, axis=0).repeat(scale, axis=1)


def label_shortcuts(labels: tuple[str, ...]) -> list[str | None]:
    """Keyboard shortcuts: a label that is one digit gets its own digit; otherwise 1-9 then 0 by position."""
    if all(len(label) == 1 and label.isdigit() for label in labels):
        return list(labels)
    keys = [str(i) for i in range(1, 10)] + ["0"]
    return [keys[i] if i < len(keys) else None for i in range(len(labels))]


# Uploads


def check_upload_size(size_bytes: int, limit_mb: float | None = None) -> None:
    """Refuse a file over the upload limit (server.maxUploadSize in .streamlit/config.toml, in MB)."""
    limit_mb = st.get_option("server.maxUploadSize") if limit_mb is None else limit_mb
    if size_bytes > limit_mb * 1024 * 1024:
        raise InvalidInput(
            f"the file is {size_bytes / 1024 / 1024:,.1f} MB, over the {limit_mb:,} MB limit "
            "(server.maxUploadSize in .streamlit/config.toml)"
        )
