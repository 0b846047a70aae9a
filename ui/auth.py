"""Who is signed in (invite token, admin password or local mode): sign-in, the page check, sign-out, invite links.

The token stays in the URL so a refresh keeps a labeller signed in; the admin password is `Settings.admin_password`.
An admin sign-in lasts `people.ADMIN_SESSION_SECONDS` across reloads and tabs: a signed, expiring session
(`people.admin_session`) kept in a cookie. Streamlit's `st.context.cookies` is read-only and read once per
connection, so the cookie is written by a line of JavaScript (`st.html`) and read on the next connection.
Failed passwords and invite tokens are throttled per client and overall (`labelling.throttle`) and logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from labelling import Store, people
from labelling.settings import INVITE_PARAMETER, SOURCES
from labelling.throttle import Throttle
from ui.guard import database_guard, show_lost_click
from ui.items import literal
from ui.resources import settings
from ui.uploads import permit_uploads

__all__ = [
    "PRODUCT",
    "SESSION_COOKIE",
    "THROTTLE",
    "TOKEN_RECHECK_SECONDS",
    "User",
    "current_user",
    "invite_link",
    "local_mode_banner",
    "keep_session",
    "mark_routed",
    "not_for_you",
    "page_user",
    "password_matches",
    "sidebar",
    "sign_in_page",
    "sign_out",
    "still_signed_in",
]

TOKEN_RECHECK_SECONDS = 30
"""A revoked invite stops working within this long, even in a tab that only reruns its fragment."""

_USER = "user"
_TOKEN = "token"
_TOKEN_CHECKED_AT = "token_checked_at"
_ADMIN_SESSION = "admin_session"
_SIGNED_OUT = "signed_out"
_WRITE_COOKIE = "write_session_cookie"
_SIGN_IN_PROBLEM = "sign_in_problem"
_ROUTED = "routed"

PRODUCT = "Labelling"
"""The product's name, on the sign-in page and the browser tab."""
SESSION_COOKIE = "labelling_admin_session"
THROTTLE = Throttle()
"""Failed sign-ins of this process, shared by all its sessions (a module is imported once per process)."""
log = logging.getLogger("labelling.sign_in")


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


def password_matches(given: str, expected: str) -> bool:
    """In constant time, so the time a wrong guess takes says nothing about the password."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def current_user(store: Store) -> User | None:
    """Who this session is, from the invite token in the URL, the admin sign-in, or local mode; run on every
    page run, so the session may upload files exactly while an admin is signed in (signing out, an expired
    session or a revoked link take that away at once).

    The token stays in the URL so a refresh keeps the labeller signed in; it is put back after a page
    change (Streamlit drops query parameters when the page changes).
    """
    user = _who(store)
    permit_uploads(user is not None and user.is_admin)
    return user


def _who(store: Store) -> User | None:
    state = st.session_state
    state.pop(_SIGN_IN_PROBLEM, None)
    token = st.query_params.get(INVITE_PARAMETER) or state.get(_TOKEN)
    if token:
        client = _client()
        wait = 0.0 if token == state.get(_TOKEN) else THROTTLE.wait(client)
        if wait:
            person = None
            state[_SIGN_IN_PROBLEM] = ("throttled", wait)
        else:
            with database_guard():
                person = store.people.for_token(token)
            if person is None:
                state[_SIGN_IN_PROBLEM] = ("invalid-token", _failed("invite token", client))
        if person is None:
            for key in (_USER, _TOKEN):
                state.pop(key, None)
            return None
        if st.query_params.get(INVITE_PARAMETER) != token:
            st.query_params[INVITE_PARAMETER] = token
        state[_TOKEN] = token
        state[_TOKEN_CHECKED_AT] = time.monotonic()
        user = User(person.name, person.role, "token")
    elif settings().admin_password is None:
        user = User(people.ADMIN_NAME, "admin", "local")
    elif _admin_session():
        user = User(people.ADMIN_NAME, "admin", "password")
    else:
        state.pop(_USER, None)
        return None
    state[_USER] = user
    return user


def _admin_session() -> bool:
    """This session signed in with the password, or the browser brought a valid session cookie (unless this
    session signed out since: its connection keeps the cookie it came with)."""
    state = st.session_state
    password = settings().admin_password
    session = state.get(_ADMIN_SESSION)
    if session is None and not state.get(_SIGNED_OUT):
        session = _text(st.context.cookies.get(SESSION_COOKIE))
    if session and password is not None and people.admin_session_valid(session, password, time.time()):
        state[_ADMIN_SESSION] = session
        return True
    state.pop(_ADMIN_SESSION, None)
    return False


def keep_session() -> None:
    """Write (after sign-in) or delete (after sign-out) the session cookie, once: `st.context.cookies` cannot
    set cookies, so a line of JavaScript does. The value is our own signed token, never user input."""
    value = st.session_state.pop(_WRITE_COOKIE, None)
    if value is None:
        return
    age = people.ADMIN_SESSION_SECONDS if value else 0
    st.html(
        "<script>document.cookie = " + json.dumps(f"{SESSION_COOKIE}={value}; path=/; max-age={age}; samesite=strict")
        + ' + (location.protocol === "https:" ? "; secure" : "");</script>',
        unsafe_allow_javascript=True,
    )


def _client() -> str:
    """The address throttling and the log know a client by: the connection's, or, when that is this machine
    (a reverse proxy on it, or none: Streamlit gives None for localhost), the last X-Forwarded-For entry,
    which the proxy appends."""
    address = _text(st.context.ip_address)
    forwarded = (_text(st.context.headers.get("X-Forwarded-For")) or "").split(",")[-1].strip()
    try:
        ip = ipaddress.ip_address(address) if address else None
    except ValueError:
        return address
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1
    if ip is not None and not (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
        return address
    return forwarded or "localhost"


def _text(value: Any) -> str | None:
    """A string from the connection, or None (AppTest's client gives mocks for what a browser sends)."""
    return value if isinstance(value, str) else None


def _failed(what: str, client: str) -> float:
    """Count and log a failed attempt; the seconds the client must now wait."""
    failures = THROTTLE.failed(client)
    wait = THROTTLE.wait(client)
    log.warning("failed sign-in (%s) from %s: %d failures, next try allowed in %.0f s", what, client, failures, wait)
    return wait


def _too_many(wait: float) -> str:
    return f"Too many attempts: try again in {max(1, round(wait))} s."


def signed_in() -> User | None:
    """Who this session is signed in as, once the router or `page_user` has checked (no database call)."""
    return st.session_state.get(_USER)


def mark_routed() -> None:
    """The router signed this run's user in; the page it runs need not check again."""
    st.session_state[_ROUTED] = True


def page_user(store: Store, *, admin: bool = False) -> User:
    """The signed-in user, checked at the top of every page; anyone else sees the sign-in and nothing more.

    Not only the router checks: with a `pages/` folder, Streamlit 1.67 runs a page file directly, without
    streamlit_app.py, while its process-wide `PagesManager.uses_pages_directory` flag is set (its v1
    multipage fallback: no sidebar links, no session cookie); only a call of `st.navigation` clears it. Such
    a run clears it itself, so the next run of every session goes through the router, and checks here.
    """
    state = st.session_state
    routed = state.pop(_ROUTED, False)
    if not routed:
        PagesManager.uses_pages_directory = False
    found = state.get(_USER) if routed else current_user(store)
    if found is None:
        sign_in_page()
        st.stop()
    if found.via == "local" and not routed:  # the router, which shows it otherwise, did not run
        local_mode_banner()
    if admin and not found.is_admin:
        not_for_you(("admin",))
        st.stop()
    show_lost_click()
    return found


def still_signed_in(store: Store, *, renew: bool = False) -> bool:
    """Re-check an invite token now and then, for tabs that only rerun a fragment: the answer is kept for
    TOKEN_RECHECK_SECONDS. `renew=True`, called once a click's work is on screen, re-checks from half that
    age, so a labeller who keeps clicking never has a click wait for the check."""
    state = st.session_state
    if state.get(_USER) is None:
        return False
    token = state.get(_TOKEN)
    keep = TOKEN_RECHECK_SECONDS / 2 if renew else TOKEN_RECHECK_SECONDS
    if not token or time.monotonic() - state.get(_TOKEN_CHECKED_AT, 0.0) < keep:
        return True
    if store.people.for_token(token) is None:
        state.pop(_USER, None)
        permit_uploads(False)
        return False
    state[_TOKEN_CHECKED_AT] = time.monotonic()
    return True


def not_for_you(roles: tuple[str, ...]) -> None:
    """What a page says to someone whose role may not use it (instead of Streamlit's "Page not found")."""
    who = " and ".join(f"{role}s" for role in roles)
    st.error(f"This page is for {who}.", icon=":material/block:")


def sign_in_page() -> None:
    """What someone who is not signed in sees, at whatever page address they opened (which they land on once
    signed in): a bad invite link's message, or the admin sign-in."""
    problem, wait = st.session_state.get(_SIGN_IN_PROBLEM) or (None, 0.0)
    if problem == "throttled":
        st.title("Invite link not checked")
        st.error(_too_many(wait), icon=":material/timer:")
        return
    if problem == "invalid-token":
        st.title("Invite link not valid")
        st.error(
            "This invite link is wrong or has been revoked. Ask the project's admin for a new link."
            + (f" {_too_many(wait)}" if wait else ""),
            icon=":material/link_off:",
        )
        return
    st.title("Sign in")
    st.caption(f"**{PRODUCT}**: labelling data as a team, with active learning.")
    st.info("Labellers: open the invite link your admin sent you.", icon=":material/link:")
    with st.form("admin-sign-in", clear_on_submit=True):  # a wrong password does not stay in the field
        given = st.text_input("Admin password", type="password")
        submitted = st.form_submit_button("Sign in as admin", type="primary")
    if submitted:
        _sign_in(given)


def _sign_in(given: str) -> None:
    """Check the password unless this client must wait (a right guess made while waiting is refused too)."""
    client = _client()
    wait = THROTTLE.wait(client)
    if wait:
        st.error(_too_many(wait), icon=":material/timer:")
        return
    expected = settings().admin_password
    if expected is not None and password_matches(given, expected):
        THROTTLE.succeeded(client)
        session = people.admin_session(expected, time.time())
        st.session_state.update({_ADMIN_SESSION: session, _WRITE_COOKIE: session})
        st.session_state.pop(_SIGNED_OUT, None)
        st.rerun()
    wait = _failed("admin password", client)
    st.error("Wrong password." + (f" {_too_many(wait)}" if wait else ""))


def sign_out() -> None:
    state = st.session_state
    for key in (_USER, _TOKEN, _ADMIN_SESSION, _TOKEN_CHECKED_AT):
        state.pop(key, None)
    state.update({_SIGNED_OUT: True, _WRITE_COOKIE: ""})
    st.query_params.pop(INVITE_PARAMETER, None)


def sidebar(user: User, pages: list[Any]) -> None:
    """Links to the pages this user may use, who is signed in, and a way out."""
    with st.sidebar:
        for page in pages:
            st.page_link(page)
        st.divider()
        st.caption(f"Signed in as **{literal(user.name)}** ({user.role})")
        if user.via != "local":
            st.button("Sign out", key="sign-out", on_click=sign_out, icon=":material/logout:")


def local_mode_banner() -> None:
    st.warning(
        "**Local mode**: no admin password is set, so anyone who can reach this address is admin. "
        f"Set `admin_password` in `.streamlit/secrets.toml` or the `{SOURCES['admin_password'].environment}` "
        "environment variable before sharing it.",
        icon=":material/lock_open:",
    )


def invite_link(token: str, page_url_path: str) -> str:
    """The invite link (`Settings.invite_link`, as `python -m labelling labeller add` builds it), whose base,
    without a configured `public_url`, is the address this page was opened at."""
    return settings().invite_link(token, seen_at=_page_base_url(page_url_path))


def _page_base_url(page_url_path: str) -> str | None:
    url = st.context.url
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path.rstrip("/").removesuffix("/" + page_url_path)
    return f"{parts.scheme}://{parts.netloc}{path}"
