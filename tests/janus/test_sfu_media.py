"""Real media through the SFU: Chromium pages publish and receive through a managed Janus,
driven by :class:`conclave.media.sfu.Sfu` (tests/support/sfu_pages.py plays the hub).

These pages do not encrypt (no SFrame transform): ``require_e2ee`` only makes Janus
insist that publishers declare ``e2ee``, which the SFU always does. The end-to-end
encrypted call through the SFU is the browser test of the meeting room.

Heavy (Chromium): run under the machine-wide lock, inside the namespace:
``flock /tmp/conclave-heavy.lock scripts/netns-run.sh .venv/bin/python -m pytest
tests/janus/test_sfu_media.py``
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser

from conclave.media.janus_managed import ManagedJanus
from conclave.media.sfu import Sfu
from conclave.media.sfu_backends import Backend
from conclave.media.videoroom import VideoRoom
from tests.janus.conftest import janus_settings
from tests.janus.test_managed_janus import run
from tests.support.janus_forward import forwarded, vp8_frames
from tests.support.sfu_pages import Hub, SfuPage, chromium

pytestmark = pytest.mark.browser
SCENARIO_SECONDS = 120.0


@pytest.fixture(scope="module")
def sfu(runner: asyncio.Runner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sfu]:
    managed = ManagedJanus(janus_settings(), tmp_path_factory.mktemp("sfu-media"))
    sfu = Sfu([Backend("managed", None, None, managed=managed)])
    run(runner, sfu.start())
    run(runner, sfu.wait_available(30), timeout=40)
    yield sfu
    run(runner, sfu.close())


@pytest.fixture(scope="module")
def browser(runner: asyncio.Runner, namespace: None) -> Iterator[Browser]:
    stack = contextlib.AsyncExitStack()
    launched = run(runner, stack.enter_async_context(chromium()), timeout=90)
    yield launched
    run(runner, stack.aclose())


@pytest.fixture
def hub(runner: asyncio.Runner, sfu: Sfu, browser: Browser) -> Iterator[Hub]:
    hub = Hub(sfu, browser)
    yield hub
    run(runner, hub.close())


@contextlib.asynccontextmanager
async def meeting(sfu: Sfu, meeting_id: str) -> AsyncIterator[str]:
    """The meeting's room is destroyed however the test ends."""
    try:
        yield meeting_id
    finally:
        await sfu.close_meeting(meeting_id)


def pids(page: SfuPage) -> set[tuple[str, str, str]]:
    return {(s.pid, s.kind, s.source_mid) for s in page.streams}


def test_publishers_and_a_listener_receive_each_other(
    runner: asyncio.Runner, sfu: Sfu, hub: Hub
) -> None:
    async def scenario() -> None:
        async with meeting(sfu, "m1"):
            alice = await hub.join("m1", "alice")
            bob = await hub.join("m1", "bob")
            carol = await hub.join("m1", "carol")
            await sfu.ensure_subscriber("m1", "carol")  # camera and microphone off
            await alice.publish()
            await alice.wait_publishing()
            await carol.wait_frames("alice")
            assert pids(carol) == {("alice", "audio", "0"), ("alice", "video", "1")}

            await bob.publish()
            await bob.wait_frames("alice")
            await alice.wait_frames("bob")
            await carol.wait_frames("bob")
            assert pids(carol) == {
                ("alice", "audio", "0"),
                ("alice", "video", "1"),
                ("bob", "audio", "0"),
                ("bob", "video", "1"),
            }
            assert all(s.pid == "bob" for s in alice.streams)  # carol sends nothing

            # What Janus relays of alice's camera, copied by rtp_forward: whole VP8 frames
            # (in the clear here: these test pages do not encrypt).
            async with forwarded(sfu, "m1", "alice", mid="1") as capture:
                packets = await capture.packets(60)
            frames = vp8_frames(packets)
            assert frames and all(frame[0] & 0x10 and frame[0] >> 1 & 7 <= 3 for frame in frames)

            # Alice leaves: her handles go at once, the others get offers without her.
            room = sfu.room_of("m1")
            backend = sfu.backend_of("m1")
            assert room is not None and backend is not None and backend.session is not None
            admin = await VideoRoom.attach(backend.session, backend.admin_key)
            await sfu.leave("m1", "alice")
            listed = await admin.list_participants(room.room_id)
            assert [p.display for p in listed] == ["bob"]  # subscribers are not listed
            await admin.handle.detach()

            async def without_alice() -> bool:
                return all(s.pid != "alice" for s in carol.streams + bob.streams)

            await carol.until(without_alice, "alice's streams are still offered")
            before = await carol.frames_from("bob")
            await carol.wait_frames("bob", more_than=before)  # bob still flows

    run(runner, scenario(), timeout=SCENARIO_SECONDS)


def test_simulcast_layers_follow_set_quality(runner: asyncio.Runner, sfu: Sfu, hub: Hub) -> None:
    async def scenario() -> None:
        async with meeting(sfu, "m2"):
            alice = await hub.join("m2", "alice")
            bob = await hub.join("m2", "bob")
            await sfu.ensure_subscriber("m2", "bob")
            await alice.publish(simulcast=True)
            room = sfu.room_of("m2")
            assert room is not None
            assert [s.simulcast for s in room.publishers["alice"].streams] == [False, True]
            await bob.wait_frames("alice")
            seen: list[int] = []

            async def width(low: int, high: int) -> bool:
                mids = {s.mid for s in bob.streams if s.pid == "alice" and s.kind == "video"}
                seen[:] = [i.width for i in await bob.inbound() if i.mid in mids]
                return any(low <= found <= high for found in seen)

            # 1280 px wide in three layers: full, half and quarter width. The upper ones
            # come once the sender's bandwidth estimate allows them.
            await sfu.set_quality("m2", "bob", "alice", "low")
            await bob.until(lambda: width(1, 320), lambda: f"no low layer (widths {seen})")
            await sfu.set_quality("m2", "bob", "alice", "high")
            await bob.until(lambda: width(640, 1280), lambda: f"no upper layer (widths {seen})")
            await sfu.set_quality("m2", "bob", "alice", "low")
            await bob.until(lambda: width(1, 320), lambda: f"not back down (widths {seen})")

    run(runner, scenario(), timeout=SCENARIO_SECONDS)


def test_renegotiation_and_ice_restarts_keep_the_connections(
    runner: asyncio.Runner, sfu: Sfu, hub: Hub
) -> None:
    async def scenario() -> None:
        async with meeting(sfu, "m4"):
            alice = await hub.join("m4", "alice")
            bob = await hub.join("m4", "bob")
            await sfu.ensure_subscriber("m4", "bob")
            await alice.publish()
            await bob.wait_frames("alice")
            room = sfu.room_of("m4")
            assert room is not None
            publisher = room.publishers["alice"]

            # A screen share: the same connection renegotiates, bob gets one more stream.
            await alice.renegotiate("screen")
            assert room.publishers["alice"] is publisher  # same handle, configured anew

            async def three() -> bool:
                return pids(bob) == {
                    ("alice", "audio", "0"),
                    ("alice", "video", "1"),
                    ("alice", "video", "2"),
                }

            await bob.until(three, lambda: f"no screen stream offered ({pids(bob)})")
            screen = next(s.mid for s in bob.streams if s.source_mid == "2")

            async def screen_decoded() -> bool:
                return any(i.mid == screen and i.frames > 0 for i in await bob.inbound())

            await bob.until(screen_decoded, "the screen stream is not decoded")

            # ICE restarts of both connections keep media flowing on the same handles.
            await alice.renegotiate("restart")
            assert room.publishers["alice"] is publisher
            offers = len(bob.offers)
            assert await sfu.restart_subscriber("m4", "bob")

            async def restarted() -> bool:
                return len(bob.offers) > offers

            await bob.until(restarted, "no ICE-restart offer for bob")
            assert "a=ice-ufrag" in bob.offers[-1][0]
            before = await bob.frames_from("alice")
            await bob.wait_frames("alice", more_than=before + 10)
            assert (await alice.states()) == {"publisher": "connected", "subscriber": "none"}
            assert (await bob.states())["subscriber"] == "connected"

    run(runner, scenario(), timeout=SCENARIO_SECONDS)


def test_a_call_survives_janus_being_killed(runner: asyncio.Runner, sfu: Sfu, hub: Hub) -> None:
    async def scenario() -> None:
        async with meeting(sfu, "m3"):
            alice = await hub.join("m3", "alice")
            bob = await hub.join("m3", "bob")
            await alice.publish()
            await bob.publish()
            await alice.wait_frames("bob")
            await bob.wait_frames("alice")

            managed = sfu.backends[0].managed
            assert managed is not None and managed.pid is not None
            os.kill(managed.pid, signal.SIGKILL)
            await hub.lost_event.wait()
            assert hub.lost == ["m3"]

            # What the browsers do when told: new connections, publish again.
            for page in (alice, bob):
                page.fresh_offer = True
                page.offers.clear()
            await alice.publish()
            await bob.publish()
            await alice.wait_frames("bob")
            await bob.wait_frames("alice")

    run(runner, scenario(), timeout=SCENARIO_SECONDS)
