"""Uploads: the size limit (Streamlit's `server.maxUploadSize`) and who may upload at all (`UploadGate`).

Streamlit accepts a file for any open browser session at `/_stcore/upload_file/<session>/<file>` and keeps
it in memory until that session ends; signed in or not, its only limit is `server.maxUploadSize` per file
(four 150 MB uploads from a signed-out session took a server from 254 MB to 856 MB). Here only sessions
whose signed-in user is an admin (`permit_uploads`, from `ui.auth.current_user`) may upload; `server.py` serves the
app with `UploadGate` in front, which refuses any other session's upload before reading its body.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from labelling import InvalidInput

__all__ = ["UPLOAD_REFUSED", "UploadGate", "check_upload_size", "permit_uploads"]

BYTES_PER_MB = 1024 * 1024
UPLOAD_REFUSED = b"Only a signed-in admin may upload files.\n"

_UPLOAD_PATH = re.compile(r"/_stcore/upload_file/(?P<session>[^/]+)/[^/]+/?$")
_uploaders: set[str] = set()
"""Ids of the browser sessions that may upload: written by script threads, read by the server's loop. An
ended admin session's id stays (a few bytes; Streamlit refuses uploads to ended sessions itself)."""
_lock = threading.Lock()

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def check_upload_size(size_bytes: int, limit_mb: float | None = None) -> None:
    """Refuse a file over the upload limit (server.maxUploadSize in .streamlit/config.toml, in MB)."""
    limit_mb = st.get_option("server.maxUploadSize") if limit_mb is None else limit_mb
    if size_bytes > limit_mb * BYTES_PER_MB:
        raise InvalidInput(
            f"the file is {size_bytes / BYTES_PER_MB:,.1f} MB, over the {limit_mb:,} MB limit "
            "(server.maxUploadSize in .streamlit/config.toml)"
        )


def permit_uploads(allowed: bool) -> None:
    """Let this browser session upload files from now on, or no longer (checked on every page run)."""
    context = get_script_run_ctx()
    if context is None:
        return
    with _lock:
        if allowed:
            _uploaders.add(context.session_id)
        else:
            _uploaders.discard(context.session_id)


class UploadGate:
    """ASGI middleware: an upload (PUT) to a session `permit_uploads` has not allowed gets 403 before any of
    its body is read; everything else passes through to Streamlit."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            found = _UPLOAD_PATH.search(scope["path"])
            if found is not None:
                with _lock:
                    allowed = found["session"] in _uploaders
                if not allowed:
                    await send({"type": "http.response.start", "status": 403,
                                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                    await send({"type": "http.response.body", "body": UPLOAD_REFUSED})
                    return
        await self.app(scope, receive, send)
