"""The Janus servers behind the SFU: a managed child process, or external servers.

A :class:`Backend` is one Janus server and Conclave's one Janus session on it (every
handle of every meeting placed there lives in that session). :meth:`Backend.run` starts a
managed Janus, opens the session, waits until it is lost (Janus died, restarted, or was
unreachable too long), reports the loss, and opens a new session as soon as Janus
answers again; it runs until cancelled. A managed Janus's death is known at once (its
supervisor waits on the process), not only when the session's long poll fails.
:attr:`Backend.status` is what ``/healthz`` and the admin pages show. :func:`build_backends`
makes them from the settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from conclave.config import JanusSettings
from conclave.media.janus import JanusClient, JanusSession
from conclave.media.janus_errors import JanusError, SessionLost
from conclave.media.janus_managed import (
    JanusStartError,
    JanusUnavailable,
    ManagedJanus,
    managed_binary,
)
from conclave.privacy.addresses import scrub_addresses

log = logging.getLogger("conclave.sfu")

RETRY_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)
RETRY_MAX = 5.0


def _delays() -> Iterator[float]:
    return itertools.chain(RETRY_DELAYS, itertools.repeat(RETRY_MAX))


BackendPhase = Literal["running", "starting", "restarting", "unavailable"]


@dataclass(frozen=True)
class BackendStatus:
    """One Janus as the admin pages show it: ``running`` (it has a live session),
    ``starting`` (up, or coming up, without a session yet), ``restarting`` (a managed
    Janus that died; ``next_attempt_in`` seconds until the next start, None while one is
    under way) or ``unavailable`` (an external Janus out of reach, or a managed one that
    could not start at all). ``restarts`` counts the attempts to start a managed Janus
    again."""

    label: str
    managed: bool
    phase: BackendPhase
    restarts: int = 0
    next_attempt_in: float | None = None


class Backend:
    """One Janus server. ``label`` names it in logs (``managed`` or ``janus-<n>``)."""

    def __init__(
        self,
        label: str,
        client: JanusClient | None,
        admin_key: str | None,
        *,
        managed: ManagedJanus | None = None,
    ) -> None:
        self.label = label
        self.managed = managed
        self._client = client
        self.admin_key = admin_key
        self.session: JanusSession | None = None
        self.stale_rooms: list[tuple[int, str]] = []  # (room, secret) of a lost session
        self.generation = 0  # counts the sessions; a managed Janus's own restart count
        self._gave_up = False

    @property
    def client(self) -> JanusClient:
        if self._client is None:
            raise JanusUnavailable(f"{self.label}: not started")
        return self._client

    @property
    def available(self) -> bool:
        session = self.session
        alive = session is not None and session.lost is None
        return alive and (self.managed is None or self.managed.ready)

    @property
    def status(self) -> BackendStatus:
        managed = self.managed
        if managed is None:
            phase: BackendPhase = "running" if self.available else "unavailable"
            return BackendStatus(self.label, False, phase)
        state = managed.state
        if self._gave_up:
            phase = "unavailable"
        elif state.phase == "restarting":
            phase = "restarting"
        else:
            phase = "running" if self.available else "starting"
        return BackendStatus(self.label, True, phase, state.restarts, state.next_attempt_in)

    @property
    def gave_up(self) -> bool:
        """True when this backend will not come back (a managed Janus that cannot start)."""
        return self._gave_up

    async def run(
        self,
        ready: Callable[[Backend], Awaitable[None]],
        lost: Callable[[Backend], Awaitable[None]],
    ) -> None:
        """Keep a session open on this Janus until cancelled; ``lost`` is awaited after
        every loss (before reconnecting), ``ready`` after every new session."""
        if self.managed is not None and not await self._start_managed(self.managed):
            return
        while True:
            session = await self._connect()
            if session is None:
                return
            self.session = session
            await ready(self)
            reason = await self._wait_lost(session)
            log.warning(
                "sfu lost its janus session", extra={"event": self.label, "code": reason.code}
            )
            await session.close(reason)
            await lost(self)

    async def _wait_lost(self, session: JanusSession) -> SessionLost:
        """Until the session is lost or, sooner, the managed Janus behind it died."""
        if self.managed is None:
            return await session.wait_lost()
        lost = asyncio.ensure_future(session.wait_lost())
        down = asyncio.ensure_future(self.managed.wait_down(self.generation))
        try:
            await asyncio.wait({lost, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (lost, down):
                waiter.cancel()
        if lost.done() and not lost.cancelled():
            return lost.result()
        return SessionLost(0, "the managed Janus exited")

    async def _start_managed(self, managed: ManagedJanus) -> bool:
        try:
            endpoint = await managed.start()
        except (JanusStartError, OSError) as exc:
            self._gave_up = True
            log.error("janus did not start; the SFU is off: %s", scrub_addresses(str(exc)))
            return False
        self._client = JanusClient(endpoint.url, endpoint.api_secret)
        self.admin_key = endpoint.admin_key
        return True

    async def _connect(self) -> JanusSession | None:
        delays = _delays()
        while True:
            try:
                if self.managed is not None:
                    await self.managed.wait_ready(timeout=None)
                session = await self.client.create_session()
            except JanusUnavailable as exc:
                self._gave_up = True
                log.error("janus is gone for good; the SFU is off: %s", exc)
                return None
            except JanusError as exc:
                log.info(
                    "janus not reachable yet",
                    extra={"event": self.label, "reason": type(exc).__name__},
                )
                await asyncio.sleep(next(delays))
                continue
            log.info("sfu connected to janus", extra={"event": self.label})
            if self.managed is not None:
                if self.managed.generation != self.generation:
                    self.stale_rooms.clear()  # a restarted Janus has no rooms left over
                self.generation = self.managed.generation
            else:
                self.generation += 1
            return session

    async def aclose(self) -> None:
        """Destroy the session (and its handles), close the client, stop a managed Janus."""
        session, self.session = self.session, None
        if session is not None:
            with contextlib.suppress(JanusError):
                await session.destroy()
        if self._client is not None:
            await self._client.aclose()
        if self.managed is not None:
            await self.managed.stop()


def build_backends(settings: JanusSettings, data_dir: Path) -> list[Backend]:
    """The managed Janus (when ``managed_binary`` finds one to run) and every server in
    ``settings.urls``. Raises :class:`JanusNotFound` for ``managed = "on"`` without a
    binary."""
    backends: list[Backend] = []
    binary = managed_binary(settings)
    if binary is not None:
        managed = ManagedJanus(settings, data_dir, binary=binary)
        backends.append(Backend("managed", None, None, managed=managed))
    secret = settings.api_secret.get_secret_value() if settings.api_secret else None
    admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
    for number, url in enumerate(settings.urls, start=1):
        backends.append(Backend(f"janus-{number}", JanusClient(url, secret), admin_key))
    return backends
