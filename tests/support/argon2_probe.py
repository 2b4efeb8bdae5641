"""An instrumented argon2 hasher: argon2-cffi's own ``PasswordHasher`` at its cheapest
cost, counting the operations that really run and how many run at the same time.

``hold()`` keeps every operation that starts inside until ``release()`` (bounded by
``HOLD_LIMIT``), so a test can see how many a burst lets in at once without timing."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher, profiles

HOLD_LIMIT = 20.0  # seconds; a held operation never waits longer than this


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        cheapest = profiles.CHEAPEST
        super().__init__(
            time_cost=cheapest.time_cost,
            memory_cost=cheapest.memory_cost,
            parallelism=cheapest.parallelism,
            hash_len=cheapest.hash_len,
            salt_len=cheapest.salt_len,
            type=cheapest.type,
        )
        self._changed = threading.Condition()
        self._open = threading.Event()
        self._open.set()
        self.calls = 0
        self.running = 0
        self.peak = 0

    def reset(self) -> None:
        with self._changed:
            self.calls = self.peak = 0

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_running(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` operations are inside at once."""
        with self._changed:
            return self._changed.wait_for(lambda: self.running >= count, timeout)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self._enter()
        try:
            return super().hash(password, salt=salt)
        finally:
            self._leave()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._enter()
        try:
            return super().verify(hash, password)
        finally:
            self._leave()

    def _enter(self) -> None:
        with self._changed:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
            self._changed.notify_all()
        self._open.wait(HOLD_LIMIT)

    def _leave(self) -> None:
        with self._changed:
            self.running -= 1
            self._changed.notify_all()
