"""The trainer lease a run holds: one training per project at a time across processes, renewed while alive."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from labelling.errors import TrainingBusy, TrainingInterrupted
from labelling.storage.runs import Runs

__all__ = ["LEASE_SECONDS", "Lease", "new_holder"]

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
"""A trainer lease lasts this long and is renewed every third of it while the run is alive."""


def new_holder() -> str:
    """Who holds a lease: host, process and a random part (two runs in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """The project's trainer lease, renewed from a thread while held; `check` raises once it was lost."""

    def __init__(self, runs: Runs, project_id: int, holder: str, seconds: float):
        self.runs, self.project_id, self.holder, self.seconds = runs, project_id, holder, seconds
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{project_id}", daemon=True)

    def __enter__(self) -> Lease:
        if not self.runs.claim_lease(self.project_id, self.holder, self.seconds):
            raise TrainingBusy(f"project {self.project_id} is being trained by another process")
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.runs.renew_lease(self.project_id, self.holder, self.seconds):
                    self._lost.set()
                    return
            except Exception as error:  # the database is away: the run itself will fail or recover
                log.warning("could not renew the trainer lease of project %s: %s", self.project_id, error)

    def check(self) -> None:
        """Raise TrainingInterrupted once the lease was lost (before the run writes anything more)."""
        if self._lost.is_set():
            raise TrainingInterrupted(f"the trainer lease of project {self.project_id} expired and was taken over")

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self.runs.release_lease(self.project_id, self.holder)
        except Exception as error:
            log.warning("could not release the trainer lease of project %s (it expires): %s", self.project_id, error)
