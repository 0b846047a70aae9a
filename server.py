"""How the app is served: `streamlit run server.py` serves `streamlit_app.py` through Streamlit's ASGI `App`
with `ui.uploads.UploadGate` in front, so only a signed-in admin's browser session can upload files.

It refuses to start in local mode (no admin password: whoever reaches the app is admin) on an address other
than loopback, unless `allow_public_local_mode` says so (`Settings.local_mode_refusal`).
Before it answers, it warms up: the app's imports, and the store's connection with its migration check, are
done once at start rather than in the first visitor's page (`ui.resources.warm_up`).
`streamlit run streamlit_app.py` still runs the app, without the gate or the warm-up: for trying it out on
one machine.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import streamlit as st
from starlette.middleware import Middleware


def _upload_gate(app: Any) -> Any:
    """Built when the server starts, once Streamlit's runtime exists: importing `ui` any earlier would bind
    its caches to a store of their own ("No runtime found")."""
    from ui.uploads import UploadGate

    return UploadGate(app)


@asynccontextmanager
async def _start(_app: st.App) -> AsyncIterator[None]:
    """Refuse public local mode, then warm up (`ui.resources.warm_up`) before the server answers."""
    from ui.resources import settings, warm_up

    refusal = settings().local_mode_refusal(st.get_option("server.address"))
    if refusal is not None:
        raise SystemExit(f"labelling: refusing to start: {refusal}")
    await asyncio.to_thread(warm_up)
    yield


app = st.App("streamlit_app.py", middleware=[Middleware(_upload_gate)], lifespan=_start)
