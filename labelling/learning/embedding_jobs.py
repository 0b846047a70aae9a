"""The worker's embedding step: compute the sentence embeddings a project's text columns still lack.

    jobs = EmbeddingJobs(store, holder)
    while jobs.work(store.projects()):   # True while work is left: call again after the training checks
        ...

A project gets vectors when its training settings read text with embeddings ("auto" or "embeddings"),
it has text columns and the model's packages are installed. Items are claimed a batch at a time through
`Store.embeddings`, so any number of workers on any number of machines split a project between them; each
vector is computed once and kept, and rows added later are picked up by the next call. `work` stops
after SLICE_SECONDS so the worker goes back to its training schedule (a run meanwhile reads TF-IDF), and
pauses between batches so that it works `duty_cycle` of the time, on the one thread the model uses
(`embeddings.THREADS`): labelling keeps the rest of the machine.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence

from labelling.io.serialisation import decode
from labelling.learning import embeddings, features, text_features
from labelling.learning.training_settings import training_settings
from labelling.records import Project
from labelling.settings import WORKER_DUTY_CYCLE
from labelling.storage.embeddings import CLAIM_SECONDS
from labelling.storage.store import Store

__all__ = ["BATCH_ROWS", "SLICE_SECONDS", "EmbeddingJobs"]

log = logging.getLogger(__name__)

BATCH_ROWS = 128
"""Items claimed, encoded and stored together: two of the model's batches, sorted by length between them."""
SLICE_SECONDS = 5.0
"""`work` returns after about this long, so a due training run waits at most this for the worker."""
PAUSE_SLICE_SECONDS = 0.25


class EmbeddingJobs:
    """One worker's share of the embedding work, across calls of `work`."""

    def __init__(
        self,
        store: Store,
        holder: str,
        *,
        duty_cycle: float = WORKER_DUTY_CYCLE,
        slice_seconds: float = SLICE_SECONDS,
        batch_rows: int = BATCH_ROWS,
        claim_seconds: float = CLAIM_SECONDS,
    ):
        self.store = store
        self.holder = holder
        self.duty_cycle = min(max(float(duty_cycle), 0.05), 1.0)
        self.slice_seconds = slice_seconds
        self.batch_rows = batch_rows
        self.claim_seconds = claim_seconds
        self.computed = 0
        """Vectors this worker computed and stored."""
        self._columns: dict[int, tuple[str, list[features.Column]]] = {}
        self._last: dict[tuple[int, str, str], int] = {}
        """(project, column, model) -> the last item id this worker claimed: the next claim looks past it."""
        self._failed: dict[tuple[int, str], str] = {}
        """(project, model) -> the error its model raised: not tried again by this worker."""

    def work(self, projects: Sequence[Project], alive: Callable[[], bool] = lambda: True) -> bool:
        """Embed pending items of `projects` for up to `slice_seconds`; True if work may be left."""
        deadline = time.monotonic() + self.slice_seconds
        for project in projects:
            for key, model in self._pending(project):
                while alive():
                    if time.monotonic() >= deadline:
                        return True
                    if not self._batch(project, key, model, alive):
                        break
        return False

    def _pending(self, project: Project) -> list[tuple[str, str]]:
        """(column, model) pairs of the project that still lack vectors, where this worker can compute them."""
        settings = training_settings(project)
        model = settings.embedding_model
        if settings.text_features == "tfidf" or not embeddings.available(model) or (project.id, model) in self._failed:
            return []
        state = text_features.status(self.store, project, self._project_columns(project), settings)
        if state.total == 0 or state.done >= state.total:
            return []
        return [(key, model) for key in state.features]

    def _project_columns(self, project: Project) -> list[features.Column]:
        """The project's columns, re-read from its items only when its settings change or it had none."""
        version = json.dumps(project.settings, sort_keys=True)
        cached = self._columns.get(project.id)
        if cached is None or cached[0] != version or not cached[1]:
            cached = (version, text_features.project_columns(self.store, project))
            self._columns[project.id] = cached
        return cached[1]

    def _batch(self, project: Project, key: str, model: str, alive: Callable[[], bool]) -> bool:
        """Claim, encode and store one batch; False when nothing is left to claim (or the model fails)."""
        started = time.monotonic()
        claims = self.store.embeddings
        job = (project.id, key, model)
        ids, data = claims.claim(
            project.id, key, model, self.holder, self.batch_rows, self.claim_seconds, self._last.get(job, -1)
        )
        if not ids:
            return False
        self._last[job] = ids[-1]
        texts = [features.text_of(_cell(decode(value), key)) for value in data]
        try:
            vectors = embeddings.encode(texts, model=model)
        except Exception as error:  # a model the deployer named that does not load: leave its claims to expire
            self._failed[(project.id, model)] = str(error)
            log.warning("project %s: embedding model %s failed: %s", project.id, model, error)
            return False
        self.computed += claims.write(project.id, key, model, ids, vectors)
        self._pause(time.monotonic() - started, alive)
        return True

    def _pause(self, worked: float, alive: Callable[[], bool]) -> None:
        """Rest so that the work since the last rest is `duty_cycle` of the time."""
        until = time.monotonic() + worked * (1.0 / self.duty_cycle - 1.0)
        while alive() and time.monotonic() < until:
            time.sleep(max(0.0, min(PAUSE_SLICE_SECONDS, until - time.monotonic())))


def _cell(value: object, key: str) -> object:
    """The text of one column of a decoded item ("" names the item itself)."""
    if not key:
        return value
    return value.get(key) if isinstance(value, dict) else None
