"""Whether the database takes writes: :class:`WriteHealth` remembers when a write last
failed because the disk (or the database) was full, for ``/healthz``.

A full disk does not fail every write (an update in place may need no new space), so one
write that went through says little; a failure says the disk is full. The state is
"full" for :data:`FULL_WINDOW` seconds after the last such failure."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("conclave.store")

FULL_WINDOW = 60.0  # seconds that /healthz says "full" after a write failed for want of space
SQLITE_FULL = 13  # "database or disk is full"
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def storage_full(error: DBAPIError) -> bool:
    """True when the database refused a write for want of space: SQLite's SQLITE_FULL
    (a full disk, or ``max_page_count`` reached) or PostgreSQL's SQLSTATE 53100."""
    driver = error.orig
    code = getattr(driver, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == SQLITE_FULL:
        return True
    state = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)
    return state == POSTGRES_DISK_FULL


class WriteHealth:
    def __init__(
        self, window: float = FULL_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def failed(self, transaction: str) -> None:
        """A write failed for want of space; logged once per window."""
        now = self._clock()
        with self._lock:
            first = self._failed_at is None or now - self._failed_at >= self.window
            self._failed_at = now
        if first:
            log.error("the database is full: writes fail", extra={"transaction": transaction})

    @property
    def full(self) -> bool:
        failed_at = self._failed_at
        return failed_at is not None and self._clock() - failed_at < self.window
