"""Who is signed in (invite token, admin password or local mode): sign-in, the page check, sign-out, invite links.

The token stays in the URL so a refresh keeps a labeller signed in; the admin password is `Settings.admin_password`.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from labelling import Store, people
from labelling.settings import INVITE_PARAMETER, SOURCES
from ui.guard import database_guard, show_lost_click
from ui.items import literal
from ui.resources import settings

__all__ = [
    "TOKEN_RECHECK_SECONDS",
    "User",
    "current_user",
    "invite_link",
    "local_mode_banner",
    "mark_routed",
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
_ADMIN_SIGNED_IN = "admin_signed_in"
_SIGN_IN_PROBLEM = "sign_in_problem"
_ROUTED = "routed"


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
    """Who this session is, from the invite token in the URL, the admin sign-in, or local mode.

    The token stays in the URL so a refresh keeps the labeller signed in; it is put back after a page
    change (Streamlit drops query parameters when the page changes).
    """
    state = st.session_state
    state.pop(_SIGN_IN_PROBLEM, None)
    token = st.query_params.get(INVITE_PARAMETER) or state.get(_TOKEN)
    if token:
        with database_guard():
            person = store.people.for_token(token)
        if person is None:
            for key in (_USER, _TOKEN):
                state.pop(key, None)
            state[_SIGN_IN_PROBLEM] = "invalid-token"
            return None
        if st.query_params.get(INVITE_PARAMETER) != token:
            st.query_params[INVITE_PARAMETER] = token
        state[_TOKEN] = token
        state[_TOKEN_CHECKED_AT] = time.monotonic()
        user = User(person.name, person.role, "token")
    elif settings().admin_password is None:
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
        expected = settings().admin_password
        if expected is not None and password_matches(given, expected):
            st.session_state[_ADMIN_SIGNED_IN] = True
            st.rerun()
        st.error("Wrong password.")


def sign_out() -> None:
    state = st.session_state
    for key in (_USER, _TOKEN, _ADMIN_SIGNED_IN, _TOKEN_CHECKED_AT):
        state.pop(key, None)
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
