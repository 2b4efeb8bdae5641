"""The purge job inside the server: a background task started with the application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from conclave.retention.service import PurgeReport, RetentionService

log = logging.getLogger("conclave.retention")


class PurgeTask:
    """Runs a purge at start and then every ``purge_interval_minutes`` (read before each
    wait, so a changed policy applies from the next run). ``wake`` runs one at once."""

    def __init__(self, retention: RetentionService) -> None:
        self.retention = retention
        self.runs = 0
        self.last: PurgeReport | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.retention.rooms.settled()

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                self.last = await run_in_threadpool(self.retention.purge)
            except Exception as error:  # the job must outlive one failed run
                log.warning("purge failed", extra={"reason": type(error).__name__})
            self.runs += 1
            interval = self.retention.current().purge_interval_minutes * 60.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)


@asynccontextmanager
async def purge_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Application lifespan: no meeting room is open at start; the purge job runs."""
    retention: RetentionService = app.state.services.retention
    await run_in_threadpool(retention.rooms.close_stale)
    task = PurgeTask(retention)
    app.state.purge = task
    task.start()
    try:
        yield
    finally:
        await task.stop()
