"""Meetings ended for everyone: the end written down (it outlives the room and a restart)
and audited in the background, and a start again by the organiser that waits for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi.concurrency import run_in_threadpool

from conclave.audit import events as audit_events
from conclave.services import Services

log = logging.getLogger("conclave.signaling")


class Endings:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._writing: dict[str, asyncio.Task[None]] = {}  # meeting -> its end being written

    def being_written(self, meeting_id: str) -> bool:
        """Ended a moment ago: the database may not say so yet."""
        return meeting_id in self._writing

    def record(self, meeting_id: str, by: int | None) -> None:
        """On the event loop: write the end and audit it, in the background."""

        async def write() -> None:
            try:
                await run_in_threadpool(self.services.meetings.mark_ended, meeting_id)
                await run_in_threadpool(
                    lambda: self.services.audit.record(
                        audit_events.MEETING_ENDED,
                        actor_id=by,
                        client=None,
                        details={"meeting": meeting_id},
                    )
                )
            finally:
                if self._writing.get(meeting_id) is task:
                    del self._writing[meeting_id]

        task = asyncio.get_running_loop().create_task(write())
        self._writing[meeting_id] = task

    async def reopen(self, meeting_id: str) -> None:
        """The organiser joins an ended meeting: it starts again, after any end still being
        written, so that the end cannot land after the start."""
        pending = self._writing.pop(meeting_id, None)
        if pending is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)
        await run_in_threadpool(self.services.meetings.reopen, meeting_id)
        log.info("meeting started again", extra={"event": "reopen"})
