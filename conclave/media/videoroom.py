"""Typed requests of Janus's VideoRoom plugin (``janus.plugin.videoroom``) on one handle.

Requests and their answers as Janus 1.1 sends them (multistream API):

- rooms: ``create``, ``destroy``, ``exists``, ``list``, ``listparticipants``;
- publishers: ``join`` (``ptype: publisher``), ``publish`` with the browser's offer (always
  marked ``e2ee``), ``configure`` with a new offer (renegotiation, ICE restart), ``leave``;
- subscribers: ``join`` (``ptype: subscriber``) with a list of streams (Janus answers with
  its offer), ``start`` with the browser's answer, ``update`` (subscribe to and unsubscribe
  from streams at once; Janus answers with a new offer, with nothing when nothing changed,
  or with ``updating`` when an earlier offer still waits for its answer: the new offer then
  comes later as an event without transaction), ``configure`` (simulcast substream, ICE
  restart);
- ``rtp_forward`` (admin key): copies a publisher's streams as plain RTP somewhere.

A subscriber handle also receives offers nobody asked for: when a publisher it receives
leaves, Janus sends ``updated`` with a new offer (or after the pending answer).
:func:`subscription_update` reads those events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conclave.media.janus import JSON, JanusEvent, JanusSession, Jsep, PluginHandle
from conclave.media.janus_errors import VIDEOROOM, JanusError

# -- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """One stream as Janus lists it: a publisher's own stream (``mid``, ``type``, ``codec``,
    ``disabled``, ``simulcast``) or a subscriber's stream (``mid`` in the subscriber's
    PeerConnection, ``active``, and the ``feed_id`` / ``feed_mid`` / ``feed_display`` of
    the publisher stream it carries)."""

    mid: str
    type: str
    codec: str | None = None
    feed_id: int | None = None
    feed_mid: str | None = None
    feed_display: str | None = None
    active: bool = True
    disabled: bool = False
    simulcast: bool = False

    @classmethod
    def from_json(cls, data: JSON) -> Stream:
        feed = data.get("feed_id")
        return cls(
            mid=str(data.get("mid", "")),
            type=str(data.get("type", "")),
            codec=data.get("codec"),
            feed_id=int(feed) if feed is not None else None,
            feed_mid=data.get("feed_mid"),
            feed_display=data.get("feed_display"),
            active=bool(data.get("active", True)),
            disabled=bool(data.get("disabled", False)),
            simulcast=bool(data.get("simulcast", False)),
        )


@dataclass(frozen=True)
class Publisher:
    id: int
    display: str | None
    streams: tuple[Stream, ...]


@dataclass(frozen=True)
class Participant:
    """``publisher`` is True once the participant's PeerConnection is up (Janus's
    "started"): only then can others subscribe to it."""

    id: int
    display: str | None
    publisher: bool


@dataclass(frozen=True)
class RoomInfo:
    room: int
    participants: int
    max_publishers: int
    require_e2ee: bool


@dataclass(frozen=True)
class Joined:
    room: int
    id: int
    private_id: int
    publishers: tuple[Publisher, ...]


@dataclass(frozen=True)
class Published:
    jsep: Jsep
    streams: tuple[Stream, ...]


@dataclass(frozen=True)
class Subscription:
    jsep: Jsep
    streams: tuple[Stream, ...]


@dataclass(frozen=True)
class SubscriptionUpdate:
    """Janus's answer to a change of a subscription.

    ``jsep`` is the new offer (None: no renegotiation needed, or ``postponed``);
    ``streams`` the whole new layout (None when Janus did not send one); ``postponed``
    True when an earlier offer still waits for its answer: Janus sends the offer for this
    change as an event after that answer."""

    jsep: Jsep | None
    streams: tuple[Stream, ...] | None
    postponed: bool = False


@dataclass(frozen=True)
class FeedStream:
    """One publisher stream to subscribe to (``mid`` None: all of the feed's streams);
    ``substream`` 0-2 picks a simulcast layer (0 lowest)."""

    feed: int
    mid: str | None = None
    substream: int | None = None

    def to_json(self) -> JSON:
        data: JSON = {"feed": self.feed}
        if self.mid is not None:
            data["mid"] = self.mid
        if self.substream is not None:
            data["substream"] = self.substream
        return data


@dataclass(frozen=True)
class ForwardStream:
    mid: str
    port: int


@dataclass(frozen=True)
class Forwarder:
    stream_id: int
    type: str
    host: str
    port: int


def _streams(items: Any) -> tuple[Stream, ...]:
    return tuple(Stream.from_json(item) for item in items or () if isinstance(item, dict))


def _publishers(items: Any) -> tuple[Publisher, ...]:
    return tuple(
        Publisher(int(item["id"]), item.get("display"), _streams(item.get("streams")))
        for item in items or ()
        if isinstance(item, dict) and not item.get("dummy")
    )


def subscription_update(event: JanusEvent) -> SubscriptionUpdate | None:
    """The new offer and layout in an ``updated`` event of a subscriber handle, or None
    for any other event."""
    if event.kind != "event" or event.data.get("videoroom") != "updated":
        return None
    streams = event.data.get("streams")
    return SubscriptionUpdate(event.jsep, _streams(streams) if streams is not None else None)


# -- requests ------------------------------------------------------------------------------


class VideoRoom:
    """Typed VideoRoom requests on one handle. Rooms are private, not permanent, and
    require end-to-end encryption unless told otherwise; publishing always says
    ``e2ee: true``."""

    def __init__(self, handle: PluginHandle, admin_key: str | None) -> None:
        self.handle = handle
        self._admin: JSON = {"admin_key": admin_key} if admin_key else {}

    @classmethod
    async def attach(cls, session: JanusSession, admin_key: str | None) -> VideoRoom:
        return cls(await session.attach(VIDEOROOM), admin_key)

    # -- rooms ---------------------------------------------------------------------------

    async def create_room(
        self,
        room_id: int,
        *,
        secret: str,
        pin: str,
        require_e2ee: bool = True,
        publishers: int = 6,
        description: str | None = None,
        bitrate: int | None = None,
        audiocodec: str | None = None,
        videocodec: str | None = None,
        notify_joining: bool = False,
        dummy_publisher: bool = False,
    ) -> int:
        body: JSON = {
            "request": "create",
            "room": room_id,
            **self._admin,
            "secret": secret,
            "pin": pin,
            "require_e2ee": require_e2ee,
            "publishers": publishers,
            "is_private": True,
            "permanent": False,
        }
        optional = {
            "description": description,
            "bitrate": bitrate,
            "audiocodec": audiocodec,
            "videocodec": videocodec,
            "notify_joining": notify_joining or None,
            "dummy_publisher": dummy_publisher or None,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        reply = await self.handle.message(body)
        return int(reply.data["room"])

    async def destroy_room(self, room_id: int, *, secret: str) -> None:
        await self.handle.message({"request": "destroy", "room": room_id, "secret": secret})

    async def exists(self, room_id: int) -> bool:
        reply = await self.handle.message({"request": "exists", "room": room_id})
        return bool(reply.data.get("exists"))

    async def list_rooms(self) -> tuple[RoomInfo, ...]:
        """Every room with its participant count (private rooms need the admin key)."""
        reply = await self.handle.message({"request": "list", **self._admin})
        return tuple(
            RoomInfo(
                room=int(item["room"]),
                participants=int(item.get("num_participants", 0)),
                max_publishers=int(item.get("max_publishers", 0)),
                require_e2ee=bool(item.get("require_e2ee", False)),
            )
            for item in reply.data.get("list", ())
        )

    async def list_participants(self, room_id: int) -> tuple[Participant, ...]:
        reply = await self.handle.message({"request": "listparticipants", "room": room_id})
        return tuple(
            Participant(int(item["id"]), item.get("display"), bool(item.get("publisher")))
            for item in reply.data.get("participants", ())
            if not item.get("dummy")
        )

    # -- publishers ----------------------------------------------------------------------

    async def join_publisher(
        self,
        room_id: int,
        *,
        pin: str,
        display: str | None = None,
        feed_id: int | None = None,
    ) -> Joined:
        body: JSON = {"request": "join", "ptype": "publisher", "room": room_id, "pin": pin}
        if display is not None:
            body["display"] = display
        if feed_id is not None:
            body["id"] = feed_id
        reply = await self.handle.message(body)
        data = reply.data
        return Joined(
            room=int(data["room"]),
            id=int(data["id"]),
            private_id=int(data.get("private_id", 0)),
            publishers=_publishers(data.get("publishers")),
        )

    async def publish(self, offer: Jsep, *, display: str | None = None) -> Published:
        """Publish the browser's offer (marked ``e2ee``); returns Janus's answer."""
        body: JSON = {"request": "publish"}
        if display is not None:
            body["display"] = display
        return await self._offer(body, offer, "publish")

    async def configure_publisher(self, offer: Jsep) -> Published:
        """A new offer from a publishing browser (renegotiation or ICE restart, same
        PeerConnection); returns Janus's answer."""
        return await self._offer({"request": "configure"}, offer, "configure")

    async def _offer(self, body: JSON, offer: Jsep, what: str) -> Published:
        jsep = Jsep(offer.type, offer.sdp, e2ee=True)
        reply = await self.handle.message(body, jsep)
        if reply.jsep is None:
            raise JanusError(0, f"{what}: Janus sent no answer")
        return Published(reply.jsep, _streams(reply.data.get("streams")))

    async def unpublish(self) -> None:
        await self.handle.message({"request": "unpublish"})

    async def leave(self) -> None:
        await self.handle.message({"request": "leave"})

    # -- subscribers ---------------------------------------------------------------------

    async def join_subscriber(
        self,
        room_id: int,
        feeds: Sequence[int | tuple[int, str] | FeedStream],
        *,
        pin: str,
        private_id: int | None = None,
    ) -> Subscription:
        """Subscribe to ``feeds`` (feed ids, ``(feed, mid)`` for one stream, or
        :class:`FeedStream`); returns Janus's offer. Every feed must be publishing (its
        PeerConnection up), or Janus refuses the whole request (:class:`NoSuchFeed`)."""
        body: JSON = {
            "request": "join",
            "ptype": "subscriber",
            "room": room_id,
            "pin": pin,
            "streams": [_feed(feed).to_json() for feed in feeds],
        }
        if private_id is not None:
            body["private_id"] = private_id
        reply = await self.handle.message(body)
        if reply.jsep is None:
            raise JanusError(0, "subscribe: Janus sent no offer")
        return Subscription(reply.jsep, _streams(reply.data.get("streams")))

    async def start(self, answer: Jsep) -> None:
        """Send the subscriber's answer; media starts flowing."""
        await self.handle.message({"request": "start"}, answer)

    async def update_subscription(
        self,
        subscribe: Sequence[FeedStream] = (),
        unsubscribe: Sequence[FeedStream] = (),
    ) -> SubscriptionUpdate:
        """Add and remove streams of this subscription in one request. A feed to subscribe
        to must be publishing (else :class:`NoSuchFeed`); one to unsubscribe from that is
        gone already is skipped by Janus."""
        body: JSON = {"request": "update"}
        if subscribe:
            body["subscribe"] = [feed.to_json() for feed in subscribe]
        if unsubscribe:
            body["unsubscribe"] = [
                {"feed": feed.feed, **({"mid": feed.mid} if feed.mid is not None else {})}
                for feed in unsubscribe
            ]
        if len(body) == 1:
            raise ValueError("update_subscription needs something to subscribe or unsubscribe")
        reply = await self.handle.message(body)
        kind = reply.data.get("videoroom")
        if kind == "updating":
            return SubscriptionUpdate(None, None, postponed=True)
        streams = reply.data.get("streams")
        return SubscriptionUpdate(reply.jsep, _streams(streams) if streams is not None else None)

    async def set_substream(self, mids: Sequence[str], substream: int) -> None:
        """Receive simulcast layer ``substream`` (0 lowest, 2 highest) on these video mids
        of this subscription; Janus switches at the next keyframe of that layer."""
        if not 0 <= substream <= 2:
            raise ValueError("substream is 0, 1 or 2")
        streams = [{"mid": mid, "substream": substream} for mid in mids]
        await self.handle.message({"request": "configure", "streams": streams})

    async def restart_subscription(self) -> Jsep:
        """Ask for an offer with fresh ICE credentials (ICE restart of a subscriber).

        Only while no earlier offer waits for its answer: Janus does not answer this request
        at all in that case (it postpones it silently)."""
        reply = await self.handle.message({"request": "configure", "restart": True})
        if reply.jsep is None:
            raise JanusError(0, "restart: Janus sent no offer")
        return reply.jsep

    # -- forwarding ----------------------------------------------------------------------

    async def rtp_forward(
        self,
        room_id: int,
        publisher_id: int,
        *,
        secret: str,
        streams: Sequence[ForwardStream],
        host: str = "127.0.0.1",
    ) -> tuple[Forwarder, ...]:
        """Copy a publisher's streams as plain RTP to ``host`` (admin key required).

        Janus skips a ``mid`` the publisher does not have without an error: the result
        lists only the forwarders it created."""
        body: JSON = {
            "request": "rtp_forward",
            "room": room_id,
            "publisher_id": publisher_id,
            "host": host,
            "host_family": "ipv6" if ":" in host else "ipv4",
            "streams": [{"mid": stream.mid, "port": stream.port} for stream in streams],
            "secret": secret,
            **self._admin,
        }
        reply = await self.handle.message(body)
        return tuple(
            Forwarder(
                stream_id=int(item["stream_id"]),
                type=str(item.get("type", "")),
                host=str(item.get("host", "")),
                port=int(item.get("port", 0)),
            )
            for item in reply.data.get("forwarders", ())
        )

    async def stop_rtp_forward(
        self, room_id: int, publisher_id: int, stream_id: int, *, secret: str
    ) -> None:
        await self.handle.message(
            {
                "request": "stop_rtp_forward",
                "room": room_id,
                "publisher_id": publisher_id,
                "stream_id": stream_id,
                "secret": secret,
                **self._admin,
            }
        )


def _feed(feed: int | tuple[int, str] | FeedStream) -> FeedStream:
    if isinstance(feed, FeedStream):
        return feed
    if isinstance(feed, int):
        return FeedStream(feed)
    return FeedStream(feed[0], feed[1])
