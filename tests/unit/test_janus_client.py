"""The Janus client against replies recorded from the real Janus (tests/janus/recorded/).

``Replay`` is a tiny Janus stand-in behind ``httpx.MockTransport``: it checks that every
request is the recorded one (same path, same body, the API secret), answers with the
recorded reply under the client's own transaction id, and hands out long-poll events one
by one once what caused them has happened. Re-record with
``scripts/netns-run.sh .venv/bin/python -m tests.janus.record``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from conclave.config import ConfigError, JanusSettings, load_settings
from conclave.media.janus import JanusClient, JanusSession, Jsep, tls_verification
from conclave.media.janus_errors import (
    VIDEOROOM,
    E2EERequired,
    JanusError,
    JanusTimeout,
    NoSuchFeed,
    NoSuchRoom,
    RoomExists,
    SdpRefused,
    SessionLost,
    Unauthorized,
    WrongState,
    janus_error,
)
from conclave.media.janus_managed import (
    JanusNotFound,
    ManagedConfig,
    managed_binary,
    render_core,
    render_http,
    render_videoroom,
    scrub_line,
    write_config,
)
from conclave.media.videoroom import ForwardStream, VideoRoom

RECORDED = Path(__file__).resolve().parents[1] / "janus" / "recorded"
URL = "http://127.0.0.1:8088/janus"
SECRET = "test-api-secret"
ADMIN_KEY = "test-admin-key"
T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await scenario()

    return asyncio.run(bounded())


class Replay:
    """Serves one recorded conversation; raises AssertionError on any other request."""

    def __init__(self, name: str, *, ack_after_event: bool = False, hold_events: bool = False):
        document = json.loads((RECORDED / f"{name}.json").read_text())
        self.exchanges: list[dict[str, Any]] = document["exchanges"]
        self.ack_after_event = ack_after_event
        self.hold_events = hold_events
        self.transactions: dict[str, str] = {}  # recorded -> sent by the client
        self.sent: list[str] = []
        self.served: set[int] = set()
        self.events = self._events()
        self.delivered: set[int] = set()
        self.changed = asyncio.Condition()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _events(self) -> list[tuple[int, int, Any]]:
        """(index of the exchange, position in its reply, the event or the exchange)."""
        events: list[tuple[int, int, Any]] = []
        for index, exchange in enumerate(self.exchanges):
            if exchange["method"] == "GET" and exchange["path"] != "/janus/info":
                if exchange["status"] == 200:
                    events += [(index, n, event) for n, event in enumerate(exchange["reply"])]
                else:
                    events.append((index, 0, exchange))
        return events

    def remaining_posts(self) -> list[dict[str, Any]]:
        return [
            exchange
            for index, exchange in enumerate(self.exchanges)
            if exchange["method"] == "POST" and index not in self.served
        ]

    def _expand(self, value: Any) -> Any:
        text = json.dumps(value).replace("<api_secret>", SECRET).replace("<admin_key>", ADMIN_KEY)
        return json.loads(text)

    def _translate(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: self.transactions.get(item, item) if key == "transaction" else item
                for key, item in value.items()
            }
        return value

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/janus/info":
            (info,) = [e for e in self.exchanges if e["path"] == "/janus/info"]
            return httpx.Response(200, json=info["reply"])
        if request.method == "POST":
            return await self._post(request)
        return await self._poll(request)

    async def _post(self, request: httpx.Request) -> httpx.Response:
        index, recorded = next(
            (index, exchange)
            for index, exchange in enumerate(self.exchanges)
            if exchange["method"] == "POST" and index not in self.served
        )
        body = json.loads(request.content)
        expected = self._expand(recorded["body"])
        assert request.url.path == recorded["path"], (request.url.path, recorded["path"])
        assert {k: v for k, v in body.items() if k != "transaction"} == {
            k: v for k, v in expected.items() if k != "transaction"
        }
        self.sent.append(body["transaction"])
        self.transactions[expected["transaction"]] = body["transaction"]
        async with self.changed:
            self.served.add(index)
            self.changed.notify_all()
        reply = recorded["reply"]
        if self.ack_after_event and self._has_event(expected):
            async with self.changed:
                await self.changed.wait_for(lambda: self._delivered_reply_to(expected))
        return httpx.Response(recorded["status"], json=self._translate(reply))

    def _has_event(self, body: dict[str, Any]) -> bool:
        return any(
            isinstance(event, dict) and event.get("transaction") == body["transaction"]
            for _index, _n, event in self.events
        )

    def _delivered_reply_to(self, body: dict[str, Any]) -> bool:
        return any(
            position in self.delivered
            for position, (_index, _n, event) in enumerate(self.events)
            if isinstance(event, dict) and event.get("transaction") == body["transaction"]
        )

    def _releasable(self, position: int) -> bool:
        index, _n, event = self.events[position]
        if self.hold_events:
            return False
        transaction = event.get("transaction") if "janus" in event else None
        if transaction is not None:
            return transaction in self.transactions
        return all(
            i in self.served for i, e in enumerate(self.exchanges[:index]) if e["method"] == "POST"
        )

    async def _poll(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path.startswith("/janus/")
        params = dict(request.url.params)
        assert params.get("maxev") == "10"
        async with self.changed:
            while True:
                pending = [p for p in range(len(self.events)) if p not in self.delivered]
                if pending and self._releasable(pending[0]):
                    break
                await self.changed.wait()
            first = pending[0]
            index, _n, event = self.events[first]
            if "janus" not in event:  # a recorded non-200 answer
                assert ("apisecret" in params) == ("apisecret" in event["query"])
                self.delivered.add(first)
                self.changed.notify_all()
                return httpx.Response(event["status"])
            assert params.get("apisecret") == SECRET
            batch: list[Any] = []
            for position in pending:
                if self.events[position][0] != index or not self._releasable(position):
                    break
                batch.append(self._translate(self.events[position][2]))
                self.delivered.add(position)
            self.changed.notify_all()
        return httpx.Response(200, json=batch)


def client(replay: Replay, secret: str | None = SECRET, **options: Any) -> JanusClient:
    options.setdefault("keepalive_interval", 3600)
    return JanusClient(URL, secret, transport=replay.transport(), **options)


def recorded_offer() -> Jsep:
    document = json.loads((RECORDED / "videoroom_publish.json").read_text())
    jsep = next(e["body"]["jsep"] for e in document["exchanges"] if "jsep" in e.get("body", {}))
    return Jsep("offer", jsep["sdp"])


# -- sessions and core errors ------------------------------------------------------------


def test_server_info_is_read_from_the_recorded_reply() -> None:
    async def scenario() -> None:
        async with client(Replay("info")) as janus:
            info = await janus.info()
        assert info.version_string == "1.1.2" and info.version == 1102
        assert info.plugins == ("janus.plugin.videoroom",)
        assert info.api_secret_required is True and info.session_timeout == 60

    run(scenario)


def test_session_lifecycle_and_core_errors() -> None:
    replay = Replay("session")

    async def scenario() -> None:
        anonymous = client(replay, secret=None)
        with pytest.raises(Unauthorized) as refused:
            await anonymous.create_session()
        assert str(refused.value) == "The media server refused access. (Janus error 403)"
        assert refused.value.detail == "Unauthorized request (wrong or missing secret/token)"

        janus = client(replay)
        session = await janus.create_session()
        assert session.id == 2576626284301567
        handle = await session.attach(VIDEOROOM)
        assert handle.id == 1047827598182492
        with pytest.raises(JanusError) as no_plugin:
            await session.attach("janus.plugin.nope")
        assert type(no_plugin.value) is JanusError and no_plugin.value.code == 460
        assert no_plugin.value.text == "The media server could not do this."
        assert "nope" not in str(no_plugin.value)  # Janus's own text stays in .detail
        with pytest.raises(JanusError) as no_body:
            await session.request({"janus": "message"}, handle.id)
        assert no_body.value.code == 456 and no_body.value.detail == (
            "Missing mandatory element (body)"
        )
        assert (await session.request({"janus": "keepalive"}))["janus"] == "ack"
        await handle.detach()
        assert handle.id not in session.handles
        await session.destroy()
        assert isinstance(session.lost, SessionLost)
        with pytest.raises(SessionLost) as gone:
            await janus.request(f"/{session.id}", {"janus": "destroy"})
        assert str(gone.value) == "The connection to the media server was lost. (Janus error 458)"
        with pytest.raises(SessionLost):
            await janus.request(f"/{session.id}", {"janus": "keepalive"})

        # Janus answers a long poll on a session it does not know with HTTP 404 ...
        stale = JanusSession(janus, session.id)
        stale.start()
        assert (await stale.wait_lost(timeout=5)).code == 404
        # ... and one without the API secret with HTTP 403: the session is unusable.
        refused_poll = JanusSession(anonymous, session.id)
        refused_poll.start()
        unauthorised = await refused_poll.wait_lost(timeout=5)
        assert (unauthorised.code, unauthorised.detail) == (
            403,
            "long poll refused: wrong or missing api_secret",
        )
        await janus.aclose()
        await anonymous.aclose()

    run(scenario)
    assert replay.remaining_posts() == []
    assert len(set(replay.sent)) == len(replay.sent)  # every transaction id is new ...
    assert all(len(transaction) >= 16 for transaction in replay.sent)  # ... and random


def test_a_session_timeout_event_loses_the_session_and_wakes_its_handles() -> None:
    replay = Replay("session_timeout")

    async def scenario() -> None:
        async with client(replay) as janus:
            session = await janus.create_session()
            handle = await session.attach(VIDEOROOM)
            with pytest.raises(SessionLost) as lost:
                await handle.next_event(timeout=5)
            assert lost.value.code == 458
            assert lost.value.detail == "session timed out in Janus"
            with pytest.raises(SessionLost):  # no request goes out any more
                await handle.message({"request": "exists", "room": 1})

    run(scenario)


# -- VideoRoom ---------------------------------------------------------------------------


def test_room_management_and_its_errors() -> None:
    replay = Replay("videoroom_room")

    async def scenario() -> None:
        async with client(replay) as janus:
            session = await janus.create_session()
            rooms = await VideoRoom.attach(session, ADMIN_KEY)
            options: dict[str, Any] = {"secret": "room-secret", "pin": "room-pin"}
            assert await rooms.create_room(4242, **options) == 4242
            with pytest.raises(RoomExists) as exists:
                await rooms.create_room(4242, **options)
            assert exists.value.detail == "Room 4242 already exists"
            with pytest.raises(Unauthorized) as wrong_key:
                await VideoRoom(rooms.handle, "wrong").create_room(4243, **options)
            assert wrong_key.value.code == 433
            assert wrong_key.value.text == "The media server refused access."
            assert await rooms.exists(4242) is True
            assert await rooms.list_participants(4242) == ()
            with pytest.raises(NoSuchRoom) as missing:
                await rooms.list_participants(999)
            assert str(missing.value) == (
                "The meeting's media room does not exist. (Janus error 426)"
            )
            (listed,) = await rooms.list_rooms()
            assert (listed.room, listed.participants, listed.require_e2ee) == (4242, 0, True)
            with pytest.raises(Unauthorized):
                await rooms.destroy_room(4242, secret="wrong")
            await rooms.destroy_room(4242, secret="room-secret")
            await session.destroy()

    run(scenario)
    assert replay.remaining_posts() == []


async def _publish_flow(replay: Replay) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    async with client(replay) as janus:
        session = await janus.create_session()
        admin = await VideoRoom.attach(session, ADMIN_KEY)
        await admin.create_room(5151, secret="room-secret", pin="room-pin")
        first = await VideoRoom.attach(session, ADMIN_KEY)
        with pytest.raises(Unauthorized) as wrong_pin:
            await first.join_publisher(5151, pin="wrong", display="first")
        seen["wrong pin"] = wrong_pin.value
        seen["first"] = await first.join_publisher(5151, pin="room-pin", display="first")
        with pytest.raises(E2EERequired) as plain:  # an offer without e2ee: refused
            await first.handle.message({"request": "publish"}, recorded_offer())
        seen["plain"] = plain.value
        second = await VideoRoom.attach(session, ADMIN_KEY)
        seen["second"] = await second.join_publisher(5151, pin="room-pin", display="second")
        seen["published"] = await second.publish(recorded_offer())
        await second.handle.trickle(
            {
                "candidate": "candidate:1 1 udp 2122260223 10.99.0.2 50000 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            }
        )
        await second.handle.trickle(None)
        seen["participants"] = await admin.list_participants(5151)
        publisher = seen["second"].id
        video = [ForwardStream("1", 5004)]
        seen["forwarders"] = await admin.rtp_forward(
            5151, publisher, secret="room-secret", streams=video
        )
        with pytest.raises(JanusError) as no_key:
            await VideoRoom(admin.handle, None).rtp_forward(
                5151, publisher, secret="room-secret", streams=video
            )
        seen["no key"] = no_key.value
        seen["unknown mid"] = await admin.rtp_forward(
            5151, publisher, secret="room-secret", streams=[ForwardStream("9", 5006)]
        )
        await second.handle.detach()
        third = await VideoRoom.attach(session, ADMIN_KEY)
        seen["third"] = await third.join_publisher(5151, pin="room-pin", display="third")
        await admin.destroy_room(5151, secret="room-secret")
        seen["first events"] = [await first.handle.next_event(5) for _ in range(4)]
        seen["third events"] = [await third.handle.next_event(5)]
        seen["admin queue"] = admin.handle.events.qsize()
        await session.destroy()
        with pytest.raises(SessionLost) as closed:
            await first.handle.next_event(1)
        seen["first after"] = closed.value
    return seen


@pytest.mark.parametrize("ack_after_event", [False, True], ids=["ack-first", "event-first"])
def test_publishing_with_e2ee_and_the_events_of_each_handle(ack_after_event: bool) -> None:
    replay = Replay("videoroom_publish", ack_after_event=ack_after_event)
    seen = run(lambda: _publish_flow(replay))
    assert replay.remaining_posts() == []

    assert seen["wrong pin"].code == 433 and seen["wrong pin"].detail == "Unauthorized (wrong pin)"
    assert seen["first"].room == 5151 and seen["first"].publishers == ()
    assert str(seen["plain"]) == (
        "This meeting requires end-to-end encrypted media. (Janus error 433)"
    )
    published = seen["published"]
    assert published.jsep.type == "answer" and published.jsep.e2ee is True
    assert "a=candidate:1 1 udp 2015363583 10.99.0.1 " in published.jsep.sdp
    assert [(s.mid, s.type, s.codec) for s in published.streams] == [
        ("0", "audio", "opus"),
        ("1", "video", "vp8"),
    ]
    assert {p.display for p in seen["participants"]} == {"first", "second"}
    (forwarder,) = seen["forwarders"]
    assert (forwarder.type, forwarder.host, forwarder.port) == ("video", "127.0.0.1", 5004)
    assert seen["no key"].code == 429 and seen["no key"].detail == (
        "Missing mandatory element (admin_key)"
    )
    assert seen["unknown mid"] == ()  # Janus skips an unknown mid without an error

    # Events reach the queue of the handle they are for, and only that one.
    first_events = [(e.kind, e.data.get("videoroom"), e.handle_id) for e in seen["first events"]]
    first_id = seen["first events"][0].handle_id
    assert first_events == [
        ("event", "event", first_id),
        ("event", "event", first_id),
        ("event", "event", first_id),
        ("event", "destroyed", first_id),
    ]
    assert [e.data.get("unpublished") for e in seen["first events"][:2]] == [seen["second"].id] * 2
    assert seen["first events"][2].data["leaving"] == seen["second"].id
    (destroyed,) = seen["third events"]
    assert destroyed.data == {"videoroom": "destroyed", "room": 5151}
    assert destroyed.handle_id != first_id
    assert seen["admin queue"] == 0  # answers to its own requests never land on the queue
    assert seen["first after"].detail == "session destroyed"


def test_subscribing_gets_an_offer_and_starts_with_the_answer() -> None:
    replay = Replay("videoroom_subscribe")
    document = json.loads((RECORDED / "videoroom_subscribe.json").read_text())
    answer = next(
        e["body"]["jsep"]["sdp"] for e in document["exchanges"] if "jsep" in e.get("body", {})
    )

    async def scenario() -> None:
        async with client(replay) as janus:
            session = await janus.create_session()
            admin = await VideoRoom.attach(session, ADMIN_KEY)
            await admin.create_room(
                6161, secret="room-secret", pin="room-pin", dummy_publisher=True
            )
            reply = await admin.handle.message({"request": "listparticipants", "room": 6161})
            dummy = reply.data["participants"][0]["id"]
            viewer = await VideoRoom.attach(session, None)
            with pytest.raises(NoSuchFeed) as missing:
                await viewer.join_subscriber(6161, [1234], pin="room-pin")
            assert missing.value.text == "This participant's video is not available."
            subscription = await viewer.join_subscriber(6161, [dummy], pin="room-pin")
            assert subscription.jsep.type == "offer"
            assert [(s.mid, s.feed_id) for s in subscription.streams] == [
                ("0", dummy),
                ("1", dummy),
            ]
            await viewer.start(Jsep("answer", answer))
            await admin.destroy_room(6161, secret="room-secret")
            await session.destroy()

    run(scenario)
    assert replay.remaining_posts() == []


# -- timeouts and an unreachable Janus --------------------------------------------------


def test_an_event_that_does_not_come_times_out_and_a_late_one_is_dropped() -> None:
    replay = Replay("videoroom_subscribe", hold_events=True)

    async def scenario() -> None:
        async with client(replay, event_timeout=0.2) as janus:
            session = await janus.create_session()
            admin = await VideoRoom.attach(session, ADMIN_KEY)
            await admin.create_room(
                6161, secret="room-secret", pin="room-pin", dummy_publisher=True
            )
            assert await admin.list_participants(6161) == ()  # the dummy is not a person
            viewer = await VideoRoom.attach(session, None)
            with pytest.raises(JanusTimeout) as late:
                await viewer.join_subscriber(6161, [1234], pin="room-pin")
            assert str(late.value) == "The media server did not answer in time. (Janus error 0)"
            assert late.value.detail == "no event for message within 0.2 s"
            async with replay.changed:
                replay.hold_events = False
                replay.changed.notify_all()
                await replay.changed.wait_for(lambda: 0 in replay.delivered)
            await asyncio.sleep(0)  # let the poll loop dispatch what it received
            assert viewer.handle.events.empty()  # the late answer went nowhere

    run(scenario)


def test_janus_unreachable_longer_than_the_grace_loses_the_session() -> None:
    created = {"janus": "success", "data": {"id": 7}}

    def network(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            assert body["apisecret"] == SECRET
            data = {"id": 8} if body["janus"] == "attach" else created["data"]
            return httpx.Response(200, json={**created, "data": data})
        raise httpx.ConnectError("connection refused", request=request)

    async def scenario() -> None:
        transport = httpx.MockTransport(network)
        async with JanusClient(URL, SECRET, transport=transport, reconnect_grace=0.3) as janus:
            session = await janus.create_session()
            handle = await session.attach(VIDEOROOM)
            with pytest.raises(SessionLost) as lost:
                await handle.next_event(timeout=5)
            assert lost.value.detail == "Janus unreachable for 0.3 s"

    run(scenario)


# -- error mapping --------------------------------------------------------------------


LOST_MESSAGE = "The connection to the media server was lost."
NO_ROOM_MESSAGE = "The meeting's media room does not exist."
REFUSED_MESSAGE = "The media server refused access."
SDP_MESSAGE = "The media server did not accept the media description."
STATE_MESSAGE = "The media connection is not ready for this."


@pytest.mark.parametrize(
    ("code", "detail", "plugin", "kind", "message"),
    [
        (403, "Unauthorized request", None, Unauthorized, "The media server refused access."),
        (458, "No such session 1", None, SessionLost, LOST_MESSAGE),
        (426, "No such room (1)", VIDEOROOM, NoSuchRoom, NO_ROOM_MESSAGE),
        (433, "Unauthorized (wrong pin)", VIDEOROOM, Unauthorized, REFUSED_MESSAGE),
        (
            433,
            "Room requires end-to-end encrypted media",
            VIDEOROOM,
            E2EERequired,
            "This meeting requires end-to-end encrypted media.",
        ),
        (
            437,
            "Error parsing offer: a=candidate 10.99.0.2",
            VIDEOROOM,
            SdpRefused,
            "The media server did not accept the media description.",
        ),
        (465, "Invalid SDP", None, SdpRefused, SDP_MESSAGE),
        (469, "Unexpected ANSWER", None, WrongState, STATE_MESSAGE),
        (434, "Can't publish, already published", VIDEOROOM, WrongState, STATE_MESSAGE),
        (426, "whatever", None, JanusError, "The media server could not do this."),
        (426, "whatever", "janus.plugin.other", JanusError, "The media server could not do this."),
    ],
)
def test_janus_codes_map_to_typed_errors_with_safe_messages(
    code: int, detail: str, plugin: str | None, kind: type[JanusError], message: str
) -> None:
    error = janus_error(code, detail, plugin)
    assert type(error) is kind
    assert (error.code, error.detail, error.text, error.reason) == (
        code,
        detail,
        message,
        f"janus_{code}",
    )
    assert detail not in str(error)


# -- settings and the managed configuration -------------------------------------------


def test_janus_settings_defaults_and_validation(tmp_path: Path) -> None:
    defaults = load_settings().media.janus
    assert (defaults.managed, defaults.binary, defaults.urls) == ("auto", "janus", [])
    assert (defaults.rtp_port_min, defaults.rtp_port_max) == (20000, 40000)
    config = tmp_path / "conclave.toml"
    config.write_text(
        "[media.janus]\n"
        'urls = ["ftp://janus"]\n'
        "rtp_port_min = 30000\nrtp_port_max = 29999\n"
        'ice_enforce_list = ["eth0\\"; evil"]\n'
        'nat_1_1_mapping = "203.0.113.1,not-an-ip"\n'
        'managed = "yes"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    problems = caught.value.problems
    assert "media.janus.managed = 'yes': Input should be 'auto', 'on' or 'off'" in problems
    assert (
        "media.janus.urls = ['ftp://janus']: Value error, 'ftp://janus' is not an http:// or "
        "https:// URL of a Janus API (e.g. http://10.0.0.5:8088/janus)"
    ) in problems
    assert (
        "media.janus.rtp_port_max = 29999: Value error, must be greater than "
        "media.janus.rtp_port_min (30000)"
    ) in problems
    assert any(p.startswith("media.janus.ice_enforce_list = ") for p in problems)
    assert (
        "media.janus.nat_1_1_mapping = '203.0.113.1,not-an-ip': Value error, "
        "'not-an-ip' is not an IP address"
    ) in problems
    config.write_text('[media.janus]\nurls = ["http://10.0.0.5:8088/janus/"]\n')
    with pytest.raises(ConfigError) as external:
        load_settings(config)
    assert external.value.problems == [
        "media.janus.api_secret = None: Value error, required when media.janus.urls is set "
        "(Conclave never talks to a Janus server without an api_secret)"
    ]
    config.write_text('[media.janus]\nurls = ["http://10.0.0.5:8088/janus/"]\napi_secret = "s"\n')
    assert load_settings(config).media.janus.urls == ["http://10.0.0.5:8088/janus"]


def test_when_janus_is_managed() -> None:
    assert managed_binary(JanusSettings(managed="off")) is None
    assert managed_binary(JanusSettings(binary="no-such-janus-binary")) is None
    external = JanusSettings(urls=["http://10.0.0.5:8088/janus"], api_secret="s")  # type: ignore[arg-type]
    assert managed_binary(external) is None
    with pytest.raises(JanusNotFound) as missing:
        managed_binary(JanusSettings(managed="on", binary="no-such-janus-binary"))
    assert str(missing.value) == (
        "media.janus.managed = 'on', but the janus binary ('no-such-janus-binary') was not "
        "found: install the Debian package 'janus' or set media.janus.binary"
    )


def _config(tmp_path: Path, **changes: Any) -> ManagedConfig:
    lib = tmp_path / "lib"
    for name in ("plugins/libjanus_videoroom.so", "transports/libjanus_http.so"):
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_bytes(b"")
    values: dict[str, Any] = {
        "directory": tmp_path / "data" / "janus",
        "lib_dir": lib,
        "http_port": 18088,
        "api_secret": "api-secret",
        "admin_key": "admin-key",
        "rtp_port_min": 20000,
        "rtp_port_max": 20100,
        "ice_enforce_list": ("v0",),
        "nat_1_1_mapping": "203.0.113.7",
    }
    return ManagedConfig(**{**values, **changes})


def test_the_generated_janus_configuration_is_minimal(tmp_path: Path) -> None:
    config = _config(tmp_path)
    core = render_core(config)
    assert '\tapi_secret = "api-secret"' in core
    assert '\trtp_port_range = "20000-20100"' in core
    assert '\tice_enforce_list = "v0"' in core and '\tnat_1_1_mapping = "203.0.113.7"' in core
    assert "stun_server" not in core and "turn_server" not in core
    assert "log_to_file" not in core and "\tdebug_level = 3" in core
    http = render_http(config)
    assert '\tip = "127.0.0.1"' in http and "\tport = 18088" in http
    assert "\tadmin_http = false" in http and "\thttps = false" in http
    videoroom = render_videoroom(config)
    assert '\tadmin_key = "admin-key"' in videoroom and "room-" not in videoroom

    jcfg = write_config(config)
    folder = jcfg.parent
    assert sorted(p.name for p in folder.iterdir()) == [
        "events",
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.http.jcfg",
        "loggers",
        "plugins",
        "transports",
    ]
    assert [p.name for p in (folder / "plugins").iterdir()] == ["libjanus_videoroom.so"]
    assert [p.name for p in (folder / "transports").iterdir()] == ["libjanus_http.so"]
    assert list((folder / "events").iterdir()) == list((folder / "loggers").iterdir()) == []
    assert folder.stat().st_mode & 0o777 == 0o700
    assert jcfg.stat().st_mode & 0o777 == 0o600
    write_config(config)  # rewriting at the next start works


def test_configuration_strings_are_quoted_and_control_characters_refused(tmp_path: Path) -> None:
    quoted = render_core(_config(tmp_path, directory=tmp_path / 'we"ird\\dir'))
    assert 'configs_folder = "' + str(tmp_path) + '/we\\"ird\\\\dir"' in quoted
    with pytest.raises(ValueError, match="control characters"):
        render_core(_config(tmp_path, api_secret="a\nb"))


def test_janus_log_lines_keep_no_full_addresses() -> None:
    line = "[WARN] [123] ICE failed for 203.0.113.57:50000 and 2001:db8:1:2::5 (v0)"
    assert scrub_line(line) == (
        "[WARN] [123] ICE failed for 203.0.113.0/24 and 2001:db8:1::/48 (v0)"
    )
    assert scrub_line("\x1b[33m[WARN]\x1b[0m 10:20:30 plain") == "[WARN] 10:20:30 plain"


def test_a_plain_http_janus_gets_a_tls_context_that_trusts_nothing() -> None:
    # No CA bundle is loaded for the managed Janus (http on loopback; issue 2), and the
    # context still verifies, so an https URL through it would fail instead of going
    # unverified. An https Janus is verified against the system's CAs as before.
    context = tls_verification("http://127.0.0.1:8088/janus")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0
    assert tls_verification("https://janus.example.org/janus") is True
