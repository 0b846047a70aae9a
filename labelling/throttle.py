"""Sign-in throttling: after a few failed attempts a client, and after many failures from anywhere every client,
waits before the next try, twice as long after each further failure.

One `Throttle` holds its counts in memory behind a lock, so every session of one process shares them (the
Streamlit side keeps one per process). Several app processes each keep their own counts: an attacker spread
over N processes gets N times the attempts (docs/hosting.md, "Security model").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Throttle"]


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


class Throttle:
    """Failed attempts per client and overall, with exponential backoff once the free attempts are used.

    A client's count is forgotten `forget_seconds` after its last failure (and at once on success); the
    overall count the same way. The wait before the next try is `base_seconds * 2**(failures - free)`, at
    most `max_seconds` (per client) or `max_global_seconds` (overall, shorter: it also locks out the rightful
    user, so it only slows a spread-out attack down)."""

    def __init__(
        self,
        *,
        free_per_client: int = 5,
        free_global: int = 100,
        base_seconds: float = 1.0,
        max_seconds: float = 300.0,
        max_global_seconds: float = 30.0,
        forget_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._free = free_per_client
        self._free_global = free_global
        self._base = base_seconds
        self._max = max_seconds
        self._max_global = max_global_seconds
        self._forget = forget_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, _Failures] = {}
        self._global = _Failures()

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again (0: now). Check it before checking the secret, so that a right
        guess made while waiting is refused like a wrong one."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            mine = self._clients.get(client, _Failures())
            return max(
                self._remaining(mine, self._free, self._max, now),
                self._remaining(self._global, self._free_global, self._max_global, now),
            )

    def failed(self, client: str) -> int:
        """Count a failed attempt by `client`; returns that client's failures so far (for the log)."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            mine = self._clients.setdefault(client, _Failures())
            for failures in (mine, self._global):
                failures.count += 1
                failures.last = now
            return mine.count

    def succeeded(self, client: str) -> None:
        """The client got in: its own count starts afresh (the overall count stays)."""
        with self._lock:
            self._clients.pop(client, None)

    def _remaining(self, failures: _Failures, free: int, cap: float, now: float) -> float:
        if failures.count < free:
            return 0.0
        delay = min(cap, self._base * 2 ** min(failures.count - free, 32))
        return max(0.0, failures.last + delay - now)

    def _expire(self, now: float) -> None:
        stale = [client for client, failures in self._clients.items() if now - failures.last > self._forget]
        for client in stale:
            del self._clients[client]
        if now - self._global.last > self._forget:
            self._global = _Failures()
