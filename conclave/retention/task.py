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

# The first run waits this long after start (or until ``wake``). SQLAlchemy compiles its
# statements on first use, some 0.1 s of CPU in a worker thread that would otherwise hold
# the interpreter while the server answers its first requests (issue 2:
# docs/performance.md, "bench.startup").
FIRST_RUN_DELAY = 2.0


class PurgeTask:
    """Runs a purge shortly after start (``first_delay`` seconds) and then every
    ``purge_interval_minutes`` (read before each wait, so a changed policy applies from
    the next run). ``wake`` makes the loop run again at once; ``run_once`` runs one and
    returns its report."""

    def __init__(self, retention: RetentionService, first_delay: float = FIRST_RUN_DELAY) -> None:
        self.retention = retention
        self.first_delay = first_delay
        self.runs = 0
        self.last: PurgeReport | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one run at a time
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
        """Run again soon (e.g. after the retention policy changed)."""
        self._wake.set()

    async def run_once(self) -> PurgeReport | None:
        """One run now, after any run in progress; its report (None if it failed)."""
        async with self._lock:
            try:
                self.last = await run_in_threadpool(self.retention.purge)
            except Exception as error:  # the job must outlive one failed run
                log.warning("purge failed", extra={"reason": type(error).__name__})
                self.last = None
            self.runs += 1
            return self.last

    async def _loop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.first_delay)
        while True:
            self._wake.clear()  # a wake during the run below leads to another run
            await self.run_once()
            interval = self.retention.current().purge_interval_minutes * 60.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)


async def close_stale_rooms(app: FastAPI) -> None:
    """At start, before anything else runs: no meeting room is open (a crash may have
    left marks behind)."""
    retention: RetentionService = app.state.services.retention
    await run_in_threadpool(retention.rooms.close_stale)


@asynccontextmanager
async def purge_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Application lifespan: the purge job runs (after :func:`close_stale_rooms`)."""
    retention: RetentionService = app.state.services.retention
    task = PurgeTask(retention)
    app.state.purge = task
    task.start()
    try:
        yield
    finally:
        await task.stop()
