"""The Janus client against a real Janus that ``janus_managed`` starts and supervises."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import signal
import socket
import subprocess
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from conclave.media.janus import JanusClient, Jsep
from conclave.media.janus_errors import E2EERequired, NoSuchRoom, SessionLost, Unauthorized
from conclave.media.janus_managed import JanusStartError, ManagedJanus
from conclave.media.videoroom import VideoRoom
from tests.janus.conftest import RTP_PORTS, janus_settings
from tests.janus.record import OFFER

T = TypeVar("T")
ROOM = {"secret": "room-secret", "pin": "room-pin"}


def run(runner: asyncio.Runner, step: Awaitable[T], timeout: float = 20.0) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await step

    return runner.run(bounded())


def connect(janus: ManagedJanus) -> JanusClient:
    return JanusClient(janus.endpoint.url, janus.endpoint.api_secret)


def sockets_of(pid: int, kind: str) -> list[tuple[str, int]]:
    """The local (address, port) of every ``tcp`` listening / ``udp`` socket of ``pid``."""
    flags = "-ltnpH" if kind == "tcp" else "-uanpH"
    lines = subprocess.run(["ss", flags], capture_output=True, text=True, check=True).stdout
    found = []
    for line in lines.splitlines():
        if f"pid={pid}," in line:
            local = line.split()[3]
            address, port = local.rsplit(":", 1)
            found.append((address.strip("[]"), int(port)))
    return found


def test_janus_runs_only_the_videoroom_plugin_and_the_http_transport(
    runner: asyncio.Runner, managed: ManagedJanus
) -> None:
    info = run(runner, _raw_info(managed.endpoint.url))
    assert list(info["plugins"]) == ["janus.plugin.videoroom"]
    assert list(info["transports"]) == ["janus.transport.http"]
    assert info["events"] == {} and info["loggers"] == {}
    assert info["api_secret"] is True and info["event_handlers"] is False

    async def anonymous() -> None:
        async with JanusClient(managed.endpoint.url, None) as janus:
            with pytest.raises(Unauthorized):
                await janus.create_session()

    run(runner, anonymous())


async def _raw_info(url: str) -> dict[str, object]:
    async with httpx.AsyncClient() as http:
        reply = await http.get(f"{url}/info")
        data: dict[str, object] = reply.json()
        return data


def test_the_api_listens_on_loopback_only(runner: asyncio.Runner, managed: ManagedJanus) -> None:
    port = int(managed.endpoint.url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("10.99.0.1", port), timeout=2)
    pid = managed.pid
    assert pid is not None
    assert sockets_of(pid, "tcp") == [("127.0.0.1", port)]


def test_a_room_with_e2ee_publishers_participants_and_media_on_v0_only(
    runner: asyncio.Runner, managed: ManagedJanus
) -> None:
    async def scenario() -> None:
        async with connect(managed) as janus:
            session = await janus.create_session()
            rooms = await VideoRoom.attach(session, managed.endpoint.admin_key)
            assert await rooms.create_room(7001, **ROOM) == 7001
            (room,) = [r for r in await rooms.list_rooms() if r.room == 7001]
            assert room.require_e2ee is True and room.participants == 0
            assert await rooms.list_participants(7001) == ()

            alice = await VideoRoom.attach(session, None)
            joined = await alice.join_publisher(7001, pin="room-pin", display="alice")
            (listed,) = await rooms.list_participants(7001)
            assert (listed.id, listed.display, listed.publisher) == (joined.id, "alice", False)
            with pytest.raises(E2EERequired):
                await alice.handle.message({"request": "publish"}, Jsep("offer", OFFER))

            bob = await VideoRoom.attach(session, None)
            await bob.join_publisher(7001, pin="room-pin", display="bob")
            published = await bob.publish(Jsep("offer", OFFER))
            assert published.jsep.type == "answer" and published.jsep.e2ee is True
            candidates = re.findall(
                r"a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ", published.jsep.sdp
            )
            assert candidates, published.jsep.sdp
            for address, port in candidates:  # media only on the namespace's v0
                assert address == "10.99.0.1"
                assert RTP_PORTS[0] <= int(port) <= RTP_PORTS[1]
            pid = managed.pid
            assert pid is not None
            media_sockets = sockets_of(pid, "udp")
            assert media_sockets
            for address, port in media_sockets:
                assert ipaddress.ip_address(address) == ipaddress.ip_address("10.99.0.1")
                assert RTP_PORTS[0] <= port <= RTP_PORTS[1]

            await rooms.destroy_room(7001, secret="room-secret")
            with pytest.raises(NoSuchRoom):
                await rooms.list_participants(7001)
            await session.destroy()

    run(runner, scenario())


def test_a_killed_janus_is_restarted_and_the_client_needs_a_new_session(
    runner: asyncio.Runner, managed: ManagedJanus
) -> None:
    async def scenario() -> None:
        async with connect(managed) as janus:
            session = await janus.create_session()
            rooms = await VideoRoom.attach(session, managed.endpoint.admin_key)
            await rooms.create_room(7002, **ROOM)
            generation, pid = managed.generation, managed.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)

            lost = await session.wait_lost(timeout=20)
            assert lost.code == 404  # the restarted Janus does not know the session
            with pytest.raises(SessionLost):
                await rooms.exists(7002)
            with pytest.raises(SessionLost):
                await rooms.handle.next_event(timeout=1)
            assert await managed.wait_generation(generation, timeout=20) == generation + 1
            assert managed.pid not in (None, pid)

            await janus.wait_available(timeout=5)
            fresh = await janus.create_session()
            rooms = await VideoRoom.attach(fresh, managed.endpoint.admin_key)
            assert await rooms.exists(7002) is False  # a restarted Janus has no rooms
            await fresh.destroy()

    run(runner, scenario(), timeout=45)


def test_stop_ends_janus_and_a_janus_that_cannot_start_says_why(
    runner: asyncio.Runner, tmp_path: Path
) -> None:
    async def scenario() -> None:
        janus = ManagedJanus(janus_settings(), tmp_path / "stop")
        await janus.start()
        pid = janus.pid
        assert pid is not None
        await janus.stop()
        assert janus.pid is None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

        broken = ManagedJanus(janus_settings(), tmp_path / "broken", binary=Path("/bin/false"))
        with pytest.raises(JanusStartError) as failed:
            await broken.start()
        assert str(failed.value).startswith("janus exited with status 1 while starting:")

    run(runner, scenario())
