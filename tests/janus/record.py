"""Record real Janus replies into ``tests/janus/recorded/*.json`` for the unit tests.

Run inside the test network namespace, against a managed Janus that this script starts:

    scripts/netns-run.sh .venv/bin/python -m tests.janus.record

Each file is one conversation, in the order it happened: the raw HTTP requests (with the
API secret and admin key replaced by ``<api_secret>`` / ``<admin_key>``) and Janus's raw
replies. ``test_janus_client.py`` replays them through ``httpx.MockTransport``. The
session file waits for one idle long poll (Janus answers it after 30 s).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from conclave.config import JanusSettings
from conclave.media.janus_managed import ManagedJanus

HERE = Path(__file__).resolve().parent / "recorded"
FINGERPRINT = (
    "sha-256 3A:96:6D:57:B2:C2:C7:61:A0:46:3E:1C:97:39:D9:F7:0A:88:A0:B1:EC:"
    "85:E8:49:17:15:8C:A4:22:39:9C:E5"
)
MEDIA = ["c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:Cnc1"]
ICE = ["a=ice-pwd:conclaveRecordedIcePwd0123", "a=ice-options:trickle"]
# A browser-like publisher offer: one Opus and one VP8 stream, bundled, rtcp-mux.
OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS conclave",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        *MEDIA,
        *ICE,
        f"a=fingerprint:{FINGERPRINT}",
        "a=setup:actpass",
        "a=mid:0",
        "a=sendonly",
        "a=msid:conclave audio0",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        "a=ssrc:1111 cname:conclave",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        *MEDIA,
        *ICE,
        f"a=fingerprint:{FINGERPRINT}",
        "a=setup:actpass",
        "a=mid:1",
        "a=sendonly",
        "a=msid:conclave video0",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        "a=rtpmap:96 VP8/90000",
        "a=rtcp-fb:96 nack",
        "a=rtcp-fb:96 nack pli",
        "a=ssrc:2222 cname:conclave",
        "",
    ]
)
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 10.99.0.2 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}


def answer_for(offer: str) -> str:
    """A receive-only answer to a Janus subscriber offer (first codec of each m-line)."""
    lines = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0"]
    mids: list[str] = []
    sections = offer.split("\r\nm=")[1:]
    for section in sections:
        rows = ("m=" + section).split("\r\n")
        kind, _port, proto, *payloads = rows[0][2:].split()
        mid = next(row[6:] for row in rows if row.startswith("a=mid:"))
        mids.append(mid)
        rtpmap = next(row for row in rows if row.startswith(f"a=rtpmap:{payloads[0]} "))
        lines += [
            f"m={kind} 9 {proto} {payloads[0]}",
            *MEDIA,
            *ICE,
            f"a=fingerprint:{FINGERPRINT}",
            "a=setup:active",
            f"a=mid:{mid}",
            "a=recvonly",
            "a=rtcp-mux",
            rtpmap,
        ]
    lines.insert(4, "a=group:BUNDLE " + " ".join(mids))
    return "\r\n".join([*lines, ""])


class Recorder:
    """Sends raw Janus API requests and keeps every exchange."""

    def __init__(self, http: httpx.AsyncClient, url: str, api_secret: str, admin_key: str):
        self.http = http
        self.url = url
        self.api_secret = api_secret
        self.admin_key = admin_key
        self.exchanges: list[dict[str, Any]] = []

    def _path(self, *ids: int) -> str:
        return "/janus" + "".join(f"/{part}" for part in ids)

    def _redact(self, value: Any) -> Any:
        text = json.dumps(value)
        text = text.replace(self.api_secret, "<api_secret>").replace(self.admin_key, "<admin_key>")
        return json.loads(text)

    async def post(self, body: dict[str, Any], *ids: int, secret: bool = True) -> Any:
        body = {**body, "transaction": secrets.token_urlsafe(9)}
        if secret:
            body["apisecret"] = self.api_secret
        path = self._path(*ids)
        reply = await self.http.post(self.url.removesuffix("/janus") + path, json=body)
        data = reply.json() if reply.content else None
        self.exchanges.append(
            {
                "method": "POST",
                "path": path,
                "body": self._redact(body),
                "status": reply.status_code,
                "reply": data,
            }
        )
        return data

    async def poll(self, session: int, *, secret: bool = True, maxev: int = 10) -> Any:
        params: dict[str, Any] = {"maxev": maxev}
        if secret:
            params["apisecret"] = self.api_secret
        path = self._path(session)
        reply = await self.http.get(self.url.removesuffix("/janus") + path, params=params)
        data = reply.json() if reply.content else None
        self.exchanges.append(
            {
                "method": "GET",
                "path": path,
                "query": self._redact(params),
                "status": reply.status_code,
                "reply": data,
            }
        )
        return data

    async def info(self) -> Any:
        reply = await self.http.get(self.url + "/info")
        data = reply.json()
        self.exchanges.append(
            {"method": "GET", "path": "/janus/info", "status": reply.status_code, "reply": data}
        )
        return data

    async def message(self, session: int, handle: int, body: dict[str, Any], **extra: Any) -> Any:
        return await self.post({"janus": "message", "body": body, **extra}, session, handle)

    async def attach(self, session: int) -> int:
        reply = await self.post({"janus": "attach", "plugin": "janus.plugin.videoroom"}, session)
        return int(reply["data"]["id"])

    async def session(self) -> int:
        return int((await self.post({"janus": "create"}))["data"]["id"])

    def save(self, name: str, note: str) -> None:
        HERE.mkdir(exist_ok=True)
        document = {"janus": "1.1.2 (Debian)", "note": note, "exchanges": self.exchanges}
        (HERE / f"{name}.json").write_text(json.dumps(document, indent=1) + "\n")
        self.exchanges = []


def _room(admin_key: str, room: int, **extra: Any) -> dict[str, Any]:
    return {
        "request": "create",
        "room": room,
        "admin_key": admin_key,
        "secret": "room-secret",
        "pin": "room-pin",
        "require_e2ee": True,
        "publishers": 6,
        "is_private": True,
        "permanent": False,
        **extra,
    }


async def record_session(rec: Recorder) -> None:
    await rec.info()
    rec.save("info", "GET /janus/info")
    await rec.post({"janus": "create"}, secret=False)
    session = await rec.session()
    handle = await rec.attach(session)
    await rec.post({"janus": "attach", "plugin": "janus.plugin.nope"}, session)
    await rec.post({"janus": "message"}, session, handle)
    await rec.post({"janus": "keepalive"}, session)
    await rec.poll(session)  # no events: Janus answers with a keepalive after 30 s
    await rec.post({"janus": "detach"}, session, handle)
    await rec.poll(session)
    await rec.post({"janus": "destroy"}, session)
    await rec.post({"janus": "destroy"}, session)
    await rec.post({"janus": "keepalive"}, session)
    await rec.poll(session)
    await rec.poll(session, secret=False)
    rec.save("session", "sessions, handles, core errors (403, 456, 458, 460), idle long poll")


async def record_room(rec: Recorder) -> None:
    key = rec.admin_key
    session = await rec.session()
    handle = await rec.attach(session)
    await rec.message(session, handle, _room(key, 4242))
    await rec.message(session, handle, _room(key, 4242))
    await rec.message(session, handle, {**_room(key, 4243), "admin_key": "wrong"})
    await rec.message(session, handle, {"request": "exists", "room": 4242})
    await rec.message(session, handle, {"request": "listparticipants", "room": 4242})
    await rec.message(session, handle, {"request": "listparticipants", "room": 999})
    await rec.message(session, handle, {"request": "list", "admin_key": key})
    await rec.message(session, handle, {"request": "destroy", "room": 4242, "secret": "wrong"})
    await rec.message(
        session, handle, {"request": "destroy", "room": 4242, "secret": "room-secret"}
    )
    await rec.poll(session)
    await rec.post({"janus": "destroy"}, session)
    rec.save("videoroom_room", "VideoRoom room management: create, 427, 433, 426, destroy")


async def record_publish(rec: Recorder) -> None:
    key = rec.admin_key
    session = await rec.session()
    admin = await rec.attach(session)
    await rec.message(session, admin, _room(key, 5151))
    first = await rec.attach(session)
    join = {"request": "join", "ptype": "publisher", "room": 5151, "display": "first"}
    await rec.message(session, first, {**join, "pin": "wrong"})
    await rec.message(session, first, {**join, "pin": "room-pin"})
    await rec.poll(session)
    plain = {"type": "offer", "sdp": OFFER}
    await rec.message(session, first, {"request": "publish"}, jsep=plain)
    await rec.poll(session)
    second = await rec.attach(session)
    await rec.message(session, second, {**join, "pin": "room-pin", "display": "second"})
    await rec.poll(session)
    await rec.message(session, second, {"request": "publish"}, jsep={**plain, "e2ee": True})
    await rec.poll(session)
    await rec.post({"janus": "trickle", "candidate": CANDIDATE}, session, second)
    await rec.post({"janus": "trickle", "candidate": {"completed": True}}, session, second)
    participants = await rec.message(session, admin, {"request": "listparticipants", "room": 5151})
    feeds = participants["plugindata"]["data"]["participants"]
    second_id = next(feed["id"] for feed in feeds if feed["display"] == "second")
    forward = {
        "request": "rtp_forward",
        "room": 5151,
        "publisher_id": second_id,
        "host": "127.0.0.1",
        "host_family": "ipv4",
        "streams": [{"mid": "1", "port": 5004}],
        "secret": "room-secret",
    }
    await rec.message(session, admin, {**forward, "admin_key": key})
    await rec.message(session, admin, forward)
    await rec.message(
        session, admin, {**forward, "admin_key": key, "streams": [{"mid": "9", "port": 5006}]}
    )
    await rec.post({"janus": "detach"}, session, second)
    await rec.poll(session)
    third = await rec.attach(session)
    await rec.message(session, third, {**join, "pin": "room-pin", "display": "third"})
    await rec.poll(session)
    destroy = {"request": "destroy", "room": 5151, "secret": "room-secret"}
    await rec.message(session, admin, destroy)
    await rec.poll(session)
    await rec.post({"janus": "destroy"}, session)
    rec.save(
        "videoroom_publish",
        "publishers: wrong pin (433), join, publish without e2ee (433), publish with e2ee "
        "(answer), trickle, rtp_forward (with, without admin_key, unknown mid), leave, "
        "room destroyed while two handles are in it (events for several handles in one poll)",
    )


async def record_subscribe(rec: Recorder) -> None:
    key = rec.admin_key
    session = await rec.session()
    admin = await rec.attach(session)
    await rec.message(session, admin, _room(key, 6161, dummy_publisher=True))
    participants = await rec.message(session, admin, {"request": "listparticipants", "room": 6161})
    feed = participants["plugindata"]["data"]["participants"][0]["id"]
    viewer = await rec.attach(session)
    join = {"request": "join", "ptype": "subscriber", "room": 6161, "pin": "room-pin"}
    await rec.message(session, viewer, {**join, "streams": [{"feed": 1234}]})
    await rec.poll(session)
    await rec.message(session, viewer, {**join, "streams": [{"feed": feed}]})
    offer = await rec.poll(session)
    answer = {"type": "answer", "sdp": answer_for(offer[0]["jsep"]["sdp"])}
    await rec.message(session, viewer, {"request": "start"}, jsep=answer)
    await rec.poll(session)
    await rec.message(session, admin, {"request": "destroy", "room": 6161, "secret": "room-secret"})
    await rec.poll(session)
    await rec.post({"janus": "destroy"}, session)
    rec.save(
        "videoroom_subscribe",
        "subscriber to the room's dummy publisher: unknown feed (428), offer, start",
    )


async def record_timeout(rec: Recorder) -> None:
    session = await rec.session()
    await rec.attach(session)
    await rec.poll(session)  # session_timeout = 2: Janus reports the timeout here
    await rec.poll(session)
    rec.save("session_timeout", "a session without keepalives times out (session_timeout = 2)")


async def main() -> None:
    if not shutil.which("janus"):
        sys.exit("janus is not installed")
    with tempfile.TemporaryDirectory() as data:
        for timeout, steps in (
            (60, (record_session, record_room, record_publish, record_subscribe)),
            (2, (record_timeout,)),
        ):
            settings = JanusSettings(ice_enforce_list=["v0"])
            janus = ManagedJanus(settings, Path(data), session_timeout=timeout)
            async with janus, httpx.AsyncClient(timeout=45) as http:
                endpoint = janus.endpoint
                assert endpoint.admin_key is not None
                rec = Recorder(http, endpoint.url, endpoint.api_secret, endpoint.admin_key)
                for step in steps:
                    await step(rec)
    for path in sorted(HERE.glob("*.json")):
        text = path.read_text()
        outside = {
            address
            for address in re.findall(r"\b\d+\.\d+\.\d+\.\d+\b", text)
            if not address.startswith(("10.99.0.", "127.")) and address != "0.0.0.0"
        }
        if outside:
            print(f"{path.name}: contains an address outside the test namespace", file=sys.stderr)
        print(f"wrote {path.relative_to(Path.cwd())}")


if __name__ == "__main__":
    asyncio.run(main())
