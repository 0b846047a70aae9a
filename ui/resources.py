"""The process's long-lived resources: the settings, the cached store, the embedded worker, the gc freeze,
and the warm-up that readies them at server start.

One of each per app process, shared by every session.
"""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import threading

import streamlit as st

from labelling import LabellingError, Store
from labelling.settings import Settings
from ui.guard import database_guard

__all__ = ["settings", "store", "warm_up"]

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The configuration, loaded once per process: Streamlit's secrets (.streamlit/secrets.toml), then the
    environment, then the defaults (`labelling.settings`). A changed secrets file takes effect on restart."""
    return Settings.load(secrets=_streamlit_secrets())


def _streamlit_secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return {}


@st.cache_resource(show_spinner=False, on_release=Store.close)
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


def warm_up() -> None:
    """What a fresh process's first page would otherwise wait for, done at server start (`server.py`): the
    imports of the pages' shared modules (with pandas, numpy and SQLAlchemy), the store's engine with its
    migration check (and the migrations, if any), and the gc freeze that the first script run would do.
    Measured with benchmarks/ui_bench.py before this: the first page of a fresh process 7.8 s, a one-button
    app's 2.4 s in the same run. A store that cannot open yet (the database down, a bad URL) is left to the
    first page, which shows why as before: the server still starts."""
    import ui  # noqa: F401 - every page imports it; loading it here is the point

    try:
        _connect(settings().database_url)
    except Exception as error:  # noqa: BLE001 - only a head start: the first page meets the same error and shows it
        # Our own errors' messages are fit to show; another's may quote the URL, password and all: its type only.
        shown = str(error) if isinstance(error, LabellingError) else type(error).__name__
        log.warning("warm-up: the store is not ready yet: %s", shown)
    _freeze_long_lived_objects()


def store() -> Store:
    """The process's one store (one engine and pool per process, shared by every session).

    With the embedded SQLite database, the first browser session also starts the retraining worker
    (unless `embedded_worker` is off: you run `python -m labelling.learning.worker` yourself).
    """
    configured = settings()
    with database_guard():
        found = _connect(configured.database_url)
    found.item_labels.media_roots = tuple(configured.media_roots)  # where box labels' images are read from
    _freeze_long_lived_objects()
    if configured.database_url.startswith("sqlite") and st.context.headers and configured.embedded_worker:
        _embedded_worker(configured.database_url)
    return found


_WORKER_LOCK = threading.Lock()
_worker: subprocess.Popen | None = None


def _embedded_worker(url: str) -> subprocess.Popen:
    """One `python -m labelling.learning.worker` process per app process (a dead one is replaced on the next
    run); it exits with the app. Only a real browser session starts it (AppTest has no request headers).

    Held here, not in `st.cache_resource`: any client, signed in or not, may send Streamlit's `clear_cache`
    message, which clears every resource cache and would stop the trainer mid-run."""
    global _worker
    with _WORKER_LOCK:
        if _worker is None or _worker.poll() is not None:
            from labelling.learning.worker import spawn_embedded  # its scikit-learn stays out of the app's imports

            _worker = spawn_embedded(url)
        return _worker
