"""Proof that the SFU sees only ciphertext: the operator's own Janus, asked with its admin
key to copy a publisher's camera stream to a local UDP port (`rtp_forward`, as anyone
who runs the server could), gets SFrame frames that `conclave.e2ee.sframe` opens with the
sender's key and with no other."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import profiles
from playwright.sync_api import Browser, BrowserContext, expect

from conclave.config import load_settings
from conclave.e2ee import sframe
from conclave.services import build_services
from tests.media.conftest import Site
from tests.media.test_e2ee import SUITE, _meeting, _ratchets
from tests.media.test_sfu import sfu_media
from tests.support.e2ee_taps import KEY_CAPTURE, captured_keys
from tests.support.inprocess import InProcessServer
from tests.support.janus_forward import forwarded, vp8_frames
from tests.support.net import free_port
from tests.support.room import CALL_SECONDS, in_call, join

PACKETS = 400  # forwarded RTP packets to collect: several seconds of camera video
FRAMES = 10  # whole frames among them, at least


@pytest.fixture
def server(tmp_path: Path, namespace: None) -> Iterator[InProcessServer]:
    port = free_port()
    settings = load_settings(
        None,
        data_dir=tmp_path / "data",
        server={"hostnames": ["127.0.0.1"], "port": port},
        # Janus 1.1.2 copied no packet of a simulcast video with rtp_forward (whichever
        # layer or "simulcast" option we asked for); the frames are framed alike per layer.
        media={"janus": {"managed": "on"}, "simulcast": False},
    )
    services = build_services(settings, argon2=profiles.CHEAPEST)
    try:
        with InProcessServer(settings, services) as running:
            running.wait_for_sfu()
            yield running
    finally:
        services.db.dispose()


def _opens(key: bytes, frame: bytes) -> bool:
    clear = 10 if frame[0] & 0x01 == 0 else 3  # key frame: tag, start code, size
    try:
        sframe.decrypt(SUITE, key, frame[:clear], frame[clear:])
    except sframe.DecryptError:
        return False
    return True


def test_janus_forwards_sframe_frames_only_the_senders_key_opens(
    server: InProcessServer, browser: Browser
) -> None:
    site = Site(server, server.services)  # type: ignore[arg-type]
    try:
        _prove(site, server, browser)
    finally:
        site.close()


def _prove(site: Site, server: InProcessServer, browser: Browser) -> None:
    meeting = _meeting(site, "ivan", "jana")

    def capture(context: BrowserContext) -> None:
        context.add_init_script(KEY_CAPTURE)

    pages = [site.person(browser, "hannah"), site.person(browser, "ivan")]
    jana = site.person(browser, "jana", capture)
    for page in [*pages, jana]:
        join(page, server.base_url, meeting.id)
    for page in [*pages, jana]:
        in_call(page, 3)
    expect(jana.locator("#media-mode")).to_have_text("Through the media server")
    assert sfu_media(jana, 2)["video"] >= 2
    keys = captured_keys(jana)
    senders = {entry["from"] for entry in keys}

    async def capture_a_camera() -> tuple[str, list[bytes]]:
        room = server.sfu.room_of(meeting.id)
        assert room is not None
        sender = next(pid for pid in room.publishers if pid in senders)
        async with forwarded(server.sfu, meeting.id, sender, mid="1") as capture:
            packets = await capture.packets(PACKETS, timeout=CALL_SECONDS)
        return sender, vp8_frames(packets)

    sender, frames = server.run(capture_a_camera())
    assert len(frames) >= FRAMES, f"{len(frames)} whole frames in {PACKETS} packets"

    own = [k for e in keys if e["from"] == sender for k in _ratchets(bytes(e["key"]), 4)]
    others = [bytes(e["key"]) for e in keys if e["from"] != sender]
    strangers = [*others, secrets.token_bytes(16)]
    for frame in frames:
        kid, _, _ = sframe.decode_header(frame[10 if frame[0] & 0x01 == 0 else 3 :])
        assert kid >= 256, kid  # an SFrame header with a Conclave KID
        assert not any(_opens(key, frame) for key in strangers)
        assert any(_opens(key, frame) for key in own), frame[:16].hex()
