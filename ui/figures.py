"""The cached figures: progress counts, annotations and agreement, a few seconds old at most, shared by all sessions.

Cached so that a click on the Label page or a view of the Progress page never recounts a whole project.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from labelling import Progress, Project, Store
from labelling.io import writable
from labelling.quality.agreement import Agreement
from ui.resources import settings

__all__ = [
    "EXPORT_CHECK_TTL_SECONDS", "PROGRESS_TTL_SECONDS", "STATS_TTL_SECONDS", "agreement", "annotations",
    "export_refusals", "progress", "refresh_figures",
]

PROGRESS_TTL_SECONDS = 5
"""The label page's progress bar may lag this much; it is never recomputed per click."""
STATS_TTL_SECONDS = 10
"""The Progress page's charts and agreement figures may lag this much."""
EXPORT_CHECK_TTL_SECONDS = 60
"""The Export page's check of the files for other tools is redone at least this often."""


@st.cache_data(ttl=PROGRESS_TTL_SECONDS, show_spinner=False)
def _progress(_store: Store, database: str, project_id: int, per_labeller: bool) -> Progress:
    return _store.progress(project_id, per_labeller=per_labeller)


def progress(store: Store, project_id: int, *, per_labeller: bool = True, fresh: bool = False) -> Progress:
    """Project counts; the Label page's bar asks without the per-labeller figures, and `fresh` where a stale
    count would look wrong."""
    if fresh:
        _progress.clear()
    return _progress(store, settings().database_url, project_id, per_labeller)


@st.cache_data(ttl=STATS_TTL_SECONDS, show_spinner=False)
def _annotations(_store: Store, database: str, project_id: int, labeller: str | None) -> pd.DataFrame:
    return _store.annotations(project_id, labeller=labeller)


def annotations(store: Store, project_id: int, labeller: str | None = None) -> pd.DataFrame:
    """Every annotation of a project, or of one labeller (the Progress page's charts)."""
    return _annotations(store, settings().database_url, project_id, labeller)


@st.cache_data(ttl=STATS_TTL_SECONDS, show_spinner=False)
def _agreement(_store: Store, database: str, project_id: int) -> Agreement:
    return _store.agreement(project_id)


def agreement(store: Store, project_id: int) -> Agreement:
    """Agreement between labellers and accuracy on gold items (the Progress page's quality section)."""
    return _agreement(store, settings().database_url, project_id)


@st.cache_data(ttl=EXPORT_CHECK_TTL_SECONDS, show_spinner=False)
def _export_refusals(_store: Store, database: str, project_id: int, labels: tuple, counts: tuple) -> dict[str, str]:
    return writable.refusals(_store.project(project_id), _store.export(project_id))


def export_refusals(store: Store, project: Project) -> dict[str, str]:
    """labelling.io.writable.refusals of the project's final labels (the Export page's disabled formats): read
    again when its label set or counts (items, complete, labels given) change, else once a minute at most, for
    reading every label takes seconds on a large project and the page reruns on every click."""
    found = progress(store, project.id)
    counts = (found.total, found.complete, found.in_progress, found.annotations)
    return _export_refusals(store, settings().database_url, project.id, project.labels, counts)


def refresh_figures() -> None:
    """Forget every cached figure: the next view counts afresh (after a review, or on request)."""
    for cached in (_progress, _annotations, _agreement, _export_refusals):
        cached.clear()
