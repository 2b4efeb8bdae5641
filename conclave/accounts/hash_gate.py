"""The argon2 gate: at most ``bound`` password hashes or checks run at once.

argon2id with the RFC 9106 parameters takes 64 MiB and a core's time per operation; a
burst of sign-ins on every worker thread at once drove the server to about 1.8 GB (issue
13). Operations beyond the bound wait up to ``wait_seconds`` for a place and are then
refused with RateLimited (HTTP 429 with Retry-After), before any memory is taken.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from conclave.errors import N_, RateLimited

BUSY = N_("The server is busy checking other passwords. Please try again in a moment.")
RETRY_AFTER = 2  # seconds: a place frees up within one argon2 operation or so


class HashGate:
    def __init__(self, bound: int, wait_seconds: float) -> None:
        if bound < 1:
            raise ValueError("the gate needs at least one place")
        self.bound = bound
        self.wait_seconds = wait_seconds
        self._places = threading.BoundedSemaphore(bound)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one place for the body, or raise RateLimited after the wait."""
        if not self._places.acquire(timeout=self.wait_seconds):
            raise RateLimited(BUSY, retry_after=RETRY_AFTER, reason="busy")
        try:
            yield
        finally:
            self._places.release()
