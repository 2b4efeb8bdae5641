"""The SFU layer against a real managed Janus (inside the test network namespace), without
browsers: rooms, secrets, publishers with a recorded browser offer, teardown, isolation
of meetings, placement on the least-loaded Janus, and a Janus killed under the SFU."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from conclave.errors import InvalidInput
from conclave.media.janus import JanusClient
from conclave.media.janus_errors import SfuUnavailable
from conclave.media.janus_managed import ManagedJanus
from conclave.media.sfu import Sfu, SubscribedStream
from conclave.media.sfu_backends import Backend
from conclave.media.videoroom import VideoRoom
from tests.janus.conftest import janus_settings
from tests.janus.record import OFFER
from tests.janus.test_managed_janus import run


class Listener:
    def __init__(self) -> None:
        self.offers: list[tuple[str, str, tuple[SubscribedStream, ...]]] = []
        self.lost: list[str] = []
        self.lost_event = asyncio.Event()

    async def subscriber_offer(
        self, meeting_id: str, pid: str, sdp: str, streams: tuple[SubscribedStream, ...]
    ) -> None:
        self.offers.append((meeting_id, pid, streams))

    async def media_lost(self, meeting_id: str) -> None:
        self.lost.append(meeting_id)
        self.lost_event.set()


@pytest.fixture(scope="module")
def sfu(runner: asyncio.Runner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sfu]:
    managed = ManagedJanus(janus_settings(), tmp_path_factory.mktemp("sfu-janus"))
    sfu = Sfu([Backend("managed", None, None, managed=managed)], max_publishers=10)
    run(runner, sfu.start())
    run(runner, sfu.wait_available(30), timeout=40)
    yield sfu
    run(runner, sfu.close())


@pytest.fixture
def listener(sfu: Sfu) -> Listener:
    listener = Listener()
    sfu.set_listener(listener)
    return listener


def offer(session: int) -> str:
    """The recorded browser offer as if from RTCPeerConnection number ``session``."""
    return OFFER.replace("o=- 4611731400430051336 2", f"o=- {session} 2")


async def admin(sfu: Sfu, meeting_id: str) -> VideoRoom:
    backend = sfu.backend_of(meeting_id)
    assert backend is not None and backend.session is not None
    return await VideoRoom.attach(backend.session, backend.admin_key)


def test_a_meeting_gets_an_e2ee_room_with_its_own_secret_and_pin(
    runner: asyncio.Runner, sfu: Sfu, listener: Listener
) -> None:
    async def scenario() -> None:
        await sfu.ensure_subscriber("meeting-a", "alice")
        await sfu.ensure_subscriber("meeting-b", "bob")
        room_a, room_b = sfu.room_of("meeting-a"), sfu.room_of("meeting-b")
        assert room_a is not None and room_b is not None
        assert room_a.room_id != room_b.room_id
        assert len({room_a.secret, room_a.pin, room_b.secret, room_b.pin}) == 4
        rooms = await admin(sfu, "meeting-a")
        listed = {room.room: room for room in await rooms.list_rooms()}
        assert listed[room_a.room_id].require_e2ee and listed[room_b.room_id].require_e2ee
        assert listed[room_a.room_id].max_publishers == 10

        await sfu.close_meeting("meeting-a")
        assert sfu.room_of("meeting-a") is None
        assert await rooms.exists(room_a.room_id) is False
        await sfu.leave("meeting-b", "bob")  # the last one out: the room goes too
        assert await rooms.exists(room_b.room_id) is False
        await rooms.handle.detach()

    run(runner, scenario())


def test_publish_answers_with_e2ee_and_leave_tears_the_handles_down(
    runner: asyncio.Runner, sfu: Sfu, listener: Listener
) -> None:
    async def scenario() -> None:
        answer = await sfu.publish("meeting-c", "carol", offer(1))
        assert answer.startswith("v=0") and "a=mid:1" in answer
        await sfu.ensure_subscriber("meeting-c", "dave")
        room = sfu.room_of("meeting-c")
        assert room is not None
        rooms = await admin(sfu, "meeting-c")
        (carol,) = await rooms.list_participants(room.room_id)
        assert carol.display == "carol"  # publishers join with display = pid
        publisher = room.publishers["carol"]
        assert publisher.handle is not None and publisher.handle.handle.id in room.session.handles
        assert {s.mid for s in publisher.streams} == {"0", "1"}

        # The same connection again renegotiates; a new connection replaces the handle.
        await sfu.publish("meeting-c", "carol", offer(1))
        assert room.publishers["carol"] is publisher
        await sfu.publish("meeting-c", "carol", offer(2))
        replaced = room.publishers["carol"]
        assert replaced is not publisher
        assert publisher.handle.handle.id not in room.session.handles
        (again,) = await rooms.list_participants(room.room_id)
        assert again.id == replaced.feed_id != publisher.feed_id

        handle = replaced.handle
        assert handle is not None
        await sfu.leave("meeting-c", "carol")
        assert await rooms.list_participants(room.room_id) == ()
        assert handle.handle.id not in room.session.handles
        assert "carol" not in room.members and "dave" in room.members
        await sfu.close_meeting("meeting-c")
        await rooms.handle.detach()

    run(runner, scenario())


def test_one_meeting_cannot_reach_into_another(
    runner: asyncio.Runner, sfu: Sfu, listener: Listener
) -> None:
    async def scenario() -> None:
        await sfu.publish("meeting-e", "erin", offer(3))
        await sfu.publish("meeting-f", "frank", offer(4))
        room_e, room_f = sfu.room_of("meeting-e"), sfu.room_of("meeting-f")
        assert room_e is not None and room_f is not None
        erin = room_e.publishers["erin"]
        erin.started = True  # as if her connection were up: others would subscribe to her
        # Erin's pid means nothing in meeting F: no effect on her handles in meeting E.
        await sfu.leave("meeting-f", "erin")
        await sfu.trickle("meeting-f", "erin", "publisher", None)
        with pytest.raises(InvalidInput):
            await sfu.subscriber_answer("meeting-f", "erin", "v=0\r\n")
        assert room_e.publishers["erin"] is erin and "frank" in room_f.publishers
        # What Frank would receive comes from his own room only.
        assert room_f.wanted("frank") == {}
        assert set(room_e.wanted("someone")) == {(erin.feed_id, "0"), (erin.feed_id, "1")}
        rooms = await admin(sfu, "meeting-e")
        assert [p.display for p in await rooms.list_participants(room_e.room_id)] == ["erin"]
        assert [p.display for p in await rooms.list_participants(room_f.room_id)] == ["frank"]
        erin.started = False
        await sfu.close_meeting("meeting-e")
        await sfu.close_meeting("meeting-f")
        await rooms.handle.detach()

    run(runner, scenario())


def test_bad_input_is_refused_before_janus(
    runner: asyncio.Runner, sfu: Sfu, listener: Listener
) -> None:
    async def scenario() -> None:
        for sdp in ("", "hello", "v=0\r\n\x00", "v=0" + "a" * 200_001, None):
            with pytest.raises(InvalidInput):
                await sfu.publish("meeting-g", "gina", sdp)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):  # no o= line: not an offer of a browser
            await sfu.publish("meeting-g", "gina", "v=0\r\ns=-\r\n")
        with pytest.raises(InvalidInput):
            await sfu.trickle("meeting-g", "gina", "publisher", {"candidate": "rm -rf"})
        with pytest.raises(InvalidInput):
            await sfu.trickle("meeting-g", "gina", "sideways", None)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            await sfu.set_quality("meeting-g", "gina", "hal", "ultra")  # type: ignore[arg-type]
        assert sfu.room_of("meeting-g") is None  # nothing reached Janus

    run(runner, scenario())


def test_meetings_go_to_the_least_loaded_janus(
    runner: asyncio.Runner, sfu: Sfu, tmp_path: Path
) -> None:
    """Two "external" Janus servers (here: two sessions on the managed one)."""

    async def scenario() -> None:
        managed = sfu.backends[0].managed
        assert managed is not None
        endpoint = managed.endpoint
        first, second = (
            Backend(name, JanusClient(endpoint.url, endpoint.api_secret), endpoint.admin_key)
            for name in ("janus-1", "janus-2")
        )
        external = Sfu([first, second])
        async with external.running():
            while not (first.available and second.available):
                await asyncio.sleep(0.05)  # polling until both sessions are open (bounded)
            await external.ensure_subscriber("m1", "a")
            await external.ensure_subscriber("m1", "b")
            await external.ensure_subscriber("m2", "c")
            await external.ensure_subscriber("m3", "d")
            assert external.backend_of("m1") is first
            assert external.backend_of("m2") is second
            assert external.backend_of("m3") is second  # 1 participant there, 2 on first
            assert external.load(first) == (2, 1) and external.load(second) == (2, 2)
        assert not external.available

    run(runner, scenario())


def test_an_sfu_without_janus_refuses_politely(runner: asyncio.Runner) -> None:
    async def scenario() -> None:
        nothing = Sfu.unavailable()
        async with nothing.running():
            assert not nothing.available and not nothing.configured
            with pytest.raises(SfuUnavailable) as refused:
                await nothing.publish("m", "p", offer(5))
            assert refused.value.text == "The media server is not available right now."

    run(runner, scenario())


def test_a_killed_janus_loses_the_meetings_and_comes_back(
    runner: asyncio.Runner, sfu: Sfu, listener: Listener
) -> None:
    async def scenario() -> None:
        await sfu.publish("meeting-k", "kim", offer(6))
        await sfu.ensure_subscriber("meeting-l", "lee")
        backend = sfu.backends[0]
        managed = backend.managed
        assert managed is not None and managed.pid is not None
        generation = managed.generation
        os.kill(managed.pid, signal.SIGKILL)

        await listener.lost_event.wait()
        while len(listener.lost) < 2:
            listener.lost_event.clear()
            await listener.lost_event.wait()
        assert sorted(listener.lost) == ["meeting-k", "meeting-l"]
        assert sfu.room_of("meeting-k") is None and sfu.room_of("meeting-l") is None

        # The browsers publish again: the request waits for the restarted Janus.
        answer = await sfu.publish("meeting-k", "kim", offer(7))
        assert answer.startswith("v=0")
        assert managed.generation > generation
        room = sfu.room_of("meeting-k")
        assert room is not None
        rooms = await admin(sfu, "meeting-k")
        assert [p.display for p in await rooms.list_participants(room.room_id)] == ["kim"]
        await sfu.close_meeting("meeting-k")
        await rooms.handle.detach()

    run(runner, scenario(), timeout=60)
