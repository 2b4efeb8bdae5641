"""Sliding-window failure counters for logins and meeting passwords.

Kept in memory: a restart forgets them, which only ever helps a legitimate user. The
keys are hashed client-address prefixes and account names, never full addresses.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from conclave.errors import RateLimited

MAX_KEYS = 100_000


class Throttle:
    """Allows ``limit`` failures per key within ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        message: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.message = message
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def check(self, *keys: str) -> None:
        """Raise RateLimited if any key is over its limit."""
        now = self._clock()
        wait = max((self._wait(key, now) for key in keys), default=0.0)
        if wait > 0:
            raise RateLimited(self.message, retry_after=int(wait) + 1, reason="throttled")

    def fail(self, *keys: str) -> None:
        now = self._clock()
        if len(self._failures) >= MAX_KEYS:
            self._prune(now)
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> float:
        failures = self._failures.get(key)
        if not failures:
            return 0.0
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            return 0.0
        return failures[0] + self.window - now

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window]:
            del self._failures[key]
