"""Proof that the SFU sees only ciphertext: the operator's own Janus, asked with its admin
key to copy a publisher's camera stream to a local UDP port (`rtp_forward`, as anyone
who runs the server could), gets SFrame frames that `conclave.e2ee.sframe` opens with the
sender's key and with no other."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import profiles
from playwright.sync_api import Browser, BrowserContext, expect

from conclave.config import load_settings
from conclave.e2ee import sframe
from conclave.media.videoroom import ForwardStream
from conclave.services import build_services
from tests.media.conftest import Site
from tests.media.test_e2ee import SUITE, _meeting, _ratchets
from tests.media.test_sfu import sfu_media
from tests.support.e2ee_taps import KEY_CAPTURE, captured_keys
from tests.support.inprocess import InProcessServer
from tests.support.net import free_port
from tests.support.room import CALL_SECONDS, in_call, join

FRAMES = 20  # single-packet video frames to check
RTP_HEADER = 12


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


def vp8_frames(sock: socket.socket, count: int) -> list[bytes]:
    """Whole VP8 frames reassembled from the forwarded RTP packets (RFC 7741): the
    packets of one timestamp, from the one that starts partition 0 to the one with the
    marker, without gaps, their payload descriptors removed."""
    packets: dict[int, dict[int, tuple[bool, bool, bytes]]] = {}  # timestamp: seq: ...
    frames: list[bytes] = []
    received = 0
    deadline = time.monotonic() + CALL_SECONDS
    sock.settimeout(1.0)
    while len(frames) < count:
        assert time.monotonic() < deadline, f"{received} packets, {len(frames)} whole frames"
        try:
            packet = sock.recv(65536)
        except TimeoutError:
            continue
        received += 1
        seq = int.from_bytes(packet[2:4], "big")
        stamp = int.from_bytes(packet[4:8], "big")
        start, body = _descriptor(_rtp_payload(packet))
        parts = packets.setdefault(stamp, {})
        parts[seq] = (start, bool(packet[1] & 0x80), body)
        frame = _whole(parts)
        if frame is not None:
            frames.append(frame)
            del packets[stamp]
    return frames


def _rtp_payload(packet: bytes) -> bytes:
    offset = RTP_HEADER + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:  # header extension
        offset += 4 + 4 * int.from_bytes(packet[offset + 2 : offset + 4], "big")
    return packet[offset:]


def _descriptor(payload: bytes) -> tuple[bool, bytes]:
    """(starts partition 0, the VP8 data after the payload descriptor)."""
    first, index = payload[0], 1
    if first & 0x80:  # X: I, L, T, K follow
        flags, index = payload[1], 2
        if flags & 0x80:  # I: picture id, 7 or 15 bits
            index += 2 if payload[index] & 0x80 else 1
        if flags & 0x40:  # L
            index += 1
        if flags & 0x30:  # T or K
            index += 1
    return bool(first & 0x10) and not first & 0x07, payload[index:]


def _whole(parts: dict[int, tuple[bool, bool, bytes]]) -> bytes | None:
    starts = [seq for seq, (start, _, _) in parts.items() if start]
    ends = [seq for seq, (_, end, _) in parts.items() if end]
    if not starts or not ends:
        return None
    first, last = starts[0], ends[0]
    span = (last - first) % 65536
    seqs = [(first + i) % 65536 for i in range(span + 1)]
    if any(seq not in parts for seq in seqs):
        return None
    return b"".join(parts[seq][2] for seq in seqs)


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

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))

        async def forward_a_camera() -> str:
            room = server.sfu.room_of(meeting.id)
            assert room is not None
            found = await room.admin.list_participants(room.room_id)
            feed = next(p for p in found if p.display in senders and p.publisher)
            port = sock.getsockname()[1]
            layers = [ForwardStream(mid="1", port=port)]
            made = await room.admin.rtp_forward(
                room.room_id, feed.id, secret=room.secret, streams=layers
            )
            assert made, "Janus made no forwarder"
            return str(feed.display)

        sender = server.run(forward_a_camera())
        frames = vp8_frames(sock, FRAMES)

    own = [k for e in keys if e["from"] == sender for k in _ratchets(bytes(e["key"]), 4)]
    others = [bytes(e["key"]) for e in keys if e["from"] != sender]
    strangers = [*others, secrets.token_bytes(16)]
    for frame in frames:
        kid, _, _ = sframe.decode_header(frame[10 if frame[0] & 0x01 == 0 else 3 :])
        assert kid >= 256, kid  # an SFrame header with a Conclave KID
        assert not any(_opens(key, frame) for key in strangers)
        assert any(_opens(key, frame) for key in own), frame[:16].hex()
