"""One meeting's VideoRoom room in Janus: its publishers, its subscribers, and keeping
every subscription equal to "every stream of every other publisher".

Everything is keyed by Conclave participant ids (``pid``); Janus feed ids, handles, the
room's id, secret and PIN stay in here. Publishers join with ``display = pid``.

Subscriptions. Each participant has one subscriber handle (one PeerConnection that
receives everyone else), created once there is something to receive. A worker task per
subscriber compares what it should receive (the enabled audio and video streams of every
other publisher whose PeerConnection is up) with what Janus says it receives, and sends
one ``update`` for the difference. At most one offer per subscriber waits for the
browser's answer: changes that come meanwhile wait, and the worker looks again after the
answer. Offers Janus sends by itself (a publisher left: ``updated`` events) go through the
same worker, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from conclave.media.janus import LOST, JanusSession, Jsep
from conclave.media.janus_errors import (
    JanusError,
    NoSuchFeed,
    RoomExists,
    SessionLost,
    WrongState,
)
from conclave.media.videoroom import (
    FeedStream,
    Stream,
    SubscriptionUpdate,
    VideoRoom,
    subscription_update,
)
from conclave.privacy.addresses import scrub_addresses

log = logging.getLogger("conclave.sfu")

MEDIA = ("audio", "video")
MAX_EARLY_CANDIDATES = 64  # trickled before the publisher's handle has its offer
MAX_INBOX = 32  # offers Janus sent by itself that the worker has not handled yet
FEED_RETRIES = 3  # a feed vanished under an update: look again this often, then wait
LAYER_RETRIES = 5  # asking again for a simulcast layer Janus has not switched to
LAYER_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class SubscribedStream:
    """One stream a participant receives through the SFU.

    ``mid`` is the transceiver's mid in the subscriber's RTCPeerConnection; ``pid`` the
    Conclave participant who sends it; ``kind`` ``"audio"`` or ``"video"``;
    ``source_mid`` the mid of that stream in the sender's own publishing connection (so
    the browser can tell microphone, camera and screen apart)."""

    mid: str
    pid: str
    kind: str
    source_mid: str


OfferSink = Callable[[str, str, tuple[SubscribedStream, ...]], Awaitable[None]]


@dataclass(eq=False)
class PublisherState:
    pid: str
    connection: str  # the o= session id of the browser's publishing RTCPeerConnection
    handle: VideoRoom | None = None
    feed_id: int | None = None
    streams: tuple[Stream, ...] = ()
    started: bool = False  # Janus's "webrtcup": others can subscribe
    hung_up: bool = False
    ready: bool = False  # Janus has the current offer: candidates go straight through
    early: list[dict[str, Any] | None] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None


@dataclass(eq=False)
class SubscriberState:
    pid: str
    handle: VideoRoom | None = None
    streams: tuple[Stream, ...] = ()
    outstanding: bool = False  # an offer went out; its answer has not come back
    restart: bool = False
    hung_up: bool = False
    substreams: dict[str, int] = field(default_factory=dict)  # publisher pid -> layer
    layers: dict[str, int] = field(default_factory=dict)  # mid -> layer Janus relays now
    nudges: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    inbox: deque[SubscriptionUpdate] = field(default_factory=deque)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    worker: asyncio.Task[None] | None = None
    reader: asyncio.Task[None] | None = None


class Room:
    """A meeting's room on one Janus session. Create with :meth:`create`."""

    def __init__(
        self,
        meeting_id: str,
        session: JanusSession,
        admin: VideoRoom,
        room_id: int,
        secret: str,
        pin: str,
        offers: OfferSink,
    ) -> None:
        self.meeting_id = meeting_id
        self.session = session
        self.admin = admin
        self.room_id = room_id
        self.secret = secret
        self.pin = pin
        self._offers = offers
        self.publishers: dict[str, PublisherState] = {}
        self.subscribers: dict[str, SubscriberState] = {}
        self.feed_pids: dict[int, str] = {}
        self.closed = False
        self._publish_locks: dict[str, asyncio.Lock] = {}

    @classmethod
    async def create(
        cls,
        meeting_id: str,
        session: JanusSession,
        admin_key: str | None,
        offers: OfferSink,
        *,
        max_publishers: int,
    ) -> Room:
        """A new VideoRoom room with ``require_e2ee``, a random id, secret and PIN."""
        admin = await VideoRoom.attach(session, admin_key)
        secret, pin = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        for attempt in range(3):
            room_id = secrets.randbelow(2**52) + 1  # exact in JavaScript numbers too
            try:
                await admin.create_room(
                    room_id,
                    secret=secret,
                    pin=pin,
                    require_e2ee=True,
                    publishers=max_publishers,
                )
            except RoomExists:
                if attempt == 2:
                    await _detach(admin)
                    raise
                continue
            except BaseException:
                await _detach(admin)
                raise
            return cls(meeting_id, session, admin, room_id, secret, pin, offers)
        raise AssertionError("unreachable")

    @property
    def members(self) -> set[str]:
        return set(self.publishers) | set(self.subscribers)

    # -- publishers ------------------------------------------------------------------------

    async def publish(self, pid: str, offer: str, connection: str) -> str:
        """Janus's answer to a publisher's offer. The same browser connection (same
        ``o=`` session id) renegotiates its handle (``configure``: new tracks, ICE
        restart); a new connection replaces the handle."""
        lock = self._publish_locks.setdefault(pid, asyncio.Lock())
        async with lock:
            self.ensure_subscriber(pid)
            current = self.publishers.get(pid)
            if (
                current is not None
                and current.connection == connection
                and current.handle is not None
                and not current.hung_up
            ):
                current.ready = False
                published = await current.handle.configure_publisher(Jsep("offer", offer))
                current.streams = published.streams
                await _flush(current, current.handle)
                if current.started:
                    self._changed()
                return published.jsep.sdp
            if current is not None:
                await self._drop_publisher(current)
            state = PublisherState(pid, connection)
            self.publishers[pid] = state
            try:
                return await self._start_publisher(state, offer)
            except BaseException:
                if self.publishers.get(pid) is state:
                    del self.publishers[pid]
                await self._drop_publisher(state)
                raise

    async def _start_publisher(self, state: PublisherState, offer: str) -> str:
        handle = await VideoRoom.attach(self.session, None)
        state.handle = handle
        state.reader = asyncio.create_task(
            self._read_publisher(state, handle), name="sfu-publisher-events"
        )
        joined = await handle.join_publisher(self.room_id, pin=self.pin, display=state.pid)
        state.feed_id = joined.id
        self.feed_pids[joined.id] = state.pid
        published = await handle.publish(Jsep("offer", offer))
        state.streams = published.streams
        await _flush(state, handle)
        return published.jsep.sdp

    async def _read_publisher(self, state: PublisherState, handle: VideoRoom) -> None:
        while True:
            event = await handle.handle.events.get()
            if event.kind in (LOST, "detached"):
                return
            if event.kind == "webrtcup":
                state.started = True
                self._changed()
            elif event.kind == "hangup":
                state.started = False
                state.hung_up = True
                self._changed()

    async def _drop_publisher(self, state: PublisherState) -> None:
        """Leave the room (Janus removes the publisher before it answers), then detach."""
        await _cancel(state.reader)
        if state.handle is not None:
            if state.feed_id is not None and self.session.lost is None:
                with contextlib.suppress(JanusError):
                    await state.handle.leave()
            await _detach(state.handle)
        if state.feed_id is not None:
            self.feed_pids.pop(state.feed_id, None)
        if state.started:
            state.started = False
            self._changed()

    # -- subscribers -----------------------------------------------------------------------

    def ensure_subscriber(self, pid: str) -> SubscriberState:
        """The participant's subscriber state; its worker subscribes as soon as some other
        participant publishes."""
        state = self.subscribers.get(pid)
        if state is None:
            state = self.subscribers[pid] = SubscriberState(pid)
            state.worker = asyncio.create_task(self._subscriber_loop(state), name="sfu-subscriber")
            state.wake.set()
        return state

    async def renew_subscriber(self, pid: str) -> None:
        """Drop the participant's subscriber handle: the next offer is the first of a new
        RTCPeerConnection."""
        state = self.subscribers.pop(pid, None)
        if state is not None:
            await self._drop_subscriber(state)
        self.ensure_subscriber(pid)

    def restart_subscriber(self, pid: str) -> bool:
        """Ask Janus for an ICE-restart offer on the participant's live subscription;
        False when there is none (a new connection is needed: :meth:`renew_subscriber`)."""
        state = self.subscribers.get(pid)
        if state is None or state.handle is None or state.hung_up:
            return False
        state.restart = True
        state.wake.set()
        return True

    async def answer(self, pid: str, sdp: str) -> bool:
        """Pass the browser's answer to Janus (``start``); False when no offer waits."""
        state = self.subscribers.get(pid)
        if state is None:
            return False
        async with state.lock:
            if not state.outstanding or state.handle is None:
                return False
            await state.handle.start(Jsep("answer", sdp))
            state.outstanding = False
        state.wake.set()
        return True

    async def set_substream(self, pid: str, publisher_pid: str, substream: int) -> None:
        """Receive simulcast layer ``substream`` of ``publisher_pid``'s video (also for
        streams subscribed later). Janus switches at the next keyframe of that layer and
        asks the sender for one; Chrome ignores a keyframe request that comes too soon
        after another, so a task asks again (a few times, a second apart) until Janus
        reports the switch."""
        state = self.subscribers.get(pid)
        if state is None:
            return
        state.substreams[publisher_pid] = substream
        await _cancel(state.nudges.pop(publisher_pid, None))
        if await self._configure_layer(state, publisher_pid, substream):
            state.nudges[publisher_pid] = asyncio.create_task(
                self._nudge(state, publisher_pid, substream), name="sfu-simulcast"
            )

    async def _configure_layer(
        self, state: SubscriberState, publisher_pid: str, substream: int
    ) -> bool:
        """Ask Janus for the layer on the mids not on it yet; False when none is left."""
        async with state.lock:
            mids = [
                stream.mid
                for stream in state.streams
                if stream.active
                and stream.type == "video"
                and self._pid_of(stream) == publisher_pid
                and state.layers.get(stream.mid) != substream
            ]
            if not mids or state.handle is None or state.hung_up:
                return False
            await state.handle.set_substream(mids, substream)
            return True

    async def _nudge(self, state: SubscriberState, publisher_pid: str, substream: int) -> None:
        try:
            for _ in range(LAYER_RETRIES):
                await asyncio.sleep(LAYER_RETRY_SECONDS)  # a retry's pace, not a wait
                if not await self._configure_layer(state, publisher_pid, substream):
                    return
        except JanusError as exc:
            _log_refusal("simulcast layer change failed", exc)
        finally:
            if state.nudges.get(publisher_pid) is asyncio.current_task():
                del state.nudges[publisher_pid]

    def wanted(self, pid: str) -> dict[tuple[int, str], FeedStream]:
        """What ``pid`` should receive: every enabled audio/video stream of every other
        publisher whose PeerConnection is up, keyed by (feed, mid)."""
        state = self.subscribers.get(pid)
        layers = state.substreams if state is not None else {}
        wanted: dict[tuple[int, str], FeedStream] = {}
        for publisher in self.publishers.values():
            if publisher.pid == pid or not publisher.started or publisher.feed_id is None:
                continue
            for stream in publisher.streams:
                if stream.type in MEDIA and not stream.disabled:
                    layer = layers.get(publisher.pid) if stream.type == "video" else None
                    key = (publisher.feed_id, stream.mid)
                    wanted[key] = FeedStream(publisher.feed_id, stream.mid, layer)
        return wanted

    def _changed(self) -> None:
        for state in self.subscribers.values():
            state.wake.set()

    async def _subscriber_loop(self, state: SubscriberState) -> None:
        while True:
            await state.wake.wait()
            state.wake.clear()
            retries = FEED_RETRIES
            while not self.closed:
                try:
                    offer = await self._subscriber_step(state)
                except NoSuchFeed as exc:
                    _log_refusal("subscription refused", exc)
                    if retries == 0:
                        break
                    retries -= 1
                    await self._refresh_publishers()
                    continue
                except SessionLost:
                    return
                except JanusError as exc:
                    _log_refusal("subscription update failed", exc)
                    break
                if offer is None:
                    break
                jsep, streams = offer
                try:
                    await self._offers(state.pid, jsep.sdp, self.subscribed(streams))
                except Exception:
                    log.exception("the listener failed on a subscriber offer")

    async def _subscriber_step(
        self, state: SubscriberState
    ) -> tuple[Jsep, tuple[Stream, ...]] | None:
        """One change of the subscription; the offer to pass on, or None if nothing is
        to do now."""
        async with state.lock:
            while state.inbox:
                update = state.inbox.popleft()
                if update.streams is not None:
                    _layout(state, update.streams)
                if update.jsep is not None:
                    state.outstanding = True
                    return update.jsep, state.streams
            if state.outstanding or state.hung_up:
                return None
            wanted = self.wanted(state.pid)
            if state.handle is None:
                if not wanted:
                    return None
                handle = await VideoRoom.attach(self.session, None)
                reader = asyncio.create_task(
                    self._read_subscriber(state, handle), name="sfu-subscriber-events"
                )
                try:
                    subscription = await handle.join_subscriber(
                        self.room_id, list(wanted.values()), pin=self.pin
                    )
                except BaseException:
                    await _cancel(reader)
                    await _detach(handle)
                    raise
                state.handle, state.reader = handle, reader
                _layout(state, subscription.streams)
                state.outstanding = True
                return subscription.jsep, state.streams
            if state.restart:
                state.restart = False
                jsep = await state.handle.restart_subscription()
                state.outstanding = True
                return jsep, state.streams
            receiving = {
                (stream.feed_id, stream.feed_mid): stream
                for stream in state.streams
                if stream.active
                and stream.type in MEDIA
                and stream.feed_id is not None
                and stream.feed_mid is not None
            }
            subscribe = [feed for key, feed in wanted.items() if key not in receiving]
            unsubscribe = [
                FeedStream(feed, mid) for feed, mid in receiving if (feed, mid) not in wanted
            ]
            if not subscribe and not unsubscribe:
                return None
            update = await state.handle.update_subscription(subscribe, unsubscribe)
            if update.postponed:
                # An offer of Janus's own is on its way and waits for an answer; this
                # change rides on the offer Janus sends after that answer.
                state.outstanding = True
                return None
            if update.streams is not None:
                _layout(state, update.streams)
            if update.jsep is None:
                return None
            state.outstanding = True
            return update.jsep, state.streams

    async def _read_subscriber(self, state: SubscriberState, handle: VideoRoom) -> None:
        while True:
            event = await handle.handle.events.get()
            if event.kind in (LOST, "detached"):
                return
            if event.kind == "hangup":
                state.hung_up = True
                continue
            layer, mid = event.data.get("substream"), event.data.get("mid")
            if isinstance(layer, int) and isinstance(mid, str):
                state.layers[mid] = layer  # Janus relays this simulcast layer now
                continue
            update = subscription_update(event)
            if update is None:
                continue
            if len(state.inbox) >= MAX_INBOX:
                log.warning("subscriber inbox full; dropping the subscription")
                state.hung_up = True
                continue
            state.inbox.append(update)
            state.wake.set()

    async def _refresh_publishers(self) -> None:
        """Janus refused a feed: take its word for which publishers are up."""
        participants = await self.admin.list_participants(self.room_id)
        up = {participant.id for participant in participants if participant.publisher}
        for publisher in self.publishers.values():
            if publisher.feed_id not in up:
                publisher.started = False

    async def _drop_subscriber(self, state: SubscriberState) -> None:
        for nudge in list(state.nudges.values()):
            await _cancel(nudge)
        await _cancel(state.worker)
        await _cancel(state.reader)
        if state.handle is not None:
            await _detach(state.handle)

    def subscribed(self, streams: tuple[Stream, ...]) -> tuple[SubscribedStream, ...]:
        """Janus's subscriber layout in Conclave terms (active audio and video only)."""
        result = []
        for stream in streams:
            pid = self._pid_of(stream)
            if stream.active and stream.type in MEDIA and pid is not None and stream.feed_mid:
                result.append(SubscribedStream(stream.mid, pid, stream.type, stream.feed_mid))
        return tuple(result)

    def _pid_of(self, stream: Stream) -> str | None:
        if stream.feed_id is None:
            return None
        return self.feed_pids.get(stream.feed_id)

    # -- everyone --------------------------------------------------------------------------

    async def trickle(
        self,
        pid: str,
        target: Literal["publisher", "subscriber"],
        candidate: dict[str, Any] | None,
    ) -> None:
        """Pass a browser's ICE candidate to its handle. A publisher's candidates that
        come while its offer is still with Janus wait (a bounded number) and follow it."""
        if target == "publisher":
            publisher = self.publishers.get(pid)
            if publisher is None:
                return
            if not publisher.ready or publisher.handle is None:
                if len(publisher.early) < MAX_EARLY_CANDIDATES:
                    publisher.early.append(candidate)
                return
            handle = publisher.handle
        else:
            subscriber = self.subscribers.get(pid)
            if subscriber is None or subscriber.handle is None or subscriber.hung_up:
                return
            handle = subscriber.handle
        try:
            await handle.handle.trickle(candidate)
        except WrongState as exc:  # a candidate racing with a teardown or a restart
            _log_refusal("candidate dropped", exc)

    async def leave(self, pid: str) -> None:
        """Tear down the participant's handles at once; Janus sends the others new offers
        without its streams."""
        self._publish_locks.pop(pid, None)
        subscriber = self.subscribers.pop(pid, None)
        publisher = self.publishers.pop(pid, None)
        if subscriber is not None:
            await self._drop_subscriber(subscriber)
        if publisher is not None:
            await self._drop_publisher(publisher)

    async def close(self, *, destroy: bool) -> None:
        """Stop every task; with ``destroy`` (and a live session) detach every handle and
        destroy the room in Janus."""
        self.closed = True
        subscribers = list(self.subscribers.values())
        publishers = list(self.publishers.values())
        self.subscribers.clear()
        self.publishers.clear()
        for subscriber in subscribers:
            for nudge in list(subscriber.nudges.values()):
                await _cancel(nudge)
            await _cancel(subscriber.worker)
            await _cancel(subscriber.reader)
        for publisher in publishers:
            await _cancel(publisher.reader)
        if not destroy or self.session.lost is not None:
            return
        for handle in [s.handle for s in subscribers] + [p.handle for p in publishers]:
            if handle is not None:
                await _detach(handle)
        with contextlib.suppress(JanusError):
            await self.admin.destroy_room(self.room_id, secret=self.secret)
        await _detach(self.admin)


def _layout(state: SubscriberState, streams: tuple[Stream, ...]) -> None:
    """A new subscription layout; the simulcast layer known for an m-line stays only while
    it carries the same feed (Janus reuses the m-lines of publishers who left)."""
    before = {stream.mid: stream.feed_id for stream in state.streams}
    state.streams = streams
    state.layers = {
        stream.mid: state.layers[stream.mid]
        for stream in streams
        if stream.mid in state.layers and before.get(stream.mid) == stream.feed_id
    }


async def _flush(state: PublisherState, handle: VideoRoom) -> None:
    """Send the candidates that waited for the offer, then let new ones straight through."""
    while state.early:
        await handle.handle.trickle(state.early.pop(0))
    state.ready = True


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None or task is asyncio.current_task():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _detach(room: VideoRoom) -> None:
    with contextlib.suppress(JanusError):
        await room.handle.detach()


def _log_refusal(what: str, error: JanusError) -> None:
    """Janus's own words go to the log only (with addresses cut), never to a browser."""
    log.warning(
        "%s: %s",
        what,
        scrub_addresses(error.detail),
        extra={"reason": type(error).__name__, "code": error.code},
    )
