"""Copy what Janus forwards for one publisher to a local UDP port, for tests that show the
SFU only ever sees ciphertext (issue 5: the frames Janus relays are SFrame frames).

Janus's VideoRoom ``rtp_forward`` (admin key required; the managed Janus has one, and
Conclave itself never forwards) sends a publisher's stream as plain RTP, exactly as Janus
received it after SRTP: the payload is what the browser's packetizer made of the
(encrypted) frame. Usage, on the event loop that runs the SFU::

    async with forwarded(sfu, meeting_id, "alice", mid="1") as capture:
        packets = await capture.packets(50)
    frames = vp8_frames(packets)  # whole encoded frames as the sender's transform emitted

Only for tests: it reads the room's secret and the admin key from the SFU's internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

from conclave.media.sfu import Sfu
from conclave.media.videoroom import ForwardStream, VideoRoom

HOST = "127.0.0.1"
MAX_PACKETS = 10_000


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes


def parse_rtp(data: bytes) -> RtpPacket | None:
    """One RTP packet (RFC 3550), or None for anything else (RTCP, garbage)."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    first, second, sequence, timestamp, ssrc = struct.unpack("!BBHII", data[:12])
    if 72 <= second & 0x7F <= 79:  # RTCP packet types 200-207 on a shared port
        return None
    offset = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < offset + 4:
            return None
        (words,) = struct.unpack("!H", data[offset + 2 : offset + 4])
        offset += 4 + 4 * words
    end = len(data)
    if first & 0x20 and end > offset:  # padding: the last byte says how much
        end -= data[-1]
    if end < offset:
        return None
    return RtpPacket(
        second & 0x7F, sequence, timestamp, ssrc, bool(second & 0x80), data[offset:end]
    )


def vp8_descriptor_length(payload: bytes) -> int:
    """Length of the VP8 payload descriptor (RFC 7741 section 4.2) at the start."""
    if not payload:
        return 0
    length = 1
    if payload[0] & 0x80 and len(payload) > 1:  # X: extension octet follows
        extension = payload[1]
        length += 1
        if extension & 0x80:  # I: PictureID, 7 or 15 bits (M)
            length += 2 if len(payload) > length and payload[length] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            length += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX octet
            length += 1
    return min(length, len(payload))


def vp8_frames(packets: list[RtpPacket]) -> list[bytes]:
    """Whole VP8 frames (descriptors stripped, packets of one timestamp joined in sequence
    order) from complete frames only: each frame starts with S=1, PID=0 and ends with
    the marker bit, with no sequence gap."""
    by_time: dict[int, list[RtpPacket]] = {}
    for packet in packets:
        by_time.setdefault(packet.timestamp, []).append(packet)
    frames = []
    for group in by_time.values():
        group.sort(key=lambda p: p.sequence)
        first, last = group[0], group[-1]
        contiguous = all(
            (b.sequence - a.sequence) % 65536 == 1 for a, b in itertools.pairwise(group)
        )
        starts = bool(first.payload) and first.payload[0] & 0x17 == 0x10  # S=1, PID=0
        if contiguous and starts and last.marker:
            frames.append(b"".join(p.payload[vp8_descriptor_length(p.payload) :] for p in group))
    return frames


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(MAX_PACKETS)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(data)


class Capture:
    def __init__(self, receiver: _Receiver) -> None:
        self._receiver = receiver

    async def packets(self, count: int, timeout: float = 20.0) -> list[RtpPacket]:
        """The next ``count`` RTP packets forwarded (raises TimeoutError if they do not
        come within ``timeout`` seconds)."""
        found: list[RtpPacket] = []
        async with asyncio.timeout(timeout):
            while len(found) < count:
                packet = parse_rtp(await self._receiver.queue.get())
                if packet is not None:
                    found.append(packet)
        return found


@contextlib.asynccontextmanager
async def forwarded(sfu: Sfu, meeting_id: str, pid: str, *, mid: str) -> AsyncIterator[Capture]:
    """Forward publisher ``pid``'s stream ``mid`` (its own mid: "0" microphone, "1"
    camera in Conclave's browsers) to a UDP socket on 127.0.0.1 while inside."""
    room = sfu.room_of(meeting_id)
    backend = sfu.backend_of(meeting_id)
    if room is None or backend is None or backend.session is None:
        raise LookupError(f"meeting {meeting_id!r} has no room on a live Janus")
    publisher = room.publishers.get(pid)
    if publisher is None or publisher.feed_id is None:
        raise LookupError(f"{pid!r} does not publish in {meeting_id!r}")
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_datagram_endpoint(_Receiver, local_addr=(HOST, 0))
    port = transport.get_extra_info("sockname")[1]
    admin = await VideoRoom.attach(backend.session, backend.admin_key)
    try:
        forwarders = await admin.rtp_forward(
            room.room_id,
            publisher.feed_id,
            secret=room.secret,
            streams=[ForwardStream(mid, port)],
            host=HOST,
        )
        if not forwarders:
            raise LookupError(f"{pid!r} has no stream with mid {mid!r}")
        try:
            yield Capture(receiver)
        finally:
            for forwarder in forwarders:
                with contextlib.suppress(Exception):
                    await admin.stop_rtp_forward(
                        room.room_id, publisher.feed_id, forwarder.stream_id, secret=room.secret
                    )
    finally:
        transport.close()
        with contextlib.suppress(Exception):
            await admin.handle.detach()
