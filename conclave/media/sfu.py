"""The SFU as the signaling hub sees it: meetings and participants, never Janus.

Every method takes Conclave ids: the meeting id and the participant id (``pid``) that the
hub has admitted and verified. Janus's room ids, feed ids, handles, the room secret and
PIN stay inside :mod:`conclave.media.sfu_rooms`; browsers never see them. Because every
call is keyed by the caller's own (meeting, pid), a browser cannot send SDP or candidates
to a handle it does not own, and cannot subscribe to a feed of another meeting: each
meeting has its own Janus room with its own secret and PIN, and a subscription only ever
lists the feeds of the caller's own room.

Flow (see docs/architecture.md, "SFU"):

- ``publish(meeting, pid, offer)`` returns Janus's answer. The first call creates the
  meeting's room (``require_e2ee``) on the least-loaded Janus, and registers the pid as a
  subscriber too. A later offer from the same RTCPeerConnection (same ``o=`` session id)
  renegotiates (new tracks, ICE restart); one from a new connection replaces the old.
- When a publisher's PeerConnection is up, every other participant's subscription grows by
  its streams: the listener gets ``subscriber_offer(meeting, pid, sdp, streams)``, and the
  browser answers with ``subscriber_answer``. One offer per subscriber at a time.
- ``ensure_subscriber`` registers a participant who only receives; ``leave`` tears down
  a participant's handles at once; ``close_meeting`` destroys the room.
- When a Janus session is lost (Janus died and is restarted, or is unreachable), every
  meeting placed there is forgotten and the listener gets ``media_lost(meeting)``: the
  browsers publish again (new connections) and the room is recreated on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from conclave.config import Settings
from conclave.errors import InvalidInput
from conclave.media.janus_errors import JanusError, SfuUnavailable
from conclave.media.sfu_backends import Backend, BackendStatus, build_backends
from conclave.media.sfu_input import (
    BAD_REQUEST,
    NO_OFFER,
    InFlight,
    check_candidate,
    check_sdp,
    sdp_session,
)
from conclave.media.sfu_rooms import OfferSink, Room, SubscribedStream
from conclave.media.videoroom import VideoRoom
from conclave.privacy.addresses import scrub_addresses

__all__ = ["Quality", "Sfu", "SfuListener", "SubscribedStream", "build_sfu"]

log = logging.getLogger("conclave.sfu")

Quality = Literal["low", "medium", "high"]
SUBSTREAMS: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
WAIT_FOR_JANUS = 20.0  # seconds a request waits for a (re)starting Janus before refusing
CLOSE_SECONDS = 5.0  # destroying the rooms at shutdown, all together


class SfuListener(Protocol):
    """What the SFU tells the hub. Called on the event loop; exceptions are logged."""

    async def subscriber_offer(
        self, meeting_id: str, pid: str, sdp: str, streams: tuple[SubscribedStream, ...]
    ) -> None:
        """Janus's offer for ``pid``'s receiving connection (first or renegotiation);
        ``streams`` is the whole layout after it. Answer with
        :meth:`Sfu.subscriber_answer`."""

    async def media_lost(self, meeting_id: str) -> None:
        """The meeting's Janus room is gone (Janus died or is unreachable): every browser
        must publish again with new connections."""


class Sfu:
    """The meeting-level SFU over zero or more Janus servers (:func:`build_sfu`)."""

    def __init__(
        self,
        backends: Sequence[Backend] = (),
        *,
        max_publishers: int = 50,
        wait_for_janus: float = WAIT_FOR_JANUS,
    ) -> None:
        self.backends = tuple(backends)
        self.max_publishers = max_publishers
        self.wait_for_janus = wait_for_janus
        self._listener: SfuListener | None = None
        self._rooms: dict[str, Room] = {}
        self._placed: dict[Room, Backend] = {}
        self._in_flight = InFlight()
        self._create_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def unavailable(cls) -> Sfu:
        """An SFU without Janus: ``available`` is False, requests are refused."""
        return cls(())

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """True while at least one Janus has a live session."""
        return any(backend.available for backend in self.backends)

    @property
    def configured(self) -> bool:
        """True when there is some Janus (it may still be starting)."""
        return bool(self.backends)

    @property
    def health(self) -> str:
        """For ``/healthz``: "ready" (some Janus takes rooms), "restarting" (a managed
        Janus died and is being started again), "down" (configured, none reachable: e.g.
        still starting) or "none"."""
        if self.available:
            return "ready"
        if not self.backends:
            return "none"
        if any(backend.status.phase == "restarting" for backend in self.backends):
            return "restarting"
        return "down"

    def status(self) -> tuple[BackendStatus, ...]:
        """Each Janus's state, for the admin pages."""
        return tuple(backend.status for backend in self.backends)

    def set_listener(self, listener: SfuListener) -> None:
        self._listener = listener

    async def start(self) -> None:
        """Start the managed Janus (if any) and connect to every Janus, in the
        background: this returns at once; :attr:`available` turns True when ready."""
        if self._tasks:
            return
        for backend in self.backends:
            task = asyncio.create_task(
                backend.run(self._backend_ready, self._backend_lost), name=f"sfu-{backend.label}"
            )
            task.add_done_callback(self._backend_ended)
            self._tasks.append(task)

    async def wait_available(self, timeout: float | None) -> None:
        """Return once some Janus is ready; :class:`SfuUnavailable` after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while not self.available:
                    if not self.backends or all(b.gave_up for b in self.backends):
                        raise SfuUnavailable(0, "no Janus to wait for")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise SfuUnavailable(0, f"no Janus ready within {timeout} s") from None

    async def close(self) -> None:
        """Destroy every room, close every session, stop the managed Janus."""
        with contextlib.suppress(JanusError, TimeoutError):
            async with asyncio.timeout(CLOSE_SECONDS):
                for meeting_id in list(self._rooms):
                    await self.close_meeting(meeting_id)
        for room in list(self._rooms.values()):
            await room.close(destroy=False)
        self._rooms.clear()
        self._placed.clear()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for backend in self.backends:
            await backend.aclose()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Sfu]:
        """``async with sfu.running():`` start, and close on the way out."""
        await self.start()
        try:
            yield self
        finally:
            await self.close()

    async def _backend_ready(self, backend: Backend) -> None:
        self._changed.set()
        stale, backend.stale_rooms = backend.stale_rooms, []
        if stale:
            await _destroy_leftovers(backend, stale)

    async def _backend_lost(self, backend: Backend) -> None:
        for room in [room for room, where in self._placed.items() if where is backend]:
            await self._forget(room)
        self._changed.set()

    async def _forget(self, room: Room) -> None:
        """A room whose Janus session is gone: drop it and tell the listener, once."""
        backend = self._placed.pop(room, None)
        if self._rooms.get(room.meeting_id) is room:
            del self._rooms[room.meeting_id]
        if room.closed:
            return
        await room.close(destroy=False)
        if backend is not None:
            backend.stale_rooms.append((room.room_id, room.secret))
        listener = self._listener
        if listener is None:
            return
        try:
            await listener.media_lost(room.meeting_id)
        except Exception:
            log.exception("the listener failed on media_lost")

    def _backend_ended(self, task: asyncio.Task[None]) -> None:
        self._changed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("an SFU backend task failed", exc_info=task.exception())

    # -- placement ------------------------------------------------------------------------

    def load(self, backend: Backend) -> tuple[int, int]:
        """(participants, rooms) that Conclave placed on ``backend``."""
        rooms = [room for room, where in self._placed.items() if where is backend]
        return sum(len(room.members) for room in rooms), len(rooms)

    async def _room(self, meeting_id: str) -> Room:
        """The meeting's live room, created on the least-loaded Janus if needed."""
        room = self._rooms.get(meeting_id)
        if room is not None and room.session.lost is None:
            return room
        async with self._create_lock:
            room = self._rooms.get(meeting_id)
            if room is not None and room.session.lost is not None:
                await self._forget(room)
                room = None
            if room is not None:
                return room
            backend = await self._choose()
            session = backend.session
            if session is None:
                raise SfuUnavailable(0, "backend lost while placing a room")
            room = await Room.create(
                meeting_id,
                session,
                backend.admin_key,
                self._offer_sink(meeting_id),
                max_publishers=self.max_publishers,
            )
            self._rooms[meeting_id] = room
            self._placed[room] = backend
            return room

    async def _choose(self) -> Backend:
        if not self.backends:
            raise SfuUnavailable(0, "no Janus configured")
        if not self.available:
            await self.wait_available(self.wait_for_janus)
        ready = [backend for backend in self.backends if backend.available]
        if not ready:
            raise SfuUnavailable(0, "no Janus available")
        return min(ready, key=self.load)

    def _offer_sink(self, meeting_id: str) -> OfferSink:
        async def deliver(pid: str, sdp: str, streams: tuple[SubscribedStream, ...]) -> None:
            listener = self._listener
            if listener is None:
                log.warning("subscriber offer without a listener dropped")
                return
            await listener.subscriber_offer(meeting_id, pid, sdp, streams)

        return deliver

    # -- the hub's calls ------------------------------------------------------------------

    async def publish(self, meeting_id: str, pid: str, offer_sdp: str) -> str:
        """Janus's answer to the browser's publishing offer (see the module docstring).

        The offer may carry simulcast (``a=rid`` / ``a=simulcast``): Janus takes the
        first rid as the highest layer."""
        sdp = check_sdp(offer_sdp)
        connection = sdp_session(sdp)
        with self._in_flight.slot(meeting_id, pid):
            async with _janus_errors("publish"):
                room = await self._room(meeting_id)
                return await room.publish(pid, sdp, connection)

    async def ensure_subscriber(self, meeting_id: str, pid: str, *, fresh: bool = False) -> None:
        """Register ``pid`` as receiving: an offer comes through the listener as soon as
        some other participant publishes. ``fresh`` drops an existing subscription (its
        connection failed): the next offer is for a new RTCPeerConnection."""
        with self._in_flight.slot(meeting_id, pid):
            async with _janus_errors("subscribe"):
                room = await self._room(meeting_id)
                if fresh:
                    await room.renew_subscriber(pid)
                else:
                    room.ensure_subscriber(pid)

    async def subscriber_answer(self, meeting_id: str, pid: str, sdp: str) -> None:
        """The browser's answer to the last subscriber offer; refused when no offer waits
        (:class:`InvalidInput`)."""
        answer = check_sdp(sdp)
        with self._in_flight.slot(meeting_id, pid):
            async with _janus_errors("answer"):
                room = self._rooms.get(meeting_id)
                if room is None or not await room.answer(pid, answer):
                    raise InvalidInput(NO_OFFER, reason="no_offer")

    async def restart_subscriber(self, meeting_id: str, pid: str) -> bool:
        """Ask for an ICE-restart offer on ``pid``'s receiving connection (it comes through
        the listener, after any offer that waits). False when there is no live receiving
        connection to restart: call ``ensure_subscriber(fresh=True)`` instead."""
        room = self._rooms.get(meeting_id)
        return room is not None and room.restart_subscriber(pid)

    async def trickle(
        self,
        meeting_id: str,
        pid: str,
        target: Literal["publisher", "subscriber"],
        candidate: dict[str, Any] | None,
    ) -> None:
        """One ICE candidate of ``pid``'s publishing or receiving connection (None: end of
        candidates). Candidates for a connection that does not exist (any more) are
        dropped."""
        checked = check_candidate(candidate)
        if target not in ("publisher", "subscriber"):
            raise InvalidInput(BAD_REQUEST, reason="bad_target")
        with self._in_flight.slot(meeting_id, pid):
            async with _janus_errors("trickle"):
                room = self._rooms.get(meeting_id)
                if room is not None:
                    await room.trickle(pid, target, checked)

    async def set_quality(
        self, meeting_id: str, pid: str, publisher_pid: str, layer: Quality
    ) -> None:
        """Which simulcast layer ``pid`` receives of ``publisher_pid``'s video (also for
        streams subscribed later). No effect on video sent without simulcast."""
        if layer not in SUBSTREAMS:
            raise InvalidInput(BAD_REQUEST, reason="bad_layer")
        with self._in_flight.slot(meeting_id, pid):
            async with _janus_errors("quality"):
                room = self._rooms.get(meeting_id)
                if room is not None:
                    await room.set_substream(pid, publisher_pid, SUBSTREAMS[layer])

    async def leave(self, meeting_id: str, pid: str) -> None:
        """Tear down ``pid``'s handles now (also on removal from the meeting). The others
        receive new offers without its streams. The room goes when nobody is left."""
        room = self._rooms.get(meeting_id)
        if room is None:
            return
        async with _janus_errors("leave"):
            await room.leave(pid)
            if not room.members and self._rooms.get(meeting_id) is room:
                await self.close_meeting(meeting_id)

    async def close_meeting(self, meeting_id: str) -> None:
        """Destroy the meeting's room in Janus and forget it."""
        room = self._rooms.pop(meeting_id, None)
        if room is not None:
            self._placed.pop(room, None)
            await room.close(destroy=True)

    # -- for tests and diagnostics (never for browsers) -------------------------------------

    def room_of(self, meeting_id: str) -> Room | None:
        """The meeting's room with its Janus ids and secret: tests and diagnostics only."""
        return self._rooms.get(meeting_id)

    def backend_of(self, meeting_id: str) -> Backend | None:
        room = self._rooms.get(meeting_id)
        return self._placed.get(room) if room is not None else None


@contextlib.asynccontextmanager
async def _janus_errors(what: str) -> AsyncIterator[None]:
    """Janus's own words go to the log (addresses cut), the typed error to the caller."""
    try:
        yield
    except JanusError as exc:
        log.warning(
            "sfu %s failed: %s",
            what,
            scrub_addresses(exc.detail),
            extra={"reason": type(exc).__name__, "code": exc.code},
        )
        raise


async def _destroy_leftovers(backend: Backend, rooms: list[tuple[int, str]]) -> None:
    """Rooms of a lost session that may still exist (Janus itself lived on)."""
    session = backend.session
    if session is None:
        return
    try:
        admin = await VideoRoom.attach(session, backend.admin_key)
    except JanusError:
        return
    for room_id, secret in rooms:
        with contextlib.suppress(JanusError):
            await admin.destroy_room(room_id, secret=secret)
    with contextlib.suppress(JanusError):
        await admin.handle.detach()


def build_sfu(settings: Settings) -> Sfu:
    """The SFU for ``conclave serve``: the managed Janus and/or ``media.janus.urls``.
    Without any, :attr:`Sfu.available` stays False. Raises
    :class:`conclave.media.janus_managed.JanusNotFound` for ``managed = "on"`` without
    the binary."""
    if settings.media.mode in ("p2p", "mesh"):
        return Sfu.unavailable()
    backends = build_backends(settings.media.janus, Path(settings.data_dir))
    return Sfu(backends, max_publishers=settings.meetings.max_participants)
