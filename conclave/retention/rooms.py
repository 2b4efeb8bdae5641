"""Which meeting rooms are in use: the purge job never deletes a running meeting.

The signaling hub reports when a room gets its first connection and when it empties.
The live set is exact inside the server; the database marks (``room_open_since``,
``room_closed_at``) let ``conclave purge`` in another process see the same, and tell
when an unscheduled meeting was last used. The hub runs on the event loop, so the
database writes go to a worker thread; they carry their own timestamps and are written
conditionally, so their order does not matter.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from conclave.clock import Clock
from conclave.store import retention
from conclave.store.db import Database

log = logging.getLogger("conclave.retention")


class RoomActivity:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.live: set[str] = set()
        self._pending: set[asyncio.Future[None]] = set()

    def opened(self, meeting_id: str) -> None:
        self.live.add(meeting_id)
        self._write(retention.room_opened, meeting_id, self.clock())

    def closed(self, meeting_id: str) -> None:
        self.live.discard(meeting_id)
        self._write(retention.room_closed, meeting_id, self.clock())

    def close_stale(self) -> int:
        """At server start: no room is open, whatever a crash left in the database."""
        with self.db.transaction("close_stale_rooms") as tx:
            return retention.close_stale_rooms(tx, self.clock())

    async def settled(self) -> None:
        """Wait for the database writes scheduled so far (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _write(self, mark: Callable[..., None], meeting_id: str, at: datetime) -> None:
        def work() -> None:
            with self.db.transaction("room_activity") as tx:
                mark(tx, meeting_id, at)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a synchronous caller): write now
            work()
            return
        future = loop.run_in_executor(None, work)
        self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[None]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("room activity not saved", extra={"reason": "database error"})
